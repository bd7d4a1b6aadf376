#!/usr/bin/env python
"""Throughput of the evaluation rollout loop vs Stable-Baselines3's ``evaluate_policy``, same agent and env.

    python scripts/bench_evaluation.py [--env CartPole-v1] [--algo PPO] [--episodes 5] [--rounds 5]

Both loops play the same deterministic episodes (same seeds) with the same agent (the uncompressed
``CompressedAgent``), one torch thread. Rounds are interleaved (ours, SB3, ours, SB3, ...) so drift hits
both; each round reports steps/s and the script prints the median of each and their ratio
(ours / SB3; >= 1 means the evaluation loop is not slower). Our loop includes everything an evaluation
does per step: the EnergyWrapper (cpu-model meter at episode edges), two clock pairs per ``predict``
and the per-step latency record.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    from paradox_gym._util.cli import ArgumentParser, run_cli

    parser = ArgumentParser(prog="bench_evaluation.py",
                            description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--env", default="CartPole-v1", help="Gymnasium env id (default CartPole-v1)")
    parser.add_argument("--algo", default=None, help="zoo algorithm (default: the zoo's for --env)")
    parser.add_argument("--agent", default=None, metavar="PATH", help="your own SB3 zip instead of the zoo agent")
    parser.add_argument("--episodes", type=int, default=5, help="episodes per round (default 5)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per loop (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")

    def _main() -> int:
        args = parser.parse_args(argv)
        import gymnasium
        import torch
        from stable_baselines3.common.evaluation import evaluate_policy
        from stable_baselines3.common.monitor import Monitor
        from stable_baselines3.common.vec_env import DummyVecEnv

        from paradox_gym.energy import EnergyWrapper
        from paradox_gym.errors import UserInputError
        from paradox_gym.experiment.agents import build_agents, load_model
        from paradox_gym.experiment.runner import run_episode
        from paradox_gym.envs import validate_env_id
        from paradox_gym.sb3 import normalize_algo
        from paradox_gym.zoo import default_algo

        if args.episodes < 1 or args.rounds < 1:
            raise UserInputError("--episodes and --rounds must be >= 1")
        torch.set_num_threads(1)
        env_id = validate_env_id(args.env)
        algo = normalize_algo(args.algo) if args.algo else default_algo(env_id)
        model = load_model(env_id, algo, args.agent)
        agent = build_agents(model, ["none"], amount=0.5, env_id=env_id, seed=args.seed)["none"]
        seeds = [args.seed + i for i in range(args.episodes)]

        ours_env = EnergyWrapper(gymnasium.make(env_id), ["cpu-model"])

        def ours() -> tuple[int, float]:
            lat: list[int] = []
            steps = 0
            t0 = time.perf_counter()
            for s in seeds:
                steps += run_episode(agent, ours_env, s, lat)[1]
            return steps, time.perf_counter() - t0

        def sb3() -> tuple[int, float]:
            # evaluate_policy on a VecEnv; reseeding per episode is not possible there, so seed once
            venv = DummyVecEnv([lambda: Monitor(gymnasium.make(env_id))])
            venv.seed(args.seed)
            t0 = time.perf_counter()
            _, lengths = evaluate_policy(agent, venv, n_eval_episodes=args.episodes, deterministic=True,
                                         return_episode_rewards=True)
            elapsed = time.perf_counter() - t0
            venv.close()
            return int(sum(lengths)), elapsed

        ours(), sb3()  # warm-up
        rates: dict[str, list[float]] = {"ours": [], "sb3": []}
        for r in range(args.rounds):
            for name, fn in (("ours", ours), ("sb3", sb3)) if r % 2 == 0 else (("sb3", sb3), ("ours", ours)):
                steps, elapsed = fn()
                rates[name].append(steps / elapsed)
                print(f"round {r} {name:4s}: {steps} steps in {elapsed:.3f} s = {steps / elapsed:,.0f} steps/s")
        ours_env.close()
        med = {k: statistics.median(v) for k, v in rates.items()}
        print(f"{algo} on {env_id}, {args.rounds} interleaved rounds x {args.episodes} episodes, 1 torch thread")
        print(f"evaluation loop (EnergyWrapper + timing): {med['ours']:,.0f} steps/s (median)")
        print(f"SB3 evaluate_policy:                      {med['sb3']:,.0f} steps/s (median)")
        print(f"ratio ours / SB3: {med['ours'] / med['sb3']:.2f}")
        return 0

    return run_cli(_main)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
