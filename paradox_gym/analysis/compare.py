"""Paired comparisons of a configuration against its baseline: ratios and differences with intervals.

Energy and time: one pooled value per replicate and a Student-t interval of the mean log ratio across
replicates (the replicates are the independent units); with one replicate, a paired bootstrap over its
trials. Return and episode length: paired by episode seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from paradox_gym.analysis.summary import ConfigSummary, replicate_means, replicates_of, trial_energy
from paradox_gym.experiment.records import EpisodeRecord, TrialRecord
from paradox_gym.stats import (
    BOOTSTRAP_RESAMPLES,
    CONFIDENCE,
    PairedCI,
    finite_or_none,
    log_ratio_t,
    paired_bootstrap,
    paired_t,
)
from paradox_gym.vocab import BASELINE

if TYPE_CHECKING:
    from paradox_gym.analysis.decomposition import Decomposition
    from paradox_gym.analysis.verdicts import Verdict


@dataclass
class Comparison:
    """One configuration against its baseline (``none``, or its runtime's float baseline), paired by
    (replicate, trial) and by episode seed. ``decomposition`` and ``verdict`` are set by
    :func:`paradox_gym.analysis.analyse` once the family's Holm levels are known."""

    config: str
    baseline: str
    pairs: int
    size_ratio: float | None
    ret: PairedCI
    length: PairedCI
    energy_per_episode: PairedCI
    energy_per_step: PairedCI
    policy_time_per_step: PairedCI
    env_time_per_step: PairedCI
    decomposition: Decomposition | None = None
    verdict: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = value.to_dict() if hasattr(value, "to_dict") else (
                finite_or_none(value) if isinstance(value, float) else value)
        return out


def _paired_series(
    a: Sequence[TrialRecord], b: Sequence[TrialRecord], fn: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``fn`` for the trials both sides ran, paired by (replicate, trial)."""
    by_a = {(t.replicate, t.trial): t for t in a}
    by_b = {(t.replicate, t.trial): t for t in b}
    common = sorted(by_a.keys() & by_b.keys())
    xa = np.array([fn(by_a[i]) if fn(by_a[i]) is not None else np.nan for i in common], dtype=float)
    xb = np.array([fn(by_b[i]) if fn(by_b[i]) is not None else np.nan for i in common], dtype=float)
    return xa, xb


def _episode_pairs(episodes: Sequence[EpisodeRecord], base_episodes: Sequence[EpisodeRecord],
                   fn: Any) -> tuple[np.ndarray, np.ndarray]:
    by_a = {(e.replicate, e.seed): e for e in episodes}
    by_b = {(e.replicate, e.seed): e for e in base_episodes}
    common = sorted(by_a.keys() & by_b.keys())
    return (np.array([fn(by_a[k]) for k in common], dtype=float),
            np.array([fn(by_b[k]) for k in common], dtype=float))


def compare(
    config: str,
    trials: Sequence[TrialRecord],
    baseline_trials: Sequence[TrialRecord],
    summary: ConfigSummary,
    baseline_summary: ConfigSummary,
    *,
    meter: str,
    baseline: str = BASELINE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    episodes: Sequence[EpisodeRecord] = (),
    baseline_episodes: Sequence[EpisodeRecord] = (),
    levels: Mapping[str, float] | None = None,
) -> Comparison:
    """Paired comparison of ``trials`` against ``baseline_trials``.

    Energy and time metrics: with two or more replicates, one ratio per replicate (its trials pooled) and
    a Student-t interval of the mean log ratio across replicates (:func:`paradox_gym.stats.log_ratio_t`):
    replicates are the independent units. With one replicate, a paired bootstrap over its trials (the
    interval then describes variation inside one process only). Return and episode length: paired by
    episode seed (:func:`paradox_gym.stats.paired_t`) when the episodes are given, else by trial.
    ``levels`` maps a metric (``energy_per_episode``, ``ret``, ``policy_time_per_step``) to the
    confidence level of its interval (Holm-adjusted levels; default 95%).
    """
    levels = levels or {}
    # pair by (replicate, trial): a replicate cut short must not set the baseline's trials against fewer
    shared = {(t.replicate, t.trial) for t in trials} & {(t.replicate, t.trial) for t in baseline_trials}
    trials = [t for t in trials if (t.replicate, t.trial) in shared]
    baseline_trials = [t for t in baseline_trials if (t.replicate, t.trial) in shared]
    shared_seeds = {(e.replicate, e.seed) for e in episodes} & {(e.replicate, e.seed) for e in baseline_episodes}
    episodes = [e for e in episodes if (e.replicate, e.seed) in shared_seeds]
    baseline_episodes = [e for e in baseline_episodes if (e.replicate, e.seed) in shared_seeds]
    multi = replicates_of(trials) >= 2

    def ratio_metric(name: str, num: Any, den: Any) -> PairedCI:
        confidence = levels.get(name, CONFIDENCE)
        if multi:
            a = replicate_means(trials, num, den)
            b = replicate_means(baseline_trials, num, den)
            common = sorted(a.keys() & b.keys())
            return log_ratio_t([a[r] for r in common], [b[r] for r in common], confidence=confidence)

        def per_trial(t: TrialRecord) -> float | None:
            x, y = num(t), den(t)
            return None if x is None or not y else x / y

        xa, xb = _paired_series(trials, baseline_trials, per_trial)
        return paired_bootstrap(xa, xb, resamples=resamples, seed=seed, confidence=confidence)

    def episode_metric(name: str, fn: Any, trial_fn: Any, positive: bool = False) -> PairedCI:
        confidence = levels.get(name, CONFIDENCE)
        if episodes and baseline_episodes:
            xa, xb = _episode_pairs(episodes, baseline_episodes, fn)
            if xa.size:
                return paired_t(xa, xb, confidence=confidence, positive=positive)
        xa, xb = _paired_series(trials, baseline_trials, trial_fn)
        return paired_bootstrap(xa, xb, resamples=resamples, seed=seed, confidence=confidence)

    energy = lambda t: trial_energy(t, meter)  # noqa: E731
    ret = episode_metric("ret", lambda e: e.ret, lambda t: float(np.mean(t.returns)) if t.episodes else None,
                         positive=True)
    length = episode_metric("length", lambda e: e.length,
                            lambda t: float(np.mean(t.lengths)) if t.episodes else None)
    energy_ep = ratio_metric("energy_per_episode", energy, lambda t: t.episodes)
    energy_step = ratio_metric("energy_per_step", energy, lambda t: t.steps)
    pol = ratio_metric("policy_time_per_step", lambda t: t.phase_wall_s.get("policy", 0.0), lambda t: t.steps)
    env = ratio_metric("env_time_per_step", lambda t: t.phase_wall_s.get("env", 0.0), lambda t: t.steps)
    pairs = len(trials)  # both sides were cut to the (replicate, trial)s they share
    b_bytes = baseline_summary.footprint.serialized_bytes if baseline_summary.footprint else None
    c_bytes = summary.footprint.serialized_bytes if summary.footprint else None
    size_ratio = (c_bytes / b_bytes) if (b_bytes and c_bytes is not None) else None
    return Comparison(config, baseline, pairs, size_ratio, ret, length, energy_ep, energy_step, pol, env)
