"""Why the energy changed: ``E = F + N x e`` per episode, and the change split into three effects.

Per unit (a replicate; a trial when the run has one replicate) and configuration:

* ``E`` -- energy per episode (J): the unit's energy over its episodes, the same figure the verdict uses;
* ``F`` -- the fixed cost per episode (J), **measured**: the energy charged to the episodes' ``reset``
  calls, which the wrapper times apart (``TrialRecord.reset_wall_s``), by their share of the window's wall
  time, as the phase split charges energy to phases. ``F >= 0`` by construction; nothing is extrapolated;
* ``N`` -- mean episode length (steps); ``e = (E - F) / N`` -- the marginal energy per step (J).

The change is split on the log scale, ``log(E1 / E0)``, which is the verdict's estimand (its geometric
mean across units is the verdict's ratio), by the Shapley rule over the three factors ``F``, ``N`` and
``e`` of ``log(F + N x e)``: each effect is its average contribution over the six orders in which the
factors can move from the baseline's value to the configuration's. Per unit the three effects sum to
``log(E1 / E0)`` exactly, so their means sum to the mean log ratio. Each effect gets a Student-t interval
across units at the level the verdict uses (its Holm level), so the words "why" and "whether" rest on the
same data at the same level.

The mechanism word follows :func:`mechanism` (docs/methodology.md, "Why").
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from paradox_gym.analysis.summary import replicates_of, trial_energy
from paradox_gym.experiment.records import TrialRecord
from paradox_gym.stats import CONFIDENCE, finite_or_none, mean_ci

#: The three effects, in the order they are printed.
EFFECTS: tuple[str, ...] = ("length", "per_step", "fixed_cost")
#: effect -> mechanism word (vocab.MECHANISMS)
EFFECT_MECHANISMS: dict[str, str] = {"per_step": "per-step", "length": "episode-length", "fixed_cost": "fixed-cost"}
MIXED = "mixed"
NO_MECHANISM = "none"


@dataclass(frozen=True)
class UnitCosts:
    """One unit's costs for one configuration: energy and fixed cost per episode (J), mean length (steps)."""

    energy_per_episode: float
    fixed_per_episode: float
    length: float

    @property
    def per_step(self) -> float:
        """The marginal energy per step ``(E - F) / N`` (J)."""
        return (self.energy_per_episode - self.fixed_per_episode) / self.length


def unit_costs(trials: Sequence[TrialRecord], meter: str) -> dict[tuple[int, int], UnitCosts]:
    """:class:`UnitCosts` per unit: per replicate (key ``(replicate, -1)``) when there are two or more
    replicates, else per trial (``(replicate, trial)``). Units without energy are left out."""
    by_replicate = replicates_of(trials) >= 2
    sums: dict[tuple[int, int], list[float]] = {}
    for t in trials:
        energy = trial_energy(t, meter)
        if energy is None or not t.episodes or not t.steps or t.wall_s <= 0:
            continue
        key = (t.replicate, -1 if by_replicate else t.trial)
        acc = sums.setdefault(key, [0.0, 0.0, 0.0, 0.0])
        acc[0] += energy
        acc[1] += energy * min(max(t.reset_wall_s / t.wall_s, 0.0), 1.0)
        acc[2] += t.steps
        acc[3] += t.episodes
    return {k: UnitCosts(e / n, f / n, steps / n) for k, (e, f, steps, n) in sums.items() if e > 0 and steps > 0}


def shapley_log_effects(before: UnitCosts, after: UnitCosts) -> dict[str, float]:
    """The Shapley split of ``log(E_after / E_before)`` over the factors F, N and e (sums to it exactly)."""
    start = {"fixed_cost": before.fixed_per_episode, "length": before.length, "per_step": before.per_step}
    end = {"fixed_cost": after.fixed_per_episode, "length": after.length, "per_step": after.per_step}

    def log_energy(values: Mapping[str, float]) -> float:
        return math.log(values["fixed_cost"] + values["length"] * values["per_step"])

    effects = dict.fromkeys(EFFECTS, 0.0)
    orders = list(itertools.permutations(EFFECTS))
    for order in orders:
        current = dict(start)
        for name in order:
            previous = log_energy(current)
            current[name] = end[name]
            effects[name] += (log_energy(current) - previous) / len(orders)
    return effects


@dataclass(frozen=True)
class Effect:
    """A change on the log scale, ``log(after / before)``, with its interval across units."""

    name: str
    log_change: float
    low: float | None
    high: float | None

    @property
    def ratio(self) -> float:
        return math.exp(self.log_change)

    @property
    def ratio_low(self) -> float | None:
        return None if self.low is None else math.exp(self.low)

    @property
    def ratio_high(self) -> float | None:
        return None if self.high is None else math.exp(self.high)

    def excludes_zero(self, sign: float) -> bool:
        """The interval lies wholly on the side of ``sign`` (> 0: an increase; < 0: a decrease)."""
        if self.low is None or self.high is None:
            return False
        return self.low > 0 if sign > 0 else self.high < 0

    def to_dict(self) -> dict[str, Any]:
        return {"log_change": finite_or_none(self.log_change), "low": finite_or_none(self.low),
                "high": finite_or_none(self.high), "ratio": finite_or_none(self.ratio),
                "ratio_low": finite_or_none(self.ratio_low), "ratio_high": finite_or_none(self.ratio_high)}


