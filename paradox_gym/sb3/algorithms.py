"""The algorithm table: which RL algorithms paradox_gym can load, compress and train, and what spaces each
takes. Adding an algorithm is one :class:`Algorithm` record here (plus its inference path in
:mod:`paradox_gym.compression.inference_path` and its layout in :mod:`paradox_gym.sb3.safe_load`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from gymnasium import spaces

from paradox_gym.envs import close_env, make_env
from paradox_gym.errors import UserInputError


@dataclass(frozen=True)
class Algorithm:
    """One algorithm: its class (``module.name``), the action spaces it accepts and its default
    activation function (what SB3 builds when ``policy_kwargs`` does not say)."""

    name: str
    module: str
    action_spaces: tuple[type, ...]
    default_activation: str

    def cls(self) -> Any:
        """The algorithm class (imported on first use: stable_baselines3 is slow to import)."""
        return getattr(importlib.import_module(self.module), self.name)


_ANY_ACTION = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)

ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("PPO", "stable_baselines3", _ANY_ACTION, "Tanh"),
        Algorithm("A2C", "stable_baselines3", _ANY_ACTION, "Tanh"),
        Algorithm("DQN", "stable_baselines3", (spaces.Discrete,), "ReLU"),
        Algorithm("SAC", "stable_baselines3", (spaces.Box,), "ReLU"),
        Algorithm("TD3", "stable_baselines3", (spaces.Box,), "ReLU"),
        Algorithm("DDPG", "stable_baselines3", (spaces.Box,), "ReLU"),
        # sb3-contrib
        Algorithm("TRPO", "sb3_contrib", _ANY_ACTION, "Tanh"),
        Algorithm("TQC", "sb3_contrib", (spaces.Box,), "ReLU"),
        Algorithm("QRDQN", "sb3_contrib", (spaces.Discrete,), "ReLU"),
    )
}
ALGOS: tuple[str, ...] = tuple(ALGORITHMS)

#: Algorithms recognised but not supported, with the reason (upper-case name -> one-line reason).
REFUSED_ALGORITHMS: dict[str, str] = {
    "ARS": "ARS (sb3-contrib) is not supported: its ARSPolicy / ARSLinearPolicy (trained by random search, no "
           "actor-critic heads) has no safe-loader layout or compression inference path here",
    "RECURRENTPPO": "RecurrentPPO (sb3-contrib) is not supported: its LSTM policy carries a hidden state between "
                    "steps, which the one-observation-in, one-action-out inference path does not model",
}

#: Observation spaces an MLP policy (and the safe loader) can take.
MLP_OBS_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


def normalize_algo(algo: Any) -> str:
    """Canonical upper-case algorithm name; UserInputError naming the valid ones otherwise."""
    if isinstance(algo, str):
        key = algo.upper().replace("-", "").replace("_", "")
        if key in ALGORITHMS:
            return key
        if key in REFUSED_ALGORITHMS:
            raise UserInputError(f"{REFUSED_ALGORITHMS[key]}; choose one of {', '.join(ALGOS)}")
    raise UserInputError(f"unknown algorithm {algo!r}; choose one of {', '.join(ALGOS)}")


def algo_class(algo: str) -> Any:
    """The class of ``algo`` (``"PPO"`` -> ``stable_baselines3.PPO``)."""
    return ALGORITHMS[normalize_algo(algo)].cls()


def algos_for(action_space: spaces.Space[Any]) -> list[str]:
    """Names of the algorithms that accept ``action_space``."""
    return [a.name for a in ALGORITHMS.values() if isinstance(action_space, a.action_spaces)]


def check_spaces(algo: str, env_id: str, obs_space: spaces.Space[Any], act_space: spaces.Space[Any]) -> None:
    """UserInputError when ``algo`` with an MLP policy cannot act in these spaces."""
    if not isinstance(obs_space, MLP_OBS_SPACES):
        raise UserInputError(
            f"{env_id} has observation space {obs_space}, which the zoo's MLP policies cannot take; "
            f"supported: Box, Discrete, MultiDiscrete, MultiBinary"
        )
    record = ALGORITHMS[normalize_algo(algo)]
    if not isinstance(act_space, record.action_spaces):
        if not isinstance(act_space, _ANY_ACTION):
            raise UserInputError(f"action space {act_space} of {env_id} is not supported by {algo}")
        kinds = " or ".join("continuous (Box)" if k is spaces.Box else k.__name__ for k in record.action_spaces)
        raise UserInputError(
            f"{algo} needs a {kinds} action space but {env_id} has {act_space}; "
            f"use one of {', '.join(algos_for(act_space))}"
        )


def check_algo_env(algo: str, env_id: str) -> tuple[spaces.Space[Any], spaces.Space[Any]]:
    """Check that ``algo`` supports ``env_id``'s spaces; return (observation_space, action_space). The env id
    is checked where the environment is made (:func:`make_env`)."""
    algo = normalize_algo(algo)
    env = make_env(env_id)
    try:
        obs_space, act_space = env.observation_space, env.action_space
    finally:
        close_env(env)
    check_spaces(algo, env_id, obs_space, act_space)
    return obs_space, act_space
