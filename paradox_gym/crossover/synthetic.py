"""Synthetic policies of a given shape, compressed by the same code as real agents, and the observations
they are fed.

A synthetic policy is a real Stable-Baselines3 model of the map's algorithm, built for the spaces of the
map's environment with ``depth`` hidden layers of ``width`` units on the inference path (SB3's layout
and the algorithm's default activation: PPO / A2C Tanh, SAC / TD3 / DDPG / DQN ReLU). Its weights are
random (``torch`` seeded): the map measures the cost of a decision, which does not depend on what the
weights have learnt, and never a return. The parts off the inference path (value / Q networks) have no
hidden layer, PPO's orthogonal initialisation is off (a QR decomposition of a 4096 x 4096 matrix per
layer would cost seconds per replicate and changes no cost), and off-policy replay buffers hold one
transition.

Each configuration goes through :func:`paradox_gym.compression.compress` (``none`` for the float baseline
and its A/A copy, built from a second, independent model with the same seed) and
:func:`paradox_gym.compression.runtimes.build_runtime_agent`, exactly as ``evaluate`` builds its agents.
On cuda, the float policy (and the pruned ones) run through :class:`DeviceAgent`; ``fp16`` / ``bf16``
cast its inference core.

Observations are drawn from the environment's own episodes (random actions, seeded), the
distribution a policy of any quality starts from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paradox_gym.crossover.settings import CAST_METHODS
from paradox_gym.vocab import BASELINE, CONTROL

#: algorithm -> keyword arguments of the model beyond ``policy_kwargs`` (small replay buffers).
_MODEL_KWARGS: dict[str, dict[str, Any]] = {
    "PPO": {"n_steps": 64, "batch_size": 64},
    "A2C": {"n_steps": 8},
    "SAC": {"buffer_size": 1, "learning_starts": 0},
    "TD3": {"buffer_size": 1, "learning_starts": 0},
    "DDPG": {"buffer_size": 1, "learning_starts": 0},
    "DQN": {"buffer_size": 1, "learning_starts": 0},
}


def policy_kwargs(algo: str, width: int, depth: int) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` of a synthetic policy: ``depth`` x ``width`` on the inference path, nothing
    hidden off it."""
    hidden = [int(width)] * int(depth)
    if algo in ("PPO", "A2C"):
        return {"net_arch": {"pi": hidden, "vf": []}, "ortho_init": False}
    if algo == "DQN":
        return {"net_arch": hidden}
    return {"net_arch": {"pi": hidden, "qf": []}}


def build_model(env_id: str, algo: str, width: int, depth: int, seed: int) -> Any:
    """A float SB3 ``algo`` model of the given shape for ``env_id``'s spaces, weights seeded by ``seed``."""
    import torch

    from paradox_gym.envs import close_env, make_env
    from paradox_gym.sb3.algorithms import ALGORITHMS, check_spaces

    env = make_env(env_id)
    try:
        check_spaces(algo, env_id, env.observation_space, env.action_space)
        torch.manual_seed(seed)
        cls = ALGORITHMS[algo].cls()
        return cls("MlpPolicy", env, policy_kwargs=policy_kwargs(algo, width, depth), seed=seed, device="cpu",
                   verbose=0, **_MODEL_KWARGS[algo])
    finally:
        close_env(env)


def observation_pool(env_id: str, size: int, seed: int) -> np.ndarray:
    """``size`` observations from ``env_id``'s episodes under seeded random actions (episode ``i`` reset
    with ``seed + i``), float32, shape ``(size, *obs_shape)``."""
    from paradox_gym.envs import close_env, make_env
    from paradox_gym.envs.rollout import collect_observations

    env = make_env(env_id)
    try:
        space = env.action_space
        space.seed(seed)
        pool = collect_observations(lambda obs, deterministic=True: (space.sample(), None), env, size, seed)
    finally:
        close_env(env)
    return np.ascontiguousarray(pool, dtype=np.float32)


def pool_size(batch: int) -> int:
    """Observations drawn for a cell of ``batch``: enough for several distinct batches."""
    return int(min(max(4 * batch, 256), 16384))


def batches_of(pool: np.ndarray, batch: int) -> list[np.ndarray]:
    """Distinct contiguous batches of ``batch`` observations from ``pool`` (batch 1: single observations,
    without a batch dimension, as one environment hands them)."""
    if batch == 1:
        return [np.ascontiguousarray(o) for o in pool]
    return [np.ascontiguousarray(pool[i:i + batch]) for i in range(0, len(pool) - batch + 1, batch)]


class DeviceAgent:
    """A compressed agent's inference core on a torch device, optionally cast (``float16`` / ``bfloat16``),
    with SB3's pre- and post-processing (:mod:`paradox_gym.compression.cores`). ``predict`` copies the
    actions back to the host, which waits for the device's work."""

    runtime = "torch"

    def __init__(self, agent: Any, device: str, dtype: str | None = None) -> None:
        import torch

        from paradox_gym.compression.cores import check_observation_space, make_core

        check_observation_space(agent.observation_space)
        self.agent = agent
        self.observation_space = agent.observation_space
        self.action_space = agent.action_space
        self.footprint = agent.footprint
        self.device = torch.device(device)
        self.dtype = getattr(torch, dtype) if dtype else torch.float32
        self.core = make_core(agent.policy, agent.algo).to(self.device, self.dtype)

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        import torch

        from paradox_gym.compression.cores import postprocess, preprocess

        batch, vectorized = preprocess(observation, self.observation_space)
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device, self.dtype)
            raw = self.core(x).float().cpu().numpy()
        return postprocess(raw, self.action_space, squashed=self.core.squashed, vectorized=vectorized), state


def build_configs(env_id: str, algo: str, width: int, depth: int, methods: tuple[str, ...], runtime: str, *,
                  amount: float, seed: int, threads: int, device: str = "cpu") -> dict[str, Any]:
    """The agents of one cell, ``none`` (float), ``none-copy`` (the A/A copy) and each method, run by
    ``runtime`` on ``device``."""
    from paradox_gym.compression import compress
    from paradox_gym.compression.runtimes import build_runtime_agent

    model = build_model(env_id, algo, width, depth, seed)
    copy = build_model(env_id, algo, width, depth, seed)
    compressed: dict[str, Any] = {BASELINE: compress(model, BASELINE, seed=seed),
                                  CONTROL: compress(copy, BASELINE, seed=seed)}
    for m in methods:
        source = BASELINE if m in CAST_METHODS else m
        compressed[m] = compress(model, source, amount=amount, env=env_id, seed=seed)
    if device == "cpu":
        return {c: build_runtime_agent(a, runtime, threads=threads) for c, a in compressed.items()}
    return {c: DeviceAgent(a, device, CAST_METHODS.get(c)) for c, a in compressed.items()}


__all__ = ["DeviceAgent", "batches_of", "build_configs", "build_model", "observation_pool", "policy_kwargs",
           "pool_size"]
