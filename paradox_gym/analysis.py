"""Statistics of an evaluation: means with 95% CIs, paired bootstrap ratios, verdicts, the paradox decomposition.

Pure computation over the records of ``paradox_gym.experiment.records`` (no I/O, no measurement). Units: energies
in J, times in s unless a name says otherwise (``_us`` microseconds, ``_ns`` nanoseconds), sizes in bytes.

Rules (DESIGN 3.7, 3.8):
- a mean is reported with a two-sided Student-t interval across trials (trials, not episodes, are the
  independent units: each trial is one energy window);
- a compressed/baseline ratio is reported with a paired percentile-bootstrap interval over trials (trial
  ``t`` of every configuration runs the same episode seeds), never narrower than the paired Student-t
  interval of the difference (which is what the difference itself is reported with);
- verdict words come from whether an interval excludes the null value (1 for ratios, 0 for differences),
  never from a point estimate;
- the change of energy per episode ``E = N * e`` is split exactly with the midpoint (Shapley) rule into an
  episode-length effect ``dN * (e0 + e1) / 2`` and a per-step effect ``de * (N0 + N1) / 2``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from paradox_gym.stats import (
    BOOTSTRAP_RESAMPLES,
    CONFIDENCE,
    MeanCI,
    PairedCI,
    direction,
    finite_or_none,
    fit_fixed_cost,
    holm,
    holm_levels,
    log_ratio_t,
    mean_ci,
    paired_bootstrap,
    paired_t,
    t_quantile,
)
from paradox_gym.vocab import BASELINE, CONTROL, DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NOT_APPLICABLE, PHASES

from paradox_gym.compression.floor import InferenceFloor, inference_floor
from paradox_gym.compression.footprint import Footprint
from paradox_gym.experiment.records import EpisodeRecord, MemoryProbe, TrialRecord



# "Return kept": the return difference's whole 95% interval lies within this fraction of the baseline's
# |mean return| (the study's criterion for an acceptable compressed agent keeps >= 90% of the return).
RETURN_MARGIN = 0.10


# ---------------------------------------------------------------------------------------------------
# Decomposition (DESIGN 3.8)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decomposition:
    """Change of energy per episode, ``delta_j = n1 * e1 - n0 * e0``, split exactly into
    ``length_effect_j + per_step_effect_j``; ``per_step_phase_j`` splits the per-step effect by phase.
    ``n`` are mean episode lengths (steps), ``e`` energies per step (J)."""

    n0: float
    e0: float
    n1: float
    e1: float
    delta_j: float
    length_effect_j: float
    per_step_effect_j: float
    per_step_phase_j: dict[str, float] = field(default_factory=dict)
    e0_phase_j: dict[str, float] = field(default_factory=dict)
    e1_phase_j: dict[str, float] = field(default_factory=dict)
    fixed_cost_effect_j: float = 0.0
    f0_j: float = 0.0
    f1_j: float = 0.0
    fixed_cost_identified: bool = False
    fixed_cost_model: str = "none"
    length_effect_low_j: float | None = None
    length_effect_high_j: float | None = None
    per_step_effect_low_j: float | None = None
    per_step_effect_high_j: float | None = None
    fixed_cost_effect_low_j: float | None = None
    fixed_cost_effect_high_j: float | None = None
    resamples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def interval(self, effect: str) -> tuple[float | None, float | None]:
        """Bootstrap interval of ``effect`` (``length``, ``per_step`` or ``fixed_cost``), in J."""
        return getattr(self, f"{effect}_effect_low_j"), getattr(self, f"{effect}_effect_high_j")


#: decomposition term -> mechanism word (vocab.MECHANISMS)
EFFECT_MECHANISMS: dict[str, str] = {"per_step": "per-step", "length": "episode-length", "fixed_cost": "fixed-cost"}


def _fit(n: np.ndarray, e: np.ndarray, with_fixed: bool) -> tuple[float, float]:
    """(F, e) of E = F + N x e; without the fixed term, F = 0 and e = mean(E) / mean(N)."""
    if with_fixed:
        fit = fit_fixed_cost(n, e)
        if fit is not None:
            return fit
    return 0.0, float(e.mean() / n.mean()) if n.mean() else 0.0


def decompose_fixed_cost(
    n0: np.ndarray, e0: np.ndarray, n1: np.ndarray, e1: np.ndarray, *,
    phases0: Mapping[str, float] | None = None, phases1: Mapping[str, float] | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0, confidence: float = CONFIDENCE,
) -> Decomposition:
    """Split the change of mean energy per episode with a fixed per-episode cost (DESIGN 3.8).

    Per configuration, least squares over its episodes (lengths ``n`` in steps, energies ``e`` in J):
    ``E = F + N x e``. With ``dE = mean(E1) - mean(E0)`` (the fitted lines pass through the means):

        fixed-cost effect     = F1 - F0
        episode-length effect = (N1 - N0) x (e0 + e1) / 2
        marginal per-step     = (e1 - e0) x (N0 + N1) / 2

    which sum to ``dE`` exactly (in exact arithmetic: the fitted lines pass through the means).
    ``fixed_cost_model``: ``separate`` when both configurations' episode lengths vary (F0, F1 fitted
    apart; ``fixed_cost_identified``); ``shared`` when only one varies: one fixed cost F for both (reset
    and bookkeeping are the same code) and a marginal cost per configuration, fitted jointly, so the
    per-step effect is the change of the *marginal* cost and the fixed-cost effect is what the common F
    leaves unexplained (``dE - length - per-step``, about 0 when the model fits); ``none`` when
    neither varies: F = 0, the plain midpoint split. Intervals: percentile bootstrap, episodes resampled (with replacement, each side
    independently, seeded). ``phases0`` / ``phases1`` (pooled energy per step by phase, J) split the
    per-step change by phase as in :func:`decompose`.
    """
    n0, e0, n1, e1 = (np.asarray(x, dtype=float) for x in (n0, e0, n1, e1))
    varies0, varies1 = n0.size > 2 and float(np.var(n0)) > 0, n1.size > 2 and float(np.var(n1)) > 0
    model = "separate" if varies0 and varies1 else ("shared" if varies0 or varies1 else "none")
    identified = model == "separate"

    def effects(a_n: np.ndarray, a_e: np.ndarray, b_n: np.ndarray, b_e: np.ndarray) -> tuple[float, ...]:
        if model == "shared":
            f0 = f1 = 0.0
            s0 = s1 = 0.0
            fit = _fit_shared(a_n, a_e, b_n, b_e)
            if fit is not None:
                f0 = f1 = fit[0]
                s0, s1 = fit[1], fit[2]
            else:
                s0, s1 = _fit(a_n, a_e, False)[1], _fit(b_n, b_e, False)[1]
        else:
            f0, s0 = _fit(a_n, a_e, identified)
            f1, s1 = _fit(b_n, b_e, identified)
        m0, m1 = float(a_n.mean()), float(b_n.mean())
        length, per_step = (m1 - m0) * (s0 + s1) / 2, (s1 - s0) * (m0 + m1) / 2
        # separate / none: F1 - F0 (the lines pass through the means); shared: what the common fixed cost
        # leaves unexplained, so that the three effects always sum to the observed change
        fixed = f1 - f0 if model != "shared" else float(b_e.mean() - a_e.mean()) - length - per_step
        return fixed, length, per_step, f0, s0, f1, s1

    fixed, length, per_step, f0, s0, f1, s1 = effects(n0, e0, n1, e1)
    base = decompose(float(n0.mean()), s0, float(n1.mean()), s1, phases0, phases1)
    bounds: dict[str, float | None] = {}
    if n0.size >= 2 and n1.size >= 2 and resamples > 0:
        rng = np.random.default_rng(seed)
        draws = []
        for _ in range(resamples):
            i0 = rng.integers(0, n0.size, n0.size)
            i1 = rng.integers(0, n1.size, n1.size)
            draws.append(effects(n0[i0], e0[i0], n1[i1], e1[i1])[:3])
        arr = np.asarray(draws)
        alpha = (1.0 - confidence) / 2.0
        for k, name in enumerate(("fixed_cost", "length", "per_step")):
            low, high = np.percentile(arr[:, k], [100 * alpha, 100 * (1 - alpha)])
            bounds[f"{name}_effect_low_j"], bounds[f"{name}_effect_high_j"] = float(low), float(high)
    return Decomposition(
        base.n0, s0, base.n1, s1, float(e1.mean() - e0.mean()), length, per_step, base.per_step_phase_j,
        base.e0_phase_j, base.e1_phase_j, fixed_cost_effect_j=fixed, f0_j=f0, f1_j=f1,
        fixed_cost_identified=identified, fixed_cost_model=model, resamples=resamples if bounds else 0, **bounds,
    )


def _fit_shared(n0: np.ndarray, e0: np.ndarray, n1: np.ndarray, e1: np.ndarray) -> tuple[float, float, float] | None:
    """Least squares of ``E = F + N x e_c`` over both configurations' episodes with one fixed cost ``F``
    (reset and episode bookkeeping are the same code for both) and a marginal cost per configuration:
    ``(F, e0, e1)``; None when the design is singular."""
    n = np.concatenate([n0, n1])
    design = np.column_stack([np.ones_like(n), np.concatenate([n0, np.zeros_like(n1)]),
                              np.concatenate([np.zeros_like(n0), n1])])
    solution, _, rank, _ = np.linalg.lstsq(design, np.concatenate([e0, e1]), rcond=None)
    if rank < 3:
        return None
    return float(solution[0]), float(solution[1]), float(solution[2])


def decompose(
    n0: float,
    e0: float,
    n1: float,
    e1: float,
    phases0: Mapping[str, float] | None = None,
    phases1: Mapping[str, float] | None = None,
) -> Decomposition:
    """Midpoint (Shapley) split of ``dE = n1*e1 - n0*e0``: length ``dN*(e0+e1)/2``, per-step ``de*(n0+n1)/2``.

    The two effects sum to ``dE`` exactly in exact arithmetic (works with ``fractions.Fraction``), to
    rounding error in floats. ``phases0`` / ``phases1`` give energy per step by phase (J); when both are
    given the per-step effect is split as ``de_phase * (n0 + n1) / 2`` per phase (these sum to the
    per-step effect when the phases sum to ``e0`` and ``e1``).
    """
    delta = n1 * e1 - n0 * e0
    length = (n1 - n0) * (e0 + e1) / 2
    per_step = (e1 - e0) * (n0 + n1) / 2
    split: dict[str, float] = {}
    if phases0 is not None and phases1 is not None:
        for phase in phases0.keys() | phases1.keys():
            split[phase] = (phases1.get(phase, 0.0) - phases0.get(phase, 0.0)) * (n0 + n1) / 2
    return Decomposition(
        n0, e0, n1, e1, delta, length, per_step, split, dict(phases0 or {}), dict(phases1 or {})
    )


# ---------------------------------------------------------------------------------------------------
# Per-configuration summaries
# ---------------------------------------------------------------------------------------------------
def _trial_energy(trial: TrialRecord, meter: str) -> float | None:
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
    with_energy = [t for t in trials if _trial_energy(t, meter) is not None and t.episodes and t.steps]
    if replicates_of(with_energy) >= 2:
        energy = lambda t: _trial_energy(t, meter)  # noqa: E731
        e_ep = list(_replicate_means(with_energy, energy, lambda t: t.episodes).values())
        e_step = list(_replicate_means(with_energy, energy, lambda t: t.steps).values())
    else:
        e_ep = [_trial_energy(t, meter) / t.episodes for t in with_energy]  # type: ignore[operator]
        e_step = [_trial_energy(t, meter) / t.steps for t in with_energy]  # type: ignore[operator]
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
    cc_e = cc_rel = cc_kind = None
    cc_below = False
    if crosscheck_meter is not None:
        with_cc = [t for t in trials if t.crosscheck]
        kinds = {t.crosscheck.get("kind") for t in with_cc if t.crosscheck.get("kind")}  # type: ignore[union-attr]
        cc_kind = kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else None)
        both = [
            t for t in with_cc
            if t.crosscheck.get("our_j") is not None and t.crosscheck.get("codecarbon_j") is not None  # type: ignore[union-attr]
            and not t.crosscheck.get("below_resolution")  # type: ignore[union-attr]
        ]
        cc_below = bool(with_cc) and not both and all(t.crosscheck.get("below_resolution") for t in with_cc)  # type: ignore[union-attr]
        if both:
            ours = sum(float(t.crosscheck["our_j"]) for t in both)  # type: ignore[index]
            theirs = sum(float(t.crosscheck["codecarbon_j"]) for t in both)  # type: ignore[index]
            cc_e = theirs / sum(t.episodes for t in both)
            cc_rel = (ours - theirs) / theirs if theirs else None
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


# ---------------------------------------------------------------------------------------------------
# Comparisons against the baseline, verdicts
# ---------------------------------------------------------------------------------------------------
@dataclass
class Comparison:
    """One compressed configuration against the baseline (``none``), paired by trial index."""

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
    decomposition: Decomposition | None
    verdict: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = value.to_dict() if hasattr(value, "to_dict") else (finite_or_none(value) if isinstance(value, float) else value)
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


def _replicate_means(trials: Sequence[TrialRecord], num: Any, den: Any) -> dict[int, float]:
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
            a = _replicate_means(trials, num, den)
            b = _replicate_means(baseline_trials, num, den)
            common = sorted(a.keys() & b.keys())
            return log_ratio_t([a[r] for r in common], [b[r] for r in common], confidence=confidence)

        def per_trial(t: TrialRecord) -> float | None:
            x, y = num(t), den(t)
            return None if x is None or not y else x / y

        xa, xb = _paired_series(trials, baseline_trials, per_trial)
        return paired_bootstrap(xa, xb, resamples=resamples, seed=seed, confidence=confidence)

    def episode_metric(name: str, fn: Any, trial_fn: Any) -> PairedCI:
        confidence = levels.get(name, CONFIDENCE)
        if episodes and baseline_episodes:
            xa, xb = _episode_pairs(episodes, baseline_episodes, fn)
            if xa.size:
                return paired_t(xa, xb, confidence=confidence)
        xa, xb = _paired_series(trials, baseline_trials, trial_fn)
        return paired_bootstrap(xa, xb, resamples=resamples, seed=seed, confidence=confidence)

    energy = lambda t: _trial_energy(t, meter)  # noqa: E731
    ret = episode_metric("ret", lambda e: e.ret, lambda t: float(np.mean(t.returns)) if t.episodes else None)
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
    decomposition = None
    ep_c = [e for e in episodes if e.energy_j(meter) is not None]
    ep_b = [e for e in baseline_episodes if e.energy_j(meter) is not None]
    if len(ep_c) >= 2 and len(ep_b) >= 2:
        decomposition = decompose_fixed_cost(
            np.array([e.length for e in ep_b]), np.array([e.energy_j(meter) for e in ep_b]),
            np.array([e.length for e in ep_c]), np.array([e.energy_j(meter) for e in ep_c]),
            phases0=baseline_summary.phase_energy_per_step_j, phases1=summary.phase_energy_per_step_j,
            resamples=min(resamples, 1000), seed=seed,
        )
    else:
        n0, n1 = baseline_summary.length.mean, summary.length.mean
        e0 = _pooled_energy_per_step(baseline_trials, meter)
        e1 = _pooled_energy_per_step(trials, meter)
        if None not in (n0, n1, e0, e1):
            decomposition = decompose(
                n0, e0, n1, e1,  # type: ignore[arg-type]
                baseline_summary.phase_energy_per_step_j, summary.phase_energy_per_step_j,
            )
    return Comparison(config, baseline, pairs, size_ratio, ret, length, energy_ep, energy_step, pol, env, decomposition)


def _pooled_energy_per_step(trials: Sequence[TrialRecord], meter: str) -> float | None:
    with_energy = [t for t in trials if _trial_energy(t, meter) is not None and t.steps]
    steps = sum(t.steps for t in with_energy)
    if not steps:
        return None
    return sum(_trial_energy(t, meter) for t in with_energy) / steps  # type: ignore[misc]


def _pct(r: float | None) -> str:
    """``ratio`` as a signed percent change: one decimal below 10% (so that a bound is never shown as
    "-0%" or "+0%" when it lies on one side of no change), none above."""
    if r is None:
        return "n/a"
    pct = (r - 1.0) * 100
    if pct == 0:
        return "0%"
    text = f"{pct:+.1f}%" if abs(pct) < 9.95 else f"{pct:+.0f}%"
    return text.replace("+0.0%", "+<0.1%").replace("-0.0%", "-<0.1%")


def _ratio_text(ci: PairedCI) -> str:
    if ci.ratio is None:
        return "ratio n/a"
    if ci.ratio_low is None or ci.ratio_high is None:
        return f"ratio {ci.ratio:.2f}, no CI"
    return f"ratio {ci.ratio:.2f}, CI {ci.ratio_low:.2f}–{ci.ratio_high:.2f}"


def _return_text(ci: PairedCI) -> str:
    """Ratio (when the baseline mean is positive) and always the difference, each with its interval; the
    difference is also given as a percent of the baseline's |mean return| (meaningful for negative returns)."""
    rel = ""
    if ci.diff is not None and ci.baseline_mean:
        rel = f" ({100 * ci.diff / abs(ci.baseline_mean):+.1f}% of |baseline|)"
    diff = "difference n/a" if ci.diff is None else (
        f"difference {ci.diff:+.4g}{rel}"
        + ("" if ci.diff_low is None else f", CI {ci.diff_low:+.4g}…{ci.diff_high:+.4g}")
    )
    if ci.ratio is not None and ci.baseline_mean is not None and ci.baseline_mean > 0:
        return f"{_ratio_text(ci)}; {diff}"
    return diff


