"""Reporting of an evaluation: the printed table and verdicts, CSV / JSON files (written atomically), plots.

Files (see docs/evaluation.md for every column and the JSON schema):
``episodes.csv`` (one row per measured episode), ``summary.csv`` (one row per configuration),
``result.json`` (everything), and PNG plots. Every write goes to a temporary file in the same directory
followed by ``os.replace``, so a reader never sees a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import textwrap
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from paradox_gym.files import write_bytes_atomic

SCHEMA = "paradox_gym.evaluation/1"
PHASES_ORDER: tuple[str, ...] = ("policy", "env", "overhead")
REPORT_WIDTH = 118  # columns of the printed verdicts, decomposition and checks
PLOTS: tuple[str, ...] = ("size_vs_energy.png", "return_vs_energy.png", "length_vs_energy.png", "energy_phases.png")
_PACKAGES = ("torch", "stable-baselines3", "gymnasium", "numpy", "codecarbon", "paradox_gym")


# ---------------------------------------------------------------------------------------------------
# JSON / CSV files (written atomically through paradox_gym.files.write_bytes_atomic)
# ---------------------------------------------------------------------------------------------------
def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _json_safe(value.item())
    if isinstance(value, Path):
        return str(value)
    return value


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """JSON (non-finite floats as null) written atomically."""
    text = json.dumps(_json_safe(obj), indent=2, allow_nan=False)
    return write_bytes_atomic(path, (text + "\n").encode())


def write_csv_atomic(path: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]],
                     columns: Sequence[str] | None = None) -> Path:
    """CSV with a header (the union of the rows' keys, first-seen order, unless ``columns``) written atomically."""
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            for key in row:
                seen.setdefault(key, None)
        columns = list(seen)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), restval="", extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return write_bytes_atomic(path, buf.getvalue().encode())


# ---------------------------------------------------------------------------------------------------
# machine and software
# ---------------------------------------------------------------------------------------------------
def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def software_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def machine_info(threads: int) -> dict[str, Any]:
    import torch

    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpu": None,
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
        "torch_threads_requested": threads,
    }


# ---------------------------------------------------------------------------------------------------
# result dict and files
# ---------------------------------------------------------------------------------------------------
def build_result(*, settings: Any, run: Any, analysis: Any, footprints: Mapping[str, Any],
                 baseline_footprint: Mapping[str, Any], recipes: Mapping[str, Any],
                 memory: Mapping[str, Any] | None, out: Path, elapsed_s: float) -> dict[str, Any]:
    """The full machine-readable result (``result.json`` and ``--json``); schema in docs/evaluation.md."""
    seeds = {
        cfg: {str(t.trial): list(t.seeds) for t in trials} for cfg, trials in run.trials.items()
    }
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "status": "interrupted" if run.interrupted else "complete",
        "config": {**settings.to_dict(), "out": str(out)},
        "seeds": {"warmup": list(run.warmup_seeds), "trials": seeds,
                  "rule": "episode seed = seed + trial * episodes + episode (same for every configuration)"},
        "software": software_versions(),
        "machine": machine_info(settings.threads),
        "meters": run.meters,
        "footprints": dict(footprints),
        "baseline_footprint": dict(baseline_footprint),
        "recipes": dict(recipes),
        "memory": dict(memory) if memory is not None else None,
        "trials_completed": {cfg: len(v) for cfg, v in run.trials.items()},
        "trials": {cfg: [trial_dict(t) for t in trials] for cfg, trials in run.trials.items()},
        "evaluation_s": run.elapsed_s,
        "elapsed_s": elapsed_s,
        **analysis.to_dict(),
        "timings_s": {},
        "files": {},
    }
    return _json_safe(result)


def trial_dict(trial: Any) -> dict[str, Any]:
    """One trial as plain data (energies in J, times in s; latencies summarised, not listed)."""
    import numpy as np

    lat = np.asarray(trial.policy_ns)
    return {
        "trial": trial.trial, "seeds": list(trial.seeds), "returns": list(trial.returns),
        "lengths": list(trial.lengths), "steps": trial.steps, "wall_s": trial.wall_s, "cpu_s": trial.cpu_s,
        "energy_j": dict(trial.energy_j), "energy_method": dict(trial.energy_method),
        "energy_status": dict(trial.energy_status), "phase_energy_j": trial.phase_energy_j,
        "phase_wall_s": trial.phase_wall_s, "phase_cpu_s": trial.phase_cpu_s,
        "policy_us_p50": float(np.percentile(lat, 50)) / 1e3 if lat.size else None,
        "policy_us_p95": float(np.percentile(lat, 95)) / 1e3 if lat.size else None,
        "crosscheck": trial.crosscheck,
        "energy_note": dict(trial.energy_note),
    }


