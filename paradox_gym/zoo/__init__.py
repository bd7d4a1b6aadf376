"""The agent zoo: hyperparameters, training, the checkpoint manifest and safe loading of agents.

Two agents directories are searched, in this order:

* the user's agents directory, where :func:`train` writes: ``$PARADOX_GYM_AGENTS`` if set, else
  ``$XDG_DATA_HOME/paradox_gym/agents`` (``~/.local/share/paradox_gym/agents``); ``--agents-dir`` /
  ``agents_path=`` override it;
* the shipped agents, package data in ``paradox_gym/zoo/shipped/`` (read-only: never modified).

Layout of an agents directory:

* ``hyperparams/<algo>.yml`` -- rl-zoo3 style hyperparameters keyed by Gymnasium env id;
* ``<algo>-<env slug>.zip`` -- Stable-Baselines3 checkpoints (``ppo-cartpole-v1.zip``);
* ``manifest.json`` -- one entry per checkpoint: training settings, evaluation return, library versions
  and the checkpoint's sha256.

Every checkpoint, shipped or user-supplied, is loaded through :func:`load_zip`, which never unpickles
anything (see :mod:`paradox_gym.sb3.safe_load`).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import io
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import yaml
from gymnasium import spaces

from paradox_gym._util.cli import one_line
from paradox_gym._util.files import ensure_writable_dir, write_bytes_atomic
from paradox_gym.envs import close_env, make_env, validate_env_id
from paradox_gym.envs.rollout import play_episode
from paradox_gym.errors import AgentNotFoundError, UserInputError
from paradox_gym.sb3 import ALGOS, algo_class, check_algo_env, load_zip, normalize_algo
from paradox_gym.sb3.vecnormalize import NormalizeObservation, ObservationNormalizer, load_vecnormalize

__all__ = [
    "ALGOS",
    "DEFAULT_ALGOS",
    "EVAL_EPISODES",
    "EVAL_SEED_START",
    "MANIFEST_NAME",
    "SHIPPED_DIR",
    "agents_dir",
    "find_checkpoint",
    "find_vecnormalize",
    "load_normalizer",
    "check_algo_env",
    "checkpoint_name",
    "default_algo",
    "env_slug",
    "evaluate_agent",
    "file_sha256",
    "load_agent",
    "load_hyperparams",
    "load_zip",
    "make_env",
    "read_manifest",
    "train",
    "validate_env_id",
]

#: Default algorithm per environment (the agent :func:`load_agent` returns when no algorithm is given).
DEFAULT_ALGOS: dict[str, str] = {
    "CartPole-v1": "PPO",
    "Pendulum-v1": "SAC",
    "paradox_gym/MockDRL-v0": "PPO",
    "paradox_gym/MockDRLDiscrete-v0": "DQN",
}

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
#: Evaluation after training: this many deterministic episodes, seeded EVAL_SEED_START, +1, ...
EVAL_EPISODES = 20
EVAL_SEED_START = 10_000
#: Hyperparameter keys that are not constructor arguments of the SB3 algorithm.
_NON_CONSTRUCTOR_KEYS = ("n_timesteps", "policy", "n_envs", "noise_type", "noise_std", "normalize")
#: Suffix of the observation-normalisation statistics saved beside a checkpoint trained with
#: ``normalize: true`` (``ppo-hopper-v5.zip`` -> ``ppo-hopper-v5.vecnormalize.pkl``; SB3's
#: ``VecNormalize.save`` format, read back without unpickling by :mod:`paradox_gym.sb3.vecnormalize`).
VECNORMALIZE_SUFFIX = ".vecnormalize.pkl"  # = paradox_gym.sb3.vecnormalize.VECNORMALIZE_SUFFIX
#: The shipped agents and hyperparameters (package data; never written to).
SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"


# --------------------------------------------------------------------------------------------------
# names and paths


def env_slug(env_id: str) -> str:
    """File-name form of an env id: ``"paradox_gym/MockDRL-v0"`` -> ``"paradox_gym_mockdrl-v0"``."""
    return env_id.replace("/", "_").lower()


def checkpoint_name(algo: str, env_id: str) -> str:
    """Checkpoint file name, e.g. ``checkpoint_name("PPO", "CartPole-v1") == "ppo-cartpole-v1.zip"``."""
    return f"{normalize_algo(algo).lower()}-{env_slug(env_id)}.zip"


def agents_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The user's agents directory (where :func:`train` writes): ``path`` if given, else
    ``$PARADOX_GYM_AGENTS``, else ``$XDG_DATA_HOME/paradox_gym/agents`` (default
    ``~/.local/share/paradox_gym/agents``). It need not exist yet."""
    if path is not None:
        return Path(path)
    env_value = os.environ.get("PARADOX_GYM_AGENTS")
    if env_value:
        return Path(env_value)
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "paradox_gym" / "agents"


