"""The configurations of an evaluation: the float agent and its compressed variants.

Step "config -> zoo -> compression" of the data flow, shared by ``scripts/evaluate.py`` (through
``paradox_gym.cli``), the fresh-process memory probe (``paradox_gym.memory``) and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def load_model(env_id: str, algo: str | None, agent_path: str | None = None, *,
               train_if_missing: bool = False) -> Any:
    """The float SB3 model: the zoo agent for (env, algo), or the user's zip (``zoo.load_zip``, no unpickling;
    ``algo=None`` reads the algorithm from the zip). ``train_if_missing`` trains a missing zoo agent
    (zoo hyperparameters, written to the agents directory with its manifest entry)."""
    from paradox_gym import zoo

    if agent_path is not None:
        return zoo.load_zip(agent_path, env_id, algo)
    return zoo.load_agent(env_id, algo, train_if_missing=train_if_missing)


def build_agents(model: Any, methods: Sequence[str], *, amount: float, env_id: str, seed: int) -> dict[str, Any]:
    """Compress ``model`` once per method (``"none"`` gives the float baseline as a CompressedAgent)."""
    from paradox_gym.compression import compress

    return {m: compress(model, m, amount=amount, env=env_id, seed=seed) for m in methods}
