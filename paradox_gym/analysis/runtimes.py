"""What inference runtimes add to an analysis: comparisons with the sb3 float baseline, the arithmetic floor."""

from __future__ import annotations

from typing import Mapping, Sequence

from paradox_gym.analysis.compare import Comparison, compare
from paradox_gym.analysis.summary import ConfigSummary, complete_trials
from paradox_gym.compression.floor import inference_floor
from paradox_gym.experiment.records import TrialRecord
import paradox_gym.report.format as fmt


def runtime_extras(
    trials_by_config: Mapping[str, Sequence[TrialRecord]],
    summaries: Mapping[str, ConfigSummary],
    comparisons: Mapping[str, Comparison],
    notes: list[str],
    *,
    meter: str,
    baseline: str,
    macs_per_s: float | None,
    resamples: int,
    seed: int,
) -> tuple[dict[str, Comparison], list[Comparison]]:
    """What runtimes add to an analysis; returns ``(reference comparisons, comparisons the checks use)``.

    - A configuration compared with another runtime's float baseline (``onnxruntime:ptdq`` vs
      ``onnxruntime:none``) is also compared with ``baseline`` (the ``sb3`` float agent); one note line
      gives energy per step and policy time per step of each against it.
    - A configuration that is itself some configuration's baseline (``onnxruntime:none``) is compared (with
      ``baseline``) but is not a compression, so the study's checks leave it out.
    - With ``macs_per_s``, each summary gets its :class:`InferenceFloor` (footprint MACs at that rate vs the
      mean policy time per step) and one note line states the multiples and dispatch shares.
    """
    targets = {c.baseline for c in comparisons.values()} - {baseline}
    checked = [c for cfg, c in comparisons.items() if cfg not in targets]
    reference: dict[str, Comparison] = {}
    if baseline in trials_by_config:
        base = complete_trials(trials_by_config[baseline])
        for cfg, comp in comparisons.items():
            if comp.baseline != baseline:
                reference[cfg] = compare(cfg, complete_trials(trials_by_config[cfg]), base, summaries[cfg],
                                         summaries[baseline], meter=meter, baseline=baseline,
                                         resamples=resamples, seed=seed)
    if reference:
        notes.append(f"against the {baseline} (sb3 float) baseline: " + "; ".join(
            f"{cfg} energy/step {fmt.pct_interval(c.energy_per_step.ratio, c.energy_per_step.ratio_low, c.energy_per_step.ratio_high)}, "
            f"policy time/step {fmt.pct_interval(c.policy_time_per_step.ratio, c.policy_time_per_step.ratio_low, c.policy_time_per_step.ratio_high)}"
            for cfg, c in reference.items()))
    if macs_per_s:
        floors = []
        for cfg, s in summaries.items():
            if s.footprint is not None and s.policy_us_per_step.mean is not None:
                s.inference_floor = inference_floor(s.footprint.macs, s.policy_us_per_step.mean / 1e6, macs_per_s)
                f = s.inference_floor
                if f.multiple is not None and f.dispatch_fraction is not None:
                    floors.append(f"{cfg} {f.policy_s * 1e6:.3g} us = {f.multiple:,.0f}x its {f.floor_s * 1e9:.3g} ns "
                                  f"floor ({100 * f.dispatch_fraction:.2f}% above it)")
        if floors:
            notes.append(f"arithmetic floor (float32 MACs at {macs_per_s / 1e9:.3g} GMAC/s, one measured "
                         f"1024x1024 matmul): policy inference per step " + "; ".join(floors))
    return reference, checked