def search_dirs(path: str | os.PathLike[str] | None = None) -> list[Path]:
    """Agents directories searched for a checkpoint: the user's (:func:`agents_dir`), then the shipped one."""
    user = agents_dir(path)
    return [user] if user.resolve() == SHIPPED_DIR else [user, SHIPPED_DIR]


def find_checkpoint(algo: str, env_id: str, path: str | os.PathLike[str] | None = None) -> Path | None:
    """The first existing ``<algo>-<env slug>.zip`` in :func:`search_dirs`, or None."""
    name = checkpoint_name(algo, env_id)
    for directory in search_dirs(path):
        if (directory / name).is_file():
            return directory / name
    return None


def _hyperparams_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """``<agents directory>/hyperparams`` if that folder exists, else the shipped hyperparameters.

    ``directory`` is the agents directory in use (default: :func:`agents_dir`).
    """
    override = agents_dir(directory) / "hyperparams"
    return override if override.is_dir() else SHIPPED_DIR / "hyperparams"


def default_algo(env_id: str, *, agents_path: str | os.PathLike[str] | None = None) -> str:
    """The default algorithm for ``env_id``.

    DEFAULT_ALGOS when it lists ``env_id``; otherwise the algorithm of an agent the agents directories
    (:func:`search_dirs`: the user's ``agents_path`` or :func:`agents_dir`, then the shipped one) hold
    for ``env_id`` according to its manifest (PPO if there is a PPO one, else the alphabetically first);
    otherwise PPO. Raises UserInputError (with close-match suggestions) when the environment is not
    registered, or when the manifest is not valid JSON.
    """
    env_id = validate_env_id(env_id)
    if env_id in DEFAULT_ALGOS:
        return DEFAULT_ALGOS[env_id]
    available: set[str] = set()
    for directory in search_dirs(agents_path):
        for name, entry in read_manifest(directory)["agents"].items():
            if not isinstance(entry, dict) or entry.get("env_id") != env_id:
                continue
            algo = entry.get("algo")
            if isinstance(algo, str) and algo.upper() in ALGOS and (directory / str(name)).is_file():
                available.add(algo.upper())
    if not available or "PPO" in available:
        return "PPO"
    return sorted(available)[0]




# --------------------------------------------------------------------------------------------------
# hyperparameters