def _pct_text(ci: PairedCI, label: str = "CI") -> str:
    """``ratio`` as a percent change with its interval, ``label`` naming the interval (e.g. "98.3% CI")."""
    if ci.ratio is None:
        return "n/a"
    if ci.ratio_low is None or ci.ratio_high is None:
        return f"{_pct(ci.ratio)} (no CI)"
    return f"{_pct(ci.ratio)} ({label} {_pct(ci.ratio_low)}…{_pct(ci.ratio_high)})"


def energy_direction(ci: PairedCI) -> str:
    """Direction of an energy (always positive) change, from the ratio interval vs 1."""
    return direction(ci.ratio_low, ci.ratio_high, 1.0)


def return_direction(ci: PairedCI) -> str:
    """Direction of a return change, from the difference interval vs 0 (valid for negative returns too)."""
    return direction(ci.diff_low, ci.diff_high, 0.0)


# ---------------------------------------------------------------------------------------------------
# Verdict words (docs/methodology.md, "Verdicts")
# ---------------------------------------------------------------------------------------------------
#: The metrics whose verdicts form the Holm family, per compressed configuration.
FAMILY_METRICS: tuple[str, ...] = ("energy_per_episode", "ret", "policy_time_per_step")
DEFAULT_MARGIN = 0.05


