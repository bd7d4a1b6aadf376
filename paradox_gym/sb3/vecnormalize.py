"""Observation normalisation of agents trained with SB3's ``VecNormalize``, read without executing anything.

rl-zoo3 (``normalize: true``) and :func:`paradox_gym.zoo.train` save the running statistics with
``VecNormalize.save``: a pickle of the whole wrapper (``vecnormalize.pkl``). Unpickling it with ``pickle``
would run whatever the file names, so :func:`load_vecnormalize` uses a restricted unpickler:

* numpy arrays, dtypes and scalars are rebuilt (object dtypes are refused: they would unpickle objects);
* ``VecNormalize`` and ``RunningMeanStd`` become inert records of their attribute dicts (their classes are
  never imported or called);
* the observation / action spaces and their random generators stored beside the statistics become inert
  placeholders (never constructed: the spaces come from the environment);
* any other global (``os.system``, ``builtins.eval``, ...) is refused with a one-line
  :class:`~paradox_gym.errors.UnsafeAgentError`, before it is looked up.

Of the record, only the observation statistics are used: ``obs_rms.mean`` and ``obs_rms.var`` (arrays of the
observation's shape), ``clip_obs`` and ``epsilon``, and ``norm_obs``. Reward normalisation plays no part in
evaluation (returns are reported in the environment's own reward units).

:class:`ObservationNormalizer` applies them exactly as ``VecNormalize.normalize_obs`` does::

    normalised = clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs).astype(float32)

and :class:`NormalizeObservation` is the Gymnasium wrapper that makes every rollout -- the float baseline,
every compressed copy, the ``ptsq`` calibration and the memory probe -- see the same normalised observations.
"""

from __future__ import annotations

import collections
import io
import math
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

from paradox_gym._util.cli import one_line
from paradox_gym.errors import UnsafeAgentError, UserInputError
from paradox_gym.limits import MAX_JSON_BYTES, MAX_SPACE_ENTRIES, MAX_VECNORMALIZE_BYTES
from paradox_gym.sb3.untrusted import decode_json, open_agent_file, open_zip, read_member

#: rl-zoo3's file name for the statistics (in ``<run>/<env id>/``); the zoo writes ``<stem>.vecnormalize.pkl``.
VECNORMALIZE_NAME = "vecnormalize.pkl"
VECNORMALIZE_SUFFIX = ".vecnormalize.pkl"
#: Statistics files larger than MAX_VECNORMALIZE_BYTES (paradox_gym.limits, importable from here too) are
#: refused; real ones are a few kB.


class _Record:
    """An inert stand-in for an allowed class: keeps the attribute dict it is given, runs nothing."""

    kind = "record"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and all(p is None or isinstance(p, dict) for p in state):
            state = {**(state[0] or {}), **(state[1] or {})}  # (dict, slots) state
        self.state = state if isinstance(state, dict) else {"_state": state}


class _VecNormalizeRecord(_Record):
    kind = "VecNormalize"


class _RunningMeanStdRecord(_Record):
    kind = "RunningMeanStd"


class _Placeholder(_Record):
    """Spaces, random generators: stored beside the statistics, never needed, never constructed."""

    kind = "placeholder"


def _placeholder_factory(*args: Any, **kwargs: Any) -> _Placeholder:
    return _Placeholder()


def _checked_dtype(*args: Any) -> np.dtype[Any]:
    """``numpy.dtype`` for numeric, boolean and string types only (object dtypes would unpickle objects)."""
    if not args or not isinstance(args[0], str):
        raise UnsafeAgentError(f"vecnormalize: dtype from {args[:1]!r} refused (only named dtypes)")
    dtype = np.dtype(args[0])
    if dtype.hasobject:
        raise UnsafeAgentError(f"vecnormalize: object dtype {args[0]!r} refused")
    return dtype


_NUMPY_CORE = ("numpy._core.multiarray", "numpy.core.multiarray")  # numpy 2 / numpy 1 pickles
_MULTIARRAY: Any = getattr(np, "_core", None) or np.core  # type: ignore[attr-defined]


