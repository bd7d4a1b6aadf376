"""Post-training quantization of an SB3 policy's inference path (eager-mode ``torch.ao``).

- PTDQ (:func:`quantize_dynamic`): every inference-path ``nn.Linear`` becomes a dynamically quantized
  Linear (int8 or float16 weights; int8 activations are quantized on the fly at every call).
- PTSQ (:func:`quantize_static`): each compressible part is wrapped as
  ``QuantStub -> part -> DeQuantStub`` (float in, float out), ``Linear + ReLU`` pairs are fused,
  observers are calibrated on observations from rollouts of the float agent, then converted.

``torch.ao.quantization`` is deprecated upstream; its warnings are silenced locally here
(:func:`quiet_torch_ao`). See docs/compression.md for the migration path to ``torchao``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from paradox_gym._util.cli import one_line
from paradox_gym.compression.inference_path import (
    compressible_parts,
    get_attr_path,
    set_attr_path,
)
from paradox_gym.envs import close_env, make_env
from paradox_gym.envs.rollout import collect_observations as collect_rollout_observations
from paradox_gym.errors import MethodNotApplicable, ParadoxGymError, UserInputError, UserTypeError

BACKENDS: tuple[str, ...] = ("x86", "fbgemm", "qnnpack")
DTYPES: tuple[str, ...] = ("qint8", "float16")
#: activations eager-mode static quantization runs on quantized tensors.
STATIC_ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.Tanh)


@contextlib.contextmanager
def quiet_torch_ao() -> Iterator[None]:
    """Silence the deprecation / quantized-tensor warnings emitted by ``torch.ao`` calls inside."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.ao")
        warnings.filterwarnings(
            "ignore", category=UserWarning, message=r".*quantized tensor creation functions"
        )
        warnings.filterwarnings(
            "ignore", category=UserWarning, message=r"Please use quant_min and quant_max"
        )
        yield


def resolve_backend(backend: str | None) -> str:
    """Return the quantized engine to use: ``backend`` if valid, else x86 > fbgemm > qnnpack."""
    supported = list(torch.backends.quantized.supported_engines)
    if backend is None:
        for candidate in BACKENDS:
            if candidate in supported:
                return candidate
        raise UserInputError(
            f"no quantized backend available in this torch build (engines: {supported})"
        )
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise UserInputError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if backend not in supported:
        raise UserInputError(
            f"backend {backend!r} is not supported by this torch build; available: "
            f"{', '.join(b for b in BACKENDS if b in supported)}"
        )
    return backend


@contextlib.contextmanager
def quantized_engine(backend: str | None) -> Iterator[None]:
    """Run the block with ``torch.backends.quantized.engine == backend`` (restored afterwards)."""
    if backend is None:
        yield
        return
    previous = torch.backends.quantized.engine
    if previous == backend:
        yield
        return
    torch.backends.quantized.engine = backend
    try:
        yield
    finally:
        torch.backends.quantized.engine = previous


def quantize_dynamic(policy: nn.Module, algo: str, dtype: str, backend: str) -> None:
    """Replace every inference-path ``nn.Linear`` of ``policy`` by a dynamic quantized one (in place)."""
    torch_dtype = torch.qint8 if dtype == "qint8" else torch.float16
    parts = compressible_parts(algo, policy)
    container = nn.ModuleDict({p.name: get_attr_path(policy, p.path) for p in parts})
    with quiet_torch_ao(), quantized_engine(backend):
        torch.ao.quantization.quantize_dynamic(
            container, {nn.Linear}, dtype=torch_dtype, inplace=True
        )
    for part in parts:
        set_attr_path(policy, part.path, container[part.name])


