"""Throughput cost of EnergyWrapper on a trained CartPole agent's deterministic evaluation.

Runs the same predict/step loop without (A) and with (B) the wrapper, interleaved (A B C, C B A, ...) for
``--rounds`` rounds of ``--steps`` steps each, after one warm-up block of each, and prints the median
steps/s of both, their ratio and the overhead in percent. B also does what the rollout loop does when
measuring: two clock reads around ``predict`` and ``record_policy_time``; a third variant C (wrapper,
no predict timing) separates the wrapper's own cost. Default meters.

    .venv/bin/python scripts/bench_overhead.py --rounds 10 --steps 5000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import gymnasium as gym
import torch

import paradox_gym  # noqa: F401
from paradox_gym.energy import EnergyWrapper


def load_cartpole_agent(seed: int) -> tuple[object, str]:
    """The zoo's CartPole agent, else a PPO trained here for 20k steps (with a note)."""
    try:
        from paradox_gym.zoo import load_agent

        return load_agent("CartPole-v1"), "zoo agent (paradox_gym.zoo.load_agent)"
    except Exception as exc:  # the zoo may lack a CartPole checkpoint
        from stable_baselines3 import PPO

        print(f"note: zoo agent unavailable ({type(exc).__name__}: {exc}); training PPO for 20k steps",
              file=sys.stderr)
        model = PPO("MlpPolicy", "CartPole-v1", seed=seed, verbose=0, device="cpu")
        model.learn(20_000)
        return model, "PPO trained in-script for 20k steps"


def run_block(
    model, env: gym.Env, steps: int, wrapper: EnergyWrapper | None, seed: int
) -> tuple[float, float]:
    """Run ``steps`` environment steps; return (steps per wall second, steps per CPU second).

    With ``wrapper`` the loop also times ``predict`` and reports it (as the evaluation loop does).
    """
    obs, _ = env.reset(seed=seed)
    perf, thread = time.perf_counter_ns, time.thread_time_ns
    t0 = time.perf_counter()
    c0 = time.thread_time()
    if wrapper is None:
        for _ in range(steps):
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
    else:
        record = wrapper.record_policy_time
        for _ in range(steps):
            pw0, pc0 = perf(), thread()
            action, _ = model.predict(obs, deterministic=True)
            record(perf() - pw0, thread() - pc0)
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
    return steps / (time.perf_counter() - t0), steps / (time.thread_time() - c0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.steps < 1:
        print("error: --rounds and --steps must be >= 1", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    model, source = load_cartpole_agent(args.seed)
    plain = gym.make("CartPole-v1")
    wrapped = EnergyWrapper(gym.make("CartPole-v1"))
    run_block(model, plain, args.steps, None, args.seed)  # warm-up
    run_block(model, wrapped, args.steps, wrapped, args.seed)
    a_rates: list[float] = []
    b_rates: list[float] = []
    c_rates: list[float] = []
    a_cpu: list[float] = []
    b_cpu: list[float] = []
    c_cpu: list[float] = []
    variants = {
        "A": (plain, None, a_rates, a_cpu),
        "B": (wrapped, wrapped, b_rates, b_cpu),
        "C": (wrapped, None, c_rates, c_cpu),
    }
    for r in range(args.rounds):
        # A B C, then C B A, ...: no variant always runs first
        order = "ABC" if r % 2 == 0 else "CBA"
        for name in order:
            env, wrapper, wall_list, cpu_list = variants[name]
            wall_rate, cpu_rate = run_block(model, env, args.steps, wrapper, args.seed + r)
            wall_list.append(wall_rate)
            cpu_list.append(cpu_rate)
    a, b = statistics.median(a_rates), statistics.median(b_rates)
    ratios = [y / x for x, y in zip(a_rates, b_rates)]
    cpu_ratios = [y / x for x, y in zip(a_cpu, b_cpu)]
    print(f"agent: {source}; meters: {[m.name for m in wrapped.meters]}; torch threads: 1")
    print(f"rounds: {args.rounds} x {args.steps} steps, interleaved A B C / C B A")
    print(f"A without wrapper: {a:,.0f} steps/s (median)")
    print(f"B with wrapper:    {b:,.0f} steps/s (median)")
    print(f"ratio B/A: {b / a:.4f} (median of per-round ratios {statistics.median(ratios):.4f}, "
          f"min {min(ratios):.4f}, max {max(ratios):.4f})")
    print(f"overhead: {(1 - statistics.median(ratios)) * 100:.2f} % "
          f"({(1 / b - 1 / a) * 1e6:.2f} us per step)")
    c_ratio = statistics.median([y / x for x, y in zip(a_rates, c_rates)])
    c_cpu_ratio = statistics.median([y / x for x, y in zip(a_cpu, c_cpu)])
    print(f"C wrapper only, no predict timing in the loop: {statistics.median(c_rates):,.0f} steps/s; "
          f"ratio C/A {c_ratio:.4f} (overhead {(1 - c_ratio) * 100:.2f} %; per CPU second "
          f"{(1 - c_cpu_ratio) * 100:.2f} %)")
    print(f"per CPU second (robust to other load on the machine): A {statistics.median(a_cpu):,.0f}, "
          f"B {statistics.median(b_cpu):,.0f} steps/s; ratio {statistics.median(cpu_ratios):.4f}; "
          f"overhead {(1 - statistics.median(cpu_ratios)) * 100:.2f} %")
    print(f"episodes measured: {len(wrapped.episodes)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