class _NdarrayClass:
    """Stands for ``numpy.ndarray`` in a pickle. numpy pickles an array as
    ``_reconstruct(ndarray, (0,), b"b")`` followed by its state (shape, dtype and the data bytes, which
    numpy checks against each other), so only :func:`_checked_reconstruct` receives it; calling it, as a
    crafted pickle could (``ndarray((10**9,))``), would allocate an array of any shape and is refused."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise UnsafeAgentError("vecnormalize: a direct numpy.ndarray(...) call is refused (it allocates any shape)")


def _checked_reconstruct(subtype: Any, shape: Any, dtype: Any) -> Any:
    """numpy's ``_reconstruct`` for plain arrays of at most MAX_SPACE_ENTRIES entries (numpy writes ``(0,)``)."""
    if subtype is not _NdarrayClass:
        raise UnsafeAgentError(f"vecnormalize: array subtype {subtype!r} refused (only numpy.ndarray)")
    if (not isinstance(shape, tuple) or any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in shape)
            or math.prod(shape) > MAX_SPACE_ENTRIES):
        raise UnsafeAgentError(f"vecnormalize: array shape {shape!r} refused (at most {MAX_SPACE_ENTRIES} entries)")
    return _MULTIARRAY.multiarray._reconstruct(np.ndarray, shape, dtype)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "dtype"): _checked_dtype,
    ("numpy", "ndarray"): _NdarrayClass,
    **{(m, "_reconstruct"): _checked_reconstruct for m in _NUMPY_CORE},
    **{(m, "scalar"): _MULTIARRAY.multiarray.scalar for m in _NUMPY_CORE},
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("stable_baselines3.common.vec_env.vec_normalize", "VecNormalize"): _VecNormalizeRecord,
    ("stable_baselines3.common.running_mean_std", "RunningMeanStd"): _RunningMeanStdRecord,
}
#: Globals replaced by inert placeholders: what VecNormalize pickles beside the statistics.
_PLACEHOLDERS: tuple[tuple[str, str], ...] = (
    *((f"{pkg}.spaces.{mod}", cls) for pkg in ("gymnasium", "gym") for mod, cls in (
        ("box", "Box"), ("discrete", "Discrete"), ("multi_discrete", "MultiDiscrete"),
        ("multi_binary", "MultiBinary"), ("dict", "Dict"), ("tuple", "Tuple"))),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random._mt19937", "MT19937"),
    ("numpy.random.bit_generator", "SeedSequence"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, where: str) -> None:
        super().__init__(io.BytesIO(data))
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if (module, name) in _PLACEHOLDERS:
            return _placeholder_factory if name[0] == "_" or name[0].islower() else _Placeholder
        raise UnsafeAgentError(
            f"{self.where}: refusing to unpickle global {module}.{name} (only numpy arrays and VecNormalize "
            f"statistics are read from a vecnormalize.pkl)"
        )

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeAgentError(f"{self.where}: persistent references are refused in a vecnormalize.pkl")


@dataclass(frozen=True)
class ObservationNormalizer:
    """Fixed observation statistics of an agent trained with ``VecNormalize`` (see the module docstring).

    ``mean`` and ``var`` have the observation's shape (float64, as SB3 keeps them); ``clip_obs`` bounds the
    normalised values to ``[-clip_obs, clip_obs]``; ``epsilon`` is added to the variance; ``source`` is the
    file they were read from (recorded in results).
    """

    mean: np.ndarray
    var: np.ndarray
    clip_obs: float
    epsilon: float
    source: str

    def __call__(self, obs: Any) -> np.ndarray:
        """``clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs)`` as float32, as SB3 computes it."""
        return np.clip((obs - self.mean) / np.sqrt(self.var + self.epsilon), -self.clip_obs,
                       self.clip_obs).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """Where the statistics come from and their size (the arrays themselves are not repeated)."""
        return {"source": self.source, "shape": list(self.mean.shape), "clip_obs": self.clip_obs,
                "epsilon": self.epsilon}


class NormalizeObservation(gymnasium.ObservationWrapper):  # type: ignore[type-arg]
    """Every observation the agent receives passes through a fixed :class:`ObservationNormalizer`.

    The observation space is left as the environment's (SB3's VecNormalize does the same for vector
    observations), so the agent's spaces still match the environment's. Rewards are untouched.
    """

    def __init__(self, env: gymnasium.Env[Any, Any], normalizer: ObservationNormalizer) -> None:
        super().__init__(env)
        self.normalizer = normalizer

    def observation(self, observation: Any) -> Any:
        return self.normalizer(observation)


def _number(value: Any, what: str, where: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise UnsafeAgentError(f"{where}: {what} is {type(value).__name__}, expected a number")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise UserInputError(f"{where}: {what} = {number} is not a finite non-negative number")
    return number


def _array(value: Any, what: str, where: str) -> np.ndarray:
    if type(value) is not np.ndarray or value.dtype.kind not in "fiu":
        raise UnsafeAgentError(f"{where}: {what} is {type(value).__name__}, expected a numeric numpy array")
    if value.size > MAX_SPACE_ENTRIES:
        raise UnsafeAgentError(f"{where}: {what} has {value.size} entries, over the {MAX_SPACE_ENTRIES}-entry limit")
    array = value.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise UserInputError(f"{where}: {what} holds non-finite values")
    return array


def load_vecnormalize(path: str | os.PathLike[str], observation_space: Any = None) -> ObservationNormalizer | None:
    """Read the observation statistics of ``path`` (a ``VecNormalize.save`` pickle) without executing it.

    Returns None when the file says observations were not normalised (``norm_obs`` false). When
    ``observation_space`` (a Box) is given, the statistics must have its shape. The file must be a regular file
    of at most ``MAX_VECNORMALIZE_BYTES``; arrays hold at most ``MAX_SPACE_ENTRIES`` entries; mean, var,
    clip_obs and epsilon must be finite, var >= 0 and var + epsilon > 0. Raises AgentNotFoundError (no
    file), UnsafeAgentError (anything but numpy arrays and VecNormalize statistics, over a cap),
    UserInputError (not a regular file, not VecNormalize statistics, Dict observations, shapes that do not
    fit, invalid values).
    """
    path = Path(path)
    where = str(path)
    with open_agent_file(path, "normalisation statistics") as fh:  # a regular, non-empty file
        data = fh.read(MAX_VECNORMALIZE_BYTES + 1)
    if len(data) > MAX_VECNORMALIZE_BYTES:
        raise UnsafeAgentError(f"{where} is over the {MAX_VECNORMALIZE_BYTES}-byte limit")
    try:
        record = _RestrictedUnpickler(data, where).load()
    except (UnsafeAgentError, UserInputError):
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt pickles raise many types
        first = one_line(exc)[:200] or type(exc).__name__
        raise UserInputError(f"{where} is not a VecNormalize statistics file ({first})") from None
    if not isinstance(record, _VecNormalizeRecord) or not isinstance(getattr(record, "state", None), dict):
        raise UserInputError(f"{where} is not a VecNormalize statistics file (it holds {type(record).__name__})")
    state = record.state
    if state.get("norm_obs") is False:
        return None
    rms = state.get("obs_rms")
    if isinstance(rms, dict):
        raise UserInputError(f"{where}: Dict-observation statistics are not supported (MLP policies on Box only)")
    if not isinstance(rms, _RunningMeanStdRecord) or not isinstance(getattr(rms, "state", None), dict):
        raise UserInputError(f"{where}: no observation statistics (obs_rms) in this VecNormalize file")
    mean = _array(rms.state.get("mean"), "obs_rms.mean", where)
    var = _array(rms.state.get("var"), "obs_rms.var", where)
    if mean.shape != var.shape:
        raise UserInputError(f"{where}: obs_rms.mean {mean.shape} and obs_rms.var {var.shape} differ in shape")
    if np.any(var < 0):
        raise UserInputError(f"{where}: obs_rms.var holds negative values")
    clip_obs = _number(state.get("clip_obs", 10.0), "clip_obs", where)
    epsilon = _number(state.get("epsilon", 1e-8), "epsilon", where)
    if np.any(var + epsilon <= 0) or not np.all(np.isfinite(np.sqrt(var + epsilon))):
        raise UserInputError(f"{where}: obs_rms.var + epsilon has zero entries (observations would be divided by 0)")
    if observation_space is not None:
        shape = getattr(observation_space, "shape", None)
        if not isinstance(observation_space, gymnasium.spaces.Box) or tuple(shape or ()) != mean.shape:
            raise UserInputError(
                f"{where}: statistics of shape {mean.shape} do not fit the environment's observation space "
                f"{observation_space}"
            )
    mean.setflags(write=False)
    var.setflags(write=False)
    return ObservationNormalizer(mean, var, clip_obs, epsilon, where)


def find_vecnormalize(zip_path: str | os.PathLike[str], env_id: str | None = None) -> Path | None:
    """The statistics saved beside an agent zip, or None. Looked up in this order:
    ``<stem>.vecnormalize.pkl`` (the zoo's name), ``vecnormalize.pkl`` in the zip's folder, and rl-zoo3's
    ``<folder>/<env id>/vecnormalize.pkl`` (``env_id`` given, or the zip's stem, as rl-zoo3 names it)."""
    zip_path = Path(zip_path)
    folder = zip_path.parent
    candidates = [zip_path.with_name(zip_path.stem + VECNORMALIZE_SUFFIX), folder / VECNORMALIZE_NAME]
    for name in (env_id, zip_path.stem):
        if name:
            candidates.append(folder / name / VECNORMALIZE_NAME)
    return next((c for c in candidates if c.is_file()), None)


def trained_with_normalization(zip_path: str | os.PathLike[str]) -> bool:
    """True when the zip's plain-JSON ``data`` shows VecNormalize was used in training.

    On-policy algorithms (PPO, A2C, TRPO) keep ``_last_original_obs`` (the un-normalised last observation)
    only when the training env is wrapped in VecNormalize: it is saved as a serialized array then, as
    ``null`` otherwise. Off-policy algorithms (DQN, SAC, TD3, DDPG, TQC, QR-DQN; their ``data`` has
    ``learning_starts``) set it on every transition, so for them it says nothing and this returns False
    (their normalisation is known from statistics beside the zip or from an rl-zoo3 ``config.yml``). Only
    the JSON is read; nothing is decoded. An unreadable zip reads as False (the loader reports it)."""
    where = os.fspath(zip_path)
    try:  # the same checks as the safe loader: a regular file, capped members, bounded JSON
        with open_agent_file(zip_path, "agent file") as fh, open_zip(fh, where, "an SB3 agent zip") as archive:
            data = decode_json(read_member(archive, "data", MAX_JSON_BYTES, where, "an SB3 agent zip"))
    except Exception:  # noqa: BLE001 - the safe loader gives the real error
        return False
    if not isinstance(data, dict) or "learning_starts" in data:
        return False
    return data.get("_last_original_obs") is not None
