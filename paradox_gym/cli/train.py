"""``paradox-gym train`` (and ``scripts/train.py``): train a zoo agent, evaluate it, record it.

Hyperparameters come from the zoo's ``hyperparams/<algo>.yml``; ``--steps`` overrides ``n_timesteps``.
The checkpoint goes to the user's agents directory (``--out`` / ``--agents-dir``, else
``$PARADOX_GYM_AGENTS``, else ``$XDG_DATA_HOME/paradox_gym/agents``, by default
``~/.local/share/paradox_gym/agents``), never into the shipped agents; its
entry (return over 20 seeded deterministic episodes, library versions, sha256, hyperparameters, wall time
in s) is merged into that directory's ``manifest.json``. An existing checkpoint is replaced only with
``--force``, checked before training. The training is checkpointed as it goes
(``<agents dir>/training/<algo>-<env slug>/``); ``--resume`` continues it after the process was ended.
"""

from __future__ import annotations

import argparse
import sys

from paradox_gym._util.checks import check_int, integer_arg, path_arg
from paradox_gym._util.cli import ArgumentParser
from paradox_gym._util.files import ensure_writable_dir
from paradox_gym.errors import UserInputError
from paradox_gym.limits import MAX_EPISODES, MAX_SEED, MAX_TRAIN_STEPS
from paradox_gym.sb3 import ALGOS, check_algo_env, normalize_algo
from paradox_gym.zoo import agents_dir, train


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--algo", required=True, help=", ".join(ALGOS))
    p.add_argument("--env", required=True, help="Gymnasium env id, e.g. CartPole-v1")
    p.add_argument("--steps", type=integer_arg, default=None,
                   help=f"training steps (default: hyperparams n_timesteps; at most {MAX_TRAIN_STEPS})")
    p.add_argument("--seed", type=integer_arg, default=0, help=f"training seed (default 0; at most {MAX_SEED})")
    p.add_argument("--out", "--agents-dir", dest="out", type=path_arg, default=None, metavar="DIR",
                   help="agents directory to write to (default $PARADOX_GYM_AGENTS, else "
                        "$XDG_DATA_HOME/paradox_gym/agents, ~/.local/share/... where unset)")
    p.add_argument("--eval-episodes", type=integer_arg, default=20,
                   help=f"evaluation episodes (default 20; at most {MAX_EPISODES})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="replace an existing checkpoint of this algo and env")
    p.add_argument("--resume", action="store_true",
                   help="continue the unfinished training saved in <agents dir>/training/<algo>-<env>/")


def run(args: argparse.Namespace) -> int:
    algo = normalize_algo(args.algo)
    if args.steps is not None and not 0 < args.steps <= MAX_TRAIN_STEPS:
        raise UserInputError(f"--steps must be a positive integer (at most {MAX_TRAIN_STEPS}), got {args.steps}")
    check_int("--seed", args.seed, 0, MAX_SEED)
    check_int("--eval-episodes", args.eval_episodes, 1, MAX_EPISODES)
    check_algo_env(algo, args.env)
    ensure_writable_dir(agents_dir(args.out), "--out")  # before training: a bad --out must not cost a run
    import torch

    torch.set_num_threads(1)  # train() does this too; set before anything else starts threads
    entry = train(
        algo, args.env, steps=args.steps, seed=args.seed, progress=not args.no_progress, out_dir=args.out,
        eval_episodes=args.eval_episodes, log=lambda msg: print(msg, file=sys.stderr), overwrite=args.force,
        resume=args.resume,
    )
    ev = entry["eval"]
    print(
        f"{entry['file']}: {entry['algo']} on {entry['env_id']}, {entry['steps']} steps, seed {entry['seed']}: "
        f"return {ev['mean_return']:.1f} +/- {ev['std_return']:.1f} over {ev['episodes']} episodes "
        f"(mean length {ev['mean_length']:.0f}); trained in {entry['train_wall_s']:.0f} s; "
        f"{entry['size_bytes']} bytes; sha256 {entry['sha256'][:12]}; written to {agents_dir(args.out)}"
    )
    return 0


def build_parser(prog: str = "paradox-gym train") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description="Train a zoo agent and record it in the manifest.")
    add_arguments(parser)
    return parser
