"""Gymnasium registration of the paradox_gym environments."""

from __future__ import annotations

from typing import Any

import gymnasium

MOCK_DRL_ID = "paradox_gym/MockDRL-v0"
MOCK_DRL_DISCRETE_ID = "paradox_gym/MockDRLDiscrete-v0"


def register_envs() -> None:
    """Register the environments once (idempotent: a second import does not re-register)."""
    if MOCK_DRL_ID not in gymnasium.registry:
        gymnasium.register(
            id=MOCK_DRL_ID,
            entry_point="paradox_gym.envs.mock_drl:MockDRLEnv",
            max_episode_steps=500,
        )
    if MOCK_DRL_DISCRETE_ID not in gymnasium.registry:
        gymnasium.register(
            id=MOCK_DRL_DISCRETE_ID,
            entry_point="paradox_gym.envs.mock_drl:MockDRLDiscreteEnv",
            max_episode_steps=500,
        )


def as_env_action(action: Any, action_space: gymnasium.Space) -> Any:
    """Turn an SB3 ``predict`` action for one observation into what ``env.step`` expects.

    SB3 returns a 0-d numpy array for a ``Discrete`` action space; environments that index tables with
    the action (FrozenLake, Taxi, CliffWalking) need a plain ``int``. Other spaces pass through.
    """
    if isinstance(action_space, gymnasium.spaces.Discrete):
        return int(action)
    return action