@dataclass(frozen=True)
class Verdict:
    """The structured verdict of one configuration against its baseline.

    ``energy``: ``lower`` / ``higher`` (the Holm-adjusted test rejects no change), ``equivalent`` (the
    adjusted interval lies inside +-``margin``), else ``no detectable change``. ``return``: ``higher``
    (adjusted test), ``kept`` (the ratio's lower bound >= 1 - ``return_margin``; for negative returns the
    difference's lower bound >= -return_margin x |baseline|), ``lower`` (adjusted test), else
    ``not shown kept``. ``saving`` only when energy is lower AND return is kept or higher. ``mechanism``:
    the decomposition term (``per-step``, ``episode-length``, ``fixed-cost``) carrying the energy change,
    only when its interval excludes zero. ``energy_method`` says how the energy figures were obtained
    (a ``modelled`` figure is never called plain energy); ``noisy``: the A/A control differed.
    ``energy_basis``: the energy figures the words rest on, ``gross`` (what a battery or the bill sees) or
    ``net`` (less idle power x time); ``net_energy``: the energy word the other basis gives, when known."""

    energy: str
    return_: str
    saving: bool
    mechanism: str | None
    energy_method: str | None
    noisy: bool
    energy_p_adjusted: float | None
    return_p_adjusted: float | None
    policy_p_adjusted: float | None
    energy_confidence: float
    return_confidence: float
    margin: float
    return_margin: float
    family_size: int
    energy_basis: str = "gross"
    net_energy: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "energy_basis": self.energy_basis, "net_energy": self.net_energy,
            "energy": self.energy, "return": self.return_, "saving": self.saving, "mechanism": self.mechanism,
            "energy_method": self.energy_method, "noisy": self.noisy,
            "energy_p_adjusted": finite_or_none(self.energy_p_adjusted),
            "return_p_adjusted": finite_or_none(self.return_p_adjusted),
            "policy_time_p_adjusted": finite_or_none(self.policy_p_adjusted),
            "energy_confidence": self.energy_confidence, "return_confidence": self.return_confidence,
            "margin": self.margin, "return_margin": self.return_margin, "family_size": self.family_size,
        }


