"""JSON description of an SB3 MLP policy's architecture, rebuilt without unpickling anything.

Spaces become ``{"type": "Box", "low": [...], "high": [...], "shape": [...], "dtype": "float32"}`` or
``{"type": "Discrete", "n": 2, "start": 0}``; the activation function is stored by its ``torch.nn``
name and resolved on load only among ``torch.nn`` activation classes. Optimizer settings and the
learning-rate schedule are not stored (they play no part in inference).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from paradox_gym.compression.inference_path import algo_classes, is_activation
from paradox_gym.errors import UnsafeAgentError, UserInputError

_DROPPED = ("observation_space", "action_space", "lr_schedule", "optimizer_class", "optimizer_kwargs")


def encode_space(space: Any) -> dict[str, Any]:
    from gymnasium import spaces

    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "low": space.low.tolist(),
            "high": space.high.tolist(),
            "shape": list(space.shape),
            "dtype": str(space.dtype),
        }
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    raise UserInputError(f"unsupported space {type(space).__name__}; supported: Box, Discrete")


def decode_space(data: dict[str, Any]) -> Any:
    """Rebuild a space written by :func:`encode_space` (raises UserInputError on a malformed entry)."""
    from gymnasium import spaces

    kind = data.get("type") if isinstance(data, dict) else None
    try:
        if kind == "Box":
            dtype = np.dtype(data["dtype"])
            if dtype.kind not in "fiub":
                raise ValueError(f"dtype {dtype} is not numeric")
            shape = tuple(int(s) for s in data["shape"])
            low = np.array(data["low"], dtype=dtype).reshape(shape)
            high = np.array(data["high"], dtype=dtype).reshape(shape)
            return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
        if kind == "Discrete":
            return spaces.Discrete(int(data["n"]), start=int(data.get("start", 0)))
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        raise UserInputError(f"malformed {kind} space in saved agent: {exc!r}") from exc
    raise UserInputError(f"unsupported space type {kind!r} in saved agent; supported: Box, Discrete")


def _json_value(key: str, value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UserInputError(f"policy setting {key}={value} cannot be saved")
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(key, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(key, v) for k, v in value.items()}
    raise UserInputError(
        f"unsupported policy setting {key}={value!r} (type {type(value).__name__}); "
        "only plain values can be saved"
    )


def encode_policy_kwargs(policy: Any) -> dict[str, Any]:
    """Constructor arguments of ``policy`` as JSON-compatible values (raises if any cannot be)."""
    from stable_baselines3.common.torch_layers import FlattenExtractor

    params = dict(policy._get_constructor_parameters())
    if hasattr(policy, "share_features_extractor"):
        # ActorCriticPolicy does not list it among its constructor parameters.
        params["share_features_extractor"] = bool(policy.share_features_extractor)
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in _DROPPED:
            continue
        if key == "activation_fn":
            if not (isinstance(value, type) and getattr(nn, value.__name__, None) is value
                    and is_activation(value())):
                raise UserInputError(
                    f"unsupported activation_fn {value!r}; use a torch.nn activation (ReLU, Tanh, ...)"
                )
            out[key] = value.__name__
        elif key == "features_extractor_class":
            if value is not FlattenExtractor:
                raise UserInputError(
                    f"unsupported features extractor {getattr(value, '__name__', value)!r}; "
                    "only FlattenExtractor is supported"
                )
            out[key] = "FlattenExtractor"
        else:
            out[key] = _json_value(key, value)
    return out


def _constant_schedule(_progress: float) -> float:
    return 0.0


def build_policy(algo: str, observation_space: Any, action_space: Any, kwargs: dict[str, Any]) -> Any:
    """Construct a fresh (randomly initialised, eval-mode, CPU) MLP policy of ``algo``.

    Raises:
        UnsafeAgentError: a stored class name is not one this package resolves.
    """
    from stable_baselines3.common.torch_layers import FlattenExtractor

    kwargs = dict(kwargs)
    activation = kwargs.get("activation_fn")
    if activation is not None:
        cls = getattr(nn, str(activation), None)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)
                and cls.__module__ == "torch.nn.modules.activation"):
            raise UnsafeAgentError(f"saved activation_fn {activation!r} is not a torch.nn activation")
        kwargs["activation_fn"] = cls
    extractor = kwargs.get("features_extractor_class")
    if extractor is not None:
        if extractor != "FlattenExtractor":
            raise UnsafeAgentError(f"saved features_extractor_class {extractor!r} is not FlattenExtractor")
        kwargs["features_extractor_class"] = FlattenExtractor
    policy_cls = algo_classes()[algo].policy_aliases["MlpPolicy"]
    with torch.random.fork_rng(devices=[]):
        policy = policy_cls(
            observation_space=observation_space,
            action_space=action_space,
            lr_schedule=_constant_schedule,
            **kwargs,
        )
    policy.set_training_mode(False)
    return policy
