"""The order configurations play in: a balanced design drawn afresh for every run, and the position effect.

Within a replicate, rounds come in blocks of ``n`` (the number of configurations); each block is a Latin
square drawn at random: every configuration takes every position once. A last, partial block uses rows
of one more such square, so no configuration takes a position twice more than another does. Between
replicates, among the orders that keep a replicate balanced, the one that evens out the counts of the
whole run so far is chosen (ties broken at random). The draw comes from a generator seeded with the
recorded **order seed** (:class:`OrderPlan`): the same order seed, configurations and rounds give the same
orders; a run without one draws its order seed from the operating system's entropy.

:func:`position_effect` estimates how much a trial's position matters (first in its round against later)
from the replicates, as a ratio with a Student-t interval: the note the report prints.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from paradox_gym import limits
from paradox_gym.experiment.records import TrialRecord
from paradox_gym.stats import CONFIDENCE, finite_or_none, mean_ci, t_cdf

ORDER_RULE = ("configuration order: within each replicate, every block of as many rounds as there are "
              "configurations is a Latin square drawn at random (each configuration takes each position once; "
              "a partial last block takes rows of one more square); among those orders, the one evening out "
              "the whole run's position counts so far (ties at random), drawn from "
              "numpy.random.default_rng(design.order_seed); design.orders[r][k] is round k of replicate r")


def draw_order_seed() -> int:
    """A fresh order seed from the operating system's entropy, in the range a seed may take."""
    return secrets.randbelow(limits.MAX_SEED + 1)


class OrderPlan:
    """The orders of one run, drawn replicate by replicate (:meth:`draw`) as the replicates start.

    ``order_seed`` None draws one now (:func:`draw_order_seed`); it is kept in :attr:`order_seed` so that
    the run records it and a later run can replay the same orders with it."""

    def __init__(self, configs: Sequence[str], trials: int, order_seed: int | None = None) -> None:
        if len(set(configs)) != len(configs) or not configs:
            raise ValueError(f"configurations must be distinct and at least one, got {list(configs)}")
        if trials < 1:
            raise ValueError(f"trials must be >= 1, got {trials}")
        self.configs = tuple(configs)
        self.trials = int(trials)
        self.order_seed = draw_order_seed() if order_seed is None else int(order_seed)
        self.orders: list[list[list[str]]] = []
        self._rng = np.random.default_rng(self.order_seed)
        self._run_counts = np.zeros((len(configs), len(configs)), dtype=np.int64)  # [config, position]

    @classmethod
    def for_settings(cls, settings: Any) -> "OrderPlan":
        """The plan of a run with ``settings`` (its ``configs``, ``trials`` and ``order_seed`` when set)."""
        return cls(settings.configs, settings.trials, getattr(settings, "order_seed", None))

    def draw(self) -> list[list[str]]:
        """The orders of the next replicate: one list of configurations per round, in play order."""
        from scipy.optimize import linear_sum_assignment  # imported when first needed: about 1 s per process

        n = len(self.configs)
        rep_counts = np.zeros((n, n), dtype=np.int64)
        orders: list[list[str]] = []
        for k in range(self.trials):
            block = k // n  # before this block's rounds, every (configuration, position) pair was used `block` times
            free = rep_counts == block
            run = self._run_counts - self._run_counts.min()
            # evening out the run's counts first (weight n + 1 > any sum of n tie-breakers in [0, 1))
            cost = np.where(free, run * (n + 1.0) + self._rng.random((n, n)), np.inf)
            rows, cols = linear_sum_assignment(cost)
            order = [""] * n
            for c, p in zip(rows, cols):
                order[p] = self.configs[c]
                rep_counts[c, p] += 1
                self._run_counts[c, p] += 1
            orders.append(order)
        self.orders.append(orders)
        return orders


def check_orders(orders: Sequence[Sequence[str]], configs: Sequence[str], trials: int) -> None:
    """Raise ValueError unless ``orders`` holds ``trials`` rounds, each a permutation of ``configs``."""
    if len(orders) != trials:
        raise ValueError(f"orders must hold {trials} rounds, got {len(orders)}")
    for k, order in enumerate(orders):
        if sorted(order) != sorted(configs):
            raise ValueError(f"round {k}: {list(order)} is not an order of {list(configs)}")


def position_counts(orders: Iterable[Sequence[str]], configs: Sequence[str]) -> np.ndarray:
    """``counts[c, p]``: how many of the rounds ``orders`` put ``configs[c]`` in position ``p``."""
    index = {c: i for i, c in enumerate(configs)}
    counts = np.zeros((len(configs), len(configs)), dtype=np.int64)
    for order in orders:
        for p, config in enumerate(order):
            counts[index[config], p] += 1
    return counts


