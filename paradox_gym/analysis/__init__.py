"""Statistics of an evaluation, one module per concern (pure computation over the records of
:mod:`paradox_gym.experiment.records`; no I/O, no measurement):

* :mod:`.summary` -- per-configuration means with intervals;
* :mod:`.compare` -- paired comparisons with a baseline;
* :mod:`.decomposition` -- why energy changed: fixed cost, episode length, per-step cost;
* :mod:`.verdicts` -- the words, from Holm-adjusted intervals;
* :mod:`.control` -- the run's resolution (minimum detectable effect) and the budget check;
* :mod:`.checks` -- the study's claims answered from the comparisons;
* :mod:`.notes`, :mod:`.runtimes` -- methodology notes, inference-runtime extras;
* :mod:`.evaluation` -- :func:`analyse`, their composition.

Units: energies in J, times in s unless a name says otherwise (``_us`` microseconds), sizes in bytes.
"""

from __future__ import annotations

from paradox_gym.analysis.checks import (
    Check,
    check_energy_only_with_return,
    check_inference_overhead,
    check_size_vs_energy,
    study_checks,
)
from paradox_gym.analysis.compare import Comparison, compare
from paradox_gym.analysis.control import ControlSummary, budget_warning, control_summary, mde_multiplier
from paradox_gym.analysis.decomposition import (
    EFFECT_MECHANISMS,
    EFFECTS,
    Decomposition,
    Effect,
    UnitCosts,
    decompose,
    mechanism,
    shapley_log_effects,
    unit_costs,
)
from paradox_gym.analysis.evaluation import Analysis, analyse
from paradox_gym.analysis.summary import (
    ConfigSummary,
    complete_trials,
    replicate_means,
    replicates_of,
    summarize_config,
)
from paradox_gym.analysis.verdicts import (
    DEFAULT_MARGIN,
    FAMILY_METRICS,
    RETURN_MARGIN,
    Verdict,
    energy_direction,
    energy_word,
    return_direction,
    return_kept,
    return_word,
)
from paradox_gym.vocab import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NOT_APPLICABLE

__all__ = [
    "DEFAULT_MARGIN", "DOES_NOT_HOLD", "EFFECTS", "EFFECT_MECHANISMS", "FAMILY_METRICS", "HOLDS", "INCONCLUSIVE",
    "NOT_APPLICABLE", "RETURN_MARGIN", "Analysis", "Check", "Comparison", "ConfigSummary", "ControlSummary",
    "Decomposition", "Effect", "UnitCosts", "Verdict", "analyse", "budget_warning", "check_energy_only_with_return",
    "check_inference_overhead", "check_size_vs_energy", "compare", "complete_trials", "control_summary",
    "decompose", "energy_direction", "energy_word", "mde_multiplier", "mechanism", "replicate_means",
    "replicates_of", "return_direction", "return_kept", "return_word", "shapley_log_effects", "study_checks",
    "summarize_config", "unit_costs",
]
