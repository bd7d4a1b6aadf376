"""The compression methods, one record each. Adding a method is one function (in its own module) plus one
:class:`Method` entry in :data:`METHOD_TABLE`; an unknown or unhandled name raises, never falls through.

Each method compresses the *inference path* of a float SB3 policy in place (see
:mod:`paradox_gym.compression.inference_path`), from its recipe (the options, see
:mod:`paradox_gym.compression.recipe`) and, for calibrated methods, observations from rollouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from paradox_gym.compression.pruning import prune_structured, prune_unstructured
from paradox_gym.compression.qat import quantize_aware
from paradox_gym.compression.quantization import quantize_dynamic, quantize_static
from paradox_gym.errors import UserInputError

#: ``apply(policy, algo, recipe, calibration)``: compress ``policy``'s inference path in place; returns the
#: method's one-off cost (QAT: fine-tuning steps and seconds) or None.
Apply = Callable[[Any, str, dict[str, Any], "np.ndarray | None"], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Method:
    """One compression method.

    Attributes:
        name: canonical name (``--compress`` value).
        apply: compresses a float policy's inference path in place.
        summary: one line for help texts and docs.
        aliases: other accepted names.
        quantized: weights become int8 / float16 (the recipe records the quantized backend).
        sparse: weights contain pruning zeros (the footprint reports sparse-format bytes).
        calibrated: needs observations from rollouts of the float agent (``calibration``).
        uses_amount: ``amount`` (fraction pruned) changes the result.
        devices: torch devices the compressed policy runs on.
        structured: hidden neurons are physically removed (the layers' widths depend on ``amount``).
    """

    name: str
    apply: Apply
    summary: str
    aliases: tuple[str, ...] = ()
    quantized: bool = False
    sparse: bool = False
    calibrated: bool = False
    uses_amount: bool = False
    devices: tuple[str, ...] = ("cpu",)
    structured: bool = False


def _none(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> None:
    """The float baseline: nothing changes."""


def _ptdq(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> None:
    quantize_dynamic(policy, algo, recipe["dtype"], recipe["backend"])


def _ptsq(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> None:
    if calibration is None:
        raise UserInputError("method 'ptsq' needs calibration observations")
    quantize_static(policy, algo, calibration, recipe["backend"])


def _prune(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> None:
    prune_unstructured(policy, algo, recipe["amount"], recipe["pruning"])


def _prune_structured(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> None:
    prune_structured(policy, algo, recipe["amount"], norm=2)


def _prune_structured_l1(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> None:
    prune_structured(policy, algo, recipe["amount"], norm=1)


def _mixed(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> None:
    _prune(policy, algo, recipe, calibration)
    _ptdq(policy, algo, recipe, calibration)


def _qat(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> dict[str, Any]:
    if calibration is None:
        raise UserInputError("method 'qat' needs calibration observations")
    return quantize_aware(policy, algo, calibration, recipe["qat_steps"], recipe["seed"], recipe["backend"])


METHOD_TABLE: dict[str, Method] = {
    m.name: m
    for m in (
        Method("none", _none, "the float baseline (uncompressed)", devices=("cpu", "cuda")),
        Method("ptdq", _ptdq, "post-training dynamic quantization (torch.ao quantize_dynamic)", quantized=True),
        Method("ptsq", _ptsq, "post-training static quantization, calibrated on rollouts", quantized=True,
               calibrated=True),
        Method("prune", _prune, "unstructured magnitude pruning (masks folded into the weights)", sparse=True,
               uses_amount=True, devices=("cpu", "cuda")),
        Method("prune-structured", _prune_structured, "L2 structured pruning, neurons physically removed",
               aliases=("prune-structured-l2",), uses_amount=True, devices=("cpu", "cuda"), structured=True),
        Method("prune-structured-l1", _prune_structured_l1,
               "L1 structured pruning (neurons ranked by the L1 norm of their weights), physically removed",
               uses_amount=True, devices=("cpu", "cuda"), structured=True),
        Method("mixed", _mixed, "unstructured pruning then PTDQ", aliases=("prune+ptdq",), quantized=True,
               sparse=True, uses_amount=True),
        Method("qat", _qat, "quantization-aware training (distilled from the float policy on its rollouts), int8",
               quantized=True, calibrated=True),
    )
}

#: Canonical method names, in table order.
METHODS: tuple[str, ...] = tuple(METHOD_TABLE)
#: alias -> canonical name.
ALIASES: dict[str, str] = {alias: m.name for m in METHOD_TABLE.values() for alias in m.aliases}


def canonical_method(method: Any) -> str:
    """The canonical name of ``method`` (an alias is resolved); UserInputError naming the valid ones."""
    if isinstance(method, str):
        name = ALIASES.get(method, method)
        if name in METHOD_TABLE:
            return name
    alias = f" (alias: {', '.join(ALIASES)})" if ALIASES else ""
    raise UserInputError(f"unknown compression method {method!r}; valid: {', '.join(METHODS)}{alias}")


def get_method(method: Any) -> Method:
    """The :class:`Method` record of ``method`` (name or alias); UserInputError when unknown."""
    return METHOD_TABLE[canonical_method(method)]


def apply_recipe(policy: Any, algo: str, recipe: dict[str, Any],
                 calibration: np.ndarray | None) -> dict[str, Any] | None:
    """Compress the inference path of a float ``policy`` in place according to ``recipe``; returns the
    method's one-off cost (QAT: ``{"steps", "seconds", ...}``) or None.

    Raises UserInputError for a method that is not in :data:`METHOD_TABLE` (nothing falls through to
    the float policy).
    """
    cost = get_method(recipe.get("method")).apply(policy, algo, recipe, calibration)
    policy.set_training_mode(False)
    return cost
