"""The run's resolution: the A/A control's minimum detectable effect, and the budget check before a run.

The minimum detectable effect (MDE) is the smallest change of energy a verdict of this run would call
``lower`` or ``higher`` with 80% power, at the strictest level the verdicts use (Holm's first step,
``1 - alpha / m`` for a family of m tests):

    MDE = (t(1 - alpha / (2m), df) + t(0.8, df)) x SE

on the log scale, where SE is the standard error of the control's (``none-copy`` vs ``none``) mean log
ratio across units (replicates) and df = units - 1; reported as a percent change, ``exp(MDE) - 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from paradox_gym.stats import CONFIDENCE, PairedCI, finite_or_none, t_quantile

POWER = 0.8
#: A budget whose MDE multiplier (MDE / the spread of one unit's log ratio) exceeds this cannot resolve
#: a change of twice the default margin unless its replicates agree to within about 2.5%: warned before
#: the run starts.
MAX_MULTIPLIER = 4.0


def mde_multiplier(units: int, family_size: int, confidence: float = CONFIDENCE, power: float = POWER) -> float:
    """``(t(1 - alpha / (2m), n - 1) + t(power, n - 1)) / sqrt(n)``: the MDE in units of one unit's
    standard deviation of the log ratio (inf below 2 units)."""
    if units < 2:
        return math.inf
    alpha = (1.0 - confidence) / max(family_size, 1)
    df = units - 1
    return (t_quantile(1.0 - alpha / 2.0, df) + t_quantile(power, df)) / math.sqrt(units)


def mde_pct(ci: PairedCI, family_size: int, confidence: float = CONFIDENCE, power: float = POWER) -> float:
    """The MDE (%) of a comparison measured with the control's interval ``ci`` (nan without an interval)."""
    if ci.ratio_low is None or ci.ratio_high is None or ci.n < 2 or ci.ratio_low <= 0:
        return float("nan")
    half = (math.log(ci.ratio_high) - math.log(ci.ratio_low)) / 2.0
    se = half / t_quantile(0.5 + ci.confidence / 2.0, ci.n - 1)
    return 100.0 * (math.exp(mde_multiplier(ci.n, family_size, confidence, power) * se * math.sqrt(ci.n)) - 1.0)


@dataclass(frozen=True)
class ControlSummary:
    """The A/A control's calibration of a run: its energy-per-episode ratio interval against the baseline
    (95%), the MDE (%, see the module docstring) per episode and per step, the level and power it is
    computed for, and ``noisy`` (the control differed significantly from the baseline)."""

    config: str
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    mde_per_episode_pct: float
    mde_per_step_pct: float
    noisy: bool
    confidence: float = CONFIDENCE
    power: float = POWER

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config,
                "energy_per_episode_ratio": {"ratio": finite_or_none(self.ratio), "low": finite_or_none(self.ratio_low),
                                             "high": finite_or_none(self.ratio_high)},
                "mde": {"per_episode": finite_or_none(self.mde_per_episode_pct),
                        "per_step": finite_or_none(self.mde_per_step_pct),
                        "confidence": self.confidence, "power": self.power},
                "min_detectable_effect_pct": finite_or_none(self.mde_per_episode_pct),
                "noisy": self.noisy}


def control_summary(episode: PairedCI, step: PairedCI, config: str, *, noisy: bool,
                    family_size: int) -> ControlSummary:
    """The :class:`ControlSummary` of the control's comparisons (energy per episode and per step)."""
    m = max(family_size, 1)
    return ControlSummary(config, episode.ratio, episode.ratio_low, episode.ratio_high,
                          mde_pct(episode, m), mde_pct(step, m), noisy,
                          confidence=1.0 - (1.0 - CONFIDENCE) / m)


def budget_warning(replicates: int, family_size: int) -> str | None:
    """One line when a run of ``replicates`` with a Holm family of ``family_size`` tests cannot resolve
    anything (its MDE multiplier exceeds :data:`MAX_MULTIPLIER`), naming the budget that would; else None."""
    if mde_multiplier(replicates, family_size) <= MAX_MULTIPLIER:
        return None
    enough = next(n for n in range(2, 1000) if mde_multiplier(n, family_size) <= MAX_MULTIPLIER)
    k = mde_multiplier(replicates, family_size)
    detail = ("one replicate gives no interval across runs" if replicates < 2 else
              f"the minimum detectable effect would be {k:.1f} times the spread between replicates")
    return (f"warning: --replicates {replicates} cannot resolve energy changes ({detail}, at the verdicts' Holm "
            f"level and 80% power); use --replicates {enough} or more")
