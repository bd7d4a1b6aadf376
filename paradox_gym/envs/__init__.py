"""Environments: Gymnasium registration of the mock environments, env-id checks, and the rollout loop.

- :func:`register_envs`: registers ``paradox_gym/MockDRL-v0`` and ``paradox_gym/MockDRLDiscrete-v0``.
- :func:`validate_env_id` / :func:`make_env`: one check of an env id (with close-match suggestions) and
  one way to build an environment (a missing optional dependency is a one-line user error);
  :func:`close_env`: one way to close one (its own ``close`` raising is a warning, not a crash).
- :mod:`paradox_gym.envs.rollout`: THE predict -> step loop, used everywhere episodes are played.
"""

from __future__ import annotations

import difflib
from typing import Any

import gymnasium

from paradox_gym._util.cli import one_line
from paradox_gym.errors import UserInputError

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


def validate_env_id(env_id: Any) -> str:
    """Return ``env_id`` if Gymnasium knows it, else raise UserInputError with close matches."""
    register_envs()
    if not isinstance(env_id, str) or not env_id:
        raise UserInputError(f"env id must be a non-empty string, got {env_id!r}")
    if env_id in gymnasium.registry:
        return env_id
    known = sorted(gymnasium.registry.keys())
    close = difflib.get_close_matches(env_id, known, n=3, cutoff=0.6)
    if not close:  # also try case-insensitively ("cartpole-v1")
        lowered = {k.lower(): k for k in known}
        close = [lowered[c] for c in difflib.get_close_matches(env_id.lower(), list(lowered), n=3, cutoff=0.6)]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UserInputError(f"unknown environment {env_id!r}{hint} (any id registered with gymnasium works)")


def make_env(env_id: str, **kwargs: Any) -> gymnasium.Env[Any, Any]:
    """``gymnasium.make(env_id, **kwargs)``; an unknown id or a missing optional dependency (MuJoCo,
    Box2D, ...) is a one-line UserInputError."""
    env_id = validate_env_id(env_id)
    try:
        return gymnasium.make(env_id, **kwargs)
    except (gymnasium.error.Error, ImportError, TypeError) as exc:
        first = one_line(exc) or type(exc).__name__
        raise UserInputError(f"cannot create environment {env_id!r}: {first}") from None


def close_env(env: Any) -> None:
    """``env.close()``; an exception from the environment's own ``close`` becomes a RuntimeWarning (closing
    must never hide a result or the error that is already on its way). ``KeyboardInterrupt`` passes."""
    try:
        env.close()
    except Exception as exc:  # noqa: BLE001 - see the docstring
        import warnings

        first = one_line(exc)[:300]
        warnings.warn(f"closing the environment raised {type(exc).__name__}: {first} (ignored)", RuntimeWarning,
                      stacklevel=2)


def as_env_action(action: Any, action_space: gymnasium.Space) -> Any:
    """Turn an SB3 ``predict`` action for one observation into what ``env.step`` expects.

    SB3 returns a 0-d numpy array for a ``Discrete`` action space; environments that index tables with
    the action (FrozenLake, Taxi, CliffWalking) need a plain ``int``. Other spaces pass through.
    """
    if isinstance(action_space, gymnasium.spaces.Discrete):
        return int(action)
    return action