# ---------------------------------------------------------------------------------------------------
# Position effect
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PositionEffect:
    """First in the round against later, as a ratio of a per-round quantity (``metric``).

    Within each unit (replicate) and group (configuration) that was played both first and later, the ratio
    mean(first) / mean(later); a unit's log ratio is the mean over its groups; ``ratio`` is the geometric
    mean over units with a Student-t interval (``units - 1`` degrees of freedom; None below 2 units)."""

    metric: str
    ratio: float | None
    low: float | None
    high: float | None
    confidence: float
    units: int
    comparisons: int
    p_value: float | None

    @property
    def word(self) -> str:
        """``higher`` / ``lower`` (first against later) when the interval excludes 1, ``unchanged`` when it
        contains it, ``unresolved`` without an interval."""
        if self.low is None or self.high is None:
            return "unresolved"
        return "higher" if self.low > 1.0 else "lower" if self.high < 1.0 else "unchanged"

    def note(self) -> str:
        """One sentence for the report."""
        head = f"position effect ({self.metric}, first in the round against later, same configuration)"
        if self.ratio is None:
            return f"{head}: unresolved (no configuration was played both first and later in a replicate)"
        change = f"{self.ratio - 1.0:+.1%}"
        if self.low is None or self.high is None:
            return (f"{head}: {change} from {self.units} replicate; unresolved (an interval needs 2 replicates)")
        level = f"{self.confidence:.0%}"
        interval = f"[{self.low - 1.0:+.1%}, {self.high - 1.0:+.1%}]"
        said = {"higher": "first trials used more", "lower": "first trials used less",
                "unchanged": "no detectable position effect"}[self.word]
        return f"{head}: {change} {interval} ({level}, {self.units} replicates): {said}"

    def to_dict(self) -> dict[str, Any]:
        out = {k: (finite_or_none(v) if isinstance(v, float) or v is None else v) for k, v in asdict(self).items()}
        out["word"] = self.word
        out["note"] = self.note()
        return out


def first_vs_later(observations: Iterable[tuple[Hashable, Hashable, int, float]], *, metric: str = "value",
                   confidence: float = CONFIDENCE) -> PositionEffect:
    """The position effect from ``(unit, group, position, value)`` observations (position 0 = first; values
    must be positive, others are left out). Domain-free: see :class:`PositionEffect` for the estimand."""
    cells: dict[Hashable, dict[Hashable, tuple[list[float], list[float]]]] = {}
    for unit, group, position, value in observations:
        if value is None or not math.isfinite(value) or value <= 0:
            continue
        first, later = cells.setdefault(unit, {}).setdefault(group, ([], []))
        (first if position == 0 else later).append(float(value))
    unit_logs: list[float] = []
    comparisons = 0
    for groups in cells.values():
        logs = [math.log(np.mean(f) / np.mean(lt)) for f, lt in groups.values() if f and lt]
        if logs:
            unit_logs.append(float(np.mean(logs)))
            comparisons += len(logs)
    ci = mean_ci(unit_logs, confidence)
    if ci.mean is None:
        return PositionEffect(metric, None, None, None, confidence, 0, 0, None)
    p_value = None
    if ci.std is not None:
        p_value = (1.0 if ci.mean == 0 else 0.0) if ci.std == 0 else \
            2.0 * (1.0 - t_cdf(abs(ci.mean) / (ci.std / math.sqrt(ci.n)), ci.n - 1))
    low = math.exp(ci.low) if ci.low is not None else None
    high = math.exp(ci.high) if ci.high is not None else None
    return PositionEffect(metric, math.exp(ci.mean), low, high, confidence, ci.n, comparisons, p_value)


def position_effect(trials: Mapping[str, Sequence[TrialRecord]], meter: str, *,
                    confidence: float = CONFIDENCE) -> PositionEffect:
    """The position effect on energy per step by ``meter`` (trials without a figure are left out), with
    replicates as units and configurations as groups."""
    observations = [(t.replicate, t.config, t.position, energy / t.steps)
                    for records in trials.values() for t in records
                    if (energy := t.energy_j.get(meter)) is not None and t.steps > 0]
    return first_vs_later(observations, metric=f"{meter} energy per step", confidence=confidence)


def design_record(orders: Mapping[int, Sequence[Sequence[str]]], order_seed: int | None, configs: Sequence[str],
                  trials: Mapping[str, Sequence[TrialRecord]], meter: str) -> dict[str, Any]:
    """The JSON ``design`` section: order seed, orders per replicate and round, how often each configuration
    was played first (over the rounds played) and the position effect."""
    played = {(t.replicate, t.trial) for records in trials.values() for t in records}
    rounds = [order for r in sorted(orders) for k, order in enumerate(orders[r]) if (r, k) in played]
    known = [c for c in configs if any(c in order for order in rounds)] or list(configs)
    counts = position_counts(rounds, known) if rounds and all(sorted(o) == sorted(known) for o in rounds) else None
    return {
        "order_seed": order_seed,
        "orders": [[list(order) for order in orders[r]] for r in sorted(orders)],
        "rule": ORDER_RULE,
        "rounds_played": len(rounds),
        "first_counts": ({c: int(counts[i, 0]) for i, c in enumerate(known)} if counts is not None else None),
        "position_effect": position_effect(trials, meter).to_dict(),
    }


__all__ = ["ORDER_RULE", "OrderPlan", "PositionEffect", "check_orders", "design_record", "draw_order_seed",
           "first_vs_later", "position_counts", "position_effect"]
