"""The printed report. The first screen answers the question; the details follow.

:func:`format_summary` -- at most about 20 lines: what was measured and how (one line), one row per
configuration (size change, return change, energy change, verdict words), and one sentence per compressed
configuration in the manner of hyperfine's summary ("ptdq used 1.58x [1.25, 1.99] the modelled energy per
episode of none, at the same return: no saving.").

:func:`format_details` -- the tables, methodology notes, the verdict sentences with their levels, the
decomposition, the study's checks and the energy by device. ``paradox-gym evaluate --details`` prints it;
``report.txt`` beside the results always holds both.

Numbers are formatted by :mod:`paradox_gym.report.format` only.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any, Protocol

from paradox_gym.analysis import Analysis, Comparison
from paradox_gym.analysis.decomposition import EFFECTS
from paradox_gym.analysis.notes import mde_text
from paradox_gym.experiment.device_energy import DeviceIdle, EnergySection
import paradox_gym.report.format as fmt
from paradox_gym.stats import PairedCI
from paradox_gym.vocab import BASELINE, CONTROL, PHASE_LABELS, PHASES


class EvalResult(Protocol):
    """What the text needs of :class:`paradox_gym.report.result.EvalResult` (which imports this module)."""

    settings: Any
    run: Any
    analysis: Analysis
    baseline_footprint: Any

    @property
    def baseline_reference(self) -> Any: ...

    @property
    def energy(self) -> EnergySection | None: ...

    def to_dict(self) -> dict[str, Any]: ...

REPORT_WIDTH = 118  # columns of the wrapped sentences

ENERGY_LABEL: dict[str, str] = {"modelled": "modelled energy (CPU time x power)",
                                 "mixed": "energy (partly modelled: devices measured in different ways)",
                                 "measured": "measured energy", "sampled": "sampled energy (integrated power)"}
MECHANISM_TEXT: dict[str, str] = {"per-step": "the cost of each step",
                                  "episode-length": "episode length",
                                  "fixed-cost": "the fixed per-episode cost (reset)",
                                  "mixed": "several effects together"}
EFFECT_TEXT: dict[str, str] = {"length": "episode length", "per_step": "cost per step", "fixed_cost": "fixed cost"}


def _wrap(text: str, indent: str = "", width: int = REPORT_WIDTH) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent + "    ",
                         break_on_hyphens=False)


def _label(method: str | None) -> str:
    return ENERGY_LABEL.get(method or "", "energy")


def _short_label(method: str | None) -> str:
    return _label(method).split(" (")[0]


def _change(ci: PairedCI) -> str:
    return fmt.pct_interval(ci.ratio, ci.ratio_low, ci.ratio_high)


def _return_change(ci: PairedCI) -> str:
    """The return change as a percent of the baseline (log-scale interval where returns are positive);
    the difference itself where the baseline's mean return is not positive (a percent would mislead)."""
    if ci.baseline_mean is not None and ci.baseline_mean > 0:
        return _change(ci)
    if ci.diff is None:
        return fmt.NA
    bounds = "" if ci.diff_low is None else f" [{fmt.signed(ci.diff_low)}, {fmt.signed(ci.diff_high)}]"
    return f"{fmt.signed(ci.diff)}{bounds} (difference)"


def _size_change(c: Comparison) -> str:
    return fmt.NA if c.size_ratio is None else fmt.pct(c.size_ratio)


def conclusion(c: Comparison) -> str:
    """The verdict's conclusion in words (``no saving: it costs more``, ...)."""
    v = c.verdict
    assert v is not None
    label = _short_label(v.energy_method)
    if v.saving:
        return f"{label} saving with the return kept"
    if v.energy == "lower" and v.return_ == "lower":
        return f"{label} fell because the agent plays worse: no saving at equal return"
    if v.energy == "lower":
        return f"{label} fell, but the return was not shown kept: not a saving"
    if v.energy == "higher":
        return "no saving: it costs more"
    if v.energy == "equivalent":
        return f"no saving: equivalent within +-{100 * v.margin:.0f}%"
    if v.energy == "unresolved":
        return f"unresolved: this run cannot detect changes below {mde_text(v.mde_pct)}"
    return f"no saving shown: no detectable change (this run detects {mde_text(v.mde_pct)} or more)"


