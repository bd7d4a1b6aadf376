"""Recipes: a JSON-compatible dict of a compression method and every option. One validator serves new
recipes (:func:`build_recipe`) and recipes read from files (:func:`check_recipe`); re-applying a recipe to
float weights (:func:`paradox_gym.compression.registry.apply_recipe`) is how a saved agent is rebuilt.
"""

from __future__ import annotations

from typing import Any

import stable_baselines3
import torch

from paradox_gym._util.checks import check_amount, check_int, shown
from paradox_gym.compression.pruning import PRUNINGS
from paradox_gym.compression.qat import DEFAULT_QAT_STEPS
from paradox_gym.compression.quantization import DTYPES, resolve_backend
from paradox_gym.compression.registry import canonical_method, get_method
from paradox_gym.errors import UserInputError, UserTypeError
from paradox_gym.limits import MAX_CALIBRATION_ROWS, MAX_QAT_STEPS, MAX_SEED

#: Longest recorded fact of a recipe (an env id, a version string).
_MAX_RECORDED_CHARS = 200


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
    qat_steps: Any = DEFAULT_QAT_STEPS,
) -> dict[str, Any]:
    """Validate every option and return the recipe (raises a user error naming the bad value)."""
    name = canonical_method(method)
    amount_value = check_amount(amount)
    if dtype not in DTYPES:
        raise UserInputError(f"unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
    if get_method(name).calibrated and dtype != "qint8":
        raise UserInputError(f"method {name!r} supports dtype 'qint8' only, got {dtype!r}")
    if pruning not in PRUNINGS:
        raise UserInputError(f"unknown pruning {pruning!r}; valid: {', '.join(PRUNINGS)}")
    steps = check_int("calibration_steps", calibration_steps, 1, MAX_CALIBRATION_ROWS)
    qat_steps_value = check_int("qat_steps", qat_steps, 1, MAX_QAT_STEPS)
    seed_value = check_int("seed", seed, 0, MAX_SEED)
    resolved = resolve_backend(backend)  # validates a user-given backend for every method
    if get_method(name).calibrated and env is None:
        raise UserInputError(f"method {name!r} needs env= (an env id or instance) for calibration rollouts")
    env_id = None
    if get_method(name).calibrated:
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
        "qat_steps": qat_steps_value,
        "backend": resolved if get_method(name).quantized else None,
        "torch_version": torch.__version__,
        "sb3_version": stable_baselines3.__version__,
    }


def check_recipe(recipe: Any) -> dict[str, Any]:
    """Validate a recipe read from a file (every option, as :func:`build_recipe` does for new ones).

    Returns a copy with the method name made canonical; raises :class:`UserInputError` naming the
    bad entry. Every field is range-checked (``seed`` within ``MAX_SEED``); the recorded ``calibration_env``,
    ``torch_version`` and ``sb3_version`` (text, at most 200 characters, or None) are kept as they are.
    """
    if not isinstance(recipe, dict):
        raise UserInputError(f"recipe must be a JSON object, got {type(recipe).__name__}")
    missing = [key for key in ("method", "amount", "dtype", "pruning", "calibration_steps", "seed", "backend")
               if key not in recipe]
    if missing:
        raise UserInputError(f"recipe lacks {', '.join(missing)}")
    out = dict(recipe)
    out["method"] = name = canonical_method(recipe["method"])
    out["amount"] = check_amount(recipe["amount"])
    if not isinstance(recipe["dtype"], str) or recipe["dtype"] not in DTYPES:
        raise UserInputError(f"unknown dtype {shown(recipe['dtype'])} in recipe; valid: {', '.join(DTYPES)}")
    if get_method(name).calibrated and recipe["dtype"] != "qint8":
        raise UserInputError(f"method {name!r} supports dtype 'qint8' only, got {recipe['dtype']!r}")
    if not isinstance(recipe["pruning"], str) or recipe["pruning"] not in PRUNINGS:
        raise UserInputError(f"unknown pruning {shown(recipe['pruning'])} in recipe; valid: {', '.join(PRUNINGS)}")
    out["calibration_steps"] = check_int("calibration_steps", recipe["calibration_steps"], 1, MAX_CALIBRATION_ROWS)
    out["seed"] = check_int("seed", recipe["seed"], 0, MAX_SEED)
    # absent before QAT; its cap (MAX_QAT_STEPS, MAX_QAT_WORK) is checked where the network's size is known
    out["qat_steps"] = check_int("qat_steps", recipe.get("qat_steps", DEFAULT_QAT_STEPS), 1)
    for key in ("calibration_env", "torch_version", "sb3_version"):  # recorded facts, kept as they are
        value = recipe.get(key)
        if value is not None and not (isinstance(value, str) and len(value) <= _MAX_RECORDED_CHARS):
            raise UserInputError(f"recipe {key} must be text of at most {_MAX_RECORDED_CHARS} characters, "
                                 f"got {shown(value)}")
    if get_method(name).quantized:
        out["backend"] = resolve_backend(recipe["backend"])  # must be valid and built into this torch
    elif recipe["backend"] is not None:
        raise UserInputError(f"method {name!r} takes no backend, recipe has {recipe['backend']!r}")
    return out
