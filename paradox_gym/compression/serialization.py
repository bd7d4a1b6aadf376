"""JSON description of an SB3 MLP policy's architecture, rebuilt without unpickling anything.

Spaces become ``{"type": "Box", "low": [...], "high": [...], "shape": [...], "dtype": "float32"}`` or
``{"type": "Discrete", "n": 2, "start": 0}``; the activation function is stored by its ``torch.nn``
name and resolved on load only among ``torch.nn`` activation classes. Optimizer settings and the
learning-rate schedule are not stored (they play no part in inference).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from paradox_gym._util.cli import one_line
from paradox_gym.compression.inference_path import algo_classes, is_activation
from paradox_gym.errors import UnsafeAgentError, UserInputError
from paradox_gym.limits import MAX_ACTIONS, MAX_CRITICS, MAX_SPACE_ENTRIES
from paradox_gym.sb3.untrusted import (
    check_layer_sizes,
    check_policy_parameters,
    finite_number,
    mlp_parameters,
    policy_parameters,
)

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


#: Box dtypes a saved space may name (numeric and boolean; never object, string or structured dtypes).
BOX_DTYPES: tuple[str, ...] = ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
                               "uint8", "uint16", "uint32", "uint64", "bool")
#: Most dimensions of a saved Box shape.
_MAX_BOX_DIMS = 8
#: Bound on a Discrete space's ``start`` (int64 arithmetic must not overflow).
_MAX_DISCRETE_START = 2**31


def _space_int(data: dict[str, Any], key: str, low: int, high: int, kind: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UserInputError(
            f"malformed {kind} space in saved agent: {key} = {value!r}; expected an integer in [{low}, {high}]"
        )
    return value


def decode_space(data: dict[str, Any]) -> Any:
    """Rebuild a space written by :func:`encode_space`, within the caps of :mod:`paradox_gym.limits`.

    Box: ``dtype`` one of BOX_DTYPES; ``shape`` at most 8 dimensions, each >= 1, of at most
    ``MAX_SPACE_ENTRIES`` entries in all (checked before any array is built); ``low`` / ``high`` nested lists
    of that shape (or one number), never NaN, ``low <= high`` (infinite bounds are allowed). Discrete:
    ``n`` in ``[1, MAX_ACTIONS]``, ``start`` within +-2**31. Raises UserInputError on anything else.
    """
    from gymnasium import spaces

    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "Discrete":
        n = _space_int(data, "n", 1, MAX_ACTIONS, kind)
        start = _space_int({"start": data.get("start", 0)}, "start", -_MAX_DISCRETE_START, _MAX_DISCRETE_START, kind)
        return spaces.Discrete(n, start=start)
    if kind != "Box":
        raise UserInputError(f"unsupported space type {kind!r} in saved agent; supported: Box, Discrete")
    dtype_name = data.get("dtype")
    if not isinstance(dtype_name, str) or dtype_name not in BOX_DTYPES:
        raise UserInputError(
            f"malformed Box space in saved agent: dtype {dtype_name!r}; expected one of {', '.join(BOX_DTYPES)}"
        )
    shape_value = data.get("shape")
    if (not isinstance(shape_value, list) or len(shape_value) > _MAX_BOX_DIMS
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape_value)):
        raise UserInputError(
            f"malformed Box space in saved agent: shape {shape_value!r}; expected a list of at most "
            f"{_MAX_BOX_DIMS} integers >= 1"
        )
    shape = tuple(shape_value)
    if math.prod(shape) > MAX_SPACE_ENTRIES:
        raise UserInputError(
            f"malformed Box space in saved agent: shape {shape} has {math.prod(shape)} entries, over the "
            f"{MAX_SPACE_ENTRIES}-entry limit"
        )
    dtype = np.dtype(dtype_name)
    bounds = []
    for key in ("low", "high"):
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("error", DeprecationWarning)  # numpy's out-of-range integer casts
                array = np.array(data.get(key), dtype=np.float64 if dtype.kind == "f" else dtype)
        except (TypeError, ValueError, OverflowError, DeprecationWarning) as exc:
            raise UserInputError(
                f"malformed Box space in saved agent: {key} is not a {dtype} array ({one_line(exc)})"
            ) from None
        if array.shape not in ((), shape):
            raise UserInputError(f"malformed Box space in saved agent: {key} has shape {array.shape}, not {shape}")
        if dtype.kind == "f" and np.isnan(array).any():
            raise UserInputError(f"malformed Box space in saved agent: {key} holds NaN")
        with np.errstate(all="ignore"):
            bounds.append(np.array(np.broadcast_to(array.astype(dtype), shape)))
    low, high = bounds
    if (low > high).any():
        raise UserInputError("malformed Box space in saved agent: low > high")
    try:
        with warnings.catch_warnings():  # gymnasium warns on casting precision
            warnings.simplefilter("ignore")
            return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
    except (TypeError, ValueError, AssertionError, OverflowError) as exc:
        raise UserInputError(f"malformed Box space in saved agent: {one_line(exc)}") from None


def space_size(space: Any) -> int:
    """Entries of a (decoded) Box, or ``n`` of a Discrete: the input / output size of an MLP on it."""
    from gymnasium import spaces

    if isinstance(space, spaces.Discrete):
        return int(space.n)
    return int(math.prod(space.shape))


# --------------------------------------------------------------------------------------------------
# policy kwargs read from a file


#: policy kwargs of a flag kind and the values they may take.
_FLAG_KWARGS = ("normalize_images", "use_sde", "ortho_init", "share_features_extractor")
_OPTIONAL_FLAG_KWARGS = ("squash_output", "full_std", "use_expln")
#: numeric policy kwargs and their ranges (SB3 clamps log std to [-20, 2]; clip_mean bounds mu).
_NUMBER_KWARGS: dict[str, tuple[float, float]] = {"log_std_init": (-20.0, 20.0), "clip_mean": (0.0, 1e6)}
_KNOWN_KWARGS = ("net_arch", "activation_fn", "features_extractor_class", "features_extractor_kwargs",
                 "n_critics", "n_quantiles", *_FLAG_KWARGS, *_OPTIONAL_FLAG_KWARGS, *_NUMBER_KWARGS)
_ON_POLICY = ("PPO", "A2C", "TRPO")
_Q_NETWORKS = ("DQN", "QRDQN")
#: SB3's defaults where policy_kwargs leave them out.
_DEFAULT_N_CRITICS = {"SAC": 2, "TQC": 2, "TD3": 2, "DDPG": 1}
_DEFAULT_N_QUANTILES = {"TQC": 25, "QRDQN": 200}


def _net_arch(algo: str, net_arch: Any, where: str) -> tuple[list[int], list[int]]:
    """(actor / Q-net hidden sizes, value-net / critic hidden sizes) as SB3 reads ``net_arch`` for ``algo``."""
    other_key = "vf" if algo in _ON_POLICY else "qf"
    if isinstance(net_arch, dict) and algo not in _Q_NETWORKS:
        unknown = sorted(str(k) for k in net_arch if k not in ("pi", other_key))
        if unknown:
            raise UserInputError(f"{where}: net_arch has keys {unknown}; {algo} takes 'pi' and {other_key!r}")
        if algo not in _ON_POLICY and not ("pi" in net_arch and "qf" in net_arch):
            raise UserInputError(f"{where}: net_arch of {algo} needs both 'pi' and 'qf' lists")
        pi = check_layer_sizes(net_arch.get("pi", []), "net_arch['pi']", where)
        return pi, check_layer_sizes(net_arch.get(other_key, []), f"net_arch[{other_key!r}]", where)
    sizes = check_layer_sizes(net_arch, "net_arch", where)
    return sizes, sizes


def check_policy_kwargs(algo: str, observation_space: Any, action_space: Any, kwargs: dict[str, Any],
                        where: str) -> tuple[int, int]:
    """Check policy kwargs read from a file before any policy is built; return (parameters, inference parameters).

    Every entry must be one :func:`encode_policy_kwargs` writes, of the right type and range; ``net_arch``
    (required) within ``MAX_LAYERS`` x ``MAX_LAYER_WIDTH``; ``n_critics`` in ``[1, MAX_CRITICS]``,
    ``n_quantiles`` in ``[1, MAX_ACTIONS]``. The policy's parameter count (all networks, targets included)
    must be at most ``MAX_POLICY_PARAMETERS``. The second number is the parameter count of the inference
    path (:mod:`paradox_gym.compression.inference_path`), which the saved weights must match.
    Raises UserInputError, or UnsafeAgentError for a class name this package would not resolve or a
    policy over the parameter cap.
    """
    from gymnasium import spaces

    unknown = sorted(str(k) for k in kwargs if k not in _KNOWN_KWARGS)
    if unknown:
        raise UserInputError(
            f"saved policy_kwargs do not build a {algo} MlpPolicy: unknown option(s) {', '.join(map(repr, unknown))}"
        )
    for key in _FLAG_KWARGS:
        if key in kwargs and not isinstance(kwargs[key], bool):
            raise UserInputError(f"{where}: policy_kwargs {key} must be true or false, got {kwargs[key]!r}")
    for key in _OPTIONAL_FLAG_KWARGS:
        if kwargs.get(key) is not None and not isinstance(kwargs[key], bool):
            raise UserInputError(f"{where}: policy_kwargs {key} must be true, false or null, got {kwargs[key]!r}")
    for key, (low, high) in _NUMBER_KWARGS.items():
        if key in kwargs:
            finite_number(kwargs[key], f"policy_kwargs {key}", where, low, high)
    activation = kwargs.get("activation_fn")
    if activation is not None and _activation_class(activation) is None:
        raise UnsafeAgentError(f"saved activation_fn {activation!r} is not a torch.nn activation")
    extractor = kwargs.get("features_extractor_class")
    if extractor is not None and extractor != "FlattenExtractor":
        raise UnsafeAgentError(f"saved features_extractor_class {extractor!r} is not FlattenExtractor")
    if kwargs.get("features_extractor_kwargs") not in (None, {}):
        raise UserInputError(f"{where}: features_extractor_kwargs must be empty (FlattenExtractor takes none)")
    n_critics = kwargs.get("n_critics", _DEFAULT_N_CRITICS.get(algo, 1))
    if isinstance(n_critics, bool) or not isinstance(n_critics, int) or not 1 <= n_critics <= MAX_CRITICS:
        raise UserInputError(f"{where}: n_critics = {n_critics!r}; expected an integer in [1, {MAX_CRITICS}]")
    n_quantiles = kwargs.get("n_quantiles", _DEFAULT_N_QUANTILES.get(algo, 1))
    if isinstance(n_quantiles, bool) or not isinstance(n_quantiles, int) or not 1 <= n_quantiles <= MAX_ACTIONS:
        raise UserInputError(f"{where}: n_quantiles = {n_quantiles!r}; expected an integer in [1, {MAX_ACTIONS}]")
    if "net_arch" not in kwargs:
        raise UserInputError(f"{where}: policy_kwargs in agent.json lacks net_arch")
    pi, other = _net_arch(algo, kwargs["net_arch"], where)
    needs = spaces.Discrete if algo in _Q_NETWORKS else spaces.Box if algo not in _ON_POLICY else None
    if needs is not None and not isinstance(action_space, needs):
        raise UserInputError(f"{where}: {algo} needs a {needs.__name__} action space, the saved one is {action_space}")
    obs_dim, act_dim = space_size(observation_space), space_size(action_space)
    if algo in _ON_POLICY:
        total = policy_parameters("actor-critic", obs_dim, act_dim, pi, other)
        inference = mlp_parameters([obs_dim, *pi, act_dim])
    elif algo in _Q_NETWORKS:
        out = act_dim * (n_quantiles if algo == "QRDQN" else 1)
        total = policy_parameters("dqn", obs_dim, out, pi, other)
        inference = mlp_parameters([obs_dim, *pi, out])
    elif algo in ("SAC", "TQC"):
        critic_out = n_quantiles if algo == "TQC" else 1
        total = policy_parameters("sac", obs_dim, act_dim, pi, other, n_critics, critic_out)
        last = pi[-1] if pi else obs_dim
        heads = 1 if kwargs.get("use_sde") else 2  # a gSDE actor's log_std is a parameter outside the path
        inference = mlp_parameters([obs_dim, *pi]) + heads * (last * act_dim + act_dim)
    else:
        total = policy_parameters("td3", obs_dim, act_dim, pi, other, n_critics)
        inference = mlp_parameters([obs_dim, *pi, act_dim])
    check_policy_parameters(total, where, f"the saved {algo} policy (net_arch {kwargs['net_arch']!r})")
    return total, inference


def _activation_class(name: Any) -> type[nn.Module] | None:
    """The ``torch.nn`` activation class called ``name``, or None."""
    cls = getattr(nn, name, None) if isinstance(name, str) else None
    if isinstance(cls, type) and issubclass(cls, nn.Module) and cls.__module__ == "torch.nn.modules.activation":
        return cls
    return None


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

    Every caller loads weights into the result, so the orthogonal initialisation of PPO / A2C / TRPO
    (a QR decomposition per layer: seconds for 4096-wide layers) is skipped; ``policy.ortho_init`` still
    reports the saved setting. Read from a file, ``kwargs`` must have passed :func:`check_policy_kwargs`.

    Raises:
        UnsafeAgentError: a stored class name is not one this package resolves.
    """
    from stable_baselines3.common.torch_layers import FlattenExtractor

    kwargs = dict(kwargs)
    activation = kwargs.get("activation_fn")
    if activation is not None:
        cls = _activation_class(activation)
        if cls is None:
            raise UnsafeAgentError(f"saved activation_fn {activation!r} is not a torch.nn activation")
        kwargs["activation_fn"] = cls
    extractor = kwargs.get("features_extractor_class")
    if extractor is not None:
        if extractor != "FlattenExtractor":
            raise UnsafeAgentError(f"saved features_extractor_class {extractor!r} is not FlattenExtractor")
        kwargs["features_extractor_class"] = FlattenExtractor
    ortho_init = kwargs.get("ortho_init", True)
    if algo in _ON_POLICY:
        kwargs["ortho_init"] = False
    policy_cls = algo_classes()[algo].policy_aliases["MlpPolicy"]
    with torch.random.fork_rng(devices=[]):
        policy = policy_cls(
            observation_space=observation_space,
            action_space=action_space,
            lr_schedule=_constant_schedule,
            **kwargs,
        )
    if algo in _ON_POLICY:
        policy.ortho_init = ortho_init
    policy.set_training_mode(False)
    return policy
