"""The machine and software an evaluation ran on (recorded in every result)."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from paradox_gym._util.cpu import cpu_name

_PACKAGES = ("torch", "stable-baselines3", "gymnasium", "numpy", "scipy", "pandas", "codecarbon", "paradox_gym")


#: Seconds each ``git`` call of :func:`source_commit` may take.
GIT_TIMEOUT_S = 5.0


def source_commit() -> str | None:
    """The git commit checked out where paradox_gym is imported from (``<sha>``, ``<sha>+modified`` when files
    under ``paradox_gym/`` differ from it), or None when it is not imported from a git work tree (an installed
    wheel) or git cannot say. The package version alone does not name the code of an editable install. Read
    when called (an evaluation reads it before its replicates start); ``status`` takes no lock."""
    import subprocess

    package = Path(__file__).resolve().parent.parent
    root = package.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S, check=True, stdin=subprocess.DEVNULL).stdout.strip()
        status = subprocess.run(["git", "--no-optional-locks", "-C", str(root), "status", "--porcelain", "--",
                                 package.name],
                                capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=True,
                                stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    if len(head) != 40:
        return None
    return head + ("+modified" if status.strip() else "")


def software_versions() -> dict[str, str | None]:
    """Versions of Python and the packages that shape a measurement, and ``paradox_gym_commit``
    (:func:`source_commit`)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    out["paradox_gym_commit"] = source_commit()
    return out


def machine_info(threads: int) -> dict[str, Any]:
    """CPU, GPUs and torch threads. ``gpu``: one record per NVIDIA GPU NVML lists (name, driver, power limit
    in W, whether it has an energy counter), None when there is none; ``energy_hardware``: the CPU model,
    its RAPL domains and the GPUs (see :mod:`paradox_gym.energy.hardware`)."""
    import torch

    from paradox_gym.energy.hardware import hardware_info

    hardware = hardware_info().to_dict()
    return {
        "cpu_model": cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpu": hardware["gpus"] or None,
        "energy_hardware": hardware,
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
        "torch_threads_requested": threads,
    }
