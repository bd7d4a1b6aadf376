"""PNG plots (matplotlib, Agg backend), written atomically: an evaluation's (:func:`write_plots`) and a
study's (:func:`write_study_plots` and :func:`write_resolution_plot`, from the study's rows)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from paradox_gym._util.files import write_bytes_atomic
from paradox_gym.vocab import PHASE_LABELS, PHASES

PLOTS: tuple[str, ...] = ("ratios.png", "size_vs_energy.png", "return_vs_energy.png", "length_vs_energy.png",
                          "energy_phases.png")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _save_fig(fig: Any, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return write_bytes_atomic(path, buf.getvalue())


def _err(m: Any) -> list[list[float]] | None:
    """Asymmetric error bar of a MeanCI (``None`` without an interval)."""
    if m is None or m.mean is None or m.low is None or m.high is None:
        return None
    return [[m.mean - m.low], [m.high - m.mean]]


def _config_name(config: str) -> str:
    return f"{config} (baseline)" if config == "none" else config


def _scatter(path: Path, summaries: list[Any], points: list[tuple[float | None, Any]], xlabel: str, ylabel: str,
             title: str) -> Path:
    """One configuration per marker: its x value (with its interval where it has one) against its energy per
    episode with its interval; energy from zero."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for i, (s, (x, xci)) in enumerate(zip(summaries, points)):
        if x is None:
            continue
        e = s.energy_per_episode_j
        ax.errorbar([x], [e.mean], xerr=_err(xci), yerr=_err(e), fmt=_MARKERS[i % len(_MARKERS)],
                    color=f"C{i % 10}", capsize=3, markersize=7, label=_config_name(s.config))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)  # energy from zero: relative differences are not exaggerated
    ax.margins(x=0.15)
    ax.grid(True, alpha=0.3)
    ax.set_title(title, fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(title="configuration", fontsize=8, title_fontsize=8, loc="best")
    else:  # nothing measured (a run that failed before its first whole trial): say so on the plot
        ax.text(0.5, 0.5, "no whole trials", transform=ax.transAxes, ha="center", va="center")
    written = _save_fig(fig, path)
    plt.close(fig)
    return written


def _phase_bars(path: Path, summaries: list[Any], ylabel: str, title: str) -> Path:
    """Energy per step by phase, stacked, one bar per configuration with its total on top."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.4, 1.1 * len(summaries) + 2.5), 4.6))
    names = [_config_name(s.config) for s in summaries]
    bottom = [0.0] * len(summaries)
    for phase in PHASES:
        vals = [1e3 * s.phase_energy_per_step_j.get(phase, 0.0) for s in summaries]
        ax.bar(names, vals, bottom=bottom, label=PHASE_LABELS[phase])
        bottom = [b + v for b, v in zip(bottom, vals)]
    for x, total in enumerate(bottom):
        ax.annotate(f"{total:.3g}", (x, total), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("configuration")
    ax.set_ylim(top=max(bottom, default=1.0) * 1.15 or 1.0)
    ax.set_title(title, fontsize=10)
    if len(names) > 3:
        plt.setp(ax.get_xticklabels(), rotation=25, ha="right")
    ax.legend(title="phase", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    written = _save_fig(fig, path)
    plt.close(fig)
    return written


def write_plots(out: Path, analysis: Any, *, title: str | None = None) -> dict[str, Path]:
    """PNG plots (matplotlib, Agg): size / return / episode length vs energy per episode (error bars: 95%
    t-intervals, energy's across replicates (across trials with one replicate), return's and length's across
    trials, on both axes where the x value has one), and energy per step by phase as
    stacked bars. Each configuration has its own marker and legend entry; every energy axis names its
    method and meter. Configurations without an energy figure are left out. ``title`` (e.g. "PPO on
    CartPole-v1") heads every plot."""
    import matplotlib

    matplotlib.use("Agg")
    summaries = [s for s in analysis.summaries.values() if s.energy_per_episode_j.mean is not None]
    method = analysis.energy_method or "n/a"
    label = f"energy per episode, J ({method}, {analysis.meter})"
    head = f"{title}: " if title else ""

    def kib(s: Any) -> float | None:
        return None if s.footprint is None else s.footprint.serialized_bytes / 1024

    written: dict[str, Path] = {}
    for name, points, xlabel, what in (
            ("size_vs_energy.png", [(kib(s), None) for s in summaries],
             "inference-path size, KiB (serialized state dict)", "model size"),
            ("return_vs_energy.png", [(s.ret.mean, s.ret) for s in summaries], "mean episode return", "return"),
            ("length_vs_energy.png", [(s.length.mean, s.length) for s in summaries],
             "mean episode length, steps", "episode length")):
        written[name.replace(".png", "_png")] = _scatter(
            out / name, summaries, points, xlabel, label,
            f"{head}{what} vs energy per episode\n(95% CIs: energy across replicates, or trials with one "
            "replicate; return and length across trials)")
    written["energy_phases_png"] = _phase_bars(
        out / "energy_phases.png", summaries, f"energy per step, mJ ({method}, {analysis.meter})",
        f"{head}energy per step by phase\n(energy charged to phases by their time share)")
    written["ratios_png"] = write_forest_plot(out / "ratios.png", analysis, title=title)
    return written


def write_forest_plot(path: Path, analysis: Any, *, title: str | None = None) -> Path:
    """Interval estimates in the manner of rliable: one row per compared configuration, its energy-per-
    episode ratio (left) and return ratio (right) to its baseline, a point and the interval at the level
    its verdict uses; a line at 1 (no change) and, for energy, the equivalence margin shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    comps = list(analysis.comparisons.values())
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 1.0 + 0.45 * max(len(comps), 1)), sharey=True)
    for ax, metric, xlabel in ((axes[0], "energy_per_episode", "energy per episode / baseline"),
                               (axes[1], "ret", "return / baseline")):
        for y, c in enumerate(comps):
            ci = getattr(c, metric)
            if ci.ratio is None:
                continue
            err = None if ci.ratio_low is None else [[ci.ratio - ci.ratio_low], [ci.ratio_high - ci.ratio]]
            ax.errorbar([ci.ratio], [y], xerr=err, fmt="o", color=f"C{y % 10}", capsize=4, markersize=6)
        ax.axvline(1.0, color="0.3", linewidth=1, linestyle="--")
        if metric == "energy_per_episode" and comps and comps[0].verdict is not None:
            margin = comps[0].verdict.margin
            ax.axvspan(1 - margin, 1 + margin, color="0.85", zorder=0, label=f"+-{margin:.0%} (equivalent)")
            ax.legend(fontsize=7, loc="best")
        ax.set_xlabel(xlabel)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(comps)))
    axes[0].set_yticklabels([f"{c.config} vs {c.baseline}" for c in comps])
    axes[0].invert_yaxis()
    head = f"{title}: " if title else ""
    fig.suptitle(f"{head}ratios to the baseline ({analysis.energy_method or 'n/a'} energy; intervals at each "
                 "verdict's Holm level)", fontsize=10)
    saved = _save_fig(fig, path)
    plt.close(fig)
    return saved


# ---------------------------------------------------------------------------------------------------
# the study's plots (one per agent with a pruning method)
# ---------------------------------------------------------------------------------------------------
def _slug(text: str) -> str:
    """A file name from an agent label: letters, digits, ``-_.``, at most 100 characters (a label read from a
    job file may be anything)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in text.lower()).strip("_.")[:100] \
        or "agent"


def write_study_plots(directory: Path, rows: Sequence[Mapping[str, Any]], margin: float) -> list[str]:
    """Per agent with a pruning method: return change and energy-per-episode change against the amount,
    one line per pruning method, with their intervals; returns the file names (relative to ``directory``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        if r.get("amount") is not None:
            groups.setdefault(r["agent"], []).append(r)
    names: list[str] = []
    if groups:
        (directory / "plots").mkdir(exist_ok=True)
    for agent, members in groups.items():
        fig, (ax_r, ax_e) = plt.subplots(1, 2, figsize=(10, 3.8))
        for method in sorted({r["method"] for r in members}):
            pts = sorted((r for r in members if r["method"] == method), key=lambda r: r["amount"])
            x = np.array([r["amount"] for r in pts])

            def series(key: str, scale: float = 100.0, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
                mid = np.array([np.nan if r.get(key) is None else scale * (r[key] - offset) for r in pts])
                lo = np.array([np.nan if r.get(f"{key}_low") is None else scale * (r[f"{key}_low"] - offset) for r in pts])
                hi = np.array([np.nan if r.get(f"{key}_high") is None else scale * (r[f"{key}_high"] - offset) for r in pts])
                err = np.vstack([np.nan_to_num(mid - lo), np.nan_to_num(hi - mid)])
                return mid, err

            mid, err = series("return_change_rel")
            ax_r.errorbar(x, mid, yerr=err, marker="o", capsize=3, label=method)
            mid, err = series("energy_per_episode_ratio", offset=1.0)
            ax_e.errorbar(x, mid, yerr=err, marker="o", capsize=3, label=method)
        ax_r.axhline(-100 * margin, color="grey", linestyle="--", linewidth=1, label=f"-{margin:.0%} (kept)")
        ax_r.axhline(0, color="black", linewidth=0.5)
        ax_e.axhline(0, color="black", linewidth=0.5)
        ax_r.set(xlabel="pruning amount", ylabel="return change, % of |baseline|", title="return")
        meter = members[0].get("energy_meter")
        ax_e.set(xlabel="pruning amount", ylabel="energy per episode change, %",
                 title=f"energy per episode ({meter}, {members[0].get('energy_method')})")
        ax_r.legend(fontsize=8)
        ax_e.legend(fontsize=8)
        fig.suptitle(f"{agent}: change vs its baseline (intervals as in study.md)")
        fig.tight_layout()
        name = f"plots/{_slug(agent)}.png"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        write_bytes_atomic(directory / name, buf.getvalue())
        names.append(name)
    return names


#: The study's resolution plot (relative to the study directory).
RESOLUTION_PLOT = "plots/resolution.png"


def _resolution_over_time(ax: Any, rows: Sequence[Mapping[str, Any]], agents: Sequence[str],
                          target_pct: float | None) -> None:
    """Each cell's A/A MDE against the hours since the first cell started, one colour per agent: periods when
    the machine was noisy show up as runs of high MDEs, whatever the agent."""
    import datetime as _dt

    def start(r: Mapping[str, Any]) -> float | None:
        try:
            return _dt.datetime.fromisoformat(str(r.get("started_at"))).timestamp()
        except ValueError:
            return None

    timed = [(t, r) for r in rows if isinstance(r.get("energy_mde_pct"), (int, float)) and (t := start(r)) is not None]
    if not timed:
        ax.text(0.5, 0.5, "no start times recorded", transform=ax.transAxes, ha="center", va="center")
        ax.set_axis_off()
        return
    t0 = min(t for t, _ in timed)
    for i, agent in enumerate(agents):
        pts = sorted((t, r["energy_mde_pct"]) for t, r in timed if r["agent"] == agent)
        if pts:
            ax.scatter([(t - t0) / 3600 for t, _ in pts], [m for _, m in pts], s=12, color=f"C{i % 10}", label=agent)
    if target_pct is not None:
        ax.axhline(target_pct, color="black", linestyle="--", linewidth=1)
    ax.set(xlabel="hours since the first cell started (the sweep's pauses included)",
           ylabel="A/A MDE, energy per episode (%)", ylim=(0, None), title="Resolution over time")
    ax.legend(fontsize=7, ncol=2)


def write_resolution_plot(directory: Path, rows: Sequence[Mapping[str, Any]], target_pct: float | None) -> str | None:
    """Every cell's A/A MDE (energy per episode, %) per agent, with the resolution target where the grid has
    one; a cell measured again is drawn from its first run's MDE (hollow) to its second run's (filled).
    Returns the file name, or None when no cell has an MDE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agents = list(dict.fromkeys(r["agent"] for r in rows if isinstance(r.get("energy_mde_pct"), (int, float))))
    if not agents:
        return None
    fig, (ax, ax_t) = plt.subplots(1, 2, figsize=(max(6.0, 1.1 * len(agents) + 2.0) + 6.0, 4.2),
                                   gridspec_kw={"width_ratios": [max(6.0, 1.1 * len(agents) + 2.0), 6.0]})
    rng = np.random.default_rng(0)  # a fixed jitter: the same rows draw the same picture
    labelled: set[str] = set()
    for i, agent in enumerate(agents):
        cells = [r for r in rows if r["agent"] == agent and isinstance(r.get("energy_mde_pct"), (int, float))]
        x = i + rng.uniform(-0.25, 0.25, len(cells))
        y = np.array([r["energy_mde_pct"] for r in cells])
        above = np.array([target_pct is not None and v > target_pct for v in y])
        for mask, color, label in ((~above, "tab:blue", "meets the target" if target_pct is not None else "cell"),
                                   (above, "tab:red", "above the target")):
            if mask.any():
                ax.scatter(x[mask], y[mask], s=14, color=color, label=None if label in labelled else label)
                labelled.add(label)
        for xi, r in zip(x, cells):
            first = r.get("first_energy_mde_pct")
            if r.get("remeasured") and isinstance(first, (int, float)):
                ax.plot([xi, xi], [first, r["energy_mde_pct"]], color="grey", linewidth=0.8)
                ax.scatter([xi], [first], s=14, facecolors="none", edgecolors="grey")
    if target_pct is not None:
        ax.axhline(target_pct, color="black", linestyle="--", linewidth=1, label=f"target {target_pct:g}%")
    ax.set_xticks(range(len(agents)), agents, rotation=30, ha="right", fontsize=8)
    ax.set(ylabel="A/A MDE, energy per episode (%)", ylim=(0, None),
           title="Resolution per cell (hollow: the first run of a cell measured again)")
    ax.legend(fontsize=8)
    _resolution_over_time(ax_t, rows, agents, target_pct)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    (directory / "plots").mkdir(exist_ok=True)
    write_bytes_atomic(directory / RESOLUTION_PLOT, buf.getvalue())
    return RESOLUTION_PLOT
