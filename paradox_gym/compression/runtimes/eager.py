"""The ``torch`` runtime: the inference core called on a tensor, without SB3's ``predict`` wrapping.

Per call: :func:`~paradox_gym.compression.cores.preprocess` (float32 cast or one-hot, in numpy),
``torch.from_numpy``, the core under ``torch.inference_mode`` (in the recipe's quantized engine), then
:func:`~paradox_gym.compression.cores.postprocess` (argmax / clip / unscale, in numpy). The modules are the
compressed agent's own (float, quantized or pruned), so the arithmetic is the ``sb3`` runtime's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from paradox_gym.compression.agent import CompressedAgent
from paradox_gym.compression.cores import check_observation_space, make_core, postprocess, preprocess
from paradox_gym.compression.quantization import quantized_engine
from paradox_gym.errors import UserInputError


class TorchAgent:
    """A :class:`CompressedAgent`'s inference path run directly by PyTorch (see the module docstring)."""

    runtime = "torch"

    def __init__(self, agent: CompressedAgent) -> None:
        check_observation_space(agent.observation_space)
        self.agent = agent
        self.algo = agent.algo
        self.method = agent.method
        self.recipe = {**agent.recipe, "runtime": self.runtime}
        self.finetune = agent.finetune
        self.observation_space = agent.observation_space
        self.action_space = agent.action_space
        self.footprint = agent.footprint
        self.baseline_footprint = agent.baseline_footprint
        self.core = make_core(agent.policy, agent.algo)
        self._backend = agent.recipe.get("backend")

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        """Deterministic actions for ``observation`` (single or batched), as SB3's ``predict``."""
        if not deterministic:
            raise UserInputError(f"runtime {self.runtime!r} plays deterministic policies only")
        batch, vectorized = preprocess(observation, self.observation_space)
        with torch.inference_mode(), quantized_engine(self._backend):
            raw = self.core(torch.from_numpy(batch)).numpy()
        return postprocess(raw, self.action_space, squashed=self.core.squashed, vectorized=vectorized), state

    def __repr__(self) -> str:
        return f"TorchAgent(algo={self.algo!r}, method={self.method!r})"
