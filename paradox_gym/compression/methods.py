""":func:`compress`, the entry point of compression: validate the recipe, rebuild a fresh float policy,
collect calibration observations when the method needs them, apply the method (see
:mod:`paradox_gym.compression.registry`) and wrap the result in a :class:`CompressedAgent`.
"""

from __future__ import annotations

from typing import Any

from paradox_gym.compression.agent import CompressedAgent, build_compressed
from paradox_gym.compression.inference_path import check_policy, identify_algo, uses_sde
from paradox_gym.compression.qat import DEFAULT_QAT_STEPS
from paradox_gym.compression.quantization import check_static_support, collect_observations
from paradox_gym.compression.recipe import build_recipe
from paradox_gym.compression.registry import METHODS, get_method
from paradox_gym.compression.serialization import build_policy, encode_policy_kwargs
from paradox_gym.errors import MethodNotApplicable, UserInputError

__all__ = ["METHODS", "compress"]


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
    qat_steps: int = DEFAULT_QAT_STEPS,
) -> CompressedAgent:
    """Compress the inference path of a trained SB3 model; ``model`` itself is never modified.

    Args:
        model: a trained PPO, A2C, DQN, SAC, TD3 or DDPG model with an MLP policy.
        method: one of :data:`METHODS` (``"prune+ptdq"`` is accepted for ``"mixed"``).
        amount: fraction of weights (``prune``, ``mixed``) or hidden neurons (``prune-structured``,
            ``prune-structured-l1``) to remove, in [0, 1).
        dtype: ``"qint8"`` or ``"float16"`` weights for ``ptdq`` / ``mixed`` (``ptsq``: qint8 only).
        pruning: ``"l1"`` (per layer) or ``"global"`` unstructured magnitude pruning.
        env: Gymnasium env id or instance for the ``ptsq`` / ``qat`` calibration rollouts (required there).
        calibration_steps: number of observations collected for ``ptsq`` calibration and ``qat``
            distillation.
        backend: quantized engine (``"x86"``, ``"fbgemm"``, ``"qnnpack"``); default: best available.
        seed: seed of the calibration rollouts (and of the ``qat`` fine-tuning).
        qat_steps: ``qat`` fine-tuning steps (Adam, batch 64); the cost (steps, seconds) is the agent's
            ``finetune`` (not part of the recipe: the seconds differ between runs).

    Returns:
        A :class:`CompressedAgent` running on CPU.

    Raises:
        UserTypeError: ``model`` is not an SB3 model.
        UserInputError: unsupported algorithm/policy or an invalid option.
    """
    algo = identify_algo(model)
    recipe = build_recipe(
        method, amount=amount, dtype=dtype, pruning=pruning, env=env,
        calibration_steps=calibration_steps, backend=backend, seed=seed, qat_steps=qat_steps,
    )
    check_policy(model, algo)
    policy_kwargs = encode_policy_kwargs(model.policy)
    if get_method(recipe["method"]).calibrated:
        check_static_support(model.policy, algo, recipe["method"])
    if get_method(recipe["method"]).structured and uses_sde(model.policy):
        raise MethodNotApplicable(f"method {recipe['method']!r} does not support use_sde=True (gSDE noise depends "
                                  "on the latent width)")

    # A fresh policy rebuilt from the same JSON description load_compressed uses (deepcopy of a
    # trained policy can fail: SB3 keeps the last action distribution, a non-leaf tensor, on it).
    policy = build_policy(algo, model.policy.observation_space, model.policy.action_space, policy_kwargs)
    try:
        policy.load_state_dict(model.policy.state_dict(), strict=True)
    except RuntimeError as exc:
        raise UserInputError(
            f"unsupported policy: its weights do not fit a standard {algo} MlpPolicy ({exc})"
        ) from exc
    calibration = None
    if get_method(recipe["method"]).calibrated:  # the float policy plays the calibration steps
        calibration = collect_observations(policy, env, recipe["calibration_steps"], recipe["seed"])
    return build_compressed(policy, algo, recipe, policy_kwargs, calibration)

