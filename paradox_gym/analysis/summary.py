"""Per-configuration summaries: means with Student-t intervals, energy per episode and per step, latency,
the CodeCarbon cross-check, footprint and memory.

Energy intervals are across replicates (one pooled value per replicate: its trials' energy over its
episodes) when there are two or more, else across trials; return and length intervals are across trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from paradox_gym.compression.floor import InferenceFloor
from paradox_gym.compression.footprint import Footprint
from paradox_gym.experiment.records import MemoryProbe, TrialRecord
from paradox_gym.stats import MeanCI, finite_or_none, mean_ci
from paradox_gym.vocab import PHASES


def complete_trials(trials: Sequence[TrialRecord]) -> list[TrialRecord]:
    """Trials that ran all their episodes (an interrupted trial is never analysed)."""
    return [t for t in trials if t.episodes > 0 and t.episodes == len(t.seeds)]


def replicate_means(trials: Sequence[TrialRecord], num: Any, den: Any) -> dict[int, float]:
    """Per replicate: sum(num) / sum(den) over its trials (e.g. energy / episodes), trials with a value only."""
    out: dict[int, list[float]] = {}
    for t in trials:
        x, y = num(t), den(t)
        if x is None or not y:
            continue
        acc = out.setdefault(t.replicate, [0.0, 0.0])
        acc[0] += x
        acc[1] += y
    return {r: v[0] / v[1] for r, v in out.items() if v[1]}


def replicates_of(trials: Sequence[TrialRecord]) -> int:
    """Number of distinct replicates among ``trials``."""
    return len({t.replicate for t in trials})


def trial_energy(trial: TrialRecord, meter: str) -> float | None:
    value = trial.energy_j.get(meter)
    return None if value is None else float(value)


@dataclass
class ConfigSummary:
    """Everything the table shows for one configuration (means over trials with 95% t-intervals)."""

    config: str
    method: str
    trials: int
    episodes: int
    steps: int
    energy_meter: str
    energy_method: str | None
    energy_windows: int
    ret: MeanCI
    length: MeanCI
    energy_per_episode_j: MeanCI
    energy_per_step_j: MeanCI
    energy_per_return_j: float | None
    phase_energy_per_step_j: dict[str, float]
    policy_us_p50: float | None
    policy_us_p95: float | None
    policy_us_per_step: MeanCI
    env_us_per_step: MeanCI
    overhead_us_per_step: MeanCI
    crosscheck_meter: str | None
    crosscheck_energy_per_episode_j: float | None
    crosscheck_rel_diff: float | None
    footprint: Footprint | None
    memory: MemoryProbe | None
    inference_floor: InferenceFloor | None = None  # set by analyse(macs_per_s=...); see _runtime_extras
    #: what the CodeCarbon comparison is worth ("consistency check" / "validation", see energy.crosscheck)
    crosscheck_kind: str | None = None
    #: every trial window was below CodeCarbon's resolution: no percentage (shown "n/a (below resolution)")
    crosscheck_below_resolution: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, (MeanCI, Footprint, MemoryProbe, InferenceFloor)):
                out[key] = value.to_dict()
            elif isinstance(value, float):
                out[key] = finite_or_none(value)
            else:
                out[key] = value
        return out


def _per_step_us(trials: Sequence[TrialRecord], phase: str) -> MeanCI:
    return mean_ci([1e6 * t.phase_wall_s.get(phase, 0.0) / t.steps for t in trials if t.steps > 0], nonnegative=True)


def _energy_samples(with_energy: Sequence[TrialRecord], meter: str) -> tuple[list[float], list[float]]:
    """Energy per episode and per step: one pooled value per replicate when there are two or more, else one
    per trial."""
    if replicates_of(with_energy) >= 2:
        energy = lambda t: trial_energy(t, meter)  # noqa: E731
        return (list(replicate_means(with_energy, energy, lambda t: t.episodes).values()),
                list(replicate_means(with_energy, energy, lambda t: t.steps).values()))
    return ([trial_energy(t, meter) / t.episodes for t in with_energy],  # type: ignore[operator]
            [trial_energy(t, meter) / t.steps for t in with_energy])  # type: ignore[operator]


def _crosscheck(trials: Sequence[TrialRecord]) -> tuple[float | None, float | None, str | None, bool]:
    """The cross-check meter against ours: its energy per episode, the relative difference (ours - theirs) /
    theirs, its kind, and whether every window was below its resolution (no figure at all)."""
    checks = [(t.episodes, t.crosscheck) for t in trials if t.crosscheck is not None]
    kinds = {c.kind for _, c in checks if c.kind}
    kind = kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else None)
    both = [(episodes, figures) for episodes, c in checks if (figures := c.compared_j) is not None]
    below = bool(checks) and not both and all(c.below_resolution for _, c in checks)
    if not both:
        return None, None, kind, below
    ours = sum(float(figures[0]) for _, figures in both)
    theirs = sum(float(figures[1]) for _, figures in both)
    return theirs / sum(episodes for episodes, _ in both), (ours - theirs) / theirs if theirs else None, kind, below


def summarize_config(
    config: str,
    trials: Sequence[TrialRecord],
    *,
    meter: str,
    crosscheck_meter: str | None = None,
    footprint: Footprint | None = None,
    memory: MemoryProbe | None = None,
) -> ConfigSummary:
    """Summarize the (complete) trials of one configuration; ``meter`` is the primary energy meter.

    Energy intervals are across replicates (one pooled value per replicate) when there are two or more,
    else across trials; return and length intervals are across trials."""
    returns = [float(np.mean(t.returns)) for t in trials if t.episodes]
    lengths = [float(np.mean(t.lengths)) for t in trials if t.episodes]
    with_energy = [t for t in trials if trial_energy(t, meter) is not None and t.episodes and t.steps]
    e_ep, e_step = _energy_samples(with_energy, meter)
    steps_energy = sum(t.steps for t in with_energy)
    phase_per_step = {
        phase: (sum(t.phase_energy_j.get(meter, {}).get(phase, 0.0) for t in with_energy) / steps_energy)
        if steps_energy
        else 0.0
        for phase in PHASES
    }
    methods = {t.energy_method.get(meter) for t in with_energy}
    method = methods.pop() if len(methods) == 1 else ("mixed" if methods else None)
    ret = mean_ci(returns)
    e_ep_ci = mean_ci(e_ep, nonnegative=True)
    per_return = None
    if ret.mean is not None and ret.mean > 0 and e_ep_ci.mean is not None:
        per_return = e_ep_ci.mean / ret.mean
    lat = np.concatenate([np.asarray(t.policy_ns, dtype=np.int64) for t in trials]) if trials else np.array([])
    p50 = p95 = None
    if lat.size:
        p50, p95 = (float(v) / 1e3 for v in np.percentile(lat, [50, 95]))
    cc_e, cc_rel, cc_kind, cc_below = _crosscheck(trials) if crosscheck_meter is not None else (None, None, None, False)
    return ConfigSummary(
        config=config,
        method=config,
        trials=len(trials),
        episodes=sum(t.episodes for t in trials),
        steps=sum(t.steps for t in trials),
        energy_meter=meter,
        energy_method=method,
        energy_windows=len(with_energy),
        ret=ret,
        length=mean_ci(lengths, nonnegative=True),
        energy_per_episode_j=e_ep_ci,
        energy_per_step_j=mean_ci(e_step, nonnegative=True),
        energy_per_return_j=per_return,
        phase_energy_per_step_j=phase_per_step,
        policy_us_p50=p50,
        policy_us_p95=p95,
        policy_us_per_step=_per_step_us(trials, "policy"),
        env_us_per_step=_per_step_us(trials, "env"),
        overhead_us_per_step=_per_step_us(trials, "overhead"),
        crosscheck_meter=crosscheck_meter,
        crosscheck_energy_per_episode_j=cc_e,
        crosscheck_rel_diff=cc_rel,
        crosscheck_kind=cc_kind,
        crosscheck_below_resolution=cc_below,
        footprint=footprint,
        memory=memory,
    )