def energy_word(ci: PairedCI, p_adjusted: float | None, margin: float, alpha: float = 1 - CONFIDENCE) -> str:
    """``lower`` / ``higher`` / ``equivalent`` / ``no detectable change`` for an energy ratio interval."""
    if ci.ratio is None or ci.ratio_low is None or ci.ratio_high is None:
        return "no detectable change"
    if p_adjusted is not None and p_adjusted < alpha and (ci.ratio_high < 1.0 or ci.ratio_low > 1.0):
        return "lower" if ci.ratio_high < 1.0 else "higher"
    if ci.ratio_low >= 1.0 - margin and ci.ratio_high <= 1.0 + margin:
        return "equivalent"
    return "no detectable change"


def return_word(ci: PairedCI, p_adjusted: float | None, return_margin: float, alpha: float = 1 - CONFIDENCE) -> str:
    """``higher`` / ``kept`` / ``lower`` / ``not shown kept`` for a return comparison (valid for negative
    returns: the margin is taken on the baseline's |mean return|)."""
    significant = p_adjusted is not None and p_adjusted < alpha and ci.diff is not None
    if significant and ci.diff > 0 and ci.diff_low is not None and ci.diff_low > 0:  # type: ignore[operator]
        return "higher"
    if return_kept(ci, return_margin):
        return "kept"
    if significant and ci.diff < 0 and ci.diff_high is not None and ci.diff_high < 0:  # type: ignore[operator]
        return "lower"
    return "not shown kept"


def mechanism_of(d: Decomposition | None, energy: str) -> str | None:
    """The decomposition term that carries a ``lower`` / ``higher`` energy change: among the effects whose
    bootstrap interval excludes zero on the side of the change, the largest; None otherwise."""
    if d is None or energy not in ("lower", "higher"):
        return None
    sign = -1.0 if energy == "lower" else 1.0
    candidates = {}
    for effect, word in EFFECT_MECHANISMS.items():
        low, high = d.interval(effect)
        value = getattr(d, f"{effect}_effect_j")
        if low is None or high is None:
            continue
        if (sign > 0 and low > 0) or (sign < 0 and high < 0):
            candidates[word] = sign * value
    return max(candidates, key=candidates.__getitem__) if candidates else None


