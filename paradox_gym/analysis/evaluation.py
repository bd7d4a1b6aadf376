"""One evaluation's analysis: summaries, comparisons, Holm-adjusted verdicts, the decomposition, the checks.

:func:`analyse` composes the modules of this package:

1. :mod:`.summary` -- one summary per configuration;
2. :mod:`.compare` -- each configuration against its baseline (p-values first);
3. Holm over the family (each compressed configuration x :data:`~.verdicts.FAMILY_METRICS`), then the
   family's intervals at their Holm levels;
4. :mod:`.control` -- the run's minimum detectable effect at those levels;
5. :mod:`.decomposition` and :mod:`.verdicts` -- the words, at the same levels;
6. :mod:`.notes`, :mod:`.runtimes` and :mod:`.checks`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from paradox_gym.analysis import control as ctl
from paradox_gym.analysis import notes as nt
from paradox_gym.analysis.checks import Check, study_checks
from paradox_gym.analysis.compare import Comparison, compare
from paradox_gym.analysis.decomposition import decompose, mechanism
from paradox_gym.analysis.runtimes import runtime_extras
from paradox_gym.analysis.summary import ConfigSummary, complete_trials, replicates_of, summarize_config
from paradox_gym.analysis.verdicts import (
    DEFAULT_MARGIN,
    FAMILY_METRICS,
    RETURN_MARGIN,
    Verdict,
    energy_word,
    return_word,
)
from paradox_gym.compression.footprint import Footprint
from paradox_gym.experiment.records import EpisodeRecord, MemoryProbe, TrialRecord
from paradox_gym.stats import BOOTSTRAP_RESAMPLES, CONFIDENCE, holm, holm_levels
from paradox_gym.vocab import BASELINE, CONTROL

#: Bootstrap resamples of the first pass, which only needs p-values (t-tests): the intervals shown are
#: computed once, at their final levels, with the full number of resamples.
_P_VALUE_RESAMPLES = 100


@dataclass
class Analysis:
    """Summaries per configuration, comparisons against the baseline and the study's checks."""

    meter: str
    energy_method: str | None
    crosscheck_meter: str | None
    summaries: dict[str, ConfigSummary]
    comparisons: dict[str, Comparison]
    checks: list[Check]
    notes: list[str] = field(default_factory=list)
    #: configuration -> comparison with the ``sb3`` float baseline, for those compared with their own
    #: runtime's float baseline in ``comparisons`` (see :func:`~.runtimes.runtime_extras`)
    reference_comparisons: dict[str, Comparison] = field(default_factory=dict)
    control: ctl.ControlSummary | None = None
    replicates: int = 0
    family_size: int = 0
    provisional: bool = False

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
            "provisional": self.provisional,
            "notes": list(self.notes),
            "reference_comparisons": {k: v.to_dict() for k, v in self.reference_comparisons.items()},
        }


