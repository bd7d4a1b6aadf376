"""Methodology notes of one evaluation: what each figure rests on, and what may weaken it."""

from __future__ import annotations

from typing import Mapping, Sequence

from paradox_gym.analysis.control import ControlSummary
from paradox_gym.analysis.summary import ConfigSummary
from paradox_gym.experiment.records import TrialRecord
import paradox_gym.report.format as fmt
from paradox_gym.stats import CONFIDENCE, t_quantile
from paradox_gym.vocab import CONTROL


def meter_notes(trials: Mapping[str, Sequence[TrialRecord]]) -> list[str]:
    """One note per meter whose windows were not all ``ok`` (how many, why, the first failure)."""
    status_counts: dict[str, dict[str, int]] = {}
    first_failure: dict[str, str] = {}
    for ts in trials.values():
        for t in ts:
            for name, status in t.energy_status.items():
                counts = status_counts.setdefault(name, {})
                counts[status] = counts.get(status, 0) + 1
                if status in ("failed", "unavailable") and name not in first_failure:
                    first_failure[name] = t.energy_note.get(name, "")
    notes = []
    for name, counts in status_counts.items():
        bad = {k: v for k, v in counts.items() if k != "ok"}
        if bad:
            detail = ", ".join(f"{v} {k}" for k, v in sorted(bad.items()))
            hint = " (windows shorter than the meter's resolution: use more --episodes)" if "too_short" in bad else ""
            reason = f"; first failure: {first_failure[name]}" if first_failure.get(name) else ""
            notes.append(f"{name}: {detail} of {sum(counts.values())} trial windows{hint}{reason}")
    return notes


def design_notes(trials: Mapping[str, Sequence[TrialRecord]], replicates: int, tested: int, family: int) -> list[str]:
    """What the intervals rest on: replicates, degrees of freedom, the Holm family."""
    notes = []
    fewest = min((len(ts) for ts in trials.values()), default=0)
    if replicates == 1 and 2 <= fewest < 4:
        notes.append(
            f"only {fewest} trials per configuration: 95% intervals use Student's t with {fewest - 1} degree(s) "
            f"of freedom (t = {t_quantile(0.975, fewest - 1):.1f}) and are wide; use --trials 5 or more")
    if replicates == 1:
        notes.append("one replicate: energy and time intervals describe variation between trials inside one "
                     "process only, not between runs of the command; use --replicates 3 or more")
    elif replicates >= 2:
        notes.append(f"{replicates} replicates (fresh processes): energy and time intervals are Student-t "
                     f"intervals across replicates ({replicates - 1} degree(s) of freedom, "
                     f"t = {t_quantile(0.975, replicates - 1):.2f} at 95%)")
    if tested:
        notes.append(f"multiplicity: Holm adjustment over {tested} tests ({family} configuration(s) x energy per "
                     f"episode, return, policy time per step); family-wise error rate {1 - CONFIDENCE:.0%}; "
                     "verdict intervals are shown at their Holm levels, table intervals at 95%")
    return notes


def contention_note(trials: Mapping[str, Sequence[TrialRecord]]) -> str | None:
    """How many trials ran with the CPU contended (the rollout thread had < 0.9 of the wall time)."""
    crowded = [t for ts in trials.values() for t in ts if not t.phase_split_reliable]
    if not crowded:
        return None
    shares = [t.rollout_cpu_share for t in crowded if t.rollout_cpu_share is not None]
    span = f" only {min(shares):.2f}-{max(shares):.2f} of the wall time" if shares else " less than 0.9 of the wall time"
    total = sum(len(ts) for ts in trials.values())
    return (f"CPU contention: in {len(crowded)} of {total} trials the rollout thread had{span} (< 0.9): "
            "their wall-clock phase split charges other processes' time to the phases and is unreliable; "
            "rerun on a quieter machine or with --phase-clock cpu")


def control_note(control: ControlSummary | None) -> str | None:
    if control is None:
        return None
    return (f"A/A control ({CONTROL}): minimum detectable effect {mde_text(control.mde_per_episode_pct)} per "
            f"episode, {mde_text(control.mde_per_step_pct)} per step (at {fmt.level(control.confidence)}, the "
            f"verdicts' strictest Holm level, and {control.power:.0%} power)"
            + ("; the control DIFFERED from the baseline: the run is noisy, treat every verdict with suspicion"
               if control.noisy else ""))


def mde_text(pct: float | None) -> str:
    return fmt.NA if pct is None or pct != pct else f"{pct:.1f}%"


def window_notes(summaries: Mapping[str, ConfigSummary]) -> list[str]:
    return [f"{s.config}: energy rests on {s.energy_windows} trial window(s); no confidence interval"
            for s in summaries.values() if s.energy_windows < 2]
