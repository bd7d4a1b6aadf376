"""An agent from a file: an SB3 / sb3-contrib zip or an rl-zoo3 run folder, read as ``evaluate`` reads it.

:func:`resolve_agent_file` finds the zip, environment, ``env_kwargs``, normalisation statistics and algorithm
(:func:`~paradox_gym.sb3.rlzoo.resolve_agent_settings`, the resolution :class:`EvalSettings` applies; the
algorithm is the one given, else the run's ``args.yml``, else read from the zip).
:func:`load_agent_file` loads the agent (no unpickling) with its observation normalisation attached.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from paradox_gym.errors import UserInputError
from paradox_gym.sb3.algorithms import normalize_algo
from paradox_gym.sb3.rlzoo import AgentSettingError, resolve_agent, resolve_agent_settings
from paradox_gym.sb3.safe_load import load_zip, read_algo


@dataclass(frozen=True)
class AgentFile:
    """What a zip or run folder holds, resolved: ``zip_path`` to load, ``env_id``, ``algo`` (given, the run's,
    or read from the zip), ``algo_source`` (``given``, ``args.yml`` or ``zip``), ``env_kwargs`` and
    ``vecnormalize_path`` (None: no normalisation)."""

    zip_path: Path
    env_id: str
    algo: str
    algo_source: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    vecnormalize_path: Path | None = None


def resolve_agent_file(path: str | os.PathLike[str], env_id: str | None = None, algo: str | None = None, *,
                       best: bool = False, vecnormalize_path: str | os.PathLike[str] | None = None,
                       no_vecnormalize: bool = False) -> AgentFile:
    """Resolve a zip or an rl-zoo3 run folder as ``evaluate`` does (see the module docstring).

    Raises AgentNotFoundError (nothing at ``path``), UserInputError (neither an agent zip nor a run folder, an
    env that disagrees with the run's, missing normalisation statistics, an algorithm the zip does not hold).
    """
    source = resolve_agent(path, best=best)
    given = SimpleNamespace(agent_path=str(path), env_id=env_id, best=best, env_kwargs=None,
                            vecnormalize_path=None if vecnormalize_path is None else str(vecnormalize_path),
                            no_vecnormalize=no_vecnormalize)
    try:
        resolved = resolve_agent_settings(given)
    except AgentSettingError as exc:
        raise UserInputError(str(exc)) from None
    if algo is not None:
        name, origin = normalize_algo(algo), "given"
    elif source.algo is not None:
        name, origin = normalize_algo(source.algo), "args.yml"
    else:
        name, origin = read_algo(source.zip_path), "zip"
    stats = resolved.get("vecnormalize_path")
    return AgentFile(zip_path=Path(resolved["agent_path"]), env_id=resolved["env_id"], algo=name, algo_source=origin,
                     env_kwargs=dict(resolved.get("env_kwargs") or {}),
                     vecnormalize_path=Path(stats) if stats is not None else None)


def load_agent_file(path: str | os.PathLike[str], env_id: str | None = None, algo: str | None = None, *,
                    best: bool = False, vecnormalize_path: str | os.PathLike[str] | None = None,
                    no_vecnormalize: bool = False) -> Any:
    """The SB3 model in a zip or rl-zoo3 run folder (:func:`resolve_agent_file`), rebuilt without unpickling.

    The model carries what the evaluation applies with it: ``model.obs_normalizer`` (an
    :class:`~paradox_gym.sb3.vecnormalize.ObservationNormalizer`, or None; wrap an environment in
    ``NormalizeObservation(env, model.obs_normalizer)`` to play it), ``model.env_kwargs`` (the run's
    ``gymnasium.make`` keyword arguments) and ``model.agent_file`` (the :class:`AgentFile`).
    """
    from paradox_gym.sb3.vecnormalize import load_vecnormalize

    found = resolve_agent_file(path, env_id, algo, best=best, vecnormalize_path=vecnormalize_path,
                               no_vecnormalize=no_vecnormalize)
    model = load_zip(found.zip_path, found.env_id, found.algo)
    normalizer = (load_vecnormalize(found.vecnormalize_path, model.observation_space)
                  if found.vecnormalize_path is not None else None)
    model.obs_normalizer = normalizer  # type: ignore[attr-defined]
    model.env_kwargs = dict(found.env_kwargs)  # type: ignore[attr-defined]
    model.agent_file = found  # type: ignore[attr-defined]
    return model


__all__ = ["AgentFile", "load_agent_file", "resolve_agent_file"]
