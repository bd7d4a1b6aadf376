"""Gymnasium registration of the paradox_gym environments."""

from __future__ import annotations

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