class StaticQuantPart(nn.Module):
    """``QuantStub -> body -> DeQuantStub``: a statically quantized part with float input and output."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.body = body
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(self.body(self.quant(x)))


def check_static_support(policy: nn.Module, algo: str, method: str = "ptsq") -> None:
    """Raise :class:`MethodNotApplicable` (naming ``method``) if a part uses an activation static quantization
    cannot run."""
    for part in compressible_parts(algo, policy):
        module = get_attr_path(policy, part.path)
        children = [] if isinstance(module, nn.Linear) else list(module.children())
        for child in children:
            if not isinstance(child, (nn.Linear, *STATIC_ACTIVATIONS)):
                raise MethodNotApplicable(
                    f"method {method!r} does not support activation {type(child).__name__} "
                    f"(in {part.name!r}); supported: ReLU, Tanh"
                )


def _fuse_pairs(body: nn.Module) -> list[list[str]]:
    """Names of consecutive (Linear, ReLU) children to fuse."""
    if not isinstance(body, nn.Sequential):
        return []
    names = list(body._modules)
    return [
        [a, b]
        for a, b in zip(names, names[1:])
        if type(body._modules[a]) is nn.Linear and type(body._modules[b]) is nn.ReLU
    ]


def quantize_static(
    policy: Any, algo: str, calibration_obs: np.ndarray, backend: str
) -> int:
    """Statically quantize the inference path of ``policy`` in place; return the fused pair count.

    Observers are calibrated by running ``policy.predict`` (deterministic) on ``calibration_obs``,
    so exactly the float path ``predict`` uses is observed.
    """
    check_calibration_finite(calibration_obs, "ptsq")
    parts = compressible_parts(algo, policy)
    qconfig = torch.ao.quantization.get_default_qconfig(backend)
    wrappers: dict[str, StaticQuantPart] = {}
    fused = 0
    with quiet_torch_ao(), quantized_engine(backend):
        for part in parts:
            body = get_attr_path(policy, part.path)
            pairs = _fuse_pairs(body)
            if pairs:
                torch.ao.quantization.fuse_modules(body, pairs, inplace=True)
                fused += len(pairs)
            wrapper = StaticQuantPart(body)
            wrapper.eval()
            wrapper.qconfig = qconfig
            torch.ao.quantization.prepare(wrapper, inplace=True)
            set_attr_path(policy, part.path, wrapper)
            wrappers[part.name] = wrapper
        policy.set_training_mode(False)
        policy.predict(calibration_obs, deterministic=True)
        for part in parts:
            torch.ao.quantization.convert(wrappers[part.name], inplace=True)
    return fused


def check_calibration_finite(observations: np.ndarray, method: str) -> None:
    """UserInputError unless the calibration observations are real (float, integer or bool) and finite in
    float32, the policy's precision: observers cannot range NaN or infinity (torch fails deep inside
    ``histc``)."""
    values = np.asarray(observations)
    if values.dtype.kind not in "fiub":
        raise UserInputError(f"{method}: calibration observations have dtype {values.dtype}; expected real numbers")
    if values.dtype.kind == "f":
        # the policy computes in float32: a float64 1e300 is as unusable to its observers as infinity
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(values) & (np.abs(values) <= np.finfo(np.float32).max)
        if not ok.all():
            bad = int(np.count_nonzero(~ok))
            raise UserInputError(
                f"{method}: the calibration observations hold {bad} value(s) that are not finite in float32 "
                f"(NaN, infinity, or beyond +-3.4e38); calibration needs finite observations"
            )


def collect_observations(policy: Any, env: Any, steps: int, seed: int) -> np.ndarray:
    """Observations seen by the float ``policy`` acting deterministically for ``steps`` env steps.

    Args:
        policy: a float SB3 policy (not modified apart from being put in eval mode).
        env: a Gymnasium env id, a ``gymnasium.Env`` or an SB3 ``VecEnv``; an id is made and closed here.
        steps: number of observations to collect.
        seed: seed of the first reset.

    Raises UserInputError when the environment returns a non-finite (NaN or infinite) observation.
    """
    import gymnasium as gym
    from stable_baselines3.common.vec_env import VecEnv

    own_env = False
    if isinstance(env, str):
        try:
            env = make_env(env)
        except UserInputError as exc:  # an unknown id (with close matches) or a missing dependency
            raise UserInputError(f"cannot make calibration env {env!r}: {exc}") from None
        own_env = True
    elif not isinstance(env, (gym.Env, VecEnv)):
        raise UserTypeError(
            f"env must be a Gymnasium env id, a gymnasium.Env or a VecEnv, got {type(env).__name__}"
        )
    try:
        if env.observation_space != policy.observation_space:
            raise UserInputError(
                f"calibration env observation space {env.observation_space} does not match the "
                f"policy's {policy.observation_space}"
            )
        policy.set_training_mode(False)
        if isinstance(env, VecEnv):  # one sub-environment of it, played by the shared rollout loop
            env = env.envs[0] if hasattr(env, "envs") else env
            if isinstance(env, VecEnv):
                raise UserTypeError("calibration from a VecEnv needs a DummyVecEnv (its envs are reachable)")
        env_name = getattr(getattr(env, "spec", None), "id", None) or type(env).__name__
        seen = 0

        def finite_predict(observation: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal seen
            seen += 1
            values = np.asarray(observation)
            if values.dtype.kind == "f" and not np.isfinite(values).all():
                raise UserInputError(
                    f"ptsq / qat calibration: the environment {env_name} returned non-finite observations (NaN "
                    f"or infinity) during calibration, at observation {seen} of {steps} (first seed {seed}); "
                    f"calibration needs finite observations"
                )
            return policy.predict(observation, *args, **kwargs)

        try:
            return collect_rollout_observations(finite_predict, env, steps, seed)
        except ParadoxGymError:
            raise
        except Exception as exc:  # noqa: BLE001 - the env or the float agent failed: bad input, one line
            first = one_line(exc)[:300]
            raise UserInputError(
                f"ptsq / qat calibration: playing the float agent in {env_name} failed ({type(exc).__name__}: "
                f"{first}); calibration needs an environment and an agent that can play {steps} steps"
            ) from None
    finally:
        if own_env:
            close_env(env)
