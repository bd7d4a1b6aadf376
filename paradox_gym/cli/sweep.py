"""``paradox-gym sweep`` (and ``scripts/sweep.py``): a grid file -> one evaluation per cell -> job files ->
the study report. Resumable: re-running the same command skips finished jobs. Documented in docs/study.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from paradox_gym._util.checks import check_int, integer_arg, number_arg, path_arg
from paradox_gym._util.cli import ArgumentParser, one_line
from paradox_gym.limits import MAX_RAY_TIMEOUT_S, MAX_WORKERS
from paradox_gym.errors import UserInputError
from paradox_gym.study.executors import (EXECUTORS, RAY_JOIN_TIMEOUT_S, ExecutorOptions, check_ray_address,
                                         check_ray_timeout)
from paradox_gym.study.grid import load_grid
from paradox_gym.study.sweep import DEFAULT_ORDER, ORDERS, SweepEvent, run_sweep


def add_arguments(p: argparse.ArgumentParser) -> None:
    executors = "; ".join(f"{e.name}: {e.summary}" for e in EXECUTORS.values())
    p.add_argument("--grid", type=path_arg, required=True, metavar="GRID.yml",
                   help="the grid file (YAML; see docs/study.md)")
    p.add_argument("--out", type=path_arg, required=True, metavar="DIR", help="study directory (job files, report)")
    p.add_argument("--executor", default="serial", choices=tuple(EXECUTORS), help=f"how jobs run ({executors})")
    p.add_argument("--order", default=DEFAULT_ORDER, choices=tuple(ORDERS),
                   help="the order jobs are measured in (" + "; ".join(f"{k}: {v}" for k, v in ORDERS.items()) + ")")
    p.add_argument("--workers", type=integer_arg, default=None, metavar="N",
                   help=f"worker processes of --executor process (default: the CPU count; at most {MAX_WORKERS})")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="Ray cluster to join with --executor ray (default: start a local one, on 127.0.0.1 only)")
    p.add_argument("--ray-timeout", type=number_arg, default=None, metavar="S",
                   help=f"seconds to wait to join the --ray-address cluster (default {RAY_JOIN_TIMEOUT_S:g}; "
                        f"at most {MAX_RAY_TIMEOUT_S:g})")
    p.add_argument("--retry-failed", action="store_true", help="run failed jobs again (default: skip them)")
    p.add_argument("--force", action="store_true",
                   help="measure a grid whose shared settings differ from those DIR holds")
    p.add_argument("--agents-dir", type=path_arg, default=None, metavar="DIR", help="your agents directory (zoo agents)")
    p.add_argument("--return-margin", type=number_arg, default=None, metavar="K",
                   help="report: return kept when >= (1 - K) of the baseline's (default 0.10)")
    p.add_argument("--no-report", action="store_true", help="do not write the study report at the end")
    p.add_argument("--quiet", action="store_true", help="no progress lines; errors only")


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "ETA --:--:--"
    s = int(round(seconds))
    return f"ETA {s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def print_progress(event: SweepEvent) -> None:
    """One line per event on stderr: ``[done/total, failed] ETA message``."""
    if event.kind in ("plan", "finish"):
        print(f"sweep: {event.message}", file=sys.stderr, flush=True)
        return
    word = {"start": "running", "done": "done", "failed": "FAILED"}[event.kind]
    print(f"[{event.done}/{event.total} done, {event.failed} failed, {_clock(event.eta_s)}] {word} {event.message}",
          file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    if args.workers is not None:
        check_int("--workers", args.workers, 1, MAX_WORKERS)
    if args.ray_address is not None:
        if args.executor != "ray":
            raise UserInputError(f"--ray-address is for --executor ray, not {args.executor}")
        check_ray_address(args.ray_address)
    if args.ray_timeout is not None:
        if args.ray_address is None:
            raise UserInputError("--ray-timeout is for --ray-address (joining a Ray cluster)")
        check_ray_timeout(args.ray_timeout)
    if args.return_margin is not None:  # refused before the grid is read, not after the measurements
        from paradox_gym.study.report import check_margin

        check_margin(args.return_margin)
    if args.agents_dir is not None and os.path.exists(args.agents_dir) and not os.path.isdir(args.agents_dir):
        raise UserInputError(f"--agents-dir {args.agents_dir!r} is not a directory")
    grid = load_grid(args.grid, agents_dir=args.agents_dir)
    summary = run_sweep(
        grid, args.out, executor=args.executor, order=args.order,
        options=ExecutorOptions(workers=args.workers, ray_address=args.ray_address,
                                ray_timeout_s=RAY_JOIN_TIMEOUT_S if args.ray_timeout is None else args.ray_timeout),
        retry_failed=args.retry_failed, force=args.force, progress=None if args.quiet else print_progress,
        grid_file=str(args.grid), command=[Path(sys.argv[0]).name, *sys.argv[1:]],
        report=not args.no_report, return_margin=args.return_margin,
        warn=lambda line: print(f"warning: {one_line(line)}", file=sys.stderr, flush=True),
    )
    if not args.quiet and summary.report:
        print(f"study report: {summary.report.get('study_md')}")
    return 1 if summary.failed else 0


def build_parser(prog: str = "paradox-gym sweep") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description="Measure every cell of a grid (agents x methods x amounts), "
                                                   "resumably, and write the study report.")
    add_arguments(parser)
    return parser
