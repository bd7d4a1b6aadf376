"""paradox_gym: does compressing a deep-RL policy save energy, memory and time?

Importing the package registers its Gymnasium environments (``paradox_gym/MockDRL-v0`` and
``paradox_gym/MockDRLDiscrete-v0``). The public API (``evaluate``, ``EvalSettings``,
``EvalResult``, compression, energy measurement, the agent zoo) is imported lazily on first attribute access, so ``gymnasium.make("paradox_gym:...")`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from paradox_gym.envs import register_envs as _register_envs

__version__ = "0.1.0"

_register_envs()

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "evaluate": "paradox_gym.pipeline",
    "Progress": "paradox_gym.pipeline",
    "EvalSettings": "paradox_gym.experiment.settings",
    "EvalResult": "paradox_gym.report.result",
    "compress": "paradox_gym.compression",
    "load_compressed": "paradox_gym.compression",
    "CompressedAgent": "paradox_gym.compression",
    "Footprint": "paradox_gym.compression",
    "METHODS": "paradox_gym.compression",
    "EnergyWrapper": "paradox_gym.energy",
    "make_meters": "paradox_gym.energy",
    "METER_NAMES": "paradox_gym.energy",
    "load_agent": "paradox_gym.loading",
    "load_zip": "paradox_gym.sb3",
    "default_algo": "paradox_gym.zoo",
    "train": "paradox_gym.zoo",
    "sweep": "paradox_gym.study.sweep",
    "load_study": "paradox_gym.study.sweep",
    "crossover": "paradox_gym.crossover",
    "CrossoverSettings": "paradox_gym.crossover",
    "CrossoverResult": "paradox_gym.crossover",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'paradox_gym' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