@dataclass(frozen=True)
class Decomposition:
    """The change of energy per episode between two configurations, split into :data:`EFFECTS`.

    ``n`` are mean episode lengths (steps), ``f`` the measured fixed costs per episode (J), ``e`` the
    marginal energies per step (J), means over units; ``total`` is ``log(E1 / E0)``; ``effects`` sum to it.
    ``e0_phase_j`` / ``e1_phase_j`` split the average energy per step by phase (descriptive: pooled, no
    interval). ``mechanism`` is the word :func:`mechanism` gives (set by the analysis).
    """

    n0: float
    n1: float
    f0_j: float
    f1_j: float
    e0: float
    e1: float
    total: Effect
    effects: dict[str, Effect]
    confidence: float
    units: int
    unit: str
    e0_phase_j: dict[str, float] = field(default_factory=dict)
    e1_phase_j: dict[str, float] = field(default_factory=dict)
    fixed_cost_measured: bool = True
    mechanism: str = NO_MECHANISM

    def interval(self, effect: str) -> tuple[float | None, float | None]:
        """The effect's interval as a ratio (``exp`` of the log-scale bounds)."""
        e = self.effects[effect]
        return e.ratio_low, e.ratio_high

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("total", "effects")}
        out["total"] = self.total.to_dict()
        out["effects"] = {k: v.to_dict() for k, v in self.effects.items()}
        return out


def decompose(
    trials: Sequence[TrialRecord],
    baseline_trials: Sequence[TrialRecord],
    *,
    meter: str,
    confidence: float = CONFIDENCE,
    phases0: Mapping[str, float] | None = None,
    phases1: Mapping[str, float] | None = None,
) -> Decomposition | None:
    """Split the change of energy per episode from ``baseline_trials`` to ``trials`` (see the module
    docstring); None when no unit has energy on both sides."""
    after, before = unit_costs(trials, meter), unit_costs(baseline_trials, meter)
    keys = sorted(after.keys() & before.keys())
    if not keys:
        return None
    per_unit = [shapley_log_effects(before[k], after[k]) for k in keys]
    totals = [math.log(after[k].energy_per_episode / before[k].energy_per_episode) for k in keys]

    def effect(name: str, values: Sequence[float]) -> Effect:
        ci = mean_ci(values, confidence)
        return Effect(name, float(ci.mean or 0.0), ci.low, ci.high)

    def mean(values: Any) -> float:
        return float(np.mean(list(values)))

    return Decomposition(
        n0=mean(before[k].length for k in keys), n1=mean(after[k].length for k in keys),
        f0_j=mean(before[k].fixed_per_episode for k in keys), f1_j=mean(after[k].fixed_per_episode for k in keys),
        e0=mean(before[k].per_step for k in keys), e1=mean(after[k].per_step for k in keys),
        total=effect("total", totals),
        effects={name: effect(name, [u[name] for u in per_unit]) for name in EFFECTS},
        confidence=confidence, units=len(keys), unit="replicates" if keys[0][1] == -1 else "trials",
        e0_phase_j=dict(phases0 or {}), e1_phase_j=dict(phases1 or {}),
        fixed_cost_measured=any(t.reset_wall_s > 0 for t in (*trials, *baseline_trials)),
    )


def mechanism(d: Decomposition | None, energy: str, *, length_change: float | None = None,
              mde: float | None = None) -> str:
    """The mechanism word of an energy verdict (docs/methodology.md, "Why"):

    1. ``none`` unless the energy word is ``lower`` or ``higher``;
    2. the effect (``episode-length``, ``per-step`` or ``fixed-cost``) when it is the only one whose
       interval lies wholly on the side of the change;
    3. ``mixed`` when two or more do;
    4. when none does: ``episode-length`` if the mean episode length changed in the direction of the energy
       by more than the run's ``mde`` (a fraction) while the per-step effect's interval contains no change;
       else ``mixed`` (the change is real, but no single effect carries it at this level).
    """
    if d is None or energy not in ("lower", "higher"):
        return NO_MECHANISM
    sign = -1.0 if energy == "lower" else 1.0
    carried = [name for name in EFFECTS if d.effects[name].excludes_zero(sign)]
    if len(carried) == 1:
        return EFFECT_MECHANISMS[carried[0]]
    if len(carried) > 1:
        return MIXED
    per_step = d.effects["per_step"]
    per_step_unchanged = not (per_step.excludes_zero(1.0) or per_step.excludes_zero(-1.0))
    if (length_change is not None and mde is not None and per_step_unchanged
            and sign * (length_change - 1.0) > mde):
        return EFFECT_MECHANISMS["length"]
    return MIXED