def load_hyperparams(
    algo: str, env_id: str, directory: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Hyperparameters of ``algo`` on ``env_id`` from ``hyperparams/<algo>.yml``.

    The file is read from the agents directory ``directory`` (default :func:`agents_dir`) when it has a
    ``hyperparams/`` folder, else from the shipped ``paradox_gym/zoo/shipped/hyperparams``. Environments without an entry
    get SB3's defaults with a small ``[64, 64]`` network and ``n_timesteps: 100000``. The returned dict is
    plain YAML data (recorded in the manifest).
    """
    algo = normalize_algo(algo)
    path = _hyperparams_dir(directory) / f"{algo.lower()}.yml"
    table: dict[str, Any] = {}
    if path.is_file():
        with path.open(encoding="utf-8") as fh:
            try:
                loaded = yaml.safe_load(fh)  # safe_load: no arbitrary objects
            except yaml.YAMLError as exc:
                raise UserInputError(f"{path} is not valid YAML: {one_line(exc)}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise UserInputError(f"{path} must map env ids to hyperparameters")
        table = loaded or {}
    entry = table.get(env_id)
    if entry is None:
        return {"n_timesteps": 100_000, "policy": "MlpPolicy", "policy_kwargs": {"net_arch": [64, 64]}}
    if not isinstance(entry, dict):
        raise UserInputError(f"{path}: entry for {env_id} must be a mapping")
    return dict(entry)


def _schedule(value: Any) -> Any:
    """``"lin_0.001"`` -> a schedule decaying linearly from 0.001 to 0; numbers are returned unchanged."""
    if isinstance(value, str) and value.startswith("lin_"):
        start = _number(value[4:], value)

        def linear(progress_remaining: float) -> float:
            return progress_remaining * start

        return linear
    if isinstance(value, str):
        return _number(value, value)
    return value


def _number(text: str, value: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UserInputError(f"hyperparameter {value!r} is neither a number nor 'lin_<number>'") from None


def _sb3_kwargs(algo: str, hyperparams: dict[str, Any], action_space: spaces.Space[Any]) -> dict[str, Any]:
    """Translate plain YAML hyperparameters into SB3 constructor keyword arguments."""
    kwargs: dict[str, Any] = {k: v for k, v in hyperparams.items() if k not in _NON_CONSTRUCTOR_KEYS}
    for key in ("learning_rate", "clip_range", "clip_range_vf"):
        if key in kwargs:
            kwargs[key] = _schedule(kwargs[key])
    for key in ("buffer_size", "learning_starts", "batch_size", "n_steps"):
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    if isinstance(kwargs.get("train_freq"), list):
        kwargs["train_freq"] = (int(kwargs["train_freq"][0]), str(kwargs["train_freq"][1]))
    policy_kwargs = dict(kwargs.get("policy_kwargs") or {})
    if "activation_fn" in policy_kwargs:
        import torch.nn as nn

        names = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}
        name = str(policy_kwargs["activation_fn"]).lower()
        if name not in names:
            raise UserInputError(f"activation_fn {policy_kwargs['activation_fn']!r} is not one of {sorted(names)}")
        policy_kwargs["activation_fn"] = names[name]
    kwargs["policy_kwargs"] = policy_kwargs
    noise_type = hyperparams.get("noise_type")
    if noise_type is not None:
        from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

        assert isinstance(action_space, spaces.Box)
        dim = int(np.prod(action_space.shape))
        sigma = float(hyperparams.get("noise_std", 0.1)) * np.ones(dim)
        noise_classes = {"normal": NormalActionNoise, "ornstein-uhlenbeck": OrnsteinUhlenbeckActionNoise}
        if noise_type not in noise_classes:
            raise UserInputError(f"noise_type {noise_type!r} is not one of {sorted(noise_classes)}")
        kwargs["action_noise"] = noise_classes[noise_type](mean=np.zeros(dim), sigma=sigma)
    return kwargs


def _vec_normalize(vec_env: Any, hyperparams: dict[str, Any]) -> Any:
    """``VecNormalize(vec_env)`` when the hyperparameters say ``normalize: true`` (or give a mapping of
    VecNormalize keyword arguments, as rl-zoo3 does), with ``gamma`` from the hyperparameters; else None."""
    normalize = hyperparams.get("normalize", False)
    if normalize is False or normalize is None:
        return None
    if normalize is True:
        options: dict[str, Any] = {}
    elif isinstance(normalize, dict) and set(normalize) <= {"norm_obs", "norm_reward", "clip_obs", "clip_reward"}:
        options = dict(normalize)
    else:
        raise UserInputError(
            f"hyperparameter normalize={normalize!r} must be true, false or a mapping of "
            f"norm_obs, norm_reward, clip_obs, clip_reward"
        )
    from stable_baselines3.common.vec_env import VecNormalize

    return VecNormalize(vec_env, gamma=float(hyperparams.get("gamma", 0.99)), **options)


# --------------------------------------------------------------------------------------------------
# evaluation, hashing, versions


def evaluate_agent(
    model: Any, env_id: str, n_episodes: int = EVAL_EPISODES, seed_start: int = EVAL_SEED_START, *,
    normalizer: Any = None,
) -> dict[str, Any]:
    """Run ``n_episodes`` deterministic episodes seeded ``seed_start + i``.

    ``model`` is an SB3 model or a ``predict(obs, deterministic=...)`` callable (e.g. one that normalises
    observations first); ``normalizer`` (an :class:`~paradox_gym.sb3.vecnormalize.ObservationNormalizer`,
    see :func:`load_normalizer`) normalises every observation the agent receives.

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


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _library_versions() -> dict[str, str]:
    import stable_baselines3
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": np.__version__,
    }


