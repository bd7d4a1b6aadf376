"""Training zoo agents: checkpointed, resumable, stopped at the fewest steps that reach a target return.

:func:`train` builds the SB3 model from the zoo hyperparameters, learns with one torch thread, and every
``checkpoint_every`` steps saves the whole training (policy, optimizer, replay buffer, VecNormalize
statistics: :mod:`paradox_gym.zoo.checkpoints`), so that ``train(..., resume=True)`` (``paradox-gym train
--resume``) continues where a killed process left off; Ctrl-C or SIGTERM (a session's end) is held to the
end of the current step, which is checkpointed before the process stops. Every ``eval_every`` steps it plays the zoo's
evaluation episodes; once their mean return reaches ``target_return`` training stops there. A training
that never reaches its target ships its best-evaluated policy, and says so in the manifest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

from paradox_gym._util.files import DeferredSignals, ensure_writable_dir, write_bytes_atomic
from paradox_gym.envs import close_env, make_env, validate_env_id
from paradox_gym.envs.rollout import play_episode
from paradox_gym.errors import UserInputError
from paradox_gym.sb3 import algo_class, check_algo_env, normalize_algo
from paradox_gym.sb3.vecnormalize import NormalizeObservation, ObservationNormalizer, load_vecnormalize
from paradox_gym.zoo import checkpoints
from paradox_gym.zoo.checkpoints import Evaluation, TrainingState
from paradox_gym.zoo.hyperparams import hyperparams_dir, load_hyperparams, sb3_kwargs, vec_normalize
from paradox_gym.zoo.manifest import (evaluation_cpu, file_sha256, library_versions, refuse_existing,
                                      update_manifest)
from paradox_gym.zoo.paths import VECNORMALIZE_SUFFIX, agents_dir, checkpoint_name

#: Evaluation after training: this many deterministic episodes, seeded EVAL_SEED_START, +1, ...
EVAL_EPISODES = 20
EVAL_SEED_START = 10_000
#: A second, held-out set of evaluation seeds: the stopping rule never sees them.
HELDOUT_SEED_START = 20_000


def evaluate_agent(
    model: Any, env_id: str, n_episodes: int = EVAL_EPISODES, seed_start: int = EVAL_SEED_START, *,
    normalizer: Any = None,
) -> dict[str, Any]:
    """Run ``n_episodes`` deterministic episodes seeded ``seed_start + i``.

    ``model`` is an SB3 model or a ``predict(obs, deterministic=...)`` callable (e.g. one that normalises
    observations first); ``normalizer`` (an :class:`~paradox_gym.sb3.vecnormalize.ObservationNormalizer`,
    see :func:`~paradox_gym.zoo.loading.load_normalizer`) normalises every observation the agent receives.

    Returns ``{"returns": [...], "lengths": [...], "mean_return", "std_return", "mean_length"}``
    (returns in the environment's reward units, lengths in steps), played by
    :func:`paradox_gym.envs.rollout.play_episode`.
    """
    env = make_env(env_id)
    if normalizer is not None:
        env = NormalizeObservation(env, normalizer)
    returns: list[float] = []
    lengths: list[int] = []
    try:
        for i in range(n_episodes):
            outcome = play_episode(getattr(model, "predict", model), env, seed_start + i)
            returns.append(outcome.episode_return)
            lengths.append(outcome.length_steps)
    finally:
        close_env(env)
    return {
        "returns": returns,
        "lengths": lengths,
        "mean_return": float(np.mean(returns)),
        "std_return": float(np.std(returns)),
        "mean_length": float(np.mean(lengths)),
    }


def _live_normalizer(vec_env: Any) -> ObservationNormalizer | None:
    """The training VecNormalize's current observation statistics, frozen (None without one)."""
    rms = getattr(vec_env, "obs_rms", None)
    if rms is None:
        return None
    return ObservationNormalizer(mean=np.array(rms.mean), var=np.array(rms.var),
                                 clip_obs=float(vec_env.clip_obs), epsilon=float(vec_env.epsilon),
                                 source="training")


def _positive(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise UserInputError(f"{name} must be a positive integer, got {value!r}")


def _make_callback(directory: Path, state: TrainingState, vec_env: Any, *, env_id: str, eval_episodes: int,
                   eval_every: int, checkpoint_every: int, target: float | None,
                   say: Callable[[str], None], started: float, held: DeferredSignals) -> Any:
    from stable_baselines3.common.callbacks import BaseCallback

    class Checkpointer(BaseCallback):  # type: ignore[misc]
        """Evaluates, keeps the best policy, checkpoints, and stops at the target."""

        def __init__(self) -> None:
            super().__init__()
            done = state.num_timesteps
            self.next_eval = (done // eval_every + 1) * eval_every
            self.next_save = (done // checkpoint_every + 1) * checkpoint_every
            self.wall_base = state.wall_s
            self.saved_at: int | None = None  # the step of the last checkpoint this callback wrote

        def _wall(self) -> float:
            return self.wall_base + time.perf_counter() - started

        def _on_step(self) -> bool:
            n = int(self.model.num_timesteps)
            keep_going = True
            if n >= self.next_eval:
                self.next_eval += eval_every
                result = evaluate_agent(self.model, env_id, eval_episodes, EVAL_SEED_START,
                                        normalizer=_live_normalizer(vec_env))
                ev = Evaluation(n, result["mean_return"], result["std_return"], result["mean_length"])
                state.evaluations.append(ev)
                say(f"{n} steps ({self._wall():.0f} s): return {ev.mean_return:.1f} +/- {ev.std_return:.1f} "
                    f"over {eval_episodes} episodes")
                if state.best_return is None or ev.mean_return > state.best_return:
                    state.best_steps, state.best_return = n, ev.mean_return
                    checkpoints.save_policy(directory / "best.zip", self.model, vec_env)
                if target is not None and ev.mean_return >= target:
                    state.reached_target_at = n
                    keep_going = False
            if held.received:  # Ctrl-C or SIGTERM: checkpoint this step, then stop (train re-raises it)
                keep_going = False
            if n >= self.next_save or not keep_going:
                self.next_save += checkpoint_every
                state.wall_s = self._wall()
                checkpoints.save(directory, state, self.model, vec_env)
                self.saved_at = n
            if held.received:
                say(f"stopped at {n} steps; the training state is saved in {directory} (--resume continues it)")
            return keep_going

    return Checkpointer()


def _training_state(algo: str, env_id: str, *, steps: int | None, seed: int, out: Path, directory: Path,
                    resume: bool) -> TrainingState:
    """The training to run: the unfinished one in ``directory`` when ``resume`` (refused by name otherwise),
    else a new one with the zoo hyperparameters; ``steps`` overrides the most steps trained in either."""
    state = checkpoints.read_state(directory)
    if state is not None and not resume:
        raise UserInputError(
            f"an unfinished training of {algo} on {env_id} ({state.num_timesteps} of {state.total_steps} steps) "
            f"is in {directory}; pass --resume to continue it, or delete that folder to start again"
        )
    if state is None:
        hyperparams = load_hyperparams(algo, env_id, out)
        total = int(steps if steps is not None else float(hyperparams.get("n_timesteps", 100_000)))
        hyperparams["n_timesteps"] = total
        return TrainingState(algo=algo, env_id=env_id, seed=seed, total_steps=total, hyperparams=hyperparams)
    if steps is not None:
        state.total_steps = state.hyperparams["n_timesteps"] = steps
    return state


def train(
    algo: str,
    env_id: str,
    *,
    steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
    out_dir: str | os.PathLike[str] | None = None,
    eval_episodes: int = EVAL_EPISODES,
    log: Callable[[str], None] | None = None,
    overwrite: bool = False,
    resume: bool = False,
) -> dict[str, Any]:
    """Train ``algo`` on ``env_id`` with the zoo hyperparameters, evaluate, save, record in the manifest.

    ``steps`` overrides the hyperparameters' ``n_timesteps`` (the most steps trained). The hyperparameters
    may set ``target_return`` (stop at the first periodic evaluation that reaches it), ``eval_every`` and
    ``checkpoint_every`` (steps; default ``n_timesteps / 20``). Training runs with one torch thread. The
    training state lives in ``<out_dir>/training/<algo>-<env slug>/`` until the agent is written;
    ``resume=True`` continues it, and an unfinished one is otherwise refused by name.
    The checkpoint is ``<out_dir>/<algo>-<env slug>.zip`` (``out_dir`` defaults to :func:`agents_dir`).
    Before training, UserInputError is raised when ``out_dir`` cannot be created or written, and when the
    checkpoint already exists and ``overwrite`` is false (so shipped agents are not replaced by accident).
    Returns the manifest entry written (see docs/zoo.md for the fields).
    """
    import torch

    algo = normalize_algo(algo)
    env_id = validate_env_id(env_id)
    _positive("steps", steps)
    _positive("eval_episodes", eval_episodes)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserInputError(f"seed must be a non-negative integer, got {seed!r}")
    _, act_space = check_algo_env(algo, env_id)
    out = agents_dir(out_dir)
    ensure_writable_dir(out, "agents directory")
    name = checkpoint_name(algo, env_id)
    final = out / name
    if not overwrite:
        refuse_existing(final)
    directory = checkpoints.run_dir(out, name)
    state = _training_state(algo, env_id, steps=steps, seed=seed, out=out, directory=directory, resume=resume)
    hyperparams = state.hyperparams
    n_envs = int(hyperparams.get("n_envs", 1))
    default_every = max(1000, state.total_steps // 20)
    eval_every = int(hyperparams.get("eval_every", default_every))
    checkpoint_every = int(hyperparams.get("checkpoint_every", default_every))
    target = hyperparams.get("target_return")
    kwargs = sb3_kwargs(algo, hyperparams, act_space)
    say = log or (lambda _msg: None)

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, vec_env, normalizing = _build_model(state, kwargs, out)
        if state.num_timesteps:
            checkpoints.restore(directory, state, model, normalizing)
            say(f"resuming {algo} on {env_id} at {state.num_timesteps} of {state.total_steps} steps")
        else:
            say(f"training {algo} on {env_id} for at most {state.total_steps} steps (seed {seed}, {n_envs} env(s))")
        directory.mkdir(parents=True, exist_ok=True)
        if state.num_timesteps < state.total_steps and state.reached_target_at is None:
            _learn(model, state, directory, normalizing, progress=progress, env_id=env_id,
                   eval_episodes=eval_episodes, eval_every=eval_every, checkpoint_every=checkpoint_every,
                   target=float(target) if target is not None else None, say=say)
        close_env(vec_env)
        # A target that was never reached ships the best-evaluated policy (when it had a target at all).
        shipped_best = target is not None and state.reached_target_at is None and state.best_steps is not None
        if shipped_best:
            checkpoints.restore_policy(directory / "best.zip", model, normalizing)
        entry = _write_agent(model, normalizing, state, final, eval_episodes, say, shipped_best=shipped_best)
        entry["shipped"] = "best evaluation" if shipped_best else "last step"
    finally:
        torch.set_num_threads(previous_threads)
    update_manifest(out, name, entry)
    shutil.rmtree(directory, ignore_errors=True)
    with contextlib.suppress(OSError):  # the training/ folder goes too once no other training is in it
        directory.parent.rmdir()
    return entry


def _learn(model: Any, state: TrainingState, directory: Path, normalizing: Any, *, progress: bool,
           **callback_options: Any) -> None:
    """Learn the steps left of ``state``, evaluating and checkpointing as :func:`_make_callback` does, and
    checkpoint the last step unless the callback just did. Ctrl-C or SIGTERM while learning is held to the
    end of the step, which is checkpointed, then raised."""
    started = time.perf_counter()
    remaining = state.total_steps - state.num_timesteps
    with DeferredSignals() as held:
        callback = _make_callback(directory, state, normalizing, started=started, held=held, **callback_options)
        model.learn(total_timesteps=remaining, progress_bar=progress, callback=callback,
                    reset_num_timesteps=state.num_timesteps == 0)
        state.wall_s = callback.wall_base + time.perf_counter() - started
        if callback.saved_at != model.num_timesteps:  # a target or a signal stops at a saved step
            checkpoints.save(directory, state, model, normalizing)


def _build_model(state: TrainingState, kwargs: dict[str, Any], out: Path) -> tuple[Any, Any, Any]:
    """(model, vec env, its VecNormalize or None) built from the state's hyperparameters."""
    from stable_baselines3.common.env_util import make_vec_env

    env_id, hyperparams = state.env_id, state.hyperparams
    # A factory rather than the id: make_vec_env would ask for render_mode="rgb_array", which not every
    # environment offers. A resumed run seeds its environments afresh (seed + steps done).
    vec_env = make_vec_env(lambda: gymnasium.make(env_id), n_envs=int(hyperparams.get("n_envs", 1)),
                           seed=state.seed + state.num_timesteps)
    normalizing = vec_normalize(vec_env, hyperparams)
    if normalizing is not None:
        vec_env = normalizing
    try:
        model = algo_class(state.algo)(hyperparams.get("policy", "MlpPolicy"), vec_env, seed=state.seed,
                                       device="cpu", verbose=0, **kwargs)
    except TypeError as exc:  # an unknown or misspelt key in the hyperparameter file
        close_env(vec_env)
        raise UserInputError(f"hyperparameters of {state.algo} on {env_id} in {hyperparams_dir(out)} are not "
                             f"accepted by {state.algo}: {exc}") from None
    return model, vec_env, normalizing


def _write_agent(model: Any, normalizing: Any, state: TrainingState, final: Path, eval_episodes: int,
                 say: Callable[[str], None], *, shipped_best: bool) -> dict[str, Any]:
    """Save the agent (and its frozen VecNormalize), evaluate it on the shipped and the held-out seeds."""
    import io
    import pickle

    stats_entry: dict[str, Any] | None = None
    normalizer = None
    if normalizing is not None:
        # Frozen for evaluation and saved as SB3's VecNormalize.save does (rl-zoo3's vecnormalize.pkl);
        # evaluated through the same restricted reader every later evaluation uses.
        normalizing.training = False
        stats_path = final.with_name(final.stem + VECNORMALIZE_SUFFIX)
        write_bytes_atomic(stats_path, pickle.dumps(normalizing))
        stats_entry = {"file": stats_path.name, "sha256": file_sha256(stats_path),
                       "size_bytes": stats_path.stat().st_size}
        normalizer = load_vecnormalize(stats_path)
    say(f"evaluating {eval_episodes} deterministic episodes (seeds {EVAL_SEED_START}..)")
    result = evaluate_agent(model, state.env_id, eval_episodes, EVAL_SEED_START, normalizer=normalizer)
    heldout = evaluate_agent(model, state.env_id, eval_episodes, HELDOUT_SEED_START, normalizer=normalizer)
    buffer = io.BytesIO()
    model.save(buffer)
    write_bytes_atomic(final, buffer.getvalue())
    if state.reached_target_at is not None:
        steps_done = num_timesteps = state.reached_target_at
    elif shipped_best:
        steps_done = num_timesteps = int(state.best_steps or 0)
    else:
        steps_done, num_timesteps = state.total_steps, int(model.num_timesteps)
    return {
        "file": final.name,
        "algo": state.algo,
        "env_id": state.env_id,
        "steps": int(steps_done),
        "num_timesteps": int(num_timesteps),
        "seed": state.seed,
        "n_envs": int(state.hyperparams.get("n_envs", 1)),
        "eval": {
            "episodes": eval_episodes,
            "deterministic": True,
            "seed_start": EVAL_SEED_START,
            "mean_return": result["mean_return"],
            "std_return": result["std_return"],
            "mean_length": result["mean_length"],
            "returns": result["returns"],
            "lengths": result["lengths"],
            "cpu": evaluation_cpu(),
        },
        "heldout_eval": {"episodes": eval_episodes, "seed_start": HELDOUT_SEED_START,
                         "mean_return": heldout["mean_return"], "std_return": heldout["std_return"]},
        "target_return": state.hyperparams.get("target_return"),
        "reached_target_at": state.reached_target_at,
        "evaluations": [[e.steps, round(e.mean_return, 1)] for e in state.evaluations],
        "hyperparams": state.hyperparams,
        "train_wall_s": round(state.wall_s, 3),
        "torch_threads": 1,
        "versions": library_versions(),
        "sha256": file_sha256(final),
        "size_bytes": final.stat().st_size,
        "vecnormalize": stats_entry,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
