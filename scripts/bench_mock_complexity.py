"""Step time of the mock environment against its ``complexity`` (whole and fractional sub-steps).

One ``MockDRLEnv`` per complexity (``hazard=0``, ``quality_threshold=0``: no episode ends) plays blocks of
``--steps`` steps with a fixed action. The complexities are interleaved (0 0.5 1 ..., then reversed) for
``--rounds`` rounds after one warm-up round, so drift and other load hit every value alike; the script
prints, per complexity, the multiply-adds of its physics per step and the best and median time per step
(us), and the median step time relative to ``complexity=0`` and ``1``. Expected: time per step grows
linearly with the complexity, fractional values included (0.5 between 0 and 1, 1.5 between 1 and 2).

    .venv/bin/python scripts/bench_mock_complexity.py --rounds 15 --steps 2000
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from paradox_gym._util.cli import ArgumentParser, run_cli
from paradox_gym.envs.mock_drl import MockDRLEnv

DEFAULT_COMPLEXITIES = (0.0, 0.5, 1.0, 1.5, 2.0)


def block_seconds_per_step(env: MockDRLEnv, action: np.ndarray, steps: int) -> float:
    """Wall time (s) per step of ``steps`` consecutive steps."""
    step = env.step
    t0 = time.perf_counter()
    for _ in range(steps):
        step(action)
    return (time.perf_counter() - t0) / steps


def main() -> int:
    parser = ArgumentParser(prog="bench_mock_complexity.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--steps", type=int, default=2000, help="steps per complexity per round (default 2000)")
    parser.add_argument("--complexity", type=float, nargs="+", default=list(DEFAULT_COMPLEXITIES),
                        help="complexities to time (default 0 0.5 1 1.5 2)")
    args = parser.parse_args()
    if args.rounds < 1 or args.steps < 1:
        parser.error(f"--rounds and --steps must be >= 1, got {args.rounds} and {args.steps}")
    envs = {c: MockDRLEnv(complexity=c, hazard=0.0, quality_threshold=0.0) for c in args.complexity}
    action = np.zeros(8, dtype=np.float32)
    for env in envs.values():
        env.reset(seed=0)
        block_seconds_per_step(env, action, args.steps)  # warm-up
    times: dict[float, list[float]] = {c: [] for c in envs}
    order = list(envs)
    for r in range(args.rounds):
        for c in (order if r % 2 == 0 else order[::-1]):
            times[c].append(block_seconds_per_step(envs[c], action, args.steps))
    medians = {c: statistics.median(v) for c, v in times.items()}
    print(f"rounds: {args.rounds} x {args.steps} steps per complexity, interleaved")
    print(f"{'complexity':>10} {'mult-adds':>10} {'best us':>9} {'median us':>10}")
    for c, env in envs.items():
        print(f"{c:10g} {env.physics_multiply_adds:10d} {min(times[c]) * 1e6:9.2f} {medians[c] * 1e6:10.2f}")
    if 0.0 in medians and 1.0 in medians and medians[1.0] > medians[0.0]:
        span = medians[1.0] - medians[0.0]
        for c in envs:
            print(f"complexity {c:g}: (t - t0) / (t1 - t0) = {(medians[c] - medians[0.0]) / span:.2f}")
    elif 0.0 in medians and 1.0 in medians:
        print("(t - t0) / (t1 - t0): not computed, complexity 1 was not slower than 0 in this run (more --rounds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
