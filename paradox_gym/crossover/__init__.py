"""The crossover map: where compression starts to pay, over policy width x batch size x method x runtime.

    import paradox_gym as pg
    result = pg.crossover(pg.CrossoverSettings(widths=(64, 1024), batches=(1, 256), methods=("ptdq",),
                                               runtimes=("torch",)), out="maps/mine")
    result.to_frame()

Modules: ``settings`` (what a map measures), ``synthetic`` (policies of a given shape through the
compression code, observations from the environment), ``replicate`` (one fresh-process replicate),
``jobs`` (jobs of the study machinery), ``analysis`` (comparisons, Holm, A/A control, frontier),
``result`` (CrossoverResult, its table, files and sentences), ``plots`` (heatmap, overlay), ``run``
(:func:`crossover`, saved maps).

The package shares its name with the function ``paradox_gym.crossover``: once the package is imported,
``paradox_gym.crossover`` may be bound to it rather than to the function, so the package itself is callable
and calling it calls :func:`~paradox_gym.crossover.run.crossover`.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

# public name -> module that defines it (imported on first use: a replicate process needs none of them)
_LAZY: dict[str, str] = {
    "CrossoverResult": "paradox_gym.crossover.result",
    "CrossoverSettings": "paradox_gym.crossover.settings",
    "compare_maps": "paradox_gym.crossover.run",
    "crossover": "paradox_gym.crossover.run",
    "load_map": "paradox_gym.crossover.run",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'paradox_gym.crossover' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`~paradox_gym.crossover.run.crossover` (see the module docstring)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from paradox_gym.crossover.run import crossover

        return crossover(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
