"""Training state on disk, so that a long training survives the end of its process.

A training in progress lives in ``<agents dir>/training/<algo>-<env slug>/``:

* ``model.zip`` -- the SB3 checkpoint (weights and optimizer state). Only its tensors are read back
  (``set_parameters``, ``torch.load(weights_only=True)``): nothing in it is unpickled;
* ``state.json`` -- steps done, wall time, seed, hyperparameters and the evaluations so far;
* ``replay.npz`` -- the off-policy replay buffer's filled rows (read with ``allow_pickle=False``);
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


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
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


def save(directory: Path, state: TrainingState, model: Any, vec_env: Any) -> None:
    """Checkpoint the whole training: policy, replay buffer, then the state that points at them."""
    directory.mkdir(parents=True, exist_ok=True)
    save_policy(directory / "model.zip", model, vec_env)
    buffer = getattr(model, "replay_buffer", None)
    if buffer is not None:
        size = buffer.buffer_size if buffer.full else buffer.pos
        arrays = {name: getattr(buffer, name)[:size] for name in _BUFFER_ARRAYS
                  if getattr(buffer, name, None) is not None}
        arrays["meta"] = np.array([buffer.pos, int(buffer.full)], dtype=np.int64)
        _save_npz(directory / "replay.npz", arrays)
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
            pos, full = (int(v) for v in arrays["meta"])
            for name in _BUFFER_ARRAYS:
                if name in arrays and getattr(buffer, name, None) is not None:
                    rows = arrays[name]
                    getattr(buffer, name)[: len(rows)] = rows
            buffer.pos, buffer.full = pos, bool(full)
    model.num_timesteps = state.num_timesteps
    model._n_updates = state.n_updates  # noqa: SLF001 - SB3 keeps its counters private
    model._episode_num = state.episode_num  # noqa: SLF001
