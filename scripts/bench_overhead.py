"""Throughput cost of EnergyWrapper on the shipped CartPole agent's deterministic evaluation.

Three variants play the same seeded episodes, interleaved (A W C, then C W A, ...) for ``--rounds``
rounds of ``--episodes`` episodes each, after one warm-up round:

- A: a plain predict/step loop on ``gymnasium.make("CartPole-v1")``, nothing measured;
- W: ``paradox_gym.experiment.runner.run_episode`` (the evaluation loop: predict timed and reported) through
  ``EnergyWrapper(phase_clock="wall")`` with the default meters — what ``scripts/evaluate.py`` runs;
- C: the same with ``phase_clock="cpu"`` (per-thread CPU clock read around every phase).

It prints the median steps/s of each, the median of the per-round ratios W/A and C/A, and the
overhead in percent (target: W costs <= 2 % of throughput). Ratios are measured in one run, so drift
and other load on the machine hit every variant alike.

    .venv/bin/python scripts/bench_overhead.py --rounds 20 --episodes 6
"""

from __future__ import annotations

import statistics
import time

import gymnasium as gym
import torch

import paradox_gym  # noqa: F401  (registers the environments)
from paradox_gym._util.cli import ArgumentParser, run_cli
from paradox_gym.energy import EnergyWrapper
from paradox_gym.experiment.runner import run_episode
from paradox_gym.zoo import load_agent


def plain_episode(model: object, env: gym.Env, seed: int) -> int:
    """One deterministic episode with nothing measured; returns its length (steps)."""
    obs, _ = env.reset(seed=seed)
    steps = 0
    while True:
        action, _ = model.predict(obs, deterministic=True)
        obs, _, terminated, truncated, _ = env.step(action)
        steps += 1
        if terminated or truncated:
            return steps


def run_round(model: object, env: gym.Env, seeds: list[int], measured: bool) -> float:
    """Play ``seeds`` (one episode each); return steps per wall-clock second."""
    steps = 0
    latencies: list[int] = []
    t0 = time.perf_counter()
    for seed in seeds:
        if measured:
            steps += run_episode(model, env, seed, latencies)[1]
            latencies.clear()
        else:
            steps += plain_episode(model, env, seed)
    return steps / (time.perf_counter() - t0)


def main() -> int:
    parser = ArgumentParser(prog="bench_overhead.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    parser.add_argument("--episodes", type=int, default=6, help="episodes per variant per round (default 6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    args = parser.parse_args()
    if args.rounds < 1 or args.episodes < 1:
        parser.error(f"--rounds and --episodes must be >= 1, got {args.rounds} and {args.episodes}")
    torch.set_num_threads(1)
    model = load_agent("CartPole-v1")
    variants = {
        "A": (gym.make("CartPole-v1"), False),
        "W": (EnergyWrapper(gym.make("CartPole-v1"), phase_clock="wall"), True),
        "C": (EnergyWrapper(gym.make("CartPole-v1"), phase_clock="cpu"), True),
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    seeds = [args.seed + i for i in range(args.episodes)]
    for name, (env, measured) in variants.items():  # warm-up
        run_round(model, env, seeds, measured)
    for r in range(args.rounds):
        for name in ("AWC" if r % 2 == 0 else "CWA"):
            env, measured = variants[name]
            rates[name].append(run_round(model, env, seeds, measured))
    meters = [m.name for m in variants["W"][0].meters]
    print(f"agent: shipped PPO CartPole-v1; meters: {meters}; torch threads: 1")
    print(f"rounds: {args.rounds} x {args.episodes} episodes per variant, interleaved A W C / C W A")
    for name, label in (("A", "A plain loop"), ("W", "W wrapper, phase_clock=wall"),
                        ("C", "C wrapper, phase_clock=cpu")):
        print(f"{label:30s} {statistics.median(rates[name]):9,.0f} steps/s (median)")
    for name in ("W", "C"):
        ratios = [x / a for x, a in zip(rates[name], rates["A"])]
        ratio = statistics.median(ratios)
        print(f"ratio {name}/A: {ratio:.4f} (per-round min {min(ratios):.4f}, max {max(ratios):.4f}); "
              f"throughput cost {(1 - ratio) * 100:+.2f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
