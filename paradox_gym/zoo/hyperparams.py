"""Hyperparameters: rl-zoo3 style YAML per algorithm, keyed by env id, turned into SB3 arguments."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from gymnasium import spaces

from paradox_gym._util.cli import one_line
from paradox_gym.envs import validate_env_id
from paradox_gym.errors import UserInputError
from paradox_gym.sb3 import ALGOS, normalize_algo
from paradox_gym.zoo.manifest import read_manifest
from paradox_gym.zoo.paths import SHIPPED_DIR, agents_dir, search_dirs

#: Default algorithm per environment (the agent :func:`~paradox_gym.zoo.loading.load_agent` returns when
#: no algorithm is given).
DEFAULT_ALGOS: dict[str, str] = {
    "CartPole-v1": "PPO",
    "Pendulum-v1": "SAC",
    "paradox_gym/MockDRL-v0": "PPO",
    "paradox_gym/MockDRLDiscrete-v0": "DQN",
}
#: Hyperparameter keys that are not constructor arguments of the SB3 algorithm.
NON_CONSTRUCTOR_KEYS = ("n_timesteps", "policy", "n_envs", "noise_type", "noise_std", "normalize",
                        "target_return", "eval_every", "checkpoint_every")


def hyperparams_dir(directory: str | os.PathLike[str] | None = None) -> Path:
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
    path = hyperparams_dir(directory) / f"{algo.lower()}.yml"
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


def sb3_kwargs(algo: str, hyperparams: dict[str, Any], action_space: spaces.Space[Any]) -> dict[str, Any]:
    """Translate plain YAML hyperparameters into SB3 constructor keyword arguments."""
    kwargs: dict[str, Any] = {k: v for k, v in hyperparams.items() if k not in NON_CONSTRUCTOR_KEYS}
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


def vec_normalize(vec_env: Any, hyperparams: dict[str, Any]) -> Any:
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
