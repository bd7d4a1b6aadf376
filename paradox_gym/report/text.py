"""The printed report: tables, verdict sentences, the decomposition and the study's checks, as text.

Sentence-building lives here; the numbers and words it uses come from :mod:`paradox_gym.analysis`.
"""

from __future__ import annotations

import textwrap
from typing import Any, Iterable, Sequence

from paradox_gym.analysis import Comparison, _pct, _pct_text, _return_text
from paradox_gym.vocab import CONTROL, PHASES

REPORT_WIDTH = 118  # columns of the printed verdicts, decomposition and checks


ENERGY_LABEL: dict[str, str] = {"modelled": "modelled energy (CPU time x power)",
                                 "mixed": "energy (partly modelled: devices measured in different ways)",
                                 "measured": "measured energy", "sampled": "sampled energy (integrated power)"}
MECHANISM_TEXT: dict[str, str] = {"per-step": "the marginal cost of each step",
                                  "episode-length": "episode length",
                                  "fixed-cost": "the fixed per-episode cost (reset, episode bookkeeping)"}


def _level(confidence: float) -> str:
    return f"{100 * confidence:.3g}% CI"


def _mde_text(pct: float | None) -> str:
    return "n/a" if pct is None or pct != pct else f"{pct:.1f}%"


def verdict(c: Comparison) -> str:
    """One sentence per configuration from its structured :class:`~paradox_gym.analysis.Verdict`: every word
    follows from a (Holm-adjusted) interval, never from a point estimate."""
    v = c.verdict
    if v is None:
        return f"{c.config}: no verdict (no comparison)."
    if c.config == CONTROL:
        return (f"{c.config} vs {c.baseline} (A/A control, the same agent loaded twice): energy per episode "
                f"{v.energy}: {_pct_text(c.energy_per_episode, _level(v.energy_confidence))}; "
                + ("it differed: the run is noisy." if v.noisy else "the run's calibration, not a verdict."))
    parts: list[str] = []
    if c.size_ratio is not None:
        pct = (c.size_ratio - 1) * 100
        parts.append(f"same size (size ratio {c.size_ratio:.3f})" if round(pct) == 0
                     else (f"{-pct:.0f}% smaller" if pct < 0 else f"{pct:.0f}% larger"))
    parts.append(f"return {v.return_} ({_return_text(c.ret)}; {_level(v.return_confidence)})")
    label = ENERGY_LABEL.get(v.energy_method or "", "energy")
    net = getattr(v, "net_energy", None)
    basis = "" if net is None else f" [{getattr(v, 'energy_basis', 'gross')}; net of idle power: {net}]"
    parts.append(f"{label} per episode {v.energy}: {_pct_text(c.energy_per_episode, _level(v.energy_confidence))}{basis}")
    parts.append(f"per step {_pct_text(c.energy_per_step)}")
    d = c.decomposition
    if d is not None and getattr(d, "fixed_cost_model", "none") != "none" and d.e0:
        parts.append(f"marginal cost per step {_pct(d.e1 / d.e0)} once the fixed per-episode cost is taken out")
    if v.saving:
        conclusion = f"{label.split(' (')[0]} saving with the return kept"
    elif v.energy == "lower" and v.return_ == "lower":
        conclusion = f"{label.split(' (')[0]} fell because the agent plays worse: no saving at equal return"
    elif v.energy == "lower":
        conclusion = f"{label.split(' (')[0]} fell, but the return was not shown kept: not a saving"
    elif v.energy == "higher":
        conclusion = "no saving: it costs more"
    elif v.energy == "equivalent":
        conclusion = f"no saving: equivalent within +-{100 * v.margin:.0f}%"
    else:
        conclusion = "no saving shown: no detectable change"
    if v.mechanism is not None:
        conclusion += f"; the change comes mostly from {MECHANISM_TEXT[v.mechanism]}"
    if net is not None and net != v.energy:
        conclusion += f"; net of idle power the energy per episode is {net}"
    if v.noisy:
        conclusion += " [run flagged noisy: the A/A control differed]"
    return f"{c.config} vs {c.baseline}: " + ", ".join(parts) + f": {conclusion}."


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