def _flags(c: Comparison) -> str:
    v = c.verdict
    if v is None:
        return ""
    flags = [*(["PROVISIONAL: the run ended early"] if v.provisional else []),
             *(["most trials ran with the CPU contended"] if v.contended else []),
             *(["NOISY: the A/A control differed"] if v.noisy else [])]
    return f" [{'; '.join(flags)}]" if flags else ""


def words(c: Comparison) -> str:
    """The verdict's words, short: ``energy higher, return kept (per-step)``."""
    v = c.verdict
    if v is None:
        return "no verdict"
    if c.config == CONTROL:
        return "A/A control: " + ("DIFFERED (noisy run)" if v.noisy else "no difference")
    why = f" ({v.mechanism})" if v.mechanism not in ("none", None) else ""
    return f"energy {v.energy}{why}, return {v.return_}" + ("" if not v.saving else ": SAVING")


def summary_sentence(c: Comparison) -> str:
    """One sentence in the manner of hyperfine's summary."""
    v = c.verdict
    e = c.energy_per_episode
    assert v is not None
    ret = {"kept": "at the same return", "higher": "at a higher return", "lower": "at a lower return",
           "not shown kept": "with the return not shown kept"}.get(v.return_, f"return {v.return_}")
    why = f"; it comes from {MECHANISM_TEXT[v.mechanism]}" if v.mechanism in MECHANISM_TEXT else ""
    return (f"{c.config} used {fmt.ratio_interval(e.ratio, e.ratio_low, e.ratio_high)} the "
            f"{_short_label(v.energy_method)} per episode of {c.baseline}, {ret}: {conclusion(c)}{why}."
            + _flags(c))


def _source(settings: Any) -> str:
    """Where the agent came from: the zoo entry or the user's file, with a sha256 prefix of the file."""
    from paradox_gym.zoo import checkpoint_name, file_sha256, find_checkpoint

    if settings.agent_path is not None:
        label, path = f"agent {settings.agent_path}", settings.agent_path
    elif settings.algo and settings.env_id:
        found = find_checkpoint(settings.algo, settings.env_id, settings.agents_dir)
        label = f"zoo {checkpoint_name(settings.algo, settings.env_id)}"
        path = str(found) if found is not None else None
    else:
        return "zoo agent"
    try:
        return label if path is None else f"{label}, sha256 {file_sha256(path)[:12]}"
    except OSError:
        return label


def _header(result: EvalResult) -> list[str]:
    s, a = result.settings, result.analysis
    kwargs = f" {s.env_kwargs}" if s.env_kwargs else ""
    source = _source(s)
    norm = (f"observations normalised with VecNormalize statistics {s.vecnormalize_path}" if s.vecnormalize_path
            else "raw observations")
    setup = getattr(result.run, "devices", None)
    devices = setup.devices if setup else {}
    meters = (", ".join(f"{name} by {device.meter}" for name, device in devices.items())
              if a.meter == "headline" and devices else a.meter)
    return [_wrap(f"{s.algo} on {s.env_id}{kwargs} ({source}; {norm}): {s.replicates} replicate(s) x {s.trials} "
                  f"trial(s) x {s.episodes} episodes per configuration; {_label(a.energy_method)}, gross, "
                  f"{meters}")]


