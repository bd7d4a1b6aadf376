"""Training state on disk, so that a long training survives the end of its process.

A training in progress lives in ``<agents dir>/training/<algo>-<env slug>/``:

* ``model.zip`` -- the SB3 checkpoint (weights and optimizer state). Only its tensors are read back
  (``set_parameters``, ``torch.load(weights_only=True)``): nothing in it is unpickled;
* ``state.json`` -- steps done, wall time, seed, hyperparameters and the evaluations so far;
* ``replay.npz`` -- the off-policy replay buffer's most recent :data:`REPLAY_ROWS_KEPT` transitions, in the
  order they were added, observations as float32, a next observation only where it is not the following
  row's observation (episode ends), compressed: about 7 MB for Hopper-v5 and 11 MB for HalfCheetah-v5, small
  enough to keep a training's state in version control between sessions (read with ``allow_pickle=False``);
* ``extra.npz`` -- VecNormalize running statistics and SAC's entropy coefficient, when there are any;
* ``best.zip`` / ``best.npz`` -- the best-evaluated policy so far (what is shipped when the target is
  never reached).

Every file is written to a temporary name and renamed, so a process killed mid-save leaves the previous
checkpoint whole.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paradox_gym._util.files import write_bytes_atomic
from paradox_gym.errors import UserInputError

STATE_FORMAT = 1
_BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
#: Format of ``replay.npz``: 1 wrote the buffer's rows in place (``meta`` = position, full), 2 writes the
#: most recent rows in the order they were added (``format``, ``next_rows``).
REPLAY_FORMAT = 2
#: Transitions a checkpoint keeps: the most recent ones. A resumed training refills the rest; rl-zoo3's
#: off-policy MuJoCo settings keep 1M, of which the last 100,000 are what a resumed update mostly samples
#: from anyway (uniform sampling over a buffer that keeps growing).
REPLAY_ROWS_KEPT = 100_000


@dataclass
class Evaluation:
    """One evaluation during training: deterministic episodes on the zoo's evaluation seeds."""

    steps: int
    mean_return: float
    std_return: float
    mean_length: float


@dataclass
class TrainingState:
    """What ``state.json`` holds: enough to continue a training and to tell how it went."""

    algo: str
    env_id: str
    seed: int
    total_steps: int
    hyperparams: dict[str, Any]
    num_timesteps: int = 0
    n_updates: int = 0
    episode_num: int = 0
    wall_s: float = 0.0
    evaluations: list[Evaluation] = field(default_factory=list)
    best_steps: int | None = None
    best_return: float | None = None
    reached_target_at: int | None = None

    def to_json(self) -> str:
        return json.dumps({"format": STATE_FORMAT, **asdict(self)}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, where: Path) -> TrainingState:
        try:
            raw = json.loads(text)
            raw.pop("format", None)
            raw["evaluations"] = [Evaluation(**e) for e in raw.get("evaluations", [])]
            return cls(**raw)
        except (json.JSONDecodeError, TypeError, AttributeError) as exc:
            raise UserInputError(f"training state {where} is not a valid state file: {exc}") from None


def run_dir(out: Path, name: str) -> Path:
    """The folder of the training of checkpoint ``name`` (``ppo-hopper-v5.zip``) under agents dir ``out``."""
    return out / "training" / Path(name).stem


def read_state(directory: Path) -> TrainingState | None:
    path = directory / "state.json"
    if not path.is_file():
        return None
    return TrainingState.from_json(path.read_text(encoding="utf-8"), path)


