#!/usr/bin/env python
"""Train a zoo agent, evaluate it and record it in the agents manifest.

    python scripts/train.py --algo PPO --env CartPole-v1 [--steps N] [--seed S] [--out DIR] [--force]

Hyperparameters come from agents/hyperparams/<algo>.yml; --steps overrides n_timesteps. The checkpoint is
written to <out>/<algo>-<env slug>.zip and its entry (return over 20 seeded deterministic episodes,
library versions, sha256, hyperparameters, wall time in s) is merged into <out>/manifest.json.
An existing checkpoint (e.g. a shipped agent) is only replaced with --force; this is checked before training.
Bad input prints one line ``error: ...`` and exits with status 2.
"""

from __future__ import annotations

import sys

from paradox_gym.cli import ArgumentParser, run_cli


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="train.py", description="Train a zoo agent and record it in the manifest.")
    parser.add_argument("--algo", required=True, help="PPO, A2C, DQN, SAC, TD3 or DDPG")
    parser.add_argument("--env", required=True, help="Gymnasium env id, e.g. CartPole-v1")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: hyperparams n_timesteps)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument("--out", default=None, help="agents directory (default: agents/ or $PARADOX_GYM_AGENTS)")
    parser.add_argument("--eval-episodes", type=int, default=20, help="evaluation episodes (default 20)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--force", action="store_true", help="replace an existing checkpoint of this algo and env")
    args = parser.parse_args(argv)

    from paradox_gym.cli import check_writable_dir
    from paradox_gym.errors import UserInputError
    from paradox_gym.zoo import check_algo_env, normalize_algo, train, validate_env_id

    algo = normalize_algo(args.algo)
    env_id = validate_env_id(args.env)
    if args.steps is not None and args.steps <= 0:
        raise UserInputError(f"--steps must be a positive integer, got {args.steps}")
    if args.seed < 0:
        raise UserInputError(f"--seed must be >= 0, got {args.seed}")
    if args.eval_episodes <= 0:
        raise UserInputError(f"--eval-episodes must be a positive integer, got {args.eval_episodes}")
    check_algo_env(algo, env_id)
    if args.out is not None:
        check_writable_dir(args.out)  # before training: a bad --out must not cost a training run
    import torch

    torch.set_num_threads(1)  # train() does this too; set before anything else starts threads
    entry = train(
        algo,
        env_id,
        steps=args.steps,
        seed=args.seed,
        progress=not args.no_progress,
        out_dir=args.out,
        eval_episodes=args.eval_episodes,
        log=lambda msg: print(msg, file=sys.stderr),
        overwrite=args.force,
    )
    ev = entry["eval"]
    print(
        f"{entry['file']}: {entry['algo']} on {entry['env_id']}, {entry['steps']} steps, seed {entry['seed']}: "
        f"return {ev['mean_return']:.1f} +/- {ev['std_return']:.1f} over {ev['episodes']} episodes "
        f"(mean length {ev['mean_length']:.0f}); trained in {entry['train_wall_s']:.0f} s; "
        f"{entry['size_bytes']} bytes; sha256 {entry['sha256'][:12]}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
