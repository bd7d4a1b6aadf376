"""Domain-free statistics: Student-t intervals, paired bootstrap ratios, interval directions.

Nothing here knows about energy or RL; ``paradox_gym.analysis`` applies these to trial records.
Quantiles come from ``scipy.stats``; bootstrap resamples from a seeded ``numpy.random.Generator``
(reproducible for a given seed).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000


# ---------------------------------------------------------------------------------------------------
# Student t
# ---------------------------------------------------------------------------------------------------
def _scipy_stats() -> Any:
    """``scipy.stats``, imported when first needed (about 1 s at every process start otherwise)."""
    from scipy import stats

    return stats


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t.ppf``); ``0 < p < 1``."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    return float(_scipy_stats().t.ppf(p, df))


def t_cdf(t: float, df: float) -> float:
    """Cumulative distribution function of Student's t (``scipy.stats.t.cdf``)."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    return float(_scipy_stats().t.cdf(t, df))


# ---------------------------------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------------------------------
def finite_or_none(x: float | None) -> float | None:
    """A JSON-safe float: ``None`` for missing / non-finite values."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class MeanCI:
    """Mean of ``n`` values with a two-sided Student-t interval (``low``/``high`` are None when n < 2)."""

    mean: float | None
    low: float | None
    high: float | None
    n: int
    std: float | None = None
    confidence: float = CONFIDENCE

    def to_dict(self) -> dict[str, Any]:
        return {k: (finite_or_none(v) if isinstance(v, float) or v is None else v) for k, v in asdict(self).items()}


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE, *,
            nonnegative: bool = False) -> MeanCI:
    """Mean with a ``confidence`` t-interval; non-finite values and ``None`` are dropped first.

    ``nonnegative``: the quantity cannot be below 0 (energy, time, length), so the interval's lower bound
    is truncated at 0 (with 2-3 trials a t-interval easily reaches below 0).
    """
    arr = np.array([v for v in values if v is not None], dtype=float)
    arr = arr[np.isfinite(arr)]
    n = int(arr.size)
    if n == 0:
        return MeanCI(None, None, None, 0, None, confidence)
    mean = float(arr.mean())
    if n < 2:
        return MeanCI(mean, None, None, 1, None, confidence)
    std = float(arr.std(ddof=1))
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)
    low = max(mean - half, 0.0) if nonnegative else mean - half
    return MeanCI(mean, low, mean + half, n, std, confidence)


@dataclass(frozen=True)
class PairedCI:
    """Compressed vs baseline over paired trials: ratio of means (paired percentile-bootstrap interval,
    widened to contain the difference's) and difference of means (paired Student-t interval); the bounds
    are ``None`` when there are fewer than 2 pairs or the ratio is undefined."""

    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    diff: float | None
    diff_low: float | None
    diff_high: float | None
    n: int
    resamples: int
    seed: int
    confidence: float = CONFIDENCE
    baseline_mean: float | None = None
    p_value: float | None = None
    unit: str = "trials"

    def to_dict(self) -> dict[str, Any]:
        return {k: (finite_or_none(v) if isinstance(v, float) or v is None else v) for k, v in asdict(self).items()}


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p) (``scipy.stats.binom.sf``): how often chance alone gives at least
    ``k`` hits in ``n`` independent tries of probability ``p``."""
    if k <= 0:
        return 1.0
    return float(_scipy_stats().binom.sf(k - 1, n, p))


def sign_test(k: int, m: int) -> float:
    """Two-sided p-value of the sign test (``scipy.stats.binomtest``): ``k`` outcomes one way and ``m`` the
    other, each way equally likely under the null hypothesis (ties left out before)."""
    if k < 0 or m < 0 or k + m == 0:
        raise ValueError(f"a sign test needs non-negative counts, not both 0: got {k} and {m}")
    return float(_scipy_stats().binomtest(k, k + m, 0.5).pvalue)


def _t_p_value(values: np.ndarray) -> float | None:
    """Two-sided p-value of a one-sample t-test of mean(values) = 0 (``scipy.stats.ttest_1samp``); with no
    spread at all, 0 when the mean is not 0 and 1 when it is."""
    if values.size < 2:
        return None
    if float(values.std(ddof=1)) == 0.0:
        return 0.0 if float(values.mean()) != 0.0 else 1.0
    with warnings.catch_warnings():  # nearly identical values: scipy warns, the p-value is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(_scipy_stats().ttest_1samp(values, 0.0).pvalue)


def paired_bootstrap(
    treated: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> PairedCI:
    """Paired comparison of ``mean(treated) / mean(baseline)`` and ``mean(treated) - mean(baseline)``.

    ``treated[i]`` and ``baseline[i]`` belong to the same trial (same episode seeds); pairs with a missing
    value on either side are dropped. The difference interval is the paired Student-t interval of the
    per-trial differences. The ratio interval is a paired percentile bootstrap (trial indices drawn with
    replacement from a seeded ``numpy.random.Generator``: reproducible for a given ``seed``), widened where
    needed to contain the difference interval divided by the baseline mean: a percentile bootstrap alone
    covers far less than its nominal level with a handful of trials.
    """
    t = np.asarray(treated, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if t.shape != b.shape:
        raise ValueError(f"paired samples must have equal length, got {t.size} and {b.size}")
    keep = np.isfinite(t) & np.isfinite(b)
    t, b = t[keep], b[keep]
    n = int(t.size)
    if n == 0:
        return PairedCI(None, None, None, None, None, None, 0, resamples, seed, confidence)
    mt, mb = float(t.mean()), float(b.mean())
    ratio = mt / mb if mb != 0 else None
    diff = mt - mb
    if n < 2:
        return PairedCI(ratio, None, None, diff, None, None, n, resamples, seed, confidence, mb)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    bt, bb = t[idx].mean(axis=1), b[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    q = [100.0 * alpha, 100.0 * (1.0 - alpha)]
    # The difference: paired Student-t interval of the per-trial differences. A percentile bootstrap is far
    # too narrow with few trials (with 2 pairs its "95%" interval is just the range of the two differences).
    d = mean_ci(t - b, confidence)
    d_low, d_high = d.low, d.high
    r_low = r_high = None
    if ratio is not None and np.all(bb != 0):
        r_low, r_high = (float(v) for v in np.percentile(bt / bb, q))
        # never narrower than the paired-t interval of the difference, expressed as a ratio (same reason)
        if d_low is not None and d_high is not None:
            lo, hi = sorted((1.0 + d_low / mb, 1.0 + d_high / mb))
            r_low, r_high = min(r_low, lo), max(r_high, hi)
        if np.all(t >= 0) and np.all(b > 0):
            r_low = max(r_low, 0.0)  # a ratio of non-negative quantities cannot be negative
    return PairedCI(ratio, r_low, r_high, diff, d_low, d_high, n, resamples, seed, confidence, mb,
                    _t_p_value(t - b))


def paired_t(treated: Sequence[float] | np.ndarray, baseline: Sequence[float] | np.ndarray, *,
             confidence: float = CONFIDENCE, unit: str = "episodes", positive: bool = False) -> PairedCI:
    """Paired Student-t comparison of ``mean(treated) - mean(baseline)`` (pairs with a missing side dropped);
    the ratio ``mean(treated) / mean(baseline)`` gets the difference interval divided by ``mean(baseline)``
    (bounds ordered; undefined when the baseline mean is 0), or, with ``positive`` and no negative value on
    either side, the log-scale interval of :func:`positive_ratio_bounds` (never below 0).
    ``p_value``: paired t-test of the difference."""
    t = np.asarray(treated, dtype=float)
    b = np.asarray(baseline, dtype=float)
    keep = np.isfinite(t) & np.isfinite(b)
    t, b = t[keep], b[keep]
    n = int(t.size)
    if n == 0:
        return PairedCI(None, None, None, None, None, None, 0, 0, 0, confidence, unit=unit)
    mt, mb = float(t.mean()), float(b.mean())
    ratio = mt / mb if mb != 0 else None
    d = mean_ci(t - b, confidence)
    r_low = r_high = None
    if ratio is not None and d.low is not None and d.high is not None:
        r_low, r_high = sorted((1.0 + d.low / mb, 1.0 + d.high / mb))
        log_scale = positive_ratio_bounds(t, b, confidence) if positive else None
        if log_scale is not None:
            r_low, r_high = log_scale
    return PairedCI(ratio, r_low, r_high, d.mean, d.low, d.high, n, 0, 0, confidence, mb, _t_p_value(t - b), unit)


def positive_ratio_bounds(treated: np.ndarray, baseline: np.ndarray, confidence: float) -> tuple[float, float] | None:
    """Interval of ``mean(treated) / mean(baseline)`` on the log scale, for paired quantities that cannot
    be negative (returns of an environment whose rewards are positive): ``log(mt / mb) +- t x SE``, the
    standard error by the delta method on the paired influence values ``t_i / mt - b_i / mb``. Its lower
    bound is always above 0, so the change it implies is never below -100%. None when a side has a negative
    value, a mean is not positive, or there are fewer than 2 pairs."""
    if treated.size < 2 or np.any(treated < 0) or np.any(baseline < 0):
        return None
    mt, mb = float(treated.mean()), float(baseline.mean())
    if mt <= 0 or mb <= 0:
        return None
    influence = treated / mt - baseline / mb
    se = float(influence.std(ddof=1)) / math.sqrt(treated.size)
    half = t_quantile(0.5 + confidence / 2.0, treated.size - 1) * se
    centre = math.log(mt / mb)
    return math.exp(centre - half), math.exp(centre + half)


def log_ratio_t(treated: Sequence[float] | np.ndarray, baseline: Sequence[float] | np.ndarray, *,
                confidence: float = CONFIDENCE, unit: str = "replicates") -> PairedCI:
    """Ratio of positive paired quantities from independent units (replicates): the geometric mean of the
    per-unit ratios ``exp(mean(log(t_i / b_i)))`` with the Student-t interval of the mean log ratio
    (``n - 1`` degrees of freedom), exponentiated; ``p_value`` is the t-test of mean log ratio = 0. The
    difference ``mean(t) - mean(b)`` gets its paired t-interval. Units with a non-positive side are dropped."""
    t = np.asarray(treated, dtype=float)
    b = np.asarray(baseline, dtype=float)
    keep = np.isfinite(t) & np.isfinite(b) & (t > 0) & (b > 0)
    t, b = t[keep], b[keep]
    n = int(t.size)
    if n == 0:
        return PairedCI(None, None, None, None, None, None, 0, 0, 0, confidence, unit=unit)
    logs = np.log(t / b)
    lm = mean_ci(logs, confidence)
    d = mean_ci(t - b, confidence)
    ratio = float(math.exp(lm.mean)) if lm.mean is not None else None
    low = float(math.exp(lm.low)) if lm.low is not None else None
    high = float(math.exp(lm.high)) if lm.high is not None else None
    return PairedCI(ratio, low, high, d.mean, d.low, d.high, n, 0, 0, confidence, float(b.mean()),
                    _t_p_value(logs), unit)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (step-down; family-wise error controlled at any level alpha by rejecting
    where the adjusted p < alpha). ``None`` entries (no test) stay ``None`` and do not count in the family."""
    indexed = [(p, i) for i, p in enumerate(p_values) if p is not None]
    m = len(indexed)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(indexed)):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def holm_levels(p_values: Sequence[float | None], confidence: float = CONFIDENCE) -> list[float | None]:
    """The confidence level each hypothesis's interval is shown at, consistent with Holm's step-down
    decisions: with the p-values sorted, the k-th (k = 1..m) gets ``1 - alpha / (m - k + 1)`` while the
    procedure keeps rejecting; from the first hypothesis it does not reject on, every later one gets that
    hypothesis's level (so none of them shows an interval excluding no change that the procedure did not
    reject). Tied p-values get the same (the highest) level. ``None`` entries stay ``None``."""
    alpha = 1.0 - confidence
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(indexed)
    out: list[float | None] = [None] * len(p_values)
    stopped: float | None = None
    level_of_p: dict[float, float] = {}
    for rank, (p, i) in enumerate(indexed):
        level = 1.0 - alpha / (m - rank)
        if stopped is None and p > alpha / (m - rank):
            stopped = level
        chosen = stopped if stopped is not None else level
        level_of_p[p] = max(level_of_p.get(p, 0.0), chosen)
    for p, i in indexed:
        out[i] = level_of_p[p]
    return out


def fit_fixed_cost(lengths: Sequence[float] | np.ndarray, energies: Sequence[float] | np.ndarray) -> tuple[float, float] | None:
    """Least-squares fit of ``E = F + N * e`` over episodes (``F``: fixed cost per episode in the units of
    ``energies``; ``e``: marginal cost per step); None when the lengths do not vary (F not identifiable).
    The fitted line passes through (mean N, mean E), so ``F + mean(N) * e == mean(E)``."""
    n = np.asarray(lengths, dtype=float)
    e = np.asarray(energies, dtype=float)
    if n.size < 2 or float(np.var(n)) == 0.0:
        return None
    slope = float(np.cov(n, e, ddof=0)[0, 1] / np.var(n))
    return float(e.mean() - slope * n.mean()), slope


def direction(low: float | None, high: float | None, null: float) -> str:
    """``"higher"`` / ``"lower"`` when the interval [low, high] excludes ``null``, ``"unchanged"`` when it
    includes it, ``"undetermined"`` when there is no interval."""
    if low is None or high is None:
        return "undetermined"
    if low > null:
        return "higher"
    if high < null:
        return "lower"
    return "unchanged"