def _save_npz(path: Path, arrays: dict[str, np.ndarray], *, compressed: bool = False) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            (np.savez_compressed if compressed else np.savez)(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _extra_arrays(model: Any, vec_env: Any) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    if vec_env is not None and hasattr(vec_env, "obs_rms"):
        for part in ("obs_rms", "ret_rms"):
            rms = getattr(vec_env, part)
            arrays[f"{part}.mean"] = np.asarray(rms.mean, dtype=np.float64)
            arrays[f"{part}.var"] = np.asarray(rms.var, dtype=np.float64)
            arrays[f"{part}.count"] = np.asarray(rms.count, dtype=np.float64)
    log_ent_coef = getattr(model, "log_ent_coef", None)
    if log_ent_coef is not None:
        arrays["log_ent_coef"] = log_ent_coef.detach().cpu().numpy()
    return arrays


def _restore_extra(arrays: Any, model: Any, vec_env: Any) -> None:
    import torch

    if vec_env is not None and hasattr(vec_env, "obs_rms") and "obs_rms.mean" in arrays:
        for part in ("obs_rms", "ret_rms"):
            rms = getattr(vec_env, part)
            rms.mean = np.array(arrays[f"{part}.mean"])
            rms.var = np.array(arrays[f"{part}.var"])
            rms.count = float(arrays[f"{part}.count"])
    if "log_ent_coef" in arrays and getattr(model, "log_ent_coef", None) is not None:
        with torch.no_grad():
            model.log_ent_coef.copy_(torch.as_tensor(arrays["log_ent_coef"]))


def save_policy(path: Path, model: Any, vec_env: Any) -> None:
    """The model's zip at ``path`` and its extra arrays beside it (``.npz``)."""
    buffer = io.BytesIO()
    model.save(buffer)
    write_bytes_atomic(path, buffer.getvalue())
    _save_npz(path.with_suffix(".npz"), _extra_arrays(model, vec_env))


def restore_policy(path: Path, model: Any, vec_env: Any) -> None:
    """Weights, optimizer state and extra arrays saved by :func:`save_policy`, read without unpickling."""
    model.set_parameters(str(path), exact_match=True, device="cpu")
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:
        _restore_extra(arrays, model, vec_env)


def _chronological(buffer: Any) -> np.ndarray:
    """Row indices of a (circular) SB3 replay buffer, oldest first, the last REPLAY_ROWS_KEPT of them."""
    if buffer.full:
        order = np.r_[buffer.pos:buffer.buffer_size, 0:buffer.pos]
    else:
        order = np.arange(buffer.pos)
    return order[-REPLAY_ROWS_KEPT:]


def _as_stored(rows: np.ndarray) -> np.ndarray:
    return rows.astype(np.float32) if rows.dtype == np.float64 else rows


def replay_arrays(buffer: Any) -> dict[str, np.ndarray]:
    """The arrays ``replay.npz`` holds for an SB3 ``ReplayBuffer`` (see the module docstring)."""
    order = _chronological(buffer)
    arrays = {name: _as_stored(getattr(buffer, name)[order]) for name in _BUFFER_ARRAYS
              if name != "next_observations" and getattr(buffer, name, None) is not None}
    nexts = getattr(buffer, "next_observations", None)
    if nexts is not None:
        stored_next = _as_stored(nexts[order])
        observations = arrays["observations"]
        differs = np.ones(len(order), dtype=bool)  # the last row has no following row
        if len(order) > 1:
            differs[:-1] = (stored_next[:-1] != observations[1:]).reshape(len(order) - 1, -1).any(axis=1)
        arrays["next_rows"] = np.flatnonzero(differs).astype(np.int64)
        arrays["next_observations"] = stored_next[differs]
    arrays["format"] = np.array(REPLAY_FORMAT, dtype=np.int64)
    return arrays


def restore_replay(buffer: Any, arrays: dict[str, np.ndarray]) -> None:
    """Fill an empty SB3 ``ReplayBuffer`` from :func:`replay_arrays` (or the format-1 in-place rows)."""
    if "format" not in arrays:  # format 1: the rows in place, then the buffer's position and fullness
        pos, full = (int(v) for v in arrays["meta"])
        for name in _BUFFER_ARRAYS:
            if name in arrays and getattr(buffer, name, None) is not None:
                getattr(buffer, name)[: len(arrays[name])] = arrays[name]
        buffer.pos, buffer.full = pos, bool(full)
        return
    observations = arrays["observations"]
    n = min(len(observations), buffer.buffer_size)
    skip = len(observations) - n  # a smaller buffer than the one saved keeps the newest rows
    for name in _BUFFER_ARRAYS:
        if name in arrays and name != "next_observations" and getattr(buffer, name, None) is not None:
            getattr(buffer, name)[:n] = arrays[name][skip:]
    if getattr(buffer, "next_observations", None) is not None and "next_rows" in arrays:
        nexts = np.empty_like(observations)
        nexts[:-1] = observations[1:]
        nexts[arrays["next_rows"]] = arrays["next_observations"]
        buffer.next_observations[:n] = nexts[skip:]
    buffer.pos = n % buffer.buffer_size
    buffer.full = n == buffer.buffer_size


def save(directory: Path, state: TrainingState, model: Any, vec_env: Any) -> None:
    """Checkpoint the whole training: policy, replay buffer, then the state that points at them."""
    directory.mkdir(parents=True, exist_ok=True)
    save_policy(directory / "model.zip", model, vec_env)
    buffer = getattr(model, "replay_buffer", None)
    if buffer is not None:
        _save_npz(directory / "replay.npz", replay_arrays(buffer), compressed=True)
    state.num_timesteps = int(model.num_timesteps)
    state.n_updates = int(getattr(model, "_n_updates", 0))
    state.episode_num = int(getattr(model, "_episode_num", 0))
    write_bytes_atomic(directory / "state.json", state.to_json().encode("utf-8"))


def restore(directory: Path, state: TrainingState, model: Any, vec_env: Any) -> None:
    """Put a model built with the same hyperparameters back where :func:`save` left it."""
    restore_policy(directory / "model.zip", model, vec_env)
    buffer = getattr(model, "replay_buffer", None)
    replay = directory / "replay.npz"
    if buffer is not None and replay.is_file():
        with np.load(replay, allow_pickle=False) as arrays:
            restore_replay(buffer, {name: arrays[name] for name in arrays.files})
    model.num_timesteps = state.num_timesteps
    model._n_updates = state.n_updates  # noqa: SLF001 - SB3 keeps its counters private
    model._episode_num = state.episode_num  # noqa: SLF001
