"""The configurations of an evaluation: the float agent and its compressed variants.

Step "settings -> zoo / sb3 loading -> compression" of the data flow, shared by
:func:`paradox_gym.evaluate`, the fresh-process memory probe and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paradox_gym import zoo
from paradox_gym.compression import compress
from paradox_gym.compression.qat import DEFAULT_QAT_STEPS
from paradox_gym.compression.runtimes import build_runtime_agent, split_config
from paradox_gym.sb3 import load_zip


def load_model(env_id: str, algo: str | None, agent_path: str | None = None, *,
               train_if_missing: bool = False, agents_dir: str | None = None) -> Any:
    """The float SB3 model: the zoo agent for (env, algo), or the user's zip (``load_zip``, no unpickling;
    ``algo=None`` reads the algorithm from the zip). ``train_if_missing`` trains a missing zoo agent
    (zoo hyperparameters, written to the user's agents directory with its manifest entry)."""
    if agent_path is not None:
        return load_zip(agent_path, env_id, algo)
    return zoo.load_agent(env_id, algo, train_if_missing=train_if_missing, agents_path=agents_dir)


def build_agents(model: Any, configs: Sequence[str], *, amount: float, env_id: str, seed: int,
                 qat_steps: int = DEFAULT_QAT_STEPS, threads: int = 1) -> dict[str, Any]:
    """One agent per configuration: ``model`` compressed once per method (``"none"`` gives the float baseline
    as a CompressedAgent), then run by each configuration's runtime (``ptdq`` on ``sb3``, ``onnxruntime:ptdq``
    on ONNX Runtime with ``threads`` intra-op threads; see :mod:`paradox_gym.compression.runtimes`)."""
    split = {c: split_config(c) for c in configs}
    compressed: dict[str, Any] = {}
    for _, method in split.values():
        if method not in compressed:
            compressed[method] = compress(model, method, amount=amount, env=env_id, seed=seed, qat_steps=qat_steps)
    return {c: build_runtime_agent(compressed[m], r, threads=threads) for c, (r, m) in split.items()}


def recipe_record(agent: Any) -> dict[str, Any]:
    """What the result records of how a configuration was built: its recipe, plus ``finetune`` (the one-off
    cost on this machine: ``qat`` fine-tuning steps and seconds) where there was one."""
    finetune = getattr(agent, "finetune", None)
    return {**agent.recipe, "finetune": finetune} if finetune is not None else dict(agent.recipe)