# ---------------------------------------------------------------------------------------------------
# The three checks of the study
# ---------------------------------------------------------------------------------------------------
@dataclass
class Check:
    """A claim of the study answered from the data: ``status`` is holds / does not hold / inconclusive."""

    claim: str
    status: str
    evidence: str
    per_config: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _combine(statuses: dict[str, str]) -> str:
    """A universal claim: any counterexample refutes it; it holds when every applicable configuration
    supports it (``not applicable`` entries are ignored)."""
    applicable = {k: v for k, v in statuses.items() if v != NOT_APPLICABLE}
    if any(s == DOES_NOT_HOLD for s in applicable.values()):
        return DOES_NOT_HOLD
    if applicable and all(s == HOLDS for s in applicable.values()):
        return HOLDS
    return INCONCLUSIVE


def _evidence(per: Mapping[str, str], details: Sequence[str]) -> str:
    """Evidence text: when the applicable configurations answer differently, first say which answer
    holds for which configurations, then the per-configuration numbers."""
    groups: dict[str, list[str]] = {}
    for cfg, status in per.items():
        if status != NOT_APPLICABLE:
            groups.setdefault(status, []).append(cfg)
    head = ""
    if len(groups) > 1:
        order = (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE)
        head = "; ".join(f"{s} for {', '.join(groups[s])}" for s in order if s in groups) + ". "
    return head + ("; ".join(details) or "no compressed configuration")


def _energy_of(c: Comparison) -> str:
    """The energy word of ``c`` (its Holm-adjusted verdict), ``undetermined`` without an interval."""
    if c.energy_per_episode.ratio_low is None:
        return "undetermined"
    if c.verdict is not None:
        return c.verdict.energy
    edir = energy_direction(c.energy_per_episode)
    return "no detectable change" if edir == "unchanged" else edir


def _return_of(c: Comparison) -> str:
    if c.ret.diff_low is None:
        return "undetermined"
    if c.verdict is not None:
        return c.verdict.return_
    rdir = return_direction(c.ret)
    return "higher" if rdir == "higher" else ("kept" if return_kept(c.ret) else (
        "lower" if rdir == "lower" else "not shown kept"))


def _policy_of(c: Comparison) -> str:
    ci = c.policy_time_per_step
    if ci.ratio_low is None:
        return "undetermined"
    p = c.verdict.policy_p_adjusted if c.verdict is not None else ci.p_value
    pdir = direction(ci.ratio_low, ci.ratio_high, 1.0)
    significant = p is not None and p < 1 - CONFIDENCE
    return pdir if significant and pdir in ("higher", "lower") else "no detectable change"


def check_size_vs_energy(comparisons: Sequence[Comparison]) -> Check:
    """"Size reduction did not bring energy reduction": for each smaller configuration, energy per episode
    not significantly lower (holds) or significantly lower (does not hold); configurations that are not
    smaller are ``not applicable``."""
    per: dict[str, str] = {}
    ev: list[str] = []
    for c in comparisons:
        if c.size_ratio is None or c.size_ratio >= 1:
            per[c.config] = NOT_APPLICABLE
            ev.append(f"{c.config}: not smaller (size ratio {c.size_ratio if c.size_ratio is None else round(c.size_ratio, 3)})")
            continue
        edir = _energy_of(c)
        per[c.config] = {"lower": DOES_NOT_HOLD, "higher": HOLDS, "equivalent": HOLDS}.get(edir, INCONCLUSIVE)
        extra = ""
        if edir == "lower":
            extra = f", return {_return_of(c)}"
        ev.append(f"{c.config}: size ratio {c.size_ratio:.2f}, energy per episode {_ratio_text(c.energy_per_episode)} "
                  f"({edir}){extra}")
    return Check("size reduction did not bring energy reduction", _combine(per), _evidence(per, ev), per)


def return_kept(ci: PairedCI, margin: float = RETURN_MARGIN) -> bool:
    """True when the whole 95% interval of the return difference lies above ``-margin * |baseline mean|``:
    the compressed agent keeps at least (1 - margin) of the baseline's return, with confidence (valid for
    negative returns: the margin is taken on the magnitude)."""
    if ci.diff_low is None or ci.baseline_mean is None:
        return False
    return ci.diff_low >= -margin * abs(ci.baseline_mean)


def check_energy_only_with_return(comparisons: Sequence[Comparison]) -> Check:
    """"Energy fell only where return fell", per configuration with significantly lower energy per episode:
    does not hold when its return is kept (:func:`return_kept`: the difference's interval lies within
    ``RETURN_MARGIN`` of the baseline's |return|, so any fall is immaterial) or is significantly higher;
    holds when its return is significantly lower (beyond that margin); inconclusive when the return interval
    is too wide to tell. Configurations whose energy did not fall are ``not applicable``; when none fell
    the claim holds vacuously (and says so)."""
    per: dict[str, str] = {}
    ev: list[str] = []
    for c in comparisons:
        edir = _energy_of(c)
        rword = _return_of(c)
        if edir == "undetermined":
            per[c.config] = INCONCLUSIVE
            ev.append(f"{c.config}: energy change undetermined")
            continue
        if edir != "lower":
            per[c.config] = NOT_APPLICABLE
            ev.append(f"{c.config}: energy not lower ({_ratio_text(c.energy_per_episode)})")
            continue
        margin = c.verdict.return_margin if c.verdict is not None else RETURN_MARGIN
        if rword in ("higher", "kept"):
            per[c.config] = DOES_NOT_HOLD
            why = "return higher" if rword == "higher" else (
                f"return kept within {margin:.0%} of the baseline's |return|")
        elif rword == "lower":
            per[c.config] = HOLDS
            why = "return lower"
        else:
            per[c.config] = INCONCLUSIVE
            why = "return not shown kept nor shown lower" if rword != "undetermined" else "return undetermined"
        ev.append(f"{c.config}: energy lower ({_ratio_text(c.energy_per_episode)}), {why} ({_return_text(c.ret)})")
    claim = "energy fell only where return fell"
    if comparisons and all(v == NOT_APPLICABLE for v in per.values()):
        if all(_energy_of(c) in ("higher", "equivalent") for c in comparisons):
            return Check(claim, HOLDS, "vacuously: every configuration used more or equivalent energy per "
                         "episode; " + "; ".join(ev), per)
        return Check(claim, INCONCLUSIVE, "no configuration was shown to use less energy per episode, but not "
                     "every one was shown to use more or equivalent energy; " + "; ".join(ev), per)
    return Check(claim, _combine(per), _evidence(per, ev), per)


