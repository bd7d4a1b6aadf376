"""One definition of each vocabulary the package speaks (imported everywhere, defines nothing else).

Units: none here; these are names.
"""

from __future__ import annotations

#: Phases of one environment step: policy inference (``predict``), the environment's ``step``, and the
#: harness overhead (everything else the loop and the wrapper do).
PHASES: tuple[str, ...] = ("policy", "env", "overhead")
PHASE_LABELS: dict[str, str] = {"policy": "policy inference", "env": "environment step",
                                "overhead": "harness overhead"}

#: How an energy figure was obtained: ``measured`` (hardware counter: RAPL, NVML), ``sampled`` (power
#: readings integrated over time), ``modelled`` (e.g. CPU time x per-core power).
ENERGY_METHODS: tuple[str, ...] = ("measured", "sampled", "modelled")

#: Status of one energy reading.
READING_STATUSES: tuple[str, ...] = ("ok", "too_short", "failed", "unavailable")

#: Status of an evaluation run.
RUN_STATUSES: tuple[str, ...] = ("complete", "failed", "interrupted")

#: Answers to one of the study's claims.
HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
INCONCLUSIVE = "inconclusive"
NOT_APPLICABLE = "not applicable"  # per configuration only: the claim says nothing about it
CHECK_STATUSES: tuple[str, ...] = (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE, NOT_APPLICABLE)

#: Verdicts on one claim of the 2024 study against a study of ours (docs/paper.md).
AGREES = "agrees"
DISAGREES = "disagrees"
CANNOT_TELL = "cannot tell"
CLAIM_VERDICTS: tuple[str, ...] = (AGREES, DISAGREES, CANNOT_TELL)

#: The uncompressed configuration every other one is compared against.
BASELINE = "none"
#: The A/A control: a second, independently loaded copy of the baseline, measured like a compressed one.
CONTROL = "none-copy"

#: Verdict words (docs/methodology.md): energy, return.
#: ``unresolved``: the interval contains no change and the run's minimum detectable effect is more than
#: twice the equivalence margin, so "no detectable change" would say more than the run can resolve.
ENERGY_WORDS: tuple[str, ...] = ("lower", "higher", "equivalent", "no detectable change", "unresolved")
RETURN_WORDS: tuple[str, ...] = ("kept", "lower", "not shown kept", "higher")
#: Which term of the decomposition carries a change: E = F + N x e (docs/methodology.md, "Why"); ``mixed``:
#: more than one, or none alone at the verdict's level; ``none``: the energy did not change.
MECHANISMS: tuple[str, ...] = ("per-step", "episode-length", "fixed-cost", "mixed", "none")