def format_summary(result: EvalResult, *, details_hint: str | None = None) -> str:
    """The first screen (see the module docstring)."""
    a: Analysis = result.analysis
    lines = _header(result)
    reference = result.baseline_reference
    if reference is not None and reference.warning:
        lines.append(_wrap(f"warning: {reference.warning}"))
    base = a.summaries.get(BASELINE)
    rows = []
    if base is not None:
        e = base.energy_per_episode_j
        rows.append([BASELINE, fmt.bytes_(result.baseline_footprint.serialized_bytes),
                     fmt.number(base.ret.mean, 4), fmt.quantity(e.mean, e.low, e.high, unit="J"), "baseline"])
    for cfg, c in a.comparisons.items():
        rows.append([cfg, _size_change(c), _return_change(c.ret), _change(c.energy_per_episode), words(c)])
    lines += ["", fmt.table(["config", "size", "return [CI]", "energy/episode [CI]", "verdict"], rows)]
    sentences = [summary_sentence(c) for cfg, c in a.comparisons.items() if cfg != CONTROL and c.verdict]
    if sentences:
        lines.append("")
        lines += [_wrap(s) for s in sentences]
    if a.control is not None:
        lines.append(f"resolution: changes below {mde_text(a.control.mde_per_episode_pct)} of energy per episode "
                     f"are not detectable in this run (A/A control, {fmt.level(a.control.confidence)}, 80% power)")
    if result.run.interrupted:
        lines.append("INTERRUPTED: partial results (whole trials only); verdicts are provisional")
    if result.run.error is not None:
        lines.append(_wrap(f"FAILED: {result.run.error}; partial results; verdicts are provisional"))
    if details_hint:
        lines.append(details_hint)
    return "\n".join(lines)


def format_table(analysis: Analysis) -> str:
    """Return, size, latency and memory per configuration; then energy, every figure labelled."""
    rows1, rows2 = [], []
    e_scale = fmt.column_scale(s.energy_per_episode_j.mean for s in analysis.summaries.values())
    s_scale = fmt.column_scale(s.energy_per_step_j.mean for s in analysis.summaries.values())
    for s in analysis.summaries.values():
        fp, mem = s.footprint, s.memory
        ok = mem is not None and mem.status == "ok"
        peak = fmt.bytes_(mem.peak_rss_bytes) if ok else ("failed" if mem is not None else "skipped")
        uss = mem.uss_delta_bytes if ok else None
        uss_text = (fmt.NA if uss is None else ("+" if uss >= 0 else "-") + fmt.bytes_(abs(uss))) if ok else peak
        rows1.append([s.config, fmt.quantity(s.ret.mean, s.ret.low, s.ret.high),
                      fmt.number(s.length.mean, 4), fmt.bytes_(fp.serialized_bytes if fp else None),
                      f"{fp.parameters} ({fp.nonzero_parameters})" if fp else fmt.NA,
                      f"{fmt.number(s.policy_us_p50)} / {fmt.number(s.policy_us_p95)}",
                      fmt.number(s.env_us_per_step.mean), peak, uss_text])
        e, p = s.energy_per_episode_j, s.energy_per_step_j
        cc = ("n/a (below resolution)" if s.crosscheck_below_resolution else
              fmt.NA if s.crosscheck_rel_diff is None else fmt.pct(1 + s.crosscheck_rel_diff))
        rows2.append([s.config, s.energy_method or fmt.NA, fmt.quantity(e.mean, e.low, e.high, scale=e_scale, unit="J"),
                      fmt.quantity(p.mean, p.low, p.high, scale=s_scale, unit="J"),
                      fmt.quantity(s.energy_per_return_j, unit="J"), cc])
    across = "replicates" if analysis.replicates >= 2 else "trials"
    return "\n".join([
        _wrap("Return, size, time and memory (return: 95% CI across trials; peak RSS: a fresh process per "
              "configuration; USS delta: private memory added by playing its episodes)"),
        fmt.table(["config", "return [95% CI]", "length", "model bytes", "params (non-zero)", "infer us p50/p95",
                   "env us/step", "peak RSS", "USS delta"], rows1),
        "",
        f"Energy ({analysis.meter}; 95% CI across {across})",
        fmt.table(["config", "method", "E/episode [95% CI]", "E/step [95% CI]", "J/return", "CodeCarbon diff"], rows2),
    ])


