"""``paradox_gym.load_agent``: one call for a zoo agent (an env id) or the user's agent (a zip or an rl-zoo3 run
folder), returned with the observation normalisation an evaluation applies to it."""

from __future__ import annotations

import os
from typing import Any

from paradox_gym.errors import UserInputError


def _is_file_source(source: Any) -> bool:
    """A path-like object, or a string that is not a registered env id and names an existing path or a zip."""
    if isinstance(source, os.PathLike):
        return True
    if not isinstance(source, str) or ":" in source:
        return False  # ``module:EnvId`` is an env id (validated by the zoo)
    import gymnasium

    from paradox_gym.envs import register_envs

    register_envs()
    if source in gymnasium.registry:
        return False
    return os.path.exists(source) or source.endswith(".zip")


def load_agent(source: str | os.PathLike[str], algo: str | None = None, *, env_id: str | None = None,
               best: bool = False, vecnormalize_path: str | os.PathLike[str] | None = None,
               no_vecnormalize: bool = False, train_if_missing: bool = False,
               agents_path: str | os.PathLike[str] | None = None) -> Any:
    """The SB3 model of ``source``, rebuilt without unpickling, with ``model.obs_normalizer`` attached (None:
    the agent plays raw observations).

    ``source`` is either

    - an env id (``"CartPole-v1"``): the zoo agent for it (``algo``: the zoo's default; sha256-verified;
      ``train_if_missing`` / ``agents_path`` as for :func:`paradox_gym.zoo.load_agent`) with the
      statistics its manifest lists; or
    - a path: an SB3 / sb3-contrib zip or an rl-zoo3 run folder, read as ``evaluate`` reads it (env,
      ``env_kwargs`` and normalisation from the run; ``env_id`` names the env of a bare zip; ``best`` loads
      the run's ``best_model.zip``), see :func:`paradox_gym.sb3.agent_file.load_agent_file`.

    Raises UserInputError, AgentNotFoundError or UnsafeAgentError with one line naming what is wrong.
    """
    if _is_file_source(source):
        if train_if_missing or agents_path is not None:
            raise UserInputError("train_if_missing and agents_path are for zoo agents (an env id), not for "
                                 f"the file {os.fspath(source)!r}")
        from paradox_gym.sb3.agent_file import load_agent_file

        return load_agent_file(source, env_id, algo, best=best, vecnormalize_path=vecnormalize_path,
                               no_vecnormalize=no_vecnormalize)
    if env_id is not None or best:
        raise UserInputError(f"env_id and best are for agent files; {source!r} names a zoo agent")
    from paradox_gym import zoo
    from paradox_gym.sb3.vecnormalize import load_vecnormalize

    model = zoo.load_agent(source, algo, train_if_missing=train_if_missing, agents_path=agents_path)
    stats = vecnormalize_path
    if stats is None and not no_vecnormalize:
        stats = zoo.find_vecnormalize(source, type(model).__name__, agents_path)
    model.obs_normalizer = (None if no_vecnormalize or stats is None  # type: ignore[attr-defined]
                            else load_vecnormalize(stats, model.observation_space))
    return model


__all__ = ["load_agent"]
