"""The study's pruning-amount rule: kept family-wise (Holm over the amounts), best = the largest amount
kept with every smaller one kept, kept amounts above a failure listed as isolated."""

from __future__ import annotations

import math

import numpy as np
import pytest

from paradox_gym.stats import PairedCI, paired_t
from paradox_gym.study.amounts import KEPT_ALPHA, decide_amounts, noninferiority_p, return_noninferiority_p


def _ratio_ci(ratio: float, half_log: float, n: int = 40, confidence: float = 0.95) -> PairedCI:
    """A return comparison whose ratio interval is symmetric on the log scale (positive returns)."""
    low, high = ratio * math.exp(-half_log), ratio * math.exp(half_log)
    return PairedCI(ratio, low, high, (ratio - 1) * 1000.0, (low - 1) * 1000.0, (high - 1) * 1000.0, n, 0, 0,
                    confidence, 1000.0)


def test_a_kept_amount_above_a_failing_one_is_isolated_never_best() -> None:
    fails = return_noninferiority_p(_ratio_ci(0.45, 0.05), 0.10)  # the return fell by half at 0.1
    keeps = return_noninferiority_p(_ratio_ci(1.00, 0.02), 0.10)  # ... but stands at 0.4
    assert fails is not None and fails > 0.5 and keeps is not None and keeps < 1e-6
    decision = decide_amounts([(0.1, fails), (0.4, keeps)])
    assert decision.best is None
    assert decision.kept == (0.4,) and decision.isolated == (0.4,)
    assert decision.amounts == (0.1, 0.4)


def test_best_is_the_end_of_the_run_of_kept_amounts_from_the_smallest() -> None:
    ok, bad = 1e-6, 0.9
    decision = decide_amounts([(0.3, bad), (0.1, ok), (0.5, ok), (0.2, ok)])
    assert decision.best == 0.2 and decision.kept == (0.1, 0.2, 0.5) and decision.isolated == (0.5,)
    assert decide_amounts([(0.1, ok), (0.2, ok)]).best == 0.2
    assert decide_amounts([]).best is None
    # a cell without a test is not shown kept: it stops the run of kept amounts
    untested = decide_amounts([(0.1, ok), (0.2, None), (0.3, ok)])
    assert untested.best == 0.1 and untested.isolated == (0.3,) and untested.adjusted[1] is None
    # an amount measured twice is kept only when both cells are
    assert decide_amounts([(0.1, ok), (0.1, bad)]).best is None


def test_holm_over_the_amounts_is_stricter_than_one_amount_alone() -> None:
    p = 0.02  # each alone: kept at the one-sided 2.5% level
    assert decide_amounts([(0.1, p)]).best == 0.1
    both = decide_amounts([(0.1, p), (0.2, p)])  # Holm: 2 x 0.02 = 0.04 > 0.025
    assert both.kept == () and both.best is None
    assert both.adjusted == (pytest.approx(0.04), pytest.approx(0.04))
    assert decide_amounts([(0.1, 0.001), (0.2, 0.02)]).best == 0.2  # 2 x 0.001, then 1 x 0.02


def test_the_p_value_agrees_with_the_interval_it_comes_from() -> None:
    # the lower bound of a 95% interval exactly at the threshold: one-sided p = 2.5%
    assert noninferiority_p(1.0, 0.9, 1.1, 0.95, 10, 0.9) == pytest.approx(KEPT_ALPHA)
    # any recorded level: the bound of the interval at that level gives its own one-sided p
    assert noninferiority_p(1.0, 0.9, 1.1, 0.99, 10, 0.9) == pytest.approx(0.005)
    assert noninferiority_p(1.0, 1.0, 1.0, 0.95, 10, 0.9) == 0.0  # no spread: the estimate is the value
    assert noninferiority_p(0.8, 0.8, 0.8, 0.95, 10, 0.9) == 1.0
    with pytest.raises(ValueError, match="n >= 2"):
        noninferiority_p(1.0, 0.9, 1.1, 0.95, 1, 0.9)


@pytest.mark.parametrize("seed", range(25))
def test_one_amount_alone_is_decided_as_its_own_interval_decides(seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.normal(100.0, 15.0, size=30)
    treated = base * rng.normal(rng.uniform(0.8, 1.0), 0.08, size=30)
    ci = paired_t(treated, base)  # linear ratio interval: 1 + diff interval / baseline mean
    p = return_noninferiority_p(ci, 0.10)
    assert p is not None and ci.ratio_low is not None
    assert (p < KEPT_ALPHA) == (ci.ratio_low >= 0.9)
    # negative returns: the difference against -margin x |baseline mean|
    neg = paired_t(-treated, -base)
    p_neg = return_noninferiority_p(neg, 0.10)
    assert p_neg is not None and neg.diff_low is not None and neg.baseline_mean is not None
    assert (p_neg < KEPT_ALPHA) == (neg.diff_low >= -0.10 * abs(neg.baseline_mean))
    # log-scale ratio interval (as for positive returns)
    log_ci = _ratio_ci(float(treated.mean() / base.mean()), rng.uniform(0.01, 0.1), confidence=0.983)
    p_log = return_noninferiority_p(log_ci, 0.10)
    assert p_log is not None and log_ci.ratio_low is not None
    assert (p_log < (1 - 0.983) / 2) == (log_ci.ratio_low >= 0.9)


def test_no_interval_no_p_value() -> None:
    assert return_noninferiority_p(None, 0.1) is None
    single = paired_t([1.0], [1.0])
    assert return_noninferiority_p(single, 0.1) is None
    with pytest.raises(ValueError, match="alpha"):
        decide_amounts([(0.1, 0.01)], alpha=0.0)