def verdict(c: Comparison) -> str:
    """One sentence per configuration from its :class:`~paradox_gym.analysis.Verdict`, with each interval's
    level: every word follows from a (Holm-adjusted) interval, never from a point estimate."""
    v = c.verdict
    if v is None:
        return f"{c.config}: no verdict (no comparison)."
    e_level = f"{fmt.level(v.energy_confidence)} CI"
    if c.config == CONTROL:
        return (f"{c.config} vs {c.baseline} (A/A control, the same agent loaded twice): energy per episode "
                f"{_change(c.energy_per_episode)} ({e_level}): "
                + ("it differed: the run is noisy." if v.noisy else "the run's calibration, not a verdict."))
    net = "" if v.net_energy is None else f" [{v.energy_basis}; net of idle power: {v.net_energy}]"
    return (f"{c.config} vs {c.baseline}: size {_size_change(c)}, return {v.return_} {_return_change(c.ret)} "
            f"({fmt.level(v.return_confidence)} CI), {_label(v.energy_method)} per episode {v.energy} "
            f"{_change(c.energy_per_episode)} ({e_level}){net}, per step {_change(c.energy_per_step)} (95% CI): "
            f"{conclusion(c)}; mechanism {v.mechanism}.{_flags(c)}")


def format_decomposition(analysis: Analysis) -> str:
    """Each comparison's change of energy per episode split into its effects, with intervals."""
    lines = []
    for cfg, comp in analysis.comparisons.items():
        d = comp.decomposition
        if d is None:
            lines.append(f"{cfg}: no energy figures to decompose")
            continue
        effects = ", ".join(
            f"{EFFECT_TEXT[k]} {fmt.pct_interval(d.effects[k].ratio, d.effects[k].ratio_low, d.effects[k].ratio_high)}"
            for k in EFFECTS)
        fixed = ("F measured from the reset time" if d.fixed_cost_measured
                 else "F not measured in these records: taken as 0")
        lines.append(_wrap(
            f"{cfg} vs {comp.baseline}: energy per episode {fmt.pct_interval(d.total.ratio, d.total.ratio_low, d.total.ratio_high)} "
            f"= {effects} ({fmt.level(d.confidence)} CI across {d.units} {d.unit}); mechanism {d.mechanism}. "
            f"N {fmt.number(d.n0, 4)} -> {fmt.number(d.n1, 4)} steps, e {fmt.quantity(d.e0, unit='J')} -> "
            f"{fmt.quantity(d.e1, unit='J')} per step, F {fmt.quantity(d.f0_j, unit='J')} -> "
            f"{fmt.quantity(d.f1_j, unit='J')} per episode ({fixed})", "  "))
        if d.e0_phase_j and d.e1_phase_j:
            parts = ", ".join(f"{PHASE_LABELS[p]} {fmt.quantity(d.e0_phase_j.get(p, 0.0), unit='J')} -> "
                              f"{fmt.quantity(d.e1_phase_j.get(p, 0.0), unit='J')}" for p in PHASES)
            lines.append(_wrap(f"energy per step by phase (pooled, no interval): {parts}", "      "))
    return "\n".join(lines) if lines else "(baseline only: nothing to decompose)"


def _idle_cell(d: DeviceIdle) -> str:
    p = d.idle
    if p is None:
        return f"{fmt.quantity(None, unit='W')} (0 windows)"
    return f"{fmt.quantity(p.mean_w, p.low_w, p.high_w, unit='W')} ({p.windows} windows)"


