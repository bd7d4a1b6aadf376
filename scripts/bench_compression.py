"""Footprint and single-observation ``predict`` latency of every compression method for one zoo agent.

    python scripts/bench_compression.py --env CartPole-v1 --algo PPO

Prints one row per method: measured wall-clock microseconds per ``predict`` call (median over
interleaved rounds; each round's figure is the median of ``--calls`` calls timed with
``time.perf_counter_ns``), and the footprint (parameters, non-zero parameters, serialized bytes,
MACs, CSR bytes). Observations come from a seeded rollout of the float agent. Bad input prints one
line ``error: ...`` and exits with status 2.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np


def _median_us(agent: Any, observations: np.ndarray, calls: int) -> float:
    """Median wall-clock microseconds of one single-observation ``predict`` call."""
    times = []
    for index in range(calls):
        obs = observations[index % len(observations)]
        start = time.perf_counter_ns()
        agent.predict(obs, deterministic=True)
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000.0


def main(argv: Sequence[str] | None = None) -> int:
    from paradox_gym._util.cli import ArgumentParser, run_cli

    parser = ArgumentParser(prog="bench_compression.py", description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="CartPole-v1", help="zoo environment id (default CartPole-v1)")
    parser.add_argument("--algo", default=None, help="algorithm of the zoo agent (default: the env's default)")
    parser.add_argument("--methods", default=None, help="comma-separated methods (default: all)")
    parser.add_argument("--amount", type=float, default=0.5, help="pruning amount (default 0.5)")
    parser.add_argument("--calls", type=int, default=2000, help="timed predict calls per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the rollout and calibration (default 0)")
    args = parser.parse_args(argv)

    def run() -> int:
        import torch

        import paradox_gym  # noqa: F401  (registers the environments)
        from paradox_gym import zoo
        from paradox_gym.compression import METHODS, compress
        from paradox_gym.compression.quantization import collect_observations
        from paradox_gym.errors import UserInputError

        for name in ("calls", "rounds", "threads"):
            if getattr(args, name) < 1:
                raise UserInputError(f"--{name} must be >= 1, got {getattr(args, name)}")
        methods = METHODS if args.methods is None else tuple(m.strip() for m in args.methods.split(","))
        torch.set_num_threads(args.threads)
        model = zoo.load_agent(args.env, args.algo)
        agents = {m: compress(model, m, amount=args.amount, env=args.env, seed=args.seed) for m in methods}
        observations = collect_observations(model.policy, args.env, 200, args.seed)
        for agent in agents.values():  # warm-up
            _median_us(agent, observations, 50)
        rounds: dict[str, list[float]] = {m: [] for m in agents}
        for _ in range(args.rounds):
            for method, agent in agents.items():
                rounds[method].append(_median_us(agent, observations, args.calls))
        first = next(iter(agents.values()))
        backend = next((a.recipe["backend"] for a in agents.values() if a.recipe["backend"]), "n/a")
        print(f"{first.algo} {args.env}, amount {args.amount}, torch threads {torch.get_num_threads()}, "
              f"quantized backend {backend}; us/predict: measured wall clock, median of "
              f"{args.rounds} interleaved rounds x {args.calls} calls")
        print("| method | us / predict | parameters | non-zero | serialized bytes | MACs | CSR bytes |")
        print("|---|---|---|---|---|---|---|")
        for method, agent in agents.items():
            fp = agent.footprint
            sparse = "-" if fp.sparse_bytes is None else str(fp.sparse_bytes)
            print(f"| {method} | {statistics.median(rounds[method]):.0f} | {fp.parameters} | "
                  f"{fp.nonzero_parameters} | {fp.serialized_bytes} | {fp.macs} | {sparse} |")
        return 0

    return run_cli(run)


if __name__ == "__main__":
    sys.exit(main())