def check_inference_overhead(comparisons: Sequence[Comparison]) -> Check:
    """"Compression adds inference overhead": policy inference wall time per step significantly higher
    (holds), significantly lower (does not hold), otherwise inconclusive; per configuration, and overall
    as a universal claim (the evidence names the configurations of each answer when they differ)."""
    per: dict[str, str] = {}
    ev: list[str] = []
    for c in comparisons:
        pdir = _policy_of(c)
        per[c.config] = {"higher": HOLDS, "lower": DOES_NOT_HOLD}.get(pdir, INCONCLUSIVE)
        ev.append(f"{c.config}: policy time per step {_pct_text(c.policy_time_per_step)} ({pdir})")
    return Check("compression adds inference overhead", _combine(per), _evidence(per, ev), per)


def study_checks(comparisons: Sequence[Comparison]) -> list[Check]:
    """The three checks of the study (Lu et al. 2024), each with its evidence."""
    return [
        check_size_vs_energy(comparisons),
        check_energy_only_with_return(comparisons),
        check_inference_overhead(comparisons),
    ]


# ---------------------------------------------------------------------------------------------------
# Whole evaluation
# ---------------------------------------------------------------------------------------------------
@dataclass
class Analysis:
    """Summaries per configuration, comparisons against the baseline and the three checks."""

    meter: str
    energy_method: str | None
    crosscheck_meter: str | None
    summaries: dict[str, ConfigSummary]
    comparisons: dict[str, Comparison]
    checks: list[Check]
    notes: list[str] = field(default_factory=list)
    #: configuration -> comparison with the ``sb3`` float baseline, for those compared with their own
    #: runtime's float baseline in ``comparisons`` (see _runtime_extras)
    reference_comparisons: dict[str, Comparison] = field(default_factory=dict)
    control: ControlSummary | None = None
    replicates: int = 0
    family_size: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "energy_meter": self.meter,
            "energy_method": self.energy_method,
            "crosscheck_meter": self.crosscheck_meter,
            "summaries": {k: v.to_dict() for k, v in self.summaries.items()},
            "comparisons": {k: v.to_dict() for k, v in self.comparisons.items()},
            "decomposition": {
                k: (v.decomposition.to_dict() if v.decomposition else None) for k, v in self.comparisons.items()
            },
            "checks": [c.to_dict() for c in self.checks],
            "control": self.control.to_dict() if self.control is not None else None,
            "multiplicity": {"method": "holm", "family_size": self.family_size,
                             "family_wise_error_rate": round(1 - CONFIDENCE, 4)},
            "replicates": self.replicates,
            "notes": list(self.notes),
            "reference_comparisons": {k: v.to_dict() for k, v in self.reference_comparisons.items()},
        }


def complete_trials(trials: Sequence[TrialRecord]) -> list[TrialRecord]:
    """Trials that ran all their episodes (an interrupted trial is never analysed)."""
    return [t for t in trials if t.episodes > 0 and t.episodes == len(t.seeds)]