def episode_rows(run: Any) -> list[dict[str, Any]]:
    """One row per measured episode of the complete trials."""
    complete = {(cfg, t.trial) for cfg, trials in run.trials.items() for t in trials}
    rows = []
    for ep in run.episodes:
        if (ep.config, ep.trial) not in complete:
            continue
        row: dict[str, Any] = {
            "config": ep.config, "trial": ep.trial, "episode": ep.episode, "seed": ep.seed,
            "return": ep.ret, "length": ep.length, "wall_s": ep.wall_s,
        }
        for key, value in ep.window.items():
            if key in ("kind", "index", "wall_s", "steps"):
                continue
            row[key] = value
        rows.append(row)
    return rows


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)):
        out[prefix] = json.dumps(_json_safe(value))
    else:
        out[prefix] = value


def summary_rows(analysis: Any) -> list[dict[str, Any]]:
    """One row per configuration: its summary and (compressed configurations) its comparison and verdict."""
    rows = []
    for cfg, summary in analysis.summaries.items():
        row: dict[str, Any] = {}
        _flatten("", summary.to_dict(), row)
        comp = analysis.comparisons.get(cfg)
        if comp is not None:
            _flatten("vs_baseline", comp.to_dict(), row)
        rows.append(row)
    return rows


def write_outputs(out: Path, result: Mapping[str, Any], run: Any, analysis: Any) -> dict[str, str]:
    """Write episodes.csv, summary.csv, result.json and the plots into ``out``; returns name -> path."""
    files = {
        "episodes_csv": str(write_csv_atomic(out / "episodes.csv", episode_rows(run))),
        "summary_csv": str(write_csv_atomic(out / "summary.csv", summary_rows(analysis))),
        "result_json": str(out / "result.json"),
    }
    write_json_atomic(out / "result.json", result)
    cfg = result.get("config") or {}
    title = f"{cfg.get('algo')} on {cfg.get('env_id')}" if cfg.get("env_id") else None
    for name, path in write_plots(out, analysis, title=title).items():
        files[name] = str(path)
    return files


# ---------------------------------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------------------------------
PHASE_LABELS: dict[str, str] = {"policy": "policy inference", "env": "environment step",
                                 "overhead": "harness overhead"}
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