def format_devices(energy: EnergySection, configs: Sequence[str] | None = None) -> str:
    """Energy per device and configuration (those of ``configs``, default every one), gross and net of idle
    power, with each device's meter, method and idle power; then the CO2e estimate per 1000 episodes. Its
    intervals are across trials (the spread inside the replicates), unlike the headline's, which are across
    replicates."""
    head = energy.headline
    lines = [f"Energy by device (headline = {' + '.join(head.scope)}, {head.basis}; "
             f"net = gross - idle power x time; policy on {head.policy_device}; "
             "intervals: 95% across trials, not the headline's across-replicate interval)"]
    dev_rows = [[name, d.device.meter, d.device.label, _idle_cell(d)] for name, d in energy.devices.items()]
    lines.append(fmt.table(["device", "meter", "method", "idle power [95% CI]"], dev_rows))
    rows = [[cfg, name,
             fmt.quantity(s.gross_per_episode_j, s.gross_per_episode_low_j, s.gross_per_episode_high_j, unit="J"),
             fmt.quantity(s.net_per_episode_j, s.net_per_episode_low_j, s.net_per_episode_high_j, unit="J"),
             fmt.NA if s.idle_share is None else f"{100 * s.idle_share:.0f}%"]
            for cfg in (energy.by_device if configs is None else configs)
            for name, s in energy.by_device.get(cfg, {}).items()]
    lines += ["", fmt.table(["config", "device", "gross J/episode [95% CI]", "net J/episode [95% CI]", "idle share"],
                            rows)]
    em = energy.emissions
    per = ", ".join(f"{cfg} {fmt.number(v.gross_g_per_1000_episodes)} g" for cfg, v in em.per_config.items())
    lines += ["", _wrap(f"CO2e per 1000 episodes (estimate, gross headline, {em.intensity.country_name} "
                        f"{fmt.number(em.intensity.g_per_kwh)} gCO2e/kWh from CodeCarbon's offline data): {per}")]
    return "\n".join(lines)


def format_codecarbon_parts(result: EvalResult) -> str | None:
    """CodeCarbon's CPU, RAM and GPU parts per configuration (J per episode), each labelled; None without
    CodeCarbon."""
    rows = []
    for cfg, trials in result.run.trials.items():
        parts: dict[str, float] = {}
        episodes = 0
        for t in trials:
            if t.crosscheck is None:
                continue
            episodes += t.episodes
            for part, joules in t.crosscheck.codecarbon_parts_j.items():
                parts[part] = parts.get(part, 0.0) + float(joules)
        if episodes and parts:
            rows.append([cfg, *(fmt.quantity(parts[p] / episodes, unit="J") if p in parts else fmt.NA
                                for p in ("cpu", "ram", "gpu"))])
    if not rows:
        return None
    return ("CodeCarbon's parts per episode (its own models: CPU from its TDP table or RAPL, RAM from its "
            "memory model, GPU from NVML; only the CPU part is compared with ours)\n"
            + fmt.table(["config", "cpu", "ram", "gpu"], rows))


def format_details(result: EvalResult) -> str:
    """Everything after the first screen (see the module docstring)."""
    a = result.analysis
    parts = [format_table(a), ""]
    parts += [_wrap(f"note: {note}") for note in a.notes]
    parts.append("\nVerdicts (words follow from Holm-adjusted intervals, shown at their levels):")
    parts += [_wrap(verdict(c), "  ") for c in a.comparisons.values()] or ["  (baseline only)"]
    parts.append("\nWhy (energy per episode E = F + N x e; the change split into episode length, cost per step "
                 "and fixed cost, at the verdict's level; docs/methodology.md):")
    parts.append(format_decomposition(a))
    parts.append("\nChecks of the study:")
    parts += [_wrap(f"{check.claim}: {check.status.upper()} -- {check.evidence}", "  ") for check in a.checks]
    cc = format_codecarbon_parts(result)
    if cc:
        parts += ["", cc]
    energy = result.energy if result.run.devices else None
    if energy is not None:
        parts += ["", format_devices(energy, list(a.summaries))]
    return "\n".join(parts)


def format_report(result: EvalResult, *, details: bool = True, details_hint: str | None = None) -> str:
    """The first screen, then (``details``) everything else."""
    summary = format_summary(result, details_hint=None if details else details_hint)
    return summary + ("\n\n" + format_details(result) if details else "")
