"""The study's claims (Lu et al. 2024) answered from one evaluation's comparisons, with evidence.

Each claim is universal: any configuration that contradicts it refutes it; it holds when every applicable
configuration supports it; otherwise it is inconclusive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

from paradox_gym.analysis.compare import Comparison
from paradox_gym.analysis.verdicts import RETURN_MARGIN, energy_direction, return_direction, return_kept
import paradox_gym.report.format as fmt
from paradox_gym.stats import CONFIDENCE, PairedCI, direction
from paradox_gym.vocab import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NOT_APPLICABLE


def _ratio_text(ci: PairedCI) -> str:
    return "ratio " + fmt.ratio_interval(ci.ratio, ci.ratio_low, ci.ratio_high)


def _return_text(ci: PairedCI) -> str:
    """The return change as a percent of the baseline with its interval (the ratio's where the baseline's
    mean is positive), else the difference with its interval."""
    if ci.ratio is not None and ci.baseline_mean is not None and ci.baseline_mean > 0:
        return "return " + fmt.pct_interval(ci.ratio, ci.ratio_low, ci.ratio_high)
    return f"return difference {fmt.signed(ci.diff, 4)} [{fmt.signed(ci.diff_low, 4)}, {fmt.signed(ci.diff_high, 4)}]"


def _pct_text(ci: PairedCI) -> str:
    return fmt.pct_interval(ci.ratio, ci.ratio_low, ci.ratio_high)


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
