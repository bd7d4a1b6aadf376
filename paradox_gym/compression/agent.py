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

from paradox_gym.compression.footprint import Footprint, measure
from paradox_gym.compression.inference_path import SUPPORTED_ALGOS, inference_module
from paradox_gym.compression.quantization import quantized_engine
from paradox_gym.compression.recipe import check_recipe
from paradox_gym.compression.registry import apply_recipe, get_method
from paradox_gym.compression.serialization import build_policy, decode_space, encode_space
from paradox_gym.errors import AgentNotFoundError, ParadoxGymError, UserInputError
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


def _read_tensor_file(archive: zipfile.ZipFile, name: str) -> Any:
    try:
        return torch.load(io.BytesIO(archive.read(name)), weights_only=True, map_location="cpu")
    except Exception as exc:
        first_line = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise UserInputError(f"cannot read {name} from the saved agent: {first_line}") from exc


def _read_meta(archive: zipfile.ZipFile, where: str) -> dict[str, Any]:
    """``agent.json`` as a dict with every key :func:`load_compressed` reads (else a user error)."""
    try:
        meta = json.loads(archive.read("agent.json"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{where}: agent.json is not valid JSON ({exc})") from exc
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
    return meta


def _check_calibration(calibration: np.ndarray | None, observation_space: Any) -> None:
    """The saved ``ptsq`` calibration must be a batch of observations of ``observation_space``."""
    from gymnasium import spaces

    if calibration is None:
        raise UserInputError("saved calibrated agent lacks calibration.pt (the calibration observations)")
    expected = tuple(observation_space.shape) if isinstance(observation_space, spaces.Box) else ()
    if calibration.ndim != 1 + len(expected) or tuple(calibration.shape[1:]) != expected or len(calibration) == 0:
        raise UserInputError(
            f"calibration.pt holds shape {tuple(calibration.shape)}; expected (N, {', '.join(map(str, expected))})"
            if expected else
            f"calibration.pt holds shape {tuple(calibration.shape)}; expected (N,)"
        )


def load_compressed(path: str | os.PathLike[str], env: Any = None) -> CompressedAgent:
    """Rebuild a :class:`CompressedAgent` saved by :meth:`CompressedAgent.save`.

    Args:
        path: the zip file.
        env: optional Gymnasium env (or id); if given, its spaces must match the saved ones.

    Raises:
        AgentNotFoundError: no file at ``path``.
        UserInputError: not a compressed-agent file, or ``env`` does not match.
        UnsafeAgentError: the file names a class this package would not construct.
    """
    if not os.path.isfile(path):
        raise AgentNotFoundError(f"no compressed agent file at {os.fspath(path)!r}")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise UserInputError(f"{os.fspath(path)!r} is not a compressed agent file (not a zip)") from exc
    with archive:
        names = set(archive.namelist())
        if "agent.json" not in names or "weights.pt" not in names:
            raise UserInputError(f"{os.fspath(path)!r} is not a compressed agent file")
        meta = _read_meta(archive, repr(os.fspath(path)))
        state = _read_tensor_file(archive, "weights.pt")
        calibration = None
        if "calibration.pt" in names:
            calibration_tensor = _read_tensor_file(archive, "calibration.pt")
            if not isinstance(calibration_tensor, torch.Tensor):
                raise UserInputError("calibration.pt does not hold a tensor")
            calibration = calibration_tensor.numpy()
    algo = meta["algo"]
    if algo not in SUPPORTED_ALGOS:
        raise UserInputError(f"unsupported algorithm {algo!r} in saved agent; supported: {SUPPORTED_ALGOS}")
    recipe = check_recipe(meta["recipe"])
    observation_space = decode_space(meta["observation_space"])
    action_space = decode_space(meta["action_space"])
    if get_method(recipe["method"]).calibrated:
        _check_calibration(calibration, observation_space)
    if env is not None:
        if isinstance(env, str):
            import gymnasium as gym

            probe = gym.make(env)
            spaces = (probe.observation_space, probe.action_space)
            probe.close()
        else:
            spaces = (env.observation_space, env.action_space)
        if spaces != (observation_space, action_space):
            raise UserInputError(
                f"env spaces {spaces} do not match the saved agent's "
                f"({observation_space}, {action_space})"
            )
    try:
        policy = build_policy(algo, observation_space, action_space, meta["policy_kwargs"])
    except ParadoxGymError:
        raise
    except (TypeError, ValueError, KeyError, AssertionError) as exc:
        raise UserInputError(f"saved policy_kwargs do not build a {algo} MlpPolicy: {exc}") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserInputError("weights.pt does not hold a dict of tensors")
    try:
        inference_module(policy, algo).load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UserInputError(f"saved weights do not fit the saved architecture: {exc}") from exc
    float_state = float_inference_state(policy, algo)
    baseline = measure(inference_module(policy, algo))
    cost = apply_recipe(policy, algo, recipe, calibration)
    agent = CompressedAgent(
        policy=policy,
        algo=algo,
        recipe=recipe,
        policy_kwargs=meta["policy_kwargs"],
        float_state=float_state,
        calibration=calibration,
        baseline_footprint=baseline,
    )
    agent.finetune = cost  # measured again: loading re-applies the recipe
    return agent