def analyse(
    trials_by_config: Mapping[str, Sequence[TrialRecord]],
    *,
    meter: str,
    crosscheck_meter: str | None = None,
    footprints: Mapping[str, Footprint] | None = None,
    memory: Mapping[str, MemoryProbe] | None = None,
    baseline: str = BASELINE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    baselines: Mapping[str, str] | None = None,
    macs_per_s: float | None = None,
    episodes: Sequence[EpisodeRecord] = (),
    margin: float = DEFAULT_MARGIN,
    return_margin: float = RETURN_MARGIN,
) -> Analysis:
    """Summaries, paired comparisons against ``baseline``, verdicts and checks for a whole evaluation.

    ``episodes`` (the measured episodes) give the per-seed return pairing and the fixed-cost
    decomposition. Verdicts: Holm adjustment over :data:`FAMILY_METRICS` x the compressed configurations
    (the A/A control ``none-copy`` is tested on its own, unadjusted, which makes the noise flag stricter),
    intervals shown at their Holm levels; ``margin`` / ``return_margin`` as in :class:`Verdict`.

    ``baselines`` (configuration -> the configuration it is compared with; default ``baseline`` for all)
    and ``macs_per_s`` (the measured matmul rate for the arithmetic floor) serve inference runtimes; see
    :func:`_runtime_extras`.
    """
    footprints = footprints or {}
    memory = memory or {}
    summaries = {
        cfg: summarize_config(
            cfg,
            complete_trials(trials),
            meter=meter,
            crosscheck_meter=crosscheck_meter,
            footprint=footprints.get(cfg),
            memory=memory.get(cfg),
        )
        for cfg, trials in trials_by_config.items()
    }
    complete = {cfg: complete_trials(trials) for cfg, trials in trials_by_config.items()}
    whole = {(t.config, t.replicate, t.trial) for ts in complete.values() for t in ts}
    episodes_of: dict[str, list[EpisodeRecord]] = {}
    for e in episodes:
        if (e.config, e.replicate, e.trial) in whole:
            episodes_of.setdefault(e.config, []).append(e)
    own_baseline: dict[str, str] = {}

    def compare_cfg(cfg: str, levels: Mapping[str, float] | None = None) -> Comparison:
        own = own_baseline[cfg]
        return compare(cfg, complete[cfg], complete[own], summaries[cfg], summaries[own], meter=meter,
                       baseline=own, resamples=resamples, seed=seed, episodes=episodes_of.get(cfg, ()),
                       baseline_episodes=episodes_of.get(own, ()), levels=levels)

    comparisons: dict[str, Comparison] = {}
    if baseline in trials_by_config:
        for cfg in trials_by_config:
            if cfg == baseline:
                continue
            own = (baselines or {}).get(cfg, baseline)
            own_baseline[cfg] = own if own in trials_by_config else baseline
            comparisons[cfg] = compare_cfg(cfg)
    runtime_baselines = {c.baseline for c in comparisons.values()} - {baseline}
    family = [cfg for cfg in comparisons if cfg != CONTROL and cfg not in runtime_baselines]
    keys = [(cfg, metric) for cfg in family for metric in FAMILY_METRICS]
    p_raw = [getattr(comparisons[cfg], metric).p_value for cfg, metric in keys]
    tested = sum(p is not None for p in p_raw)  # Holm's m: the tests that have a p-value
    adjusted = dict(zip(keys, holm(p_raw)))
    shown_at = dict(zip(keys, holm_levels(p_raw)))
    noisy = False
    if CONTROL in comparisons:
        cc = comparisons[CONTROL]
        noisy = cc.energy_per_episode.p_value is not None and cc.energy_per_episode.p_value < 1 - CONFIDENCE
    for cfg in comparisons:
        if cfg in family:
            levels = {m: shown_at[(cfg, m)] or CONFIDENCE for m in FAMILY_METRICS}
            comp = compare_cfg(cfg, levels)
            p_adj = {m: adjusted[(cfg, m)] for m in FAMILY_METRICS}
            size = tested
        else:
            comp, levels = comparisons[cfg], {m: CONFIDENCE for m in FAMILY_METRICS}
            p_adj = {m: getattr(comp, m).p_value for m in FAMILY_METRICS}
            size = 1
        eword = energy_word(comp.energy_per_episode, p_adj["energy_per_episode"], margin)
        rword = return_word(comp.ret, p_adj["ret"], return_margin)
        comp.verdict = Verdict(
            energy=eword, return_=rword, saving=eword == "lower" and rword in ("kept", "higher"),
            mechanism=mechanism_of(comp.decomposition, eword), energy_method=summaries[cfg].energy_method,
            noisy=noisy, energy_p_adjusted=p_adj["energy_per_episode"], return_p_adjusted=p_adj["ret"],
            policy_p_adjusted=p_adj["policy_time_per_step"], energy_confidence=levels["energy_per_episode"],
            return_confidence=levels["ret"], margin=margin, return_margin=return_margin, family_size=size,
        )
        comparisons[cfg] = comp
    control = control_summary(comparisons.get(CONTROL), noisy)
    methods = {s.energy_method for s in summaries.values() if s.energy_method}
    notes: list[str] = []
    if len(methods) > 1 or "mixed" in methods:
        notes.append(f"the energy figures mix methods ({', '.join(sorted(methods))})")
    energy_method = methods.pop() if len(methods) == 1 else ("mixed" if methods else None)
    status_counts: dict[str, dict[str, int]] = {}
    first_failure: dict[str, str] = {}
    for trials in trials_by_config.values():
        for t in complete_trials(trials):
            for name, status in t.energy_status.items():
                counts = status_counts.setdefault(name, {})
                counts[status] = counts.get(status, 0) + 1
                if status in ("failed", "unavailable") and name not in first_failure:
                    first_failure[name] = t.energy_note.get(name, "")
    for name, counts in status_counts.items():
        total = sum(counts.values())
        bad = {k: v for k, v in counts.items() if k != "ok"}
        if bad:
            detail = ", ".join(f"{v} {k}" for k, v in sorted(bad.items()))
            hint = " (windows shorter than the meter's resolution: use more --episodes)" if "too_short" in bad else ""
            reason = f"; first failure: {first_failure[name]}" if first_failure.get(name) else ""
            notes.append(f"{name}: {detail} of {total} trial windows{hint}{reason}")
    replicates = max((replicates_of(ts) for ts in complete.values()), default=0)
    fewest = min((len(ts) for ts in complete.values()), default=0)
    if replicates == 1 and 2 <= fewest < 4:
        notes.append(
            f"only {fewest} trials per configuration: 95% intervals use Student's t with {fewest - 1} degree(s) "
            f"of freedom (t = {t_quantile(0.975, fewest - 1):.1f}) and are wide; use --trials 5 or more"
        )
    if replicates == 1:
        notes.append("one replicate: energy and time intervals describe variation between trials inside one "
                     "process only, not between runs of the command; use --replicates 3 or more")
    elif replicates >= 2:
        notes.append(f"{replicates} replicates (fresh processes): energy and time intervals are Student-t "
                     f"intervals across replicates ({replicates - 1} degree(s) of freedom, "
                     f"t = {t_quantile(0.975, replicates - 1):.2f} at 95%)")
    if tested:
        notes.append(f"multiplicity: Holm adjustment over {tested} tests ({len(family)} configuration(s) x "
                     f"energy per episode, return, policy time per step); family-wise error rate "
                     f"{1 - CONFIDENCE:.0%}; intervals of these metrics are shown at their Holm levels")
    crowded = [t for ts in complete.values() for t in ts if not t.phase_split_reliable]
    if crowded:
        shares = [t.rollout_cpu_share for t in crowded if t.rollout_cpu_share is not None]
        notes.append(f"CPU contention: in {len(crowded)} of {sum(len(ts) for ts in complete.values())} trials "
                     f"the rollout thread had only {min(shares):.2f}-{max(shares):.2f} of the wall time "
                     "(< 0.9): their wall-clock phase split charges other processes' time to the phases and "
                     "is unreliable; rerun on a quieter machine or with --phase-clock cpu")
    if control is not None:
        def mde(pct: float) -> str:
            return "n/a (no interval)" if pct != pct else f"{pct:.1f}%"

        notes.append(f"A/A control ({CONTROL}): minimum detectable effect {mde(control.mde_per_episode_pct)} "
                     f"per episode, {mde(control.mde_per_step_pct)} per step"
                     + ("; the control DIFFERED from the baseline: the run is noisy, treat every verdict "
                        "with suspicion" if noisy else ""))
    for s in summaries.values():
        if s.energy_windows < 2:
            notes.append(f"{s.config}: energy rests on {s.energy_windows} trial window(s); no confidence interval")
    reference, checked = _runtime_extras(trials_by_config, summaries, comparisons, notes, meter=meter,
                                         baseline=baseline, macs_per_s=macs_per_s, resamples=resamples, seed=seed)
    checked = [c for c in checked if c.config != CONTROL]
    return Analysis(meter, energy_method, crosscheck_meter, summaries, comparisons, study_checks(checked), notes,
                    reference_comparisons=reference, control=control, replicates=replicates, family_size=tested)


