"""The agent zoo: hyperparameters, training, the checkpoint manifest and safe loading of agents.

One module per concern: :mod:`.paths` (names and directories), :mod:`.hyperparams` (rl-zoo3 style YAML),
:mod:`.manifest` (sha256 and training records), :mod:`.training` (checkpointed, resumable training),
:mod:`.checkpoints` (training state on disk) and :mod:`.loading` (verified, unpickling-free loading).

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


from paradox_gym.envs import make_env, validate_env_id
from paradox_gym.sb3 import ALGOS, check_algo_env, load_zip
from paradox_gym.zoo.hyperparams import DEFAULT_ALGOS, default_algo, load_hyperparams
from paradox_gym.zoo.loading import find_vecnormalize, load_agent, load_normalizer
from paradox_gym.zoo.manifest import (MANIFEST_NAME, ROUNDING_SENSITIVE, evaluation_cpu, file_sha256, played_here,
                                      read_manifest)
from paradox_gym.zoo.paths import (
    SHIPPED_DIR,
    VECNORMALIZE_SUFFIX,
    agents_dir,
    checkpoint_name,
    env_slug,
    find_checkpoint,
    search_dirs,
)
from paradox_gym.zoo.training import EVAL_EPISODES, EVAL_SEED_START, evaluate_agent, train

__all__ = [
    "ALGOS",
    "DEFAULT_ALGOS",
    "EVAL_EPISODES",
    "EVAL_SEED_START",
    "MANIFEST_NAME",
    "ROUNDING_SENSITIVE",
    "SHIPPED_DIR",
    "VECNORMALIZE_SUFFIX",
    "agents_dir",
    "check_algo_env",
    "checkpoint_name",
    "default_algo",
    "env_slug",
    "evaluate_agent",
    "evaluation_cpu",
    "file_sha256",
    "find_checkpoint",
    "find_vecnormalize",
    "load_agent",
    "load_hyperparams",
    "load_normalizer",
    "load_zip",
    "make_env",
    "played_here",
    "read_manifest",
    "search_dirs",
    "train",
    "validate_env_id",
]
