"""Verdict words (docs/methodology.md, "Verdicts"): every word follows from a Holm-adjusted interval.

Energy: ``lower`` / ``higher`` when the adjusted test rejects no change; ``equivalent`` when the interval
lies inside +-margin; ``unresolved`` when it contains no change and the run's minimum detectable effect
is more than twice the margin; else ``no detectable change``. Return: ``higher`` (adjusted test),
``kept`` (the interval's lower bound keeps at least 1 - return margin of the baseline's return),
``lower`` (adjusted test), else ``not shown kept``. ``saving`` needs energy lower AND return kept or higher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paradox_gym.stats import CONFIDENCE, PairedCI, direction, finite_or_none

#: The metrics whose tests form the Holm family, per compressed configuration.
FAMILY_METRICS: tuple[str, ...] = ("energy_per_episode", "ret", "policy_time_per_step")
#: Energy equivalence margin (fraction).
DEFAULT_MARGIN = 0.05
#: "Return kept": the return interval's lower bound is at least 1 - this fraction of the baseline's
#: |mean return| (the study's criterion: a compressed agent keeps >= 90% of the return).
RETURN_MARGIN = 0.10
UNRESOLVED = "unresolved"
NO_CHANGE = "no detectable change"


@dataclass(frozen=True)
class Verdict:
    """The structured verdict of one configuration against its baseline (see the module docstring).

    ``mechanism`` is the decomposition's word (:func:`paradox_gym.analysis.decomposition.mechanism`);
    ``energy_method`` says how the energy figures were obtained; ``noisy``: the A/A control differed;
    ``energy_basis``: ``gross`` or ``net`` (of idle power); ``net_energy``: the word the other basis gives;
    ``mde_pct``: the run's minimum detectable effect on energy per episode (% at this verdict's level and
    80% power); ``contended``: most of its trials ran with the CPU contended; ``provisional``: the run
    ended early (interrupted or failed), so the word may change with the missing trials."""

    energy: str
    return_: str
    saving: bool
    mechanism: str
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
    mde_pct: float | None = None
    contended: bool = False
    provisional: bool = False

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
            "mde_pct": finite_or_none(self.mde_pct), "contended": self.contended, "provisional": self.provisional,
        }


def energy_word(ci: PairedCI, p_adjusted: float | None, margin: float, alpha: float = 1 - CONFIDENCE, *,
                mde_pct: float | None = None) -> str:
    """``lower`` / ``higher`` / ``equivalent`` / ``unresolved`` / ``no detectable change`` for an energy
    ratio interval; ``mde_pct`` is the run's minimum detectable effect (None: not known)."""
    if ci.ratio is None or ci.ratio_low is None or ci.ratio_high is None:
        return UNRESOLVED
    if p_adjusted is not None and p_adjusted < alpha and (ci.ratio_high < 1.0 or ci.ratio_low > 1.0):
        return "lower" if ci.ratio_high < 1.0 else "higher"
    if ci.ratio_low >= 1.0 - margin and ci.ratio_high <= 1.0 + margin:
        return "equivalent"
    if mde_pct is not None and (mde_pct != mde_pct or mde_pct > 200.0 * margin):
        return UNRESOLVED
    return NO_CHANGE


def return_kept(ci: PairedCI, margin: float = RETURN_MARGIN) -> bool:
    """The compressed agent keeps at least (1 - margin) of the baseline's return, with confidence: the
    ratio interval's lower bound >= 1 - margin where the baseline's mean return is positive (the interval
    printed), else the difference's lower bound >= -margin x |baseline mean| (negative returns)."""
    if ci.baseline_mean is None:
        return False
    if ci.baseline_mean > 0 and ci.ratio_low is not None:
        return ci.ratio_low >= 1.0 - margin
    if ci.diff_low is None:
        return False
    return ci.diff_low >= -margin * abs(ci.baseline_mean)


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


def energy_direction(ci: PairedCI) -> str:
    """Direction of an energy (always positive) change, from the ratio interval vs 1."""
    return direction(ci.ratio_low, ci.ratio_high, 1.0)


def return_direction(ci: PairedCI) -> str:
    """Direction of a return change, from the difference interval vs 0 (valid for negative returns too)."""
    return direction(ci.diff_low, ci.diff_high, 0.0)
