"""The study's rule for pruning amounts: which amounts keep the return, family-wise, and the best one.

**Kept, family-wise.** Each amount's cell carries the return comparison of its run (an interval at a
recorded confidence level, from ``n`` paired units). Its non-inferiority test (H0: the compressed agent
keeps less than ``1 - margin`` of the baseline's return) gets a one-sided p-value by inverting that
interval (:func:`return_noninferiority_p`). Over the amounts tested for one agent and method, Holm's
step-down procedure decides which hypotheses are rejected at the one-sided level ``alpha`` = 0.025 (the
level at which a single 95% interval's lower bound shows a return kept): an amount is **kept** when its
adjusted p-value is below ``alpha``. With one amount this is the single command's rule.

**Best amount.** The largest amount that is kept **and** every smaller amount tested is kept too. A kept
amount above an amount that is not kept is **isolated**, never best: a return that stands at 0.4 but not
at 0.1 depends on which neurons happen to go, not on how many.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from paradox_gym.stats import CONFIDENCE, PairedCI, holm, t_cdf, t_quantile

#: One-sided family-wise level of "kept": the level of a 95% interval's lower bound.
KEPT_ALPHA = (1.0 - CONFIDENCE) / 2.0

#: Relative tolerance when telling a log-scale interval from a linear one.
_SYMMETRY_TOLERANCE = 1e-6


def noninferiority_p(centre: float, low: float, high: float, confidence: float, n: int, threshold: float) -> float:
    """One-sided p-value of H0: true value <= ``threshold``, from a symmetric Student-t interval
    ``[low, high]`` around ``centre`` at two-sided ``confidence`` with ``n - 1`` degrees of freedom (the
    standard error is the half-width over the t quantile). ``n`` must be >= 2."""
    if n < 2:
        raise ValueError(f"an interval needs n >= 2 units, got {n}")
    half = (high - low) / 2.0
    if half <= 0.0:  # no spread at all: the estimate is the value
        return 0.0 if centre > threshold else 1.0
    se = half / t_quantile(0.5 + confidence / 2.0, n - 1)
    return 1.0 - t_cdf((centre - threshold) / se, n - 1)


def return_noninferiority_p(ci: PairedCI | None, margin: float) -> float | None:
    """The one-sided p-value that ``ci`` (a return comparison) keeps at least ``1 - margin`` of the
    baseline's return, on the scale the single command decides "kept" on: the ratio interval where the
    baseline's mean return is positive (log scale when the interval is symmetric there, as
    :func:`paradox_gym.stats.positive_ratio_bounds` makes it; linear when symmetric around the ratio), else
    the difference interval against ``-margin x |baseline mean|``. None when there is no interval."""
    if ci is None or ci.baseline_mean is None or ci.n < 2:
        return None
    r, lo, hi = ci.ratio, ci.ratio_low, ci.ratio_high
    if ci.baseline_mean > 0 and r is not None and lo is not None and hi is not None and r > 0 and lo > 0:
        if math.isclose(math.log(lo) + math.log(hi), 2.0 * math.log(r), rel_tol=0, abs_tol=_SYMMETRY_TOLERANCE):
            return noninferiority_p(math.log(r), math.log(lo), math.log(hi), ci.confidence, ci.n,
                                    math.log(1.0 - margin))
        if math.isclose(lo + hi, 2.0 * r, rel_tol=0, abs_tol=_SYMMETRY_TOLERANCE):
            return noninferiority_p(r, lo, hi, ci.confidence, ci.n, 1.0 - margin)
    if ci.diff is None or ci.diff_low is None or ci.diff_high is None:
        return None
    return noninferiority_p(ci.diff, ci.diff_low, ci.diff_high, ci.confidence, ci.n,
                            -margin * abs(ci.baseline_mean))


@dataclass(frozen=True)
class AmountDecision:
    """The amounts of one agent and method, in increasing order, with the family-wise decision.

    ``adjusted``: Holm-adjusted p-value per amount (None where the cell had no test: not kept);
    ``kept``: amounts kept family-wise; ``isolated``: kept amounts above an amount not kept;
    ``best``: the largest amount kept with every smaller amount kept (None: no such amount)."""

    amounts: tuple[float, ...]
    adjusted: tuple[float | None, ...]
    kept: tuple[float, ...]
    isolated: tuple[float, ...]
    best: float | None
    alpha: float = KEPT_ALPHA


def decide_amounts(cells: Sequence[tuple[float, float | None]], alpha: float = KEPT_ALPHA) -> AmountDecision:
    """Decide ``(amount, one-sided non-inferiority p-value or None)`` cells of one agent and method: Holm
    over every cell tested, then the best amount and the isolated ones. An amount measured in several
    cells is kept only when each of them is."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    adjusted_cells = holm([p for _, p in cells])
    by_amount: dict[float, list[float | None]] = {}
    for (amount, _), adjusted in zip(cells, adjusted_cells):
        by_amount.setdefault(float(amount), []).append(adjusted)
    amounts = tuple(sorted(by_amount))
    adjusted = tuple(None if any(p is None for p in by_amount[a]) else max(p for p in by_amount[a] if p is not None)
                     for a in amounts)
    kept = tuple(a for a, p in zip(amounts, adjusted) if p is not None and p < alpha)
    best: float | None = None
    isolated: list[float] = []
    broken = False
    for a in amounts:
        if a not in kept:
            broken = True
        elif broken:
            isolated.append(a)
        else:
            best = a
    return AmountDecision(amounts, adjusted, kept, tuple(isolated), best, alpha)


__all__ = ["KEPT_ALPHA", "AmountDecision", "decide_amounts", "noninferiority_p", "return_noninferiority_p"]