def write_plots(out: Path, analysis: Any, *, title: str | None = None) -> dict[str, Path]:
    """PNG plots (matplotlib, Agg): size / return / episode length vs energy per episode (error bars: 95%
    t-intervals across trials, on both axes where the x value has one), and energy per step by phase as
    stacked bars. Each configuration has its own marker and legend entry; every energy axis names its
    method and meter. Configurations without an energy figure are left out. ``title`` (e.g. "PPO on
    CartPole-v1") heads every plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summaries = [s for s in analysis.summaries.values() if s.energy_per_episode_j.mean is not None]
    method = analysis.energy_method or "n/a"
    label = f"energy per episode, J ({method}, {analysis.meter})"
    head = f"{title}: " if title else ""
    written: dict[str, Path] = {}

    def name_of(config: str) -> str:
        return f"{config} (baseline)" if config == "none" else config

    def scatter(name: str, points: list[tuple[float | None, Any]], xlabel: str, what: str) -> None:
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        for i, (s, (x, xci)) in enumerate(zip(summaries, points)):
            if x is None:
                continue
            e = s.energy_per_episode_j
            ax.errorbar([x], [e.mean], xerr=_err(xci), yerr=_err(e), fmt=_MARKERS[i % len(_MARKERS)],
                        color=f"C{i % 10}", capsize=3, markersize=7, label=name_of(s.config))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)  # energy from zero: relative differences are not exaggerated
        ax.margins(x=0.15)
        ax.grid(True, alpha=0.3)
        ax.set_title(f"{head}{what} vs energy per episode\n(error bars: 95% CI across trials)", fontsize=10)
        ax.legend(title="configuration", fontsize=8, title_fontsize=8, loc="best")
        written[name.replace(".png", "_png")] = _save_fig(fig, out / name)
        plt.close(fig)

    def kib(s: Any) -> float | None:
        b = s.footprint.get("serialized_bytes")
        return None if b is None else b / 1024

    scatter("size_vs_energy.png", [(kib(s), None) for s in summaries],
            "inference-path size, KiB (serialized state dict)", "model size")
    scatter("return_vs_energy.png", [(s.ret.mean, s.ret) for s in summaries], "mean episode return", "return")
    scatter("length_vs_energy.png", [(s.length.mean, s.length) for s in summaries],
            "mean episode length, steps", "episode length")

    fig, ax = plt.subplots(figsize=(max(6.4, 1.1 * len(summaries) + 2.5), 4.6))
    names = [name_of(s.config) for s in summaries]
    bottom = [0.0] * len(summaries)
    for phase in PHASES_ORDER:
        vals = [1e3 * s.phase_energy_per_step_j.get(phase, 0.0) for s in summaries]
        ax.bar(names, vals, bottom=bottom, label=PHASE_LABELS[phase])
        bottom = [b + v for b, v in zip(bottom, vals)]
    for x, total in enumerate(bottom):
        ax.annotate(f"{total:.3g}", (x, total), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)
    ax.set_ylabel(f"energy per step, mJ ({method}, {analysis.meter})")
    ax.set_xlabel("configuration")
    ax.set_ylim(top=max(bottom, default=1.0) * 1.15 or 1.0)
    ax.set_title(f"{head}energy per step by phase\n(energy charged to phases by their time share)", fontsize=10)
    if len(names) > 3:
        plt.setp(ax.get_xticklabels(), rotation=25, ha="right")
    ax.legend(title="phase", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    written["energy_phases_png"] = _save_fig(fig, out / "energy_phases.png")
    plt.close(fig)
    return written


# ---------------------------------------------------------------------------------------------------
# printed report
# ---------------------------------------------------------------------------------------------------
def _f(x: float | None, fmt: str = ".3g") -> str:
    return "n/a" if x is None else format(x, fmt)


def _ci(m: Any, fmt: str = ".3g", scale: float = 1.0) -> str:
    if m.mean is None:
        return "n/a"
    if m.low is None or m.high is None:
        return f"{m.mean * scale:{fmt}}"
    return f"{m.mean * scale:{fmt}} [{m.low * scale:{fmt}}, {m.high * scale:{fmt}}]"


def _bytes(n: Any) -> str:
    if n is None:
        return "n/a"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(map(str, r)) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def _rel(x: float | None) -> str:
    """A relative difference as a signed percent (one decimal below 10%)."""
    if x is None:
        return "n/a"
    pct = 100 * x
    return f"{pct:+.1f}%" if abs(pct) < 9.95 else f"{pct:+.0f}%"


def format_table(analysis: Any) -> str:
    """The per-configuration table, in two blocks that each fit an ordinary terminal: (1) return, episode
    length, size, latency and memory; (2) energy, every figure labelled with its method. Means carry 95%
    t-intervals across trials in brackets. A legend of the less obvious columns follows."""
    method = analysis.energy_method or "n/a"
    mixed = method == "mixed"
    rows1, rows2 = [], []
    memory_episodes = None
    for s in analysis.summaries.values():
        fp = s.footprint
        mem = s.memory or {}
        ok = mem.get("status") == "ok"
        peak = _bytes(mem.get("peak_rss_bytes")) if ok else ("failed" if mem else "skipped")
        uss = mem.get("uss_delta_bytes")
        uss_text = ("n/a" if uss is None else ("+" if uss >= 0 else "-") + _bytes(abs(uss))) if ok else peak
        if ok and mem.get("episodes") is not None:
            memory_episodes = mem.get("episodes")
        rows1.append([
            s.config,
            _ci(s.ret, ".4g"),
            _f(s.length.mean, ".1f"),
            _bytes(fp.get("serialized_bytes")),
            f"{fp.get('parameters', 'n/a')} ({fp.get('nonzero_parameters', 'n/a')})",
            f"{_f(s.policy_us_p50, '.0f')} / {_f(s.policy_us_p95, '.0f')}",
            _f(s.env_us_per_step.mean, ".1f"),
            peak,
            uss_text,
        ])
        row2 = [
            s.config,
            _ci(s.energy_per_episode_j, ".3g"),
            _ci(s.energy_per_step_j, ".3g", 1e3),
            _f(s.energy_per_return_j, ".3g"),
            _rel(s.crosscheck_rel_diff),
        ]
        if mixed:
            row2.insert(1, f"{s.energy_method or 'n/a'} ({s.energy_meter})")
        rows2.append(row2)
    header1 = ["config", "return [95% CI]", "length", "model bytes", "params (non-zero)", "infer us p50/p95",
               "env us/step", "peak RSS", "USS delta"]
    label = "see method" if mixed else method
    header2 = ["config", f"E/episode J ({label}) [95% CI]", f"E/step mJ ({label}) [95% CI]",
               f"J/return ({label})", "CodeCarbon diff"]
    if mixed:
        header2.insert(1, "method (meter)")
    legend = [
        "length: mean steps per episode; model bytes: serialized inference path; infer us: per-step policy "
        "latency percentiles; env us/step: mean environment step time",
        f"peak RSS: peak resident memory of a fresh process per configuration (Python, torch and the agent, "
        f"lifetime maximum); USS delta: private memory added by playing "
        f"{memory_episodes if memory_episodes is not None else 'its'} episodes in that process",
        "J/return: energy per episode / mean return, n/a where the mean return is <= 0; CodeCarbon diff: "
        "(ours - CodeCarbon) / CodeCarbon over the same trial windows",
    ]
    return "\n".join([
        "Return, size, time and memory",
        _table(header1, rows1),
        "",
        f"Energy ({analysis.meter}, {method}; intervals are 95% across trials)",
        _table(header2, rows2),
        "",
        *(textwrap.fill(line, width=REPORT_WIDTH, subsequent_indent="  ") for line in legend),
    ])


def format_decomposition(analysis: Any) -> str:
    lines = []
    for cfg, comp in analysis.comparisons.items():
        d = comp.decomposition
        if d is None:
            lines.append(f"{cfg}: no energy figures to decompose")
            continue
        lines.append(
            f"{cfg} vs {comp.baseline}: dE/episode = {d.delta_j:+.4g} J = episode length {d.length_effect_j:+.4g} J "
            f"(N {d.n0:.1f} -> {d.n1:.1f} steps) + per-step {d.per_step_effect_j:+.4g} J "
            f"(e {d.e0 * 1e3:.4g} -> {d.e1 * 1e3:.4g} mJ/step)"
        )
        if d.per_step_phase_j:
            parts = ", ".join(
                f"{p} {d.per_step_phase_j.get(p, 0.0):+.4g} J ({1e3 * d.e0_phase_j.get(p, 0.0):.3g} -> "
                f"{1e3 * d.e1_phase_j.get(p, 0.0):.3g} mJ/step)"
                for p in ("policy", "env", "overhead")
            )
            lines.append(f"    per-step effect by phase: {parts}")
    return "\n".join(lines) if lines else "(baseline only: nothing to decompose)"


def format_report(analysis: Any, *, settings: Any = None, interrupted: bool = False) -> str:
    """Table, energy labels and notes, verdicts, decomposition and the three checks, as printed text."""
    parts = []
    if settings is not None:
        parts.append(
            f"{settings.algo} on {settings.env_id}: {settings.trials} trials x {settings.episodes} episodes per "
            f"configuration (interleaved), warm-up {settings.warmup} episodes, torch threads {settings.threads}"
        )
    cc = f"; cross-check: {analysis.crosscheck_meter}" if analysis.crosscheck_meter else ""
    parts.append(f"energy: {analysis.meter} ({analysis.energy_method}){cc}; intervals are 95%")
    parts.append(format_table(analysis))
    for note in analysis.notes:
        parts.append(f"note: {note}")
    if interrupted:
        parts.append("INTERRUPTED: partial results (whole trials only)")
    parts.append("\nVerdicts (direction words follow from whether the 95% CI excludes no change):")
    parts += [_wrap(c.verdict, "  ") for c in analysis.comparisons.values()] or ["  (baseline only)"]
    parts.append("\nWhy (energy per episode = steps x energy per step; midpoint split):")
    for line in format_decomposition(analysis).splitlines():
        parts.append(_wrap(line.strip(), "    " if line.startswith(" ") else "  "))
    parts.append("\nChecks of the study:")
    for check in analysis.checks:
        parts.append(_wrap(f"{check.claim}: {check.status.upper()} — {check.evidence}", "  "))
    return "\n".join(parts)


def _wrap(text: str, indent: str, width: int = REPORT_WIDTH) -> str:
    """``text`` wrapped to ``width`` columns, first line indented by ``indent``, the rest by two more."""
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent + "    ",
                         break_on_hyphens=False)
