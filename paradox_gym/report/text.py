"""The printed report: tables, verdict sentences, the decomposition and the study's checks, as text.

Sentence-building lives here; the numbers and words it uses come from :mod:`paradox_gym.analysis`.
"""

from __future__ import annotations

import textwrap
from typing import Any, Iterable, Sequence

from paradox_gym.analysis import (
    Comparison,
    Decomposition,
    _pct_text,
    _ratio_text,
    _return_text,
    energy_direction,
    return_direction,
)
from paradox_gym.vocab import PHASES

REPORT_WIDTH = 118  # columns of the printed verdicts, decomposition and checks


def _dominant_cause(d: Decomposition | None, sign: float) -> str:
    """Name the largest contribution with the given sign (+1 extra cost, -1 saving)."""
    if d is None:
        return ""
    parts = {"episode length": d.length_effect_j}
    names = {"policy": "policy inference", "env": "the environment step", "overhead": "harness overhead"}
    for phase, value in d.per_step_phase_j.items():
        parts[names.get(phase, phase)] = value
    if not d.per_step_phase_j:
        parts["per-step cost"] = d.per_step_effect_j
    name, value = max(parts.items(), key=lambda kv: sign * kv[1])
    if sign * value <= 0:
        return ""
    return name


def verdict(c: Comparison) -> str:
    """One sentence per compressed configuration; every direction word follows from a CI, not a point."""
    parts: list[str] = []
    if c.size_ratio is not None:
        pct = (c.size_ratio - 1) * 100
        if round(pct) == 0:
            parts.append(f"same size (size ratio {c.size_ratio:.3f})")
        elif pct < 0:
            parts.append(f"{-pct:.0f}% smaller")
        else:
            parts.append(f"{pct:.0f}% larger")
    rdir = return_direction(c.ret)
    parts.append(f"return {rdir} ({_return_text(c.ret)})")
    parts.append(f"energy per episode {_pct_text(c.energy_per_episode)}")
    parts.append(f"energy per step {_pct_text(c.energy_per_step)}")
    edir = energy_direction(c.energy_per_episode)
    if edir == "lower":
        cause = _dominant_cause(c.decomposition, -1.0)
        if rdir == "lower" and cause == "episode length":
            # shorter episodes of a worse agent: less energy per episode, but not a saving at equal quality
            conclusion = "energy per episode fell only because episodes got shorter as the return fell: no saving at equal return"
            if energy_direction(c.energy_per_step) == "higher":
                conclusion += " (and each step costs more)"
        else:
            conclusion = "energy saving"
            if rdir == "lower":
                conclusion += ", but return fell"
            if cause:
                conclusion += f"; the saving comes mostly from {cause}"
    elif edir == "higher":
        cause = _dominant_cause(c.decomposition, +1.0)
        conclusion = "no energy saving"
        if cause:
            conclusion += f"; the extra cost is mostly in {cause}"
    elif edir == "unchanged":
        conclusion = "no energy saving (no detectable change)"
    else:
        conclusion = "energy change undetermined (fewer than 2 paired trials with energy)"
    return f"{c.config}: " + ", ".join(parts) + f": {conclusion}."


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
        mem = s.memory
        ok = mem is not None and mem.status == "ok"
        peak = _bytes(mem.peak_rss_bytes) if ok else ("failed" if mem is not None else "skipped")
        uss = mem.uss_delta_bytes if ok else None
        uss_text = ("n/a" if uss is None else ("+" if uss >= 0 else "-") + _bytes(abs(uss))) if ok else peak
        if ok and mem.episodes is not None:
            memory_episodes = mem.episodes
        rows1.append([
            s.config,
            _ci(s.ret, ".4g"),
            _f(s.length.mean, ".1f"),
            _bytes(fp.serialized_bytes if fp else None),
            f"{fp.parameters} ({fp.nonzero_parameters})" if fp else "n/a",
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
    parts += [_wrap(verdict(c), "  ") for c in analysis.comparisons.values()] or ["  (baseline only)"]
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
