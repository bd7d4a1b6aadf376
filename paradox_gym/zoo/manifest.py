"""The manifest of an agents directory: one entry per checkpoint, with its sha256, training settings,
evaluation and library versions (docs/zoo.md lists the fields)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

from paradox_gym._util.files import DirectoryLock, write_bytes_atomic
from paradox_gym.errors import UserInputError
from paradox_gym.zoo.paths import agents_dir

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
#: The lock file serialising read-modify-writes of the manifest between processes.
MANIFEST_LOCK = ".manifest.lock"


#: Shipped agents whose episodes depend on floating-point rounding: changing only MKL's code path
#: (``MKL_CBWR=AVX2``, ``COMPATIBLE``, ``SSE4_2``) moved their return over the first 100 steps of a seed by 2%
#: (the first DDPG Hopper agent) to 50% (DDPG HalfCheetah), where PPO, TRPO and SAC on Hopper moved by less
#: than 1e-7. The manifest's episodes of these agents are replayed only on the floating-point path that
#: recorded them; on another CPU they are other episodes of the same policy (docs/zoo.md, "Across CPUs").
ROUNDING_SENSITIVE: frozenset[str] = frozenset({
    "ddpg-halfcheetah-v5.zip", "ddpg-hopper-v5.zip", "ppo-halfcheetah-v5.zip", "sac-halfcheetah-v5.zip",
    "td3-halfcheetah-v5.zip", "td3-hopper-v5.zip", "trpo-halfcheetah-v5.zip"})


def evaluation_cpu() -> dict[str, str]:
    """The CPU an evaluation plays on, as far as rounding goes: its model name and torch's vectorised code
    path (``AVX512``, ``AVX2``, ``DEFAULT``), recorded as the manifest evaluation's ``cpu``."""
    import torch

    from paradox_gym._util.cpu import cpu_name

    return {"model": cpu_name(), "capability": str(torch.backends.cpu.get_cpu_capability())}


def played_here(entry: Mapping[str, Any]) -> bool:
    """True when ``entry``'s manifest evaluation names this machine's :func:`evaluation_cpu` and its library
    versions are this environment's (:func:`library_versions`, MuJoCo's included): its episodes then replay
    here even where they depend on rounding (:data:`ROUNDING_SENSITIVE`). False where the entry names no CPU
    (agents evaluated before the manifest recorded it), another CPU or other versions. A CPU model name as
    generic as a VM's (``Intel(R) Xeon(R) Processor``) may cover CPUs whose MKL code paths differ: the record
    narrows the machines, it does not prove two of them alike."""
    recorded = (entry.get("eval") or {}).get("cpu")
    return isinstance(recorded, dict) and recorded == evaluation_cpu() and entry.get("versions") == library_versions()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    import stable_baselines3
    import torch

    versions = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": np.__version__,
    }
    try:  # the physics of the MuJoCo tasks (the mujoco extra)
        versions["mujoco"] = importlib.metadata.version("mujoco")
    except importlib.metadata.PackageNotFoundError:
        pass
    return versions


def read_manifest(directory: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The manifest of ``directory`` (default: :func:`agents_dir`); an empty one if there is none."""
    path = agents_dir(directory) / MANIFEST_NAME
    if not path.is_file():
        return {"format": MANIFEST_FORMAT, "agents": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserInputError(f"manifest {path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("agents"), dict):
        raise UserInputError(f"manifest {path} has no 'agents' mapping")
    return manifest


def refuse_existing(final: Path) -> None:
    """UserInputError naming ``final`` and its manifest return when the checkpoint already exists."""
    if not final.exists():
        return
    try:
        entry = read_manifest(final.parent)["agents"].get(final.name)
    except UserInputError:
        entry = None
    mean = entry.get("eval", {}).get("mean_return") if isinstance(entry, dict) else None
    if isinstance(mean, (int, float)) and not isinstance(mean, bool):
        known = f"manifest mean return {mean:.1f}"
    else:
        known = "not in the manifest"
    raise UserInputError(
        f"{final} already exists ({known}); pass --force to replace it, or --out DIR to train elsewhere "
        f"(train(..., overwrite=True) or out_dir= in Python)"
    )


def update_manifest(directory: Path, key: str, entry: dict[str, Any]) -> None:
    """Insert/replace one entry, keeping the others; written atomically (tmp file + os.replace)."""
    directory.mkdir(parents=True, exist_ok=True)
    with DirectoryLock(directory, "agents directory", MANIFEST_LOCK, wait_s=60.0):
        manifest = read_manifest(directory)
        manifest["format"] = MANIFEST_FORMAT
        manifest["agents"][key] = entry
        manifest["agents"] = dict(sorted(manifest["agents"].items()))
        text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
        write_bytes_atomic(directory / MANIFEST_NAME, text.encode("utf-8"))
