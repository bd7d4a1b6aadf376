"""Loading zoo agents: sha256-checked against the manifest, read without unpickling."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from paradox_gym.envs import validate_env_id
from paradox_gym.errors import AgentNotFoundError, UserInputError
from paradox_gym.sb3 import check_algo_env, load_zip, normalize_algo
from paradox_gym.sb3.vecnormalize import ObservationNormalizer, load_vecnormalize
from paradox_gym.zoo.hyperparams import default_algo
from paradox_gym.zoo.manifest import MANIFEST_NAME, file_sha256, read_manifest
from paradox_gym.zoo.paths import agents_dir, checkpoint_name, find_checkpoint, search_dirs




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
        from paradox_gym.zoo.training import train

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
