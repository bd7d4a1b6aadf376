"""Memory of one configuration, measured in a fresh process (DESIGN 3.6).

    python -m paradox_gym.memory --env CartPole-v1 --algo PPO --method ptdq [--agent PATH] \
        [--amount 0.5] [--episodes 3] [--seed 0] [--threads 1]

The process loads the agent, compresses it, then plays ``--episodes`` deterministic episodes, and prints
one JSON line (sizes in bytes):

- ``rss_after_load_bytes`` / ``uss_after_load_bytes``: resident / unique set size once the agent is loaded
  and compressed (the libraries' own memory included: the baseline of a fresh Python process running it);
- ``peak_rss_bytes``: the process's peak resident set size over its whole life
  (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), which is why it runs in its own process;
- ``rss_after_rollout_bytes`` / ``uss_after_rollout_bytes`` and ``uss_delta_bytes`` (rollout minus load):
  what playing the episodes added.

USS comes from ``psutil.Process().memory_full_info().uss`` (``None`` where the platform cannot give it).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from typing import Any


def _rss_uss() -> tuple[int, int | None]:
    import psutil

    proc = psutil.Process()
    try:
        full = proc.memory_full_info()
        return int(full.rss), int(full.uss)
    except (psutil.AccessDenied, AttributeError):
        return int(proc.memory_info().rss), None


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # Linux reports KiB


def probe(
    env_id: str,
    algo: str,
    method: str,
    *,
    agent_path: str | None = None,
    amount: float = 0.5,
    episodes: int = 3,
    seed: int = 0,
    threads: int = 1,
) -> dict[str, Any]:
    """Load + compress + play ``episodes`` episodes in *this* process and report its memory (bytes).

    Meant to run in a fresh process (``python -m paradox_gym.memory``); called in a long-lived process
    the peak RSS would be that process's lifetime maximum.
    """
    import gymnasium
    import torch

    import paradox_gym  # noqa: F401  (registers the mock environments)
    from paradox_gym.configurations import build_agents, load_model
    from paradox_gym.envs import as_env_action

    torch.set_num_threads(threads)
    model = load_model(env_id, algo, agent_path)
    agent = build_agents(model, [method], amount=amount, env_id=env_id, seed=seed)[method]
    del model
    rss_load, uss_load = _rss_uss()
    env = gymnasium.make(env_id)
    steps = 0
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        while True:
            action, _ = agent.predict(obs, deterministic=True)
            obs, _, terminated, truncated, _ = env.step(as_env_action(action, env.action_space))
            steps += 1
            if terminated or truncated:
                break
    env.close()
    rss_end, uss_end = _rss_uss()
    return {
        "status": "ok",
        "method": method,
        "episodes": episodes,
        "steps": steps,
        "rss_after_load_bytes": rss_load,
        "uss_after_load_bytes": uss_load,
        "rss_after_rollout_bytes": rss_end,
        "uss_after_rollout_bytes": uss_end,
        "uss_delta_bytes": (uss_end - uss_load) if uss_end is not None and uss_load is not None else None,
        "peak_rss_bytes": _peak_rss_bytes(),
    }


def main(argv: list[str] | None = None) -> int:
    from paradox_gym.cli import ArgumentParser, run_cli

    def _main() -> int:
        parser = ArgumentParser(prog="python -m paradox_gym.memory", description="Memory of one configuration.")
        parser.add_argument("--env", required=True)
        parser.add_argument("--algo", required=True)
        parser.add_argument("--method", required=True)
        parser.add_argument("--agent", default=None)
        parser.add_argument("--amount", type=float, default=0.5)
        parser.add_argument("--episodes", type=int, default=3)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--threads", type=int, default=1)
        a = parser.parse_args(argv)
        result = probe(a.env, a.algo, a.method, agent_path=a.agent, amount=a.amount,
                       episodes=a.episodes, seed=a.seed, threads=a.threads)
        print(json.dumps(result))
        return 0

    return run_cli(_main)


if __name__ == "__main__":
    raise SystemExit(main())
