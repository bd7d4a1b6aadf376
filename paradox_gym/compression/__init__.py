"""Compression of trained Stable-Baselines3 policies (quantization, pruning) with footprints.

Only the inference path (what ``predict`` runs) is compressed; see
:mod:`paradox_gym.compression.inference_path`. Usage::

    from paradox_gym.compression import compress, load_compressed
    agent = compress(model, "ptdq")            # model: a trained SB3 PPO/A2C/DQN/SAC/TD3/DDPG
    action, _ = agent.predict(obs)
    print(agent.footprint, agent.baseline_footprint)
    agent.save("ppo-ptdq.zip"); again = load_compressed("ppo-ptdq.zip")
"""

from __future__ import annotations

from paradox_gym.compression.agent import CompressedAgent, load_compressed
from paradox_gym.compression.footprint import Footprint
from paradox_gym.compression.methods import compress
from paradox_gym.compression.registry import ALIASES, METHOD_TABLE, METHODS, Method, apply_recipe, get_method

__all__ = ["ALIASES", "METHODS", "METHOD_TABLE", "CompressedAgent", "Footprint", "Method", "apply_recipe",
           "compress", "get_method", "load_compressed"]