def _contended(trials: Sequence[TrialRecord]) -> bool:
    """Most of these trials ran with the CPU contended."""
    return bool(trials) and 2 * sum(not t.phase_split_reliable for t in trials) > len(trials)


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
    provisional: bool = False,
) -> Analysis:
    """Summaries, comparisons, verdicts and checks for a whole evaluation (see the module docstring).

    ``episodes`` (the measured episodes) give the per-seed return pairing. ``baselines`` maps a
    configuration to the one it is compared with (default ``baseline``); ``macs_per_s`` (the measured
    matmul rate) gives the arithmetic floor. ``provisional``: the run ended early, so every verdict is
    labelled provisional.
    """
    complete = {cfg: complete_trials(ts) for cfg, ts in trials_by_config.items()}
    summaries = {cfg: summarize_config(cfg, complete[cfg], meter=meter, crosscheck_meter=crosscheck_meter,
                                       footprint=(footprints or {}).get(cfg), memory=(memory or {}).get(cfg))
                 for cfg in trials_by_config}
    whole = {(t.config, t.replicate, t.trial) for ts in complete.values() for t in ts}
    episodes_of: dict[str, list[EpisodeRecord]] = {}
    for e in episodes:
        if (e.config, e.replicate, e.trial) in whole:
            episodes_of.setdefault(e.config, []).append(e)
    own = {cfg: ((baselines or {}).get(cfg, baseline) if (baselines or {}).get(cfg, baseline) in trials_by_config
                 else baseline) for cfg in trials_by_config if cfg != baseline}

    def compare_cfg(cfg: str, levels: Mapping[str, float] | None = None, n: int = resamples) -> Comparison:
        b = own[cfg]
        return compare(cfg, complete[cfg], complete[b], summaries[cfg], summaries[b], meter=meter, baseline=b,
                       resamples=n, seed=seed, episodes=episodes_of.get(cfg, ()),
                       baseline_episodes=episodes_of.get(b, ()), levels=levels)

    comparisons: dict[str, Comparison] = {}
    family: list[str] = []
    if baseline in trials_by_config:
        runtime_baselines = set(own.values()) - {baseline}
        family = [cfg for cfg in own if cfg != CONTROL and cfg not in runtime_baselines]
        comparisons = {cfg: compare_cfg(cfg, n=_P_VALUE_RESAMPLES if cfg in family else resamples) for cfg in own}
    keys = [(cfg, metric) for cfg in family for metric in FAMILY_METRICS]
    p_raw = [getattr(comparisons[cfg], metric).p_value for cfg, metric in keys]
    tested = sum(p is not None for p in p_raw)  # Holm's m: the tests that have a p-value
    adjusted, shown_at = dict(zip(keys, holm(p_raw))), dict(zip(keys, holm_levels(p_raw)))
    control_comp = comparisons.get(CONTROL)
    noisy = (control_comp is not None and control_comp.energy_per_episode.p_value is not None
             and control_comp.energy_per_episode.p_value < 1 - CONFIDENCE)
    control = None if control_comp is None else ctl.control_summary(
        control_comp.energy_per_episode, control_comp.energy_per_step, CONTROL, noisy=noisy, family_size=tested)
    mde = None if control is None else control.mde_per_episode_pct
    for cfg in list(comparisons):
        if cfg in family:
            levels = {m: shown_at[(cfg, m)] or CONFIDENCE for m in FAMILY_METRICS}
            comparisons[cfg] = compare_cfg(cfg, levels)
            p_adj, size = {m: adjusted[(cfg, m)] for m in FAMILY_METRICS}, tested
        else:
            levels = dict.fromkeys(FAMILY_METRICS, CONFIDENCE)
            p_adj, size = {m: getattr(comparisons[cfg], m).p_value for m in FAMILY_METRICS}, 1
        comparisons[cfg] = _judge(comparisons[cfg], complete, summaries, meter=meter, levels=levels, p_adj=p_adj,
                                  family_size=size, margin=margin, return_margin=return_margin, mde=mde,
                                  noisy=noisy, provisional=provisional)
    replicates = max((replicates_of(ts) for ts in complete.values()), default=0)
    methods = {s.energy_method for s in summaries.values() if s.energy_method}
    notes = [f"the energy figures mix methods ({', '.join(sorted(methods))})"] if len(methods) > 1 or "mixed" in methods else []
    notes += nt.meter_notes(complete) + nt.design_notes(complete, replicates, tested, len(family))
    notes += [n for n in (nt.contention_note(complete), nt.control_note(control)) if n] + nt.window_notes(summaries)
    reference, checked = runtime_extras(trials_by_config, summaries, comparisons, notes, meter=meter,
                                        baseline=baseline, macs_per_s=macs_per_s, resamples=resamples, seed=seed)
    energy_method = methods.pop() if len(methods) == 1 else ("mixed" if methods else None)
    return Analysis(meter, energy_method, crosscheck_meter, summaries, comparisons,
                    study_checks([c for c in checked if c.config != CONTROL]), notes,
                    reference_comparisons=reference, control=control, replicates=replicates, family_size=tested,
                    provisional=provisional)


def _judge(comp: Comparison, complete: Mapping[str, Sequence[TrialRecord]],
           summaries: Mapping[str, ConfigSummary], *, meter: str, levels: Mapping[str, float],
           p_adj: Mapping[str, float | None], family_size: int, margin: float, return_margin: float,
           mde: float | None, noisy: bool, provisional: bool) -> Comparison:
    """The comparison with its decomposition and verdict, both at the energy verdict's level."""
    cfg, base = comp.config, comp.baseline
    comp.decomposition = decompose(complete[cfg], complete[base], meter=meter,
                                   confidence=levels["energy_per_episode"],
                                   phases0=summaries[base].phase_energy_per_step_j,
                                   phases1=summaries[cfg].phase_energy_per_step_j)
    eword = energy_word(comp.energy_per_episode, p_adj["energy_per_episode"], margin,
                        mde_pct=None if cfg == CONTROL else mde)
    rword = return_word(comp.ret, p_adj["ret"], return_margin)
    word = mechanism(comp.decomposition, eword, length_change=comp.length.ratio,
                     mde=None if mde is None or mde != mde else mde / 100.0)
    if comp.decomposition is not None:
        comp.decomposition = dataclasses.replace(comp.decomposition, mechanism=word)
    comp.verdict = Verdict(
        energy=eword, return_=rword, saving=eword == "lower" and rword in ("kept", "higher"), mechanism=word,
        energy_method=summaries[cfg].energy_method, noisy=noisy, energy_p_adjusted=p_adj["energy_per_episode"],
        return_p_adjusted=p_adj["ret"], policy_p_adjusted=p_adj["policy_time_per_step"],
        energy_confidence=levels["energy_per_episode"], return_confidence=levels["ret"], margin=margin,
        return_margin=return_margin, family_size=family_size, mde_pct=mde,
        contended=_contended([*complete[cfg], *complete[base]]), provisional=provisional,
    )
    return comp