def _cc_kind(analysis: Any) -> str:
    kinds = {getattr(s, "crosscheck_kind", None) for s in analysis.summaries.values()} - {None}
    if not kinds:
        return ""
    if kinds == {"consistency check"}:
        return ": a consistency check (both sides use the same source or model), not a validation"
    return f": {', '.join(sorted(kinds))}"


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
            "n/a (below resolution)" if getattr(s, "crosscheck_below_resolution", False) else _rel(s.crosscheck_rel_diff),
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
        "(ours - CodeCarbon) / CodeCarbon of the CPU over the same trial windows"
        + _cc_kind(analysis),
    ]
    return "\n".join([
        "Return, size, time and memory",
        _table(header1, rows1),
        "",
        f"Energy ({analysis.meter}, {method}; intervals are 95% across "
        f"{'replicates' if getattr(analysis, 'replicates', 0) >= 2 else 'trials'})",
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
        def ci(effect: str) -> str:
            low, high = d.interval(effect)
            return "" if low is None or high is None else f" [{low:+.3g}, {high:+.3g}]"

        model = getattr(d, "fixed_cost_model", "separate" if d.fixed_cost_identified else "none")
        if model == "separate":
            fixed = (f" + fixed cost {d.fixed_cost_effect_j:+.4g} J{ci('fixed_cost')} (F {d.f0_j * 1e3:.4g} -> "
                     f"{d.f1_j * 1e3:.4g} mJ/episode)")
        elif model == "shared":
            fixed = (f" + fixed cost {d.fixed_cost_effect_j:+.4g} J{ci('fixed_cost')} (one fixed cost F = "
                     f"{d.f0_j * 1e3:.4g} mJ/episode fitted for both: only one configuration's lengths vary)")
        else:
            fixed = " (no fixed per-episode cost identifiable: episode lengths do not vary)"
        lines.append(
            f"{cfg} vs {comp.baseline}: dE/episode = {d.delta_j:+.4g} J = episode length {d.length_effect_j:+.4g} J"
            f"{ci('length')} (N {d.n0:.1f} -> {d.n1:.1f} steps) + marginal per-step {d.per_step_effect_j:+.4g} J"
            f"{ci('per_step')} (e {d.e0 * 1e3:.4g} -> {d.e1 * 1e3:.4g} mJ/step){fixed}"
        )
        if d.per_step_phase_j:
            parts = ", ".join(
                f"{p} {d.per_step_phase_j.get(p, 0.0):+.4g} J ({1e3 * d.e0_phase_j.get(p, 0.0):.3g} -> "
                f"{1e3 * d.e1_phase_j.get(p, 0.0):.3g} mJ/step)"
                for p in ("policy", "env", "overhead")
            )
            lines.append(f"    average per-step energy by phase (fixed cost included), change scaled to the mean "
                         f"episode: {parts}")
    return "\n".join(lines) if lines else "(baseline only: nothing to decompose)"


def format_devices(energy: dict[str, Any], by_device: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Energy per device and configuration, gross and net of idle power (J per episode, 95% CIs across
    trials), with each device's meter, method and idle power; then the CO2e estimate per 1000 episodes."""
    head = energy.get("headline", {})
    devices = energy.get("devices", {})
    lines = [f"Energy by device (headline = {' + '.join(head.get('scope', []))}, {head.get('basis', 'gross')}; "
             f"net = gross - idle power x time; policy on {head.get('policy_device', 'cpu')})"]
    dev_rows = []
    for name, d in devices.items():
        idle = d.get("idle_w")
        ci = "" if d.get("idle_w_low") is None else f" [{_f(d['idle_w_low'])}, {_f(d['idle_w_high'])}]"
        dev_rows.append([name, d.get("meter", ""), d.get("label", d.get("method", "")),
                         f"{_f(idle)}{ci} ({d.get('idle_windows', 0)} windows)"])
    lines.append(_table(["device", "meter", "method", "idle W [95% CI]"], dev_rows))
    rows = []
    for cfg, per in by_device.items():
        for name, s in per.items():
            rows.append([cfg, name,
                         f"{_f(s.get('gross_per_episode_j'))} [{_f(s.get('gross_per_episode_low_j'))}, "
                         f"{_f(s.get('gross_per_episode_high_j'))}]",
                         f"{_f(s.get('net_per_episode_j'))} [{_f(s.get('net_per_episode_low_j'))}, "
                         f"{_f(s.get('net_per_episode_high_j'))}]",
                         "n/a" if s.get("idle_share") is None else f"{100 * s['idle_share']:.0f}%"])
    lines += ["", _table(["config", "device", "gross J/episode [95% CI]", "net J/episode [95% CI]", "idle share"],
                         rows)]
    em = energy.get("emissions")
    if em:
        per = ", ".join(f"{cfg} {_f(v.get('gross_g_per_1000_episodes'))} g"
                        for cfg, v in em.get("per_config", {}).items())
        lines += ["", _wrap(f"CO2e per 1000 episodes (estimate, gross headline, {em.get('country_name')} "
                            f"{_f(em.get('g_per_kwh'))} gCO2e/kWh from CodeCarbon's offline data): {per}", "")]
    return "\n".join(lines)


def format_report(analysis: Any, *, settings: Any = None, interrupted: bool = False, error: str | None = None) -> str:
    """Table, energy labels and notes, verdicts, decomposition and the three checks, as printed text."""
    parts = []
    if settings is not None:
        parts.append(
            f"{settings.algo} on {settings.env_id}: {settings.replicates} replicate(s) (fresh processes) x "
            f"{settings.trials} trial(s) x {settings.episodes} episodes per configuration (interleaved, random order "
            f"per round), warm-up {settings.warmup} episodes, torch threads {settings.threads}"
        )
    cc = f"; cross-check: {analysis.crosscheck_meter}" if analysis.crosscheck_meter else ""
    parts.append(f"energy: {analysis.meter} ({analysis.energy_method}){cc}; intervals are 95%")
    parts.append(format_table(analysis))
    for note in analysis.notes:
        parts.append(_wrap(f"note: {note}", ""))
    if interrupted:
        parts.append("INTERRUPTED: partial results (whole trials only)")
    if error is not None:
        parts.append(_wrap(f"FAILED: {error}; partial results (the whole trials before it only)", ""))
    control = getattr(analysis, "control", None)
    head = "\n" + _wrap("Verdicts (words follow from Holm-adjusted intervals: lower/higher only when the interval "
                        "excludes no change; equivalent inside the margin; return kept when its lower bound keeps "
                        ">= 1 - the return margin)", "")
    if control is not None:
        head += (f"\nA/A control: minimum detectable effect {_mde_text(control.mde_per_episode_pct)} per episode, "
                 f"{_mde_text(control.mde_per_step_pct)} per step"
                 + ("; NOISY: the control differed" if control.noisy else ""))
    parts.append(head + ":")
    parts += [_wrap(verdict(c), "  ") for c in analysis.comparisons.values()] or ["  (baseline only)"]
    parts.append("\nWhy (energy per episode E = F + N x e, fitted per configuration; intervals: 95% bootstrap over episodes):")
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
