"""The configurations of an evaluation: the float agent and its compressed variants.

Step "settings -> zoo / sb3 loading -> compression" of the data flow, shared by
:func:`paradox_gym.evaluate`, the fresh-process memory probe and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paradox_gym import zoo
from paradox_gym.compression import CompressedAgent, compress
from paradox_gym.sb3 import load_zip


def load_model(env_id: str, algo: str | None, agent_path: str | None = None, *,
               train_if_missing: bool = False, agents_dir: str | None = None) -> Any:
    """The float SB3 model: the zoo agent for (env, algo), or the user's zip (``load_zip``, no unpickling;
    ``algo=None`` reads the algorithm from the zip). ``train_if_missing`` trains a missing zoo agent
    (zoo hyperparameters, written to the user's agents directory with its manifest entry)."""
    if agent_path is not None:
        return load_zip(agent_path, env_id, algo)
    return zoo.load_agent(env_id, algo, train_if_missing=train_if_missing, agents_path=agents_dir)


def build_agents(model: Any, methods: Sequence[str], *, amount: float, env_id: str,
                 seed: int) -> dict[str, CompressedAgent]:
    """Compress ``model`` once per method (``"none"`` gives the float baseline as a CompressedAgent)."""
    return {m: compress(model, m, amount=amount, env=env_id, seed=seed) for m in methods}
