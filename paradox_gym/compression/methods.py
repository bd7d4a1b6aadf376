"""The compression methods, their options, and :func:`compress` (the entry point).

A *recipe* is a JSON-compatible dict of the method and every option; :func:`apply_recipe` re-applies
it to float weights, which is how :func:`paradox_gym.compression.load_compressed` rebuilds an agent.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import stable_baselines3
import torch

from paradox_gym.compression.agent import CompressedAgent, float_inference_state
from paradox_gym.compression.footprint import measure
from paradox_gym.compression.inference_path import (
    check_policy,
    identify_algo,
    inference_module,
)
from paradox_gym.compression.pruning import PRUNINGS, prune_structured, prune_unstructured
from paradox_gym.compression.quantization import (
    DTYPES,
    check_static_support,
    collect_observations,
    quantize_dynamic,
    quantize_static,
    resolve_backend,
)
from paradox_gym.compression.serialization import build_policy, encode_policy_kwargs
from paradox_gym.errors import UserInputError, UserTypeError

METHODS: tuple[str, ...] = ("none", "ptdq", "ptsq", "prune", "prune-structured", "mixed")
ALIASES: dict[str, str] = {"prune+ptdq": "mixed"}
QUANTIZED_METHODS: tuple[str, ...] = ("ptdq", "ptsq", "mixed")
#: methods whose weights contain pruning zeros (their footprint has ``sparse_bytes``).
SPARSE_METHODS: tuple[str, ...] = ("prune", "mixed")


def canonical_method(method: Any) -> str:
    if isinstance(method, str):
        name = ALIASES.get(method, method)
        if name in METHODS:
            return name
    raise UserInputError(
        f"unknown compression method {method!r}; valid: {', '.join(METHODS)} "
        f"(alias: {', '.join(ALIASES)})"
    )


def _check_amount(amount: Any) -> float:
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise UserInputError(f"amount must be a number in [0, 1), got {amount!r}")
    value = float(amount)
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise UserInputError(f"amount must be in [0, 1), got {amount!r}")
    return value


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise UserInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_env(env: Any) -> None:
    import gymnasium as gym
    from stable_baselines3.common.vec_env import VecEnv

    if not isinstance(env, (str, gym.Env, VecEnv)):
        raise UserTypeError(
            f"env must be a Gymnasium env id, a gymnasium.Env or a VecEnv, got {type(env).__name__}"
        )


def build_recipe(
    method: Any,
    *,
    amount: Any,
    dtype: Any,
    pruning: Any,
    env: Any,
    calibration_steps: Any,
    backend: Any,
    seed: Any,
) -> dict[str, Any]:
    """Validate every option and return the recipe (raises a user error naming the bad value)."""
    name = canonical_method(method)
    amount_value = _check_amount(amount)
    if dtype not in DTYPES:
        raise UserInputError(f"unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
    if name == "ptsq" and dtype != "qint8":
        raise UserInputError(f"method 'ptsq' supports dtype 'qint8' only, got {dtype!r}")
    if pruning not in PRUNINGS:
        raise UserInputError(f"unknown pruning {pruning!r}; valid: {', '.join(PRUNINGS)}")
    steps = _check_int("calibration_steps", calibration_steps, 1)
    seed_value = _check_int("seed", seed, 0)
    resolved = resolve_backend(backend)  # validates a user-given backend for every method
    if name == "ptsq" and env is None:
        raise UserInputError("method 'ptsq' needs env= (an env id or instance) for calibration rollouts")
    env_id = None
    if name == "ptsq":
        _check_env(env)
        env_id = env if isinstance(env, str) else getattr(getattr(env, "spec", None), "id", None)
    return {
        "method": name,
        "amount": amount_value,
        "dtype": dtype,
        "pruning": pruning,
        "calibration_steps": steps,
        "calibration_env": env_id,
        "seed": seed_value,
        "backend": resolved if name in QUANTIZED_METHODS else None,
        "torch_version": torch.__version__,
        "sb3_version": stable_baselines3.__version__,
    }


def check_recipe(recipe: Any) -> dict[str, Any]:
    """Validate a recipe read from a file (every option, as :func:`build_recipe` does for new ones).

    Returns a copy with the method name made canonical; raises :class:`UserInputError` naming the
    bad entry. The recorded ``calibration_env``, ``torch_version`` and ``sb3_version`` are kept as is.
    """
    if not isinstance(recipe, dict):
        raise UserInputError(f"recipe must be a JSON object, got {type(recipe).__name__}")
    missing = [key for key in ("method", "amount", "dtype", "pruning", "calibration_steps", "seed", "backend")
               if key not in recipe]
    if missing:
        raise UserInputError(f"recipe lacks {', '.join(missing)}")
    out = dict(recipe)
    out["method"] = name = canonical_method(recipe["method"])
    out["amount"] = _check_amount(recipe["amount"])
    if recipe["dtype"] not in DTYPES:
        raise UserInputError(f"unknown dtype {recipe['dtype']!r} in recipe; valid: {', '.join(DTYPES)}")
    if name == "ptsq" and recipe["dtype"] != "qint8":
        raise UserInputError(f"method 'ptsq' supports dtype 'qint8' only, got {recipe['dtype']!r}")
    if recipe["pruning"] not in PRUNINGS:
        raise UserInputError(f"unknown pruning {recipe['pruning']!r} in recipe; valid: {', '.join(PRUNINGS)}")
    out["calibration_steps"] = _check_int("calibration_steps", recipe["calibration_steps"], 1)
    out["seed"] = _check_int("seed", recipe["seed"], 0)
    if name in QUANTIZED_METHODS:
        out["backend"] = resolve_backend(recipe["backend"])  # must be valid and built into this torch
    elif recipe["backend"] is not None:
        raise UserInputError(f"method {name!r} takes no backend, recipe has {recipe['backend']!r}")
    return out


def apply_recipe(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> None:
    """Compress the inference path of a float ``policy`` in place according to ``recipe``."""
    method = recipe["method"]
    if method == "none":
        return
    if method in ("prune", "mixed"):
        prune_unstructured(policy, algo, recipe["amount"], recipe["pruning"])
    if method == "prune-structured":
        prune_structured(policy, algo, recipe["amount"])
    if method in ("ptdq", "mixed"):
        quantize_dynamic(policy, algo, recipe["dtype"], recipe["backend"])
    if method == "ptsq":
        if calibration is None:
            raise UserInputError("method 'ptsq' needs calibration observations")
        quantize_static(policy, algo, calibration, recipe["backend"])
    policy.set_training_mode(False)


def compress(
    model: Any,
    method: str,
    *,
    amount: float = 0.5,
    dtype: str = "qint8",
    pruning: str = "l1",
    env: Any = None,
    calibration_steps: int = 512,
    backend: str | None = None,
    seed: int = 0,
) -> CompressedAgent:
    """Compress the inference path of a trained SB3 model; ``model`` itself is never modified.

    Args:
        model: a trained PPO, A2C, DQN, SAC, TD3 or DDPG model with an MLP policy.
        method: one of :data:`METHODS` (``"prune+ptdq"`` is accepted for ``"mixed"``).
        amount: fraction of weights (``prune``, ``mixed``) or hidden neurons (``prune-structured``)
            to remove, in [0, 1).
        dtype: ``"qint8"`` or ``"float16"`` weights for ``ptdq`` / ``mixed`` (``ptsq``: qint8 only).
        pruning: ``"l1"`` (per layer) or ``"global"`` unstructured magnitude pruning.
        env: Gymnasium env id or instance for the ``ptsq`` calibration rollouts (required there).
        calibration_steps: number of observations collected for ``ptsq`` calibration.
        backend: quantized engine (``"x86"``, ``"fbgemm"``, ``"qnnpack"``); default: best available.
        seed: seed of the calibration rollouts.

    Returns:
        A :class:`CompressedAgent` running on CPU.

    Raises:
        UserTypeError: ``model`` is not an SB3 model.
        UserInputError: unsupported algorithm/policy or an invalid option.
    """
    algo = identify_algo(model)
    recipe = build_recipe(
        method, amount=amount, dtype=dtype, pruning=pruning, env=env,
        calibration_steps=calibration_steps, backend=backend, seed=seed,
    )
    check_policy(model, algo)
    policy_kwargs = encode_policy_kwargs(model.policy)
    if recipe["method"] == "ptsq":
        check_static_support(model.policy, algo)
    if recipe["method"] == "prune-structured" and getattr(model.policy, "use_sde", False):
        raise UserInputError("method 'prune-structured' does not support use_sde=True")

    # A fresh policy rebuilt from the same JSON description load_compressed uses (deepcopy of a
    # trained policy can fail: SB3 keeps the last action distribution, a non-leaf tensor, on it).
    policy = build_policy(algo, model.policy.observation_space, model.policy.action_space, policy_kwargs)
    try:
        policy.load_state_dict(model.policy.state_dict(), strict=True)
    except RuntimeError as exc:
        raise UserInputError(
            f"unsupported policy: its weights do not fit a standard {algo} MlpPolicy ({exc})"
        ) from exc
    float_state = float_inference_state(policy, algo)
    baseline = measure(inference_module(policy, algo))
    calibration = None
    if recipe["method"] == "ptsq":
        calibration = collect_observations(policy, env, recipe["calibration_steps"], recipe["seed"])
    apply_recipe(policy, algo, recipe, calibration)
    return CompressedAgent(
        policy=policy,
        algo=algo,
        recipe=recipe,
        policy_kwargs=policy_kwargs,
        float_state=float_state,
        calibration=calibration,
        baseline_footprint=baseline,
    )

