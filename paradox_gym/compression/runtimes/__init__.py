"""Inference runtimes: ways of running the same compressed inference path on an observation.

==============  =====================================================================================
runtime         what ``predict`` runs
==============  =====================================================================================
``sb3``         SB3's ``policy.predict`` (the :class:`~paradox_gym.compression.CompressedAgent` itself)
``torch``       the inference core (:mod:`paradox_gym.compression.cores`) called on a tensor under
                ``torch.inference_mode``, with only the preprocessing the policy needs
``onnxruntime`` the inference core exported to ONNX in memory and run by an ``InferenceSession``
                (intra-op threads = the evaluation's threads); quantization by ONNX Runtime's own
                quantizer (see :mod:`paradox_gym.compression.runtimes.ort`)
==============  =====================================================================================

Every runtime agent has SB3's ``predict(observation, state=None, episode_start=None, deterministic=True)
-> (action, state)`` contract (Discrete argmax, Box clipping, SAC/TD3 unscaling, batch dimension removed
for a single observation), so :func:`paradox_gym.envs.rollout.play_episode` plays them all, plus the
attributes the evaluation reads: ``method``, ``algo``, ``recipe`` (with ``runtime`` beyond sb3),
``finetune``, ``footprint``, ``baseline_footprint``.

Configuration names: a method on ``sb3`` keeps its plain name (``ptdq``); on another runtime it is
``<runtime>:<method>`` (``onnxruntime:ptdq``; :func:`config_name`, :func:`split_config`).
Adding a runtime is one builder plus one :class:`Runtime` entry in :data:`RUNTIME_TABLE`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

from paradox_gym.compression.agent import CompressedAgent
from paradox_gym.errors import UserInputError

SB3 = "sb3"
SEPARATOR = ":"

#: ``build(agent, threads) -> runtime agent``.
Build = Callable[[CompressedAgent, int], Any]


def _sb3(agent: CompressedAgent, threads: int) -> CompressedAgent:
    return agent


def _torch(agent: CompressedAgent, threads: int) -> Any:
    from paradox_gym.compression.runtimes.eager import TorchAgent

    return TorchAgent(agent)


def _onnxruntime(agent: CompressedAgent, threads: int) -> Any:
    from paradox_gym.compression.runtimes.ort import OnnxRuntimeAgent

    return OnnxRuntimeAgent(agent, threads=threads)


@dataclass(frozen=True)
class Runtime:
    """One inference runtime.

    Attributes:
        name: ``--runtime`` value.
        build: wraps a :class:`CompressedAgent` (compressed for the ``sb3``/``torch`` runtimes; the runtime
            may rebuild the path from its float weights and recipe) into an agent with ``predict``.
        summary: one line for help texts and docs.
        requires: Python modules it needs (checked by :func:`check_runtime`).
    """

    name: str
    build: Build
    summary: str
    requires: tuple[str, ...] = ()


RUNTIME_TABLE: dict[str, Runtime] = {
    r.name: r
    for r in (
        Runtime(SB3, _sb3, "Stable-Baselines3 policy.predict (PyTorch eager, SB3 wrapping)"),
        Runtime("torch", _torch, "the inference path called on a tensor, torch.inference_mode, no SB3 wrapping"),
        Runtime("onnxruntime", _onnxruntime,
                "the inference path exported to ONNX, ONNX Runtime InferenceSession (its own quantizer)",
                requires=("onnx", "onnxruntime")),
    )
}
RUNTIMES: tuple[str, ...] = tuple(RUNTIME_TABLE)


def check_runtime(name: Any) -> str:
    """``name`` if it is a runtime whose dependencies are installed; UserInputError naming the valid ones,
    also when a package it needs is not installed (naming it)."""
    if not isinstance(name, str) or name not in RUNTIME_TABLE:
        raise UserInputError(f"unknown runtime {name!r}; valid: {', '.join(RUNTIMES)}")
    missing = [m for m in RUNTIME_TABLE[name].requires if importlib.util.find_spec(m) is None]
    if missing:
        raise UserInputError(
            f"runtime {name!r} needs {', '.join(missing)}: pip install {' '.join(missing)}"
        )
    return name


def config_name(runtime: str, method: str) -> str:
    """``method`` on ``sb3``, ``<runtime>:<method>`` elsewhere."""
    return method if runtime == SB3 else f"{runtime}{SEPARATOR}{method}"


def split_config(config: str) -> tuple[str, str]:
    """``(runtime, method)`` of a configuration name (inverse of :func:`config_name`; the runtime is checked,
    the method is not)."""
    runtime, sep, method = config.partition(SEPARATOR)
    if not sep:
        return SB3, config
    return check_runtime(runtime), method


def build_runtime_agent(agent: CompressedAgent, runtime: str, *, threads: int = 1) -> Any:
    """``agent`` run by ``runtime`` (an agent with SB3's ``predict`` contract)."""
    return RUNTIME_TABLE[check_runtime(runtime)].build(agent, threads)


__all__ = ["RUNTIMES", "RUNTIME_TABLE", "SB3", "Runtime", "build_runtime_agent", "check_runtime",
           "config_name", "split_config"]
