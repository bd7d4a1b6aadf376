"""``paradox-gym crossover``: where compression starts to pay, over policy width x batch x method x runtime.

    paradox-gym crossover --widths 64,1024 --batches 1,256 --methods ptdq --runtimes torch --out DIR
    paradox-gym crossover --compare DIR_A DIR_B [--out DIR]

Parse -> :func:`paradox_gym.crossover` (or :func:`paradox_gym.crossover.compare_maps`) -> print. Resumable:
the same command on the same ``--out`` measures only the jobs not yet finished. Documented in
docs/crossover.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from paradox_gym._util.checks import integer_arg, number_arg, path_arg
from paradox_gym._util.cli import ArgumentParser
from paradox_gym.crossover.settings import MAP_RUNTIMES, SYNTHETIC_ALGOS, CrossoverSettings
from paradox_gym.errors import UserInputError
from paradox_gym.limits import MAX_WORKERS
from paradox_gym.study.executors import EXECUTORS, ExecutorOptions, check_ray_address

def _ints(text: str) -> tuple[int, ...]:
    """argparse ``type=``: comma-separated integers (``64,256,1024``)."""
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"{text!r} names no integer (e.g. 64,256,1024)")
    return tuple(integer_arg(p) for p in parts)


def _names(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _agent(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an --agent is LABEL=WIDTH[@BATCH], a zip or run folder, or ALGO:ENV_ID")
    return text


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = CrossoverSettings()
    executors = "; ".join(f"{e.name}: {e.summary}" for e in EXECUTORS.values())
    p.add_argument("--widths", type=_ints, default=d.widths, metavar="W,W,...",
                   help=f"hidden widths (default {','.join(map(str, d.widths))})")
    p.add_argument("--batches", type=_ints, default=d.batches, metavar="B,B,...",
                   help=f"observations per forward pass (default {','.join(map(str, d.batches))})")
    p.add_argument("--methods", type=_names, default=None, metavar="M,M,...",
                   help="compression methods (default ptdq,ptsq; on cuda fp16,prune-structured; fp16 and bf16 "
                        "are GPU casts)")
    p.add_argument("--runtimes", type=_names, default=None, metavar="R,R,...",
                   help=f"runtimes among {', '.join(MAP_RUNTIMES)} (default {','.join(d.runtimes)}, on cuda torch; "
                        "sb3 at batch 1 only)")
    p.add_argument("--depth", type=integer_arg, default=d.depth, help=f"hidden layers (default {d.depth})")
    p.add_argument("--env", default=d.env_id, metavar="ENV_ID",
                   help=f"environment whose spaces shape the policy and whose episodes give the observations "
                        f"(default {d.env_id})")
    p.add_argument("--algo", default=d.algo, choices=SYNTHETIC_ALGOS, help=f"SB3 layout (default {d.algo})")
    p.add_argument("--amount", type=number_arg, default=d.amount, help="fraction removed by pruning methods")
    p.add_argument("--replicates", type=integer_arg, default=d.replicates,
                   help=f"fresh processes per job (default {d.replicates})")
    p.add_argument("--rounds", type=integer_arg, default=d.rounds,
                   help=f"balanced rounds per replicate and batch (default {d.rounds})")
    p.add_argument("--trial-s", type=number_arg, default=None, metavar="S",
                   help="seconds of float work per trial (default 0.1 on the CPU, 1.0 on cuda)")
    p.add_argument("--threads", type=integer_arg, default=d.threads, help="torch / ONNX Runtime threads (default 1)")
    p.add_argument("--seed", type=integer_arg, default=d.seed, help="weights and observations (default 0)")
    p.add_argument("--device", default=d.device, choices=("cpu", "cuda"),
                   help="cuda: torch cells on the GPU, NVML energy net of idle (default cpu)")
    p.add_argument("--cpu-tdp", type=number_arg, default=None, metavar="W",
                   help="TDP of one CPU package for the CPU-time model (default: CodeCarbon's table)")
    p.add_argument("--agent", type=_agent, action="append", default=[], metavar="AGENT[@BATCH]",
                   help="mark a real agent's width and batch on the map (repeatable): LABEL=WIDTH, a zip or an "
                        "rl-zoo3 run folder, or ALGO:ENV_ID for a zoo agent; @BATCH: observations per predict "
                        "(default 1)")
    p.add_argument("--out", type=path_arg, default=None, metavar="DIR",
                   help="map directory: jobs, table, heatmap, summary (required to measure)")
    p.add_argument("--compare", type=path_arg, nargs=2, default=None, metavar=("A", "B"),
                   help="overlay two saved maps (directories or crossover.json) instead of measuring")
    p.add_argument("--executor", default="serial", choices=tuple(EXECUTORS), help=f"how jobs run ({executors})")
    p.add_argument("--workers", type=integer_arg, default=None, metavar="N",
                   help=f"worker processes of --executor process (at most {MAX_WORKERS})")
    p.add_argument("--ray-address", default=None, metavar="ADDR", help="Ray cluster to join with --executor ray")
    p.add_argument("--retry-failed", action="store_true", help="run failed jobs again")
    p.add_argument("--force", action="store_true", help="measure into a DIR that holds another map's jobs")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    if args.compare is not None:
        from paradox_gym.crossover import compare_maps

        lines, files = compare_maps(args.compare[0], args.compare[1], args.out)
        print("\n".join(lines))
        for name, path in files.items():
            print(f"{name}: {path}")
        return 0
    if args.out is None:
        raise UserInputError("--out DIR is required to measure a map (or --compare A B to overlay two)")
    if args.ray_address is not None:
        if args.executor != "ray":
            raise UserInputError(f"--ray-address is for --executor ray, not {args.executor}")
        check_ray_address(args.ray_address)
    from paradox_gym.cli.sweep import print_progress
    from paradox_gym.crossover import crossover
    from paradox_gym.crossover.marks import agent_mark
    from paradox_gym.crossover.settings import DEFAULT_GPU_METHODS, DEFAULT_METHODS

    methods = args.methods or (DEFAULT_GPU_METHODS if args.device == "cuda" else DEFAULT_METHODS)
    runtimes = args.runtimes or (("torch",) if args.device == "cuda" else CrossoverSettings().runtimes)
    settings = CrossoverSettings(
        widths=args.widths, batches=args.batches, methods=methods, runtimes=runtimes, depth=args.depth,
        env_id=args.env, algo=args.algo, amount=args.amount, replicates=args.replicates, rounds=args.rounds,
        trial_s=args.trial_s, threads=args.threads, seed=args.seed, device=args.device, cpu_tdp_w=args.cpu_tdp,
        agents=tuple(agent_mark(a) for a in args.agent))
    result = crossover(settings, out=args.out, executor=args.executor,
                       options=ExecutorOptions(workers=args.workers, ray_address=args.ray_address),
                       retry_failed=args.retry_failed, force=args.force,
                       progress=None if args.quiet else print_progress,
                       command=[Path(sys.argv[0]).name, *sys.argv[1:]])
    print(result.report())
    for name, path in result.run.get("files", {}).items():
        print(f"{name}: {path}")
    return 1 if result.failed else 0


def build_parser(prog: str = "paradox-gym crossover") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description="Map where compression pays: energy per decision of compressed "
                                                   "vs float policies over width x batch x method x runtime.")
    add_arguments(parser)
    return parser
