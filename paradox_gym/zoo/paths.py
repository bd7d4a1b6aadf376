"""Where agents live: checkpoint names and the agents directories searched for them.

Two agents directories are searched, in this order:

* the user's agents directory, where :func:`~paradox_gym.zoo.training.train` writes:
  ``$PARADOX_GYM_AGENTS`` if set, else ``$XDG_DATA_HOME/paradox_gym/agents``
  (``~/.local/share/paradox_gym/agents``); ``--agents-dir`` / ``agents_path=`` override it;
* the shipped agents, package data in ``paradox_gym/zoo/shipped/`` (read-only: never modified).
"""

from __future__ import annotations

import os
from pathlib import Path

from paradox_gym._util.files import user_data_dir
from paradox_gym.sb3 import normalize_algo

#: The shipped agents and hyperparameters (package data; never written to).
SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
#: Suffix of the observation-normalisation statistics saved beside a checkpoint trained with
#: ``normalize: true`` (``ppo-hopper-v5.zip`` -> ``ppo-hopper-v5.vecnormalize.pkl``; SB3's
#: ``VecNormalize.save`` format, read back without unpickling by :mod:`paradox_gym.sb3.vecnormalize`).
VECNORMALIZE_SUFFIX = ".vecnormalize.pkl"  # = paradox_gym.sb3.vecnormalize.VECNORMALIZE_SUFFIX


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
    return user_data_dir() / "agents"


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