# --------------------------------------------------------------------------------------------------
# manifest


def read_manifest(directory: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The manifest of ``directory`` (default: :func:`agents_dir`); an empty one if there is none."""
    path = agents_dir(directory) / MANIFEST_NAME
    if not path.is_file():
        return {"format": MANIFEST_FORMAT, "agents": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserInputError(f"manifest {path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("agents"), dict):
        raise UserInputError(f"manifest {path} has no 'agents' mapping")
    return manifest


@contextlib.contextmanager
def _manifest_lock(directory: Path) -> Iterator[None]:
    """Serialize read-modify-write of the manifest between processes.

    A POSIX advisory lock on the directory itself (no lock file is left behind); a no-op where
    directories cannot be opened or locked (non-POSIX systems).
    """
    try:
        import fcntl

        fd = os.open(directory, os.O_RDONLY)
    except (ImportError, OSError):  # pragma: no cover - non-POSIX
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _refuse_existing(final: Path) -> None:
    """UserInputError naming ``final`` and its manifest return when the checkpoint already exists."""
    if not final.exists():
        return
    try:
        entry = read_manifest(final.parent)["agents"].get(final.name)
    except UserInputError:
        entry = None
    mean = entry.get("eval", {}).get("mean_return") if isinstance(entry, dict) else None
    if isinstance(mean, (int, float)) and not isinstance(mean, bool):
        known = f"manifest mean return {mean:.1f}"
    else:
        known = "not in the manifest"
    raise UserInputError(
        f"{final} already exists ({known}); pass --force to replace it, or --out DIR to train elsewhere "
        f"(train(..., overwrite=True) or out_dir= in Python)"
    )


def _update_manifest(directory: Path, key: str, entry: dict[str, Any]) -> None:
    """Insert/replace one entry, keeping the others; written atomically (tmp file + os.replace)."""
    directory.mkdir(parents=True, exist_ok=True)
    with _manifest_lock(directory):
        manifest = read_manifest(directory)
        manifest["format"] = MANIFEST_FORMAT
        manifest["agents"][key] = entry
        manifest["agents"] = dict(sorted(manifest["agents"].items()))
        text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
        write_bytes_atomic(directory / MANIFEST_NAME, text.encode("utf-8"))


# --------------------------------------------------------------------------------------------------
# training


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
) -> dict[str, Any]:
    """Train ``algo`` on ``env_id`` with the zoo hyperparameters, evaluate, save, record in the manifest.

    ``steps`` overrides the hyperparameters' ``n_timesteps``. Training runs with one torch thread.
    The checkpoint is ``<out_dir>/<algo>-<env slug>.zip`` (``out_dir`` defaults to :func:`agents_dir`).
    Before training, UserInputError is raised when ``out_dir`` cannot be created or written, and when the
    checkpoint already exists and ``overwrite`` is false (so shipped agents are not replaced by accident).
    Returns the manifest entry written (see docs/zoo.md for the fields).
    """
    import torch
    from stable_baselines3.common.env_util import make_vec_env

    algo = normalize_algo(algo)
    env_id = validate_env_id(env_id)
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0):
        raise UserInputError(f"steps must be a positive integer, got {steps!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserInputError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(eval_episodes, bool) or not isinstance(eval_episodes, int) or eval_episodes <= 0:
        raise UserInputError(f"eval_episodes must be a positive integer, got {eval_episodes!r}")
    _, act_space = check_algo_env(algo, env_id)
    out = agents_dir(out_dir)
    ensure_writable_dir(out, "agents directory")
    if not overwrite:
        _refuse_existing(out / checkpoint_name(algo, env_id))
    hyperparams = load_hyperparams(algo, env_id, out)
    total_steps = int(steps if steps is not None else float(hyperparams.get("n_timesteps", 100_000)))
    hyperparams["n_timesteps"] = total_steps
    n_envs = int(hyperparams.get("n_envs", 1))
    kwargs = _sb3_kwargs(algo, hyperparams, act_space)
    say = log or (lambda _msg: None)

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # A factory rather than the id: make_vec_env would ask for render_mode="rgb_array", which not every
        # environment offers.
        vec_env = make_vec_env(lambda: gymnasium.make(env_id), n_envs=n_envs, seed=seed)
        vec_normalize = _vec_normalize(vec_env, hyperparams)
        if vec_normalize is not None:
            vec_env = vec_normalize
        cls = algo_class(algo)
        try:
            model = cls(hyperparams.get("policy", "MlpPolicy"), vec_env, seed=seed, device="cpu", verbose=0, **kwargs)
        except TypeError as exc:  # an unknown or misspelt key in the hyperparameter file
            close_env(vec_env)
            raise UserInputError(
                f"hyperparameters of {algo} on {env_id} in {_hyperparams_dir(out)} are not accepted by "
                f"{algo}: {exc}"
            ) from None
        say(f"training {algo} on {env_id} for {total_steps} steps (seed {seed}, {n_envs} env(s))")
        start = time.perf_counter()
        model.learn(total_timesteps=total_steps, progress_bar=progress)
        wall_s = time.perf_counter() - start
        close_env(vec_env)
        name = checkpoint_name(algo, env_id)
        final = out / name
        stats_entry: dict[str, Any] | None = None
        normalizer = None
        if vec_normalize is not None:
            import pickle

            # Frozen for evaluation and saved as SB3's VecNormalize.save does (rl-zoo3's vecnormalize.pkl);
            # evaluated through the same restricted reader every later evaluation uses.
            vec_normalize.training = False
            stats_path = final.with_name(final.stem + VECNORMALIZE_SUFFIX)
            write_bytes_atomic(stats_path, pickle.dumps(vec_normalize))
            stats_entry = {"file": stats_path.name, "sha256": file_sha256(stats_path),
                           "size_bytes": stats_path.stat().st_size}
            normalizer = load_vecnormalize(stats_path)
        say(f"evaluating {eval_episodes} deterministic episodes (seeds {EVAL_SEED_START}..)")
        result = evaluate_agent(model, env_id, eval_episodes, EVAL_SEED_START, normalizer=normalizer)
        buffer = io.BytesIO()
        model.save(buffer)
        write_bytes_atomic(final, buffer.getvalue())
    finally:
        torch.set_num_threads(previous_threads)

    entry: dict[str, Any] = {
        "file": name,
        "algo": algo,
        "env_id": env_id,
        "steps": total_steps,
        "num_timesteps": int(model.num_timesteps),
        "seed": seed,
        "n_envs": n_envs,
        "eval": {
            "episodes": eval_episodes,
            "deterministic": True,
            "seed_start": EVAL_SEED_START,
            "mean_return": result["mean_return"],
            "std_return": result["std_return"],
            "mean_length": result["mean_length"],
            "returns": result["returns"],
            "lengths": result["lengths"],
        },
        "hyperparams": hyperparams,
        "train_wall_s": round(wall_s, 3),
        "torch_threads": 1,
        "versions": _library_versions(),
        "sha256": file_sha256(final),
        "size_bytes": final.stat().st_size,
        "vecnormalize": stats_entry,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _update_manifest(out, name, entry)
    return entry


# --------------------------------------------------------------------------------------------------
# loading


def load_agent(
    env_id: str,
    algo: str | None = None,
    *,
    train_if_missing: bool = False,
    agents_path: str | os.PathLike[str] | None = None,
) -> Any:
    """Load the zoo agent for ``env_id`` (``algo`` defaults to :func:`default_algo`).

    The checkpoint is looked up in :func:`search_dirs` (the user's agents directory first, then the
    shipped agents) and its sha256 must match the manifest entry beside it. A missing checkpoint is
    trained when ``train_if_missing`` is true (with the zoo hyperparameters, into the user's agents
    directory); otherwise AgentNotFoundError says how to train one. Loading goes through
    :func:`load_zip` (no unpickling).
    """
    env_id = validate_env_id(env_id)
    algo = normalize_algo(algo) if algo is not None else default_algo(env_id, agents_path=agents_path)
    name = checkpoint_name(algo, env_id)
    path = find_checkpoint(algo, env_id, agents_path)
    if path is None:
        directory = agents_dir(agents_path)
        check_algo_env(algo, env_id)  # an env no MLP policy can act in is named as such, not as missing
        if not train_if_missing:
            searched = " or ".join(str(d) for d in search_dirs(agents_path))
            raise AgentNotFoundError(
                f"no {algo} agent for {env_id} in {searched} (expected {name}); train one with: "
                f"paradox-gym train --algo {algo} --env {env_id} (or pass --train-missing to evaluate)"
            )
        train(algo, env_id, out_dir=directory, progress=False)
        path = directory / name
    directory = path.parent
    entry = read_manifest(directory)["agents"].get(name)
    if entry is None:
        raise UserInputError(
            f"{path} is not listed in {directory / MANIFEST_NAME}, so its sha256 cannot be verified; retrain it "
            f"with: paradox-gym train --algo {algo} --env {env_id} (or load it with load_zip)"
        )
    _verify_sha256(path, entry.get("sha256"), algo, env_id)
    return load_zip(path, env_id, algo)


def _verify_sha256(path: Path, expected: Any, algo: str, env_id: str) -> None:
    """UserInputError (saying how to retrain) unless the file's sha256 is the manifest's ``expected``."""
    actual = file_sha256(path)
    if actual != expected:
        raise UserInputError(
            f"sha256 mismatch for {path}: file has {actual}, manifest says {expected}; the file was "
            f"modified or corrupted -- retrain with: paradox-gym train --algo {algo} --env {env_id} --force"
        )


def find_vecnormalize(env_id: str, algo: str | None = None,
                      agents_path: str | os.PathLike[str] | None = None) -> Path | None:
    """The observation statistics of the zoo agent for (env, algo) (``algo`` defaults to
    :func:`default_algo`), as its manifest entry lists them (``"vecnormalize": {"file", "sha256"}``), or
    None when it was trained without normalisation. The file must exist and match its sha256."""
    env_id = validate_env_id(env_id)
    algo = normalize_algo(algo) if algo is not None else default_algo(env_id, agents_path=agents_path)
    path = find_checkpoint(algo, env_id, agents_path)
    if path is None:
        return None
    entry = read_manifest(path.parent)["agents"].get(path.name)
    stats = entry.get("vecnormalize") if isinstance(entry, dict) else None
    if not isinstance(stats, dict):
        return None
    stats_path = path.parent / str(stats.get("file"))
    if stats_path.parent != path.parent or not stats_path.is_file():
        raise UserInputError(
            f"{path.parent / MANIFEST_NAME} lists normalisation statistics {stats.get('file')!r} for {path.name}, "
            f"but {stats_path} is missing; retrain with: paradox-gym train --algo {algo} --env {env_id} --force"
        )
    _verify_sha256(stats_path, stats.get("sha256"), algo, env_id)
    return stats_path


def load_normalizer(env_id: str, algo: str | None = None,
                    agents_path: str | os.PathLike[str] | None = None) -> ObservationNormalizer | None:
    """The observation normalisation of the zoo agent for (env, algo) (see :func:`find_vecnormalize`),
    read without unpickling; None when it has none."""
    path = find_vecnormalize(env_id, algo, agents_path)
    return load_vecnormalize(path) if path is not None else None