@dataclass(frozen=True)
class ControlSummary:
    """The A/A control's calibration of a run: its energy-per-episode ratio interval against the baseline,
    the minimum detectable effect (MDE, the interval's larger distance from 1, in %) per episode and per
    step, and ``noisy`` (the control differed significantly from the baseline)."""

    config: str
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    mde_per_episode_pct: float
    mde_per_step_pct: float
    noisy: bool

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config,
                "energy_per_episode_ratio": {"ratio": finite_or_none(self.ratio), "low": finite_or_none(self.ratio_low),
                                             "high": finite_or_none(self.ratio_high)},
                "mde_percent": {"per_episode": finite_or_none(self.mde_per_episode_pct),
                                "per_step": finite_or_none(self.mde_per_step_pct)},
                "min_detectable_effect_pct": finite_or_none(self.mde_per_episode_pct),
                "noisy": self.noisy}


def _mde(ci: PairedCI) -> float:
    if ci.ratio_low is None or ci.ratio_high is None:
        return float("nan")
    return 100.0 * max(1.0 - ci.ratio_low, ci.ratio_high - 1.0)


def control_summary(comp: Comparison | None, noisy: bool) -> ControlSummary | None:
    """The :class:`ControlSummary` of the control's comparison (None without a control)."""
    if comp is None:
        return None
    e = comp.energy_per_episode
    return ControlSummary(comp.config, e.ratio, e.ratio_low, e.ratio_high, _mde(e), _mde(comp.energy_per_step), noisy)


# ---------------------------------------------------------------------------------------------------
# Inference runtimes: comparisons with the sb3 float baseline, the arithmetic floor
# ---------------------------------------------------------------------------------------------------
def _runtime_extras(
    trials_by_config: Mapping[str, Sequence[TrialRecord]],
    summaries: Mapping[str, ConfigSummary],
    comparisons: Mapping[str, Comparison],
    notes: list[str],
    *,
    meter: str,
    baseline: str,
    macs_per_s: float | None,
    resamples: int,
    seed: int,
) -> tuple[dict[str, Comparison], list[Comparison]]:
    """What runtimes add to an analysis; returns ``(reference comparisons, comparisons the checks use)``.

    - A configuration compared with another runtime's float baseline (``onnxruntime:ptdq`` vs
      ``onnxruntime:none``) is also compared with ``baseline`` (the ``sb3`` float agent); one note line
      gives energy per step and policy time per step of each against it.
    - A configuration that is itself some configuration's baseline (``onnxruntime:none``) is compared (with
      ``baseline``) but is not a compression, so the study's checks leave it out.
    - With ``macs_per_s``, each summary gets its :class:`InferenceFloor` (footprint MACs at that rate vs the
      mean policy time per step) and one note line states the multiples and dispatch shares.
    """
    targets = {c.baseline for c in comparisons.values()} - {baseline}
    checked = [c for cfg, c in comparisons.items() if cfg not in targets]
    reference: dict[str, Comparison] = {}
    if baseline in trials_by_config:
        base = complete_trials(trials_by_config[baseline])
        for cfg, comp in comparisons.items():
            if comp.baseline != baseline:
                reference[cfg] = compare(cfg, complete_trials(trials_by_config[cfg]), base, summaries[cfg],
                                         summaries[baseline], meter=meter, baseline=baseline,
                                         resamples=resamples, seed=seed)
    if reference:
        notes.append(f"against the {baseline} (sb3 float) baseline: " + "; ".join(
            f"{cfg} energy/step {_pct_text(c.energy_per_step)}, policy time/step {_pct_text(c.policy_time_per_step)}"
            for cfg, c in reference.items()))
    if macs_per_s:
        floors = []
        for cfg, s in summaries.items():
            if s.footprint is not None and s.policy_us_per_step.mean is not None:
                s.inference_floor = inference_floor(s.footprint.macs, s.policy_us_per_step.mean / 1e6, macs_per_s)
                f = s.inference_floor
                if f.multiple is not None and f.dispatch_fraction is not None:
                    floors.append(f"{cfg} {f.policy_s * 1e6:.3g} us = {f.multiple:,.0f}x its {f.floor_s * 1e9:.3g} ns "
                                  f"floor ({100 * f.dispatch_fraction:.2f}% above it)")
        if floors:
            notes.append(f"arithmetic floor (float32 MACs at {macs_per_s / 1e9:.3g} GMAC/s, one measured "
                         f"1024x1024 matmul): policy inference per step " + "; ".join(floors))
    return reference, checked
