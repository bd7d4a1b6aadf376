"""Stable-Baselines3 agents: the algorithm table and safe loading of agent zips (nothing is unpickled)."""

from __future__ import annotations

from paradox_gym.sb3.algorithms import ALGORITHMS, ALGOS, Algorithm, algo_class, check_algo_env, normalize_algo
from paradox_gym.sb3.safe_load import load_zip

__all__ = ["ALGORITHMS", "ALGOS", "Algorithm", "algo_class", "check_algo_env", "load_zip", "normalize_algo"]
