"""Domain-free statistics: Student-t intervals, paired bootstrap ratios, interval directions.

Nothing here knows about energy or RL; ``paradox_gym.analysis`` applies these to trial records.
Quantiles come from ``scipy.stats``; bootstrap resamples from a seeded ``numpy.random.Generator``
(reproducible for a given seed).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
from scipy import stats as scipy_stats

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000


# ---------------------------------------------------------------------------------------------------
# Student t
# ---------------------------------------------------------------------------------------------------
def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t.ppf``); ``0 < p < 1``."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    return float(scipy_stats.t.ppf(p, df))


def t_cdf(t: float, df: float) -> float:
    """Cumulative distribution function of Student's t (``scipy.stats.t.cdf``)."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    return float(scipy_stats.t.cdf(t, df))


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

    def to_dict(self) -> dict[str, Any]:
        return {k: (finite_or_none(v) if isinstance(v, float) or v is None else v) for k, v in asdict(self).items()}


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
    return PairedCI(ratio, r_low, r_high, diff, d_low, d_high, n, resamples, seed, confidence, mb)


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
