"""`CompressedAgent`: a compressed SB3 policy with SB3's ``predict`` contract, and its file format.

File format (a zip archive, nothing in it is unpickled):

- ``agent.json``: format tag and version, algorithm, observation/action spaces, policy constructor
  arguments (JSON; see :mod:`paradox_gym.compression.serialization`) and the recipe;
- ``weights.pt``: the *float* inference-path weights (``torch.save`` of a dict of tensors, read with
  ``torch.load(weights_only=True)``);
- ``calibration.pt``: for ``ptsq``, the calibration observations, so the observers (hence actions)
  are identical after loading.

Quantized and masked modules cannot be loaded by ``PPO.load`` (strict state dicts), so the float
weights are stored and the recipe is re-applied on load.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import numpy as np
import torch
from torch import nn

from paradox_gym._util.cli import one_line
from paradox_gym.compression.footprint import Footprint, measure
from paradox_gym.compression.inference_path import SUPPORTED_ALGOS, inference_module
from paradox_gym.compression.qat import qat_work
from paradox_gym.compression.quantization import quantized_engine
from paradox_gym.compression.recipe import check_recipe
from paradox_gym.compression.registry import apply_recipe, get_method
from paradox_gym.compression.serialization import build_policy, check_policy_kwargs, decode_space, encode_space
from paradox_gym.envs import close_env, make_env
from paradox_gym.errors import ParadoxGymError, UnsafeAgentError, UserInputError, UserTypeError
from paradox_gym.limits import (MAX_CALIBRATION_ROWS, MAX_JSON_BYTES, MAX_QAT_STEPS, MAX_QAT_WORK, MAX_WEIGHTS_BYTES,
                                QAT_STEP_FIXED_PARAMETERS)
from paradox_gym.sb3.untrusted import (
    check_state_dict,
    check_tensor,
    decode_json,
    load_tensor_file,
    open_agent_file,
    open_zip,
    read_member,
)
from paradox_gym._util.files import write_bytes_atomic

FORMAT = "paradox_gym.compressed_agent"
FORMAT_VERSION = 1


def float_inference_state(policy: nn.Module, algo: str) -> dict[str, torch.Tensor]:
    """Detached copies of the float inference-path weights (keys ``<part>.<param>``)."""
    return {k: v.detach().clone() for k, v in inference_module(policy, algo).state_dict().items()}


class CompressedAgent:
    """A compressed inference path inside a copy of the SB3 policy.

    Attributes:
        method: compression method (one of ``METHODS``).
        algo: SB3 algorithm name, e.g. ``"PPO"``.
        recipe: the method and all its options, the quantized backend and library versions.
        footprint: footprint of the compressed inference path.
        finetune: one-off cost of the compression on this machine (``qat``: fine-tuning steps, seconds,
            distillation loss; measured again when a saved agent is loaded), else None.
        baseline_footprint: footprint of the uncompressed (float) inference path.
        policy_module: the compressed inference path as one ``nn.ModuleDict``.
        observation_space, action_space: the policy's spaces.
        policy: the full SB3 policy whose inference path is compressed (``predict`` runs it).
    """

    def __init__(
        self,
        *,
        policy: Any,
        algo: str,
        recipe: dict[str, Any],
        policy_kwargs: dict[str, Any],
        float_state: dict[str, torch.Tensor],
        calibration: np.ndarray | None,
        baseline_footprint: Footprint,
    ) -> None:
        self.policy = policy
        self.algo = algo
        self.recipe = dict(recipe)
        self.method: str = recipe["method"]
        self.policy_module: nn.ModuleDict = inference_module(policy, algo)
        self.observation_space = policy.observation_space
        self.action_space = policy.action_space
        self.baseline_footprint = baseline_footprint
        self.footprint = measure(self.policy_module, sparse=get_method(self.method).sparse)
        self._backend: str | None = recipe.get("backend")
        self._policy_kwargs = policy_kwargs
        self._float_state = float_state
        self._calibration = calibration
        #: one-off cost of building it (``qat``: fine-tuning ``steps``, ``seconds``, ...), else None
        self.finetune: dict[str, Any] | None = None

    def predict(
        self,
        observation: Any,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Actions for ``observation`` (single or batched), as ``BaseAlgorithm.predict``.

        Uses SB3's ``policy.predict`` (observation preprocessing, action unscaling / clipping,
        SAC squashing). For DQN, ``deterministic=False`` is greedy too (no epsilon exploration).
        """
        with quantized_engine(self._backend):
            return self.policy.predict(observation, state, episode_start, deterministic)

    def __repr__(self) -> str:
        return f"CompressedAgent(algo={self.algo!r}, method={self.method!r}, footprint={self.footprint})"

    @property
    def calibration(self) -> np.ndarray | None:
        """The calibration / distillation observations (calibrated methods), else None."""
        return self._calibration

    def float_policy(self) -> Any:
        """A fresh float copy of the SB3 policy (uncompressed weights; eval mode, CPU), e.g. for a runtime
        that compresses the exported graph itself."""
        policy = build_policy(self.algo, self.observation_space, self.action_space, self._policy_kwargs)
        inference_module(policy, self.algo).load_state_dict(self._float_state, strict=True)
        policy.set_training_mode(False)
        return policy

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the float inference-path weights and the recipe to a zip file at ``path``."""
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "algo": self.algo,
            "observation_space": encode_space(self.observation_space),
            "action_space": encode_space(self.action_space),
            "policy_kwargs": self._policy_kwargs,
            "recipe": self.recipe,
        }
        weights = io.BytesIO()
        torch.save(self._float_state, weights)
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr("agent.json", json.dumps(meta, indent=2))
            archive.writestr("weights.pt", weights.getvalue())
            if self._calibration is not None:
                calibration = io.BytesIO()
                torch.save(torch.from_numpy(np.ascontiguousarray(self._calibration)), calibration)
                archive.writestr("calibration.pt", calibration.getvalue())
        write_bytes_atomic(path, data.getvalue())


_KIND = "a compressed agent file"


def _read_meta(archive: zipfile.ZipFile, where: str) -> dict[str, Any]:
    """``agent.json`` (at most ``MAX_JSON_BYTES``, nested at most ``MAX_JSON_DEPTH`` levels) as a dict with
    every key :func:`load_compressed` reads (else a user error)."""
    raw = read_member(archive, "agent.json", MAX_JSON_BYTES, where, _KIND)
    try:
        meta = decode_json(raw)
    except ValueError as exc:
        raise UserInputError(f"{where}: agent.json is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise UserInputError(f"{where}: agent.json must hold a JSON object, got {type(meta).__name__}")
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise UserInputError(
            f"{where} has format {meta.get('format')!r} version {meta.get('version')!r}; "
            f"expected {FORMAT!r} version {FORMAT_VERSION}"
        )
    missing = [k for k in ("algo", "observation_space", "action_space", "policy_kwargs", "recipe") if k not in meta]
    if missing:
        raise UserInputError(f"{where}: agent.json lacks {', '.join(missing)}")
    for key in ("observation_space", "action_space", "policy_kwargs", "recipe"):
        if not isinstance(meta[key], dict):
            raise UserInputError(f"{where}: {key} in agent.json must be a JSON object")
    if not isinstance(meta["algo"], str) or meta["algo"] not in SUPPORTED_ALGOS:
        raise UserInputError(
            f"unsupported algorithm {meta['algo']!r} in saved agent; supported: {', '.join(SUPPORTED_ALGOS)}"
        )
    return meta


def _read_weights(archive: zipfile.ZipFile, where: str, inference_parameters: int) -> dict[str, torch.Tensor]:
    """``weights.pt`` (at most ``MAX_WEIGHTS_BYTES``) as a clean state dict of finite float tensors holding
    exactly ``inference_parameters`` numbers (what ``net_arch`` and the spaces imply)."""
    raw = read_member(archive, "weights.pt", MAX_WEIGHTS_BYTES, where, _KIND)
    state = check_state_dict(load_tensor_file(raw, where, "weights.pt"), where, "weights.pt", len(raw))
    held = sum(t.numel() for t in state.values())
    if held != inference_parameters:
        raise UserInputError(
            f"{where}: weights.pt holds {held} parameters but the saved net_arch and spaces need "
            f"{inference_parameters}; the weights do not fit the saved architecture"
        )
    return state


def _read_calibration(archive: zipfile.ZipFile, where: str, observation_space: Any) -> np.ndarray:
    """``calibration.pt``: a finite real array of shape ``(N, *obs_shape)`` (N >= 1), at most MAX_WEIGHTS_BYTES."""
    from gymnasium import spaces

    if "calibration.pt" not in archive.namelist():
        raise UserInputError("saved calibrated agent lacks calibration.pt (the calibration observations)")
    raw = read_member(archive, "calibration.pt", MAX_WEIGHTS_BYTES, where, _KIND)
    tensor = check_tensor(load_tensor_file(raw, where, "calibration.pt"), where, "calibration.pt", len(raw))
    calibration = tensor.numpy()
    if calibration.ndim >= 1 and len(calibration) > MAX_CALIBRATION_ROWS:
        raise UnsafeAgentError(f"{where}: calibration.pt holds {len(calibration)} observations, over the "
                               f"{MAX_CALIBRATION_ROWS}-observation limit (MAX_CALIBRATION_ROWS)")
    expected = tuple(observation_space.shape) if isinstance(observation_space, spaces.Box) else ()
    if calibration.ndim != 1 + len(expected) or tuple(calibration.shape[1:]) != expected or len(calibration) == 0:
        raise UserInputError(
            f"calibration.pt holds shape {tuple(calibration.shape)}; expected (N, {', '.join(map(str, expected))})"
            if expected else
            f"calibration.pt holds shape {tuple(calibration.shape)}; expected (N,)"
        )
    return calibration


def _env_spaces(env: Any) -> tuple[Any, Any] | None:
    """The (observation, action) spaces of ``env``: None, an env id (checked, with suggestions), a
    ``gymnasium.Env`` or an SB3 ``VecEnv``; anything else is a UserTypeError."""
    import gymnasium as gym
    from stable_baselines3.common.vec_env import VecEnv

    if env is None:
        return None
    if isinstance(env, str):
        probe = make_env(env)  # UserInputError naming the id and close matches, or a missing dependency
        try:
            return probe.observation_space, probe.action_space
        finally:
            close_env(probe)
    if isinstance(env, (gym.Env, VecEnv)):
        return env.observation_space, env.action_space
    raise UserTypeError(f"env must be an env id string, a gymnasium.Env or a VecEnv, got {type(env).__name__}")


def load_compressed(path: str | os.PathLike[str], env: Any = None) -> CompressedAgent:
    """Rebuild a :class:`CompressedAgent` saved by :meth:`CompressedAgent.save`.

    Nothing is unpickled, and every size the file names is checked before anything is read or built
    (:mod:`paradox_gym.limits`): the file (a regular file of at most ``MAX_AGENT_FILE_BYTES``, at most
    ``MAX_ZIP_MEMBERS`` members), ``agent.json`` (``MAX_JSON_BYTES``, ``MAX_JSON_DEPTH``), the spaces
    (``MAX_SPACE_ENTRIES``, ``MAX_ACTIONS``), ``net_arch`` (``MAX_LAYERS`` x ``MAX_LAYER_WIDTH``), the policy's
    parameter count (``MAX_POLICY_PARAMETERS``), ``weights.pt`` and ``calibration.pt`` (``MAX_WEIGHTS_BYTES``;
    finite values; the weights hold exactly as many numbers as the architecture needs) and a QAT recipe's
    ``qat_steps`` (``MAX_QAT_STEPS``).

    Args:
        path: the zip file.
        env: optional Gymnasium env (or id); if given, its spaces must match the saved ones.

    Raises:
        AgentNotFoundError: no file at ``path``.
        UserTypeError: ``env`` is neither None, an env id, a ``gymnasium.Env`` nor a ``VecEnv``.
        UserInputError: not a compressed-agent file (or not a regular file), a malformed or tampered entry,
            an unknown env id, or ``env`` does not match.
        UnsafeAgentError: the file names a class this package would not construct, or asks for more than a cap.
    """
    env_spaces = _env_spaces(env)
    where = repr(os.fspath(path))
    with open_agent_file(path, "compressed agent file") as fh, open_zip(fh, where, _KIND) as archive:
        names = set(archive.namelist())
        if "agent.json" not in names or "weights.pt" not in names:
            raise UserInputError(f"{where} is not a compressed agent file (it lacks agent.json or weights.pt)")
        meta = _read_meta(archive, where)
        algo = meta["algo"]
        recipe = check_recipe(meta["recipe"])
        if recipe["method"] == "qat" and recipe["qat_steps"] > MAX_QAT_STEPS:
            raise UnsafeAgentError(
                f"{where}: recipe asks for {recipe['qat_steps']} QAT fine-tuning steps on load, over the "
                f"{MAX_QAT_STEPS}-step limit"
            )
        observation_space = decode_space(meta["observation_space"])
        action_space = decode_space(meta["action_space"])
        policy_kwargs = meta["policy_kwargs"]
        _, inference_parameters = check_policy_kwargs(algo, observation_space, action_space, policy_kwargs, where)
        if recipe["method"] == "qat" and qat_work(recipe["qat_steps"], inference_parameters) > MAX_QAT_WORK:
            raise UnsafeAgentError(
                f"{where}: recipe asks for {recipe['qat_steps']} QAT fine-tuning steps of a {inference_parameters}-"
                f"parameter network on load, over the {MAX_QAT_WORK:.2g} step x parameter limit (MAX_QAT_WORK, "
                f"each step counting a fixed {QAT_STEP_FIXED_PARAMETERS:.0e} besides its parameters)"
            )
        state = _read_weights(archive, where, inference_parameters)
        calibration = None
        if get_method(recipe["method"]).calibrated:
            calibration = _read_calibration(archive, where, observation_space)
    if env_spaces is not None and env_spaces != (observation_space, action_space):
        raise UserInputError(
            f"env spaces {env_spaces} do not match the saved agent's ({observation_space}, {action_space})"
        )
    try:
        policy = build_policy(algo, observation_space, action_space, policy_kwargs)
    except ParadoxGymError:
        raise
    except Exception as exc:  # noqa: BLE001 - any value SB3 or torch rejects
        first = one_line(exc)[:300] or type(exc).__name__
        raise UserInputError(f"saved policy_kwargs do not build a {algo} MlpPolicy: {first}") from None
    try:
        inference_module(policy, algo).load_state_dict(state, strict=True)
    except Exception as exc:  # noqa: BLE001 - RuntimeError for missing / unexpected keys or shapes
        first = one_line(exc)[:300] or type(exc).__name__
        raise UserInputError(f"saved weights do not fit the saved architecture: {first}") from None
    return build_compressed(policy, algo, recipe, policy_kwargs, calibration)  # loading re-applies the recipe


def build_compressed(
    policy: nn.Module, algo: str, recipe: dict[str, Any], policy_kwargs: dict[str, Any],
    calibration: np.ndarray | None,
) -> CompressedAgent:
    """Apply a checked ``recipe`` to the float ``policy`` in place and wrap the result.

    The float inference weights and footprint are taken first (the agent's baseline); the cost of the
    recipe (QAT's fine-tuning work) is measured as it runs and kept as ``finetune``.
    """
    float_state = float_inference_state(policy, algo)
    baseline = measure(inference_module(policy, algo))
    cost = apply_recipe(policy, algo, recipe, calibration)
    agent = CompressedAgent(
        policy=policy,
        algo=algo,
        recipe=recipe,
        policy_kwargs=policy_kwargs,
        float_state=float_state,
        calibration=calibration,
        baseline_footprint=baseline,
    )
    agent.finetune = cost
    return agent
