"""The crossover heatmap (one panel per method x runtime) and the overlay of two saved maps (PNG, Agg).

A panel: batch size across, width up; the colour is the energy ratio (method / float, log scale: blue
below 1, the method pays; red above 1, it costs more); each cell shows its ratio, in bold inside a black
frame where its Holm-adjusted interval excludes 1; the break-even frontier is the thick line under the
smallest width from which the method pays at every larger width; agents marked with ``--agent`` are
circles at their width and batch (placed between rows and columns when they fall between measured ones).
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from paradox_gym._util.files import write_bytes_atomic
from paradox_gym.crossover.analysis import UNRESOLVED, CellRow, FrontierPoint

#: Colour range of the log2 ratio (ratios 1/4 .. 4).
_LOG2_RANGE = 2.0


def _save(fig: Any, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return write_bytes_atomic(path, buf.getvalue())


def _position(value: float, axis: Sequence[int]) -> float:
    """Index of ``value`` on a categorical axis of increasing values, interpolated in log space between
    neighbours (and clamped half a cell beyond the ends)."""
    logs = [math.log(v) for v in axis]
    x = math.log(value)
    if x <= logs[0]:
        return -0.4 if x < logs[0] else 0.0
    if x >= logs[-1]:
        return len(axis) - 0.6 if x > logs[-1] else len(axis) - 1.0
    i = max(k for k in range(len(logs)) if logs[k] <= x)
    return i + (x - logs[i]) / (logs[i + 1] - logs[i])


def _panel(ax: Any, rows: Sequence[CellRow], points: Sequence[FrontierPoint], widths: Sequence[int],
           batches: Sequence[int], title: str, agents: Sequence[Sequence[Any]] = (),
           overlay: Sequence[FrontierPoint] | None = None) -> Any:
    from matplotlib.patches import Rectangle

    grid = np.full((len(widths), len(batches)), np.nan)
    for r in rows:
        if r.energy_ratio and r.width in widths and r.batch in batches:
            grid[widths.index(r.width), batches.index(r.batch)] = math.log2(r.energy_ratio)
    image = ax.imshow(grid, origin="lower", cmap="RdBu_r", vmin=-_LOG2_RANGE, vmax=_LOG2_RANGE, aspect="auto")
    for r in rows:
        if r.energy_ratio is None or r.width not in widths or r.batch not in batches:
            continue
        y, x = widths.index(r.width), batches.index(r.batch)
        sure = r.verdict != UNRESOLVED
        dark = abs(math.log2(r.energy_ratio)) > 0.6 * _LOG2_RANGE
        ax.text(x, y, f"{r.energy_ratio:.2f}", ha="center", va="center", fontsize=8,
                fontweight="bold" if sure else "normal", color="white" if dark else "black")
        if sure:
            ax.add_patch(Rectangle((x - 0.46, y - 0.46), 0.92, 0.92, fill=False, lw=1.4, ec="black"))
    for pts, style in ((points, "-"), (overlay or (), "--")):
        for p in pts:
            if p.width is None or p.batch not in batches:
                continue
            x, y = batches.index(p.batch), widths.index(p.width)
            ax.plot([x - 0.5, x + 0.5], [y - 0.5, y - 0.5], style, color="black", lw=3)
    for label, width, batch in agents:
        x, y = _position(batch, batches) - 0.3, _position(width, widths) - 0.3  # off the cell's figure
        ax.plot([x], [y], "o", ms=11, mfc="none", mec="darkgreen", mew=2)
        ax.annotate(str(label), (x, y), xytext=(6, 6), textcoords="offset points", fontsize=7, color="darkgreen")
    ax.set_xticks(range(len(batches)), [str(b) for b in batches])
    ax.set_yticks(range(len(widths)), [str(w) for w in widths])
    ax.set_xlabel("batch (observations per forward pass)")
    ax.set_ylabel("hidden width")
    ax.set_title(title, fontsize=9)
    return image


def _figure(panels: int) -> tuple[Any, list[Any]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(panels, 2)
    rows = int(math.ceil(panels / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5.6 * cols, 4.6 * rows), squeeze=False, layout="constrained")
    flat = [a for row in axes for a in row]
    for ax in flat[panels:]:
        ax.set_visible(False)
    return fig, flat[:panels]


def write_heatmap(path: Path, result: Any) -> Path:
    """The map's heatmap, one panel per method x runtime (see the module docstring)."""
    import matplotlib.pyplot as plt

    s = result.settings
    widths, batches = list(s["widths"]), list(s["batches"])
    pairs = [(m, r) for m in s["methods"] for r in s["runtimes"]]
    fig, axes = _figure(len(pairs))
    image = None
    for ax, (method, runtime) in zip(axes, pairs):
        rows = [r for r in result.rows if r.method == method and r.runtime == runtime]
        points = [p for p in result.frontier if p.method == method and p.runtime == runtime]
        image = _panel(ax, rows, points, widths, batches, f"{method} on {runtime} ({s.get('device', 'cpu')})",
                       s.get("agents", []))
    fig.suptitle("Energy per decision, compressed / float (synthetic MLPs: cost, not return)", fontsize=10)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=0.8, ticks=[-2, -1, 0, 1, 2])
        bar.ax.set_yticklabels(["1/4", "1/2", "1", "2", "4"])
        bar.set_label("energy ratio (bold, framed: Holm interval excludes 1; line: break-even frontier)")
    written = _save(fig, path)
    plt.close(fig)
    return written


def write_overlay(path: Path, a: Any, b: Any, labels: tuple[str, str]) -> Path:
    """Map ``a``'s heatmap with ``b``'s frontier dashed over it (solid: ``a``'s), one panel per method x
    runtime both maps share."""
    import matplotlib.pyplot as plt

    sa, sb = a.settings, b.settings
    widths = sorted(set(sa["widths"]) | set(sb["widths"]))
    batches = sorted(set(sa["batches"]) | set(sb["batches"]))
    pairs = [(m, r) for m in sa["methods"] for r in sa["runtimes"] if m in sb["methods"] and r in sb["runtimes"]]
    fig, axes = _figure(max(len(pairs), 1))
    for ax, (method, runtime) in zip(axes, pairs):
        _panel(ax, [r for r in a.rows if r.method == method and r.runtime == runtime],
               [p for p in a.frontier if p.method == method and p.runtime == runtime], widths, batches,
               f"{method} on {runtime}: {labels[0]} (colour, solid line), {labels[1]} (dashed line)",
               overlay=[p for p in b.frontier if p.method == method and p.runtime == runtime])
    written = _save(fig, path)
    plt.close(fig)
    return written


__all__ = ["write_heatmap", "write_overlay"]
