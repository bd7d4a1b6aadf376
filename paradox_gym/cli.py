"""Command-line plumbing shared by ``scripts/*.py``: one-line errors and the ``evaluate`` command.

- :class:`ArgumentParser`: an ``argparse.ArgumentParser`` whose errors are one line (``error: ...``) on
  stderr and exit status 2.
- :func:`run_cli`: runs a ``main()`` callable; a :class:`~paradox_gym.errors.ParadoxGymError` becomes one
  line ``error: <message>`` on stderr and exit status 2 (no traceback); ``KeyboardInterrupt`` exits 130.
- :func:`evaluate_main`: ``scripts/evaluate.py`` (see docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

from paradox_gym.configurations import build_agents, load_model
from paradox_gym.errors import ParadoxGymError, UserInputError
from paradox_gym.files import ensure_writable_dir

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEFAULT_EPISODES = 10
DEFAULT_TRIALS = 5
DEFAULT_WARMUP = 2
DEFAULT_AMOUNT = 0.5
DEFAULT_THREADS = 1


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors print one line ``error: ...`` and exit with status 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def fail(message: str) -> NoReturn:
    """Print ``error: message`` (one line) on stderr and exit with status 2."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def run_cli(main: Callable[[], int | None]) -> int:
    """Run ``main()`` and return its exit status, turning user errors into one line and status 2.

    ``ParadoxGymError`` (any user mistake) -> ``error: <message>`` on stderr, 2;
    ``KeyboardInterrupt`` -> ``interrupted`` on stderr, 130. Anything else is a bug and propagates.
    """
    try:
        status = main()
        return int(status or 0)
    except ParadoxGymError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


# ---------------------------------------------------------------------------------------------------
# scripts/evaluate.py
# ---------------------------------------------------------------------------------------------------
def build_evaluate_parser() -> ArgumentParser:
    """The argument parser of ``scripts/evaluate.py`` (every option is documented in docs/evaluation.md)."""
    p = ArgumentParser(
        prog="evaluate.py",
        description="Does compressing an RL policy save energy, memory and time? Measure it, with error bars.",
    )
    p.add_argument("--env", default="CartPole-v1", help="Gymnasium env id (default CartPole-v1)")
    p.add_argument("--algo", default=None, help="PPO, A2C, DQN, SAC, TD3 or DDPG (default: the zoo's for --env)")
    p.add_argument("--agent", default=None, metavar="PATH", help="your own SB3 zip (loaded without unpickling)")
    p.add_argument("--train-missing", action="store_true",
                   help="train the zoo agent for --env/--algo first if it is not shipped (zoo hyperparameters)")
    p.add_argument("--compress", default="ptdq",
                   help="compression methods, comma separated; the baseline 'none' is always included (default ptdq)")
    p.add_argument("--amount", type=float, default=DEFAULT_AMOUNT, help="pruning amount in [0, 1) (default 0.5)")
    p.add_argument("--episodes", type=int, default=DEFAULT_EPISODES, help=f"episodes per trial (default {DEFAULT_EPISODES})")
    p.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help=f"trials per configuration (default {DEFAULT_TRIALS})")
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help=f"warm-up episodes per configuration (default {DEFAULT_WARMUP})")
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    p.add_argument("--meters", default=None,
                   help="energy meters, comma separated (default: cpu-model plus rapl/nvml where available)")
    p.add_argument("--cpu-tdp", type=float, default=None, metavar="W", help="CPU TDP in W per package for cpu-model")
    p.add_argument("--no-codecarbon", action="store_true", help="skip the CodeCarbon cross-check")
    p.add_argument("--out", default=None, metavar="DIR", help="output directory (default results/<time>-<env>/)")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch threads (default 1)")
    p.add_argument("--no-memory", action="store_true", help="skip the fresh-process memory probe")
    p.add_argument("--phase-clock", default="wall", choices=("wall", "cpu"),
                   help="per-step clock of the phase split: wall (cheapest, default) or cpu (per-thread CPU time)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout (and nothing else)")
    p.add_argument("--quiet", action="store_true", help="no progress bar; errors only")
    return p


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def check_writable_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` if needed and prove a file can be written there; UserInputError naming --out otherwise."""
    return ensure_writable_dir(path, "--out")


def default_out_dir(env_id: str) -> Path:
    from paradox_gym.zoo import env_slug

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"{stamp}-{env_slug(env_id)}"


def settings_from_args(args: argparse.Namespace) -> tuple[Any, Path]:
    """Validate parsed arguments (cheap checks first, nothing slow) -> (EvalSettings, output directory)."""
    from paradox_gym.compression import METHODS
    from paradox_gym.compression.methods import ALIASES
    from paradox_gym.energy import METER_NAMES, default_meter_names
    from paradox_gym.energy.meters import check_cpu_tdp
    from paradox_gym.evaluation import EvalSettings
    from paradox_gym.zoo import check_algo_env, default_algo, make_env, normalize_algo, validate_env_id

    for name, minimum in (("episodes", 1), ("trials", 1), ("warmup", 0), ("threads", 1), ("seed", 0)):
        value = getattr(args, name)
        if value < minimum:
            raise UserInputError(f"--{name} must be an integer >= {minimum}, got {value}")
    if not (0.0 <= args.amount < 1.0):
        raise UserInputError(f"--amount must be in [0, 1), got {args.amount}")
    check_cpu_tdp(args.cpu_tdp)
    methods = ["none"]
    for m in _split(args.compress):
        m = ALIASES.get(m, m)
        if m not in METHODS:
            raise UserInputError(
                f"unknown compression method {m!r}; valid: {', '.join(METHODS)} (alias: {', '.join(ALIASES)})"
            )
        if m not in methods:
            methods.append(m)
    meters = _split(args.meters) if args.meters is not None else default_meter_names()
    if not meters:
        raise UserInputError(f"--meters is empty; valid meters: {', '.join(METER_NAMES)}")
    for m in meters:
        if m not in METER_NAMES:
            raise UserInputError(f"unknown meter {m!r}; valid meters: {', '.join(METER_NAMES)}")
    if len(set(meters)) != len(meters):
        raise UserInputError(f"--meters lists a meter twice: {','.join(meters)}")
    if not [m for m in meters if m != "codecarbon"]:
        raise UserInputError(
            f"--meters {args.meters!r} has no energy meter: codecarbon is only the cross-check; add one of "
            f"{', '.join(m for m in METER_NAMES if m != 'codecarbon')}"
        )
    if args.no_codecarbon:
        meters = [m for m in meters if m != "codecarbon"]
    elif "codecarbon" not in meters:
        meters.append("codecarbon")
    env_id = validate_env_id(args.env)
    make_env(env_id).close()  # a missing dependency (MuJoCo, Box2D) is reported before anything else
    algo: str | None
    if args.algo is not None:
        algo = normalize_algo(args.algo)
        check_algo_env(algo, env_id)
    elif args.agent is not None:
        algo = None  # read from the zip by zoo.load_zip
    else:
        algo = default_algo(env_id)
    agent_path = None
    if args.agent is not None:
        agent_path = str(Path(args.agent))
        if not Path(agent_path).exists():
            from paradox_gym.errors import AgentNotFoundError

            raise AgentNotFoundError(f"--agent file {agent_path!r} does not exist")
        if not Path(agent_path).is_file():
            raise UserInputError(f"--agent {agent_path!r} is not a file (expected an SB3 agent zip)")
    out = check_writable_dir(args.out if args.out is not None else default_out_dir(env_id))
    settings = EvalSettings(
        env_id=env_id, algo=algo, methods=methods, amount=float(args.amount), episodes=args.episodes,
        trials=args.trials, warmup=args.warmup, seed=args.seed, meters=meters, cpu_tdp_w=args.cpu_tdp,
        threads=args.threads, memory=not args.no_memory, agent_path=agent_path,
        phase_clock=args.phase_clock,
    )
    return settings, out


def _log(quiet: bool) -> Callable[[str], None]:
    def log(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    return log


def evaluate(args: argparse.Namespace) -> int:
    """The evaluate command: validate -> load -> compress -> memory -> energy trials -> analysis -> report."""
    import json

    import torch

    from paradox_gym import analysis as an
    from paradox_gym import report
    from paradox_gym.evaluation import measure_memory, run_evaluation

    started = time.perf_counter()
    quiet = args.quiet or args.json
    log = _log(quiet)
    settings, out = settings_from_args(args)
    torch.set_num_threads(settings.threads)

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if args.train_missing and settings.agent_path is None:
        from paradox_gym.zoo import agents_dir, checkpoint_name

        if not (agents_dir() / checkpoint_name(settings.algo, settings.env_id)).is_file():
            log(f"no {settings.algo} agent for {settings.env_id} in the zoo: training one (--train-missing) ...")
    model = load_model(settings.env_id, settings.algo, settings.agent_path, train_if_missing=args.train_missing)
    settings.algo = type(model).__name__  # the SB3 class: PPO, A2C, DQN, SAC, TD3 or DDPG
    timings["load_s"] = time.perf_counter() - t0
    log(f"loaded {settings.algo} agent for {settings.env_id}; compressing: {', '.join(settings.methods[1:]) or '(baseline only)'}")
    t0 = time.perf_counter()
    agents = build_agents(model, settings.methods, amount=settings.amount, env_id=settings.env_id, seed=settings.seed)
    timings["compress_s"] = time.perf_counter() - t0
    footprints = {m: a.footprint.to_dict() for m, a in agents.items()}
    baseline_fp = agents["none"].baseline_footprint.to_dict()
    recipes = {m: a.recipe for m, a in agents.items()}

    memory: dict[str, dict[str, Any]] | None = None
    t0 = time.perf_counter()
    if settings.memory:
        log(f"memory probe: one fresh process per configuration ({', '.join(settings.methods)}) ...")
        memory = measure_memory(settings, settings.methods)
    timings["memory_s"] = time.perf_counter() - t0

    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=settings.trials * len(agents), desc="trials", unit="trial", file=sys.stderr, leave=False)
    try:
        run = run_evaluation(agents, settings, on_trial=(lambda _r: bar.update(1)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()

    timings["evaluation_s"] = run.elapsed_s
    t0 = time.perf_counter()
    result_analysis = an.analyse(
        run.trials, meter=run.primary_meter, crosscheck_meter=run.crosscheck_meter,
        footprints=footprints, memory=memory, seed=settings.seed,
    )
    if run.interrupted:
        done = min((len(v) for v in run.trials.values()), default=0)
        result_analysis.notes.insert(0, f"interrupted: {done} of {settings.trials} trial rounds finished; "
                                        "only whole trials are analysed")
    result = report.build_result(
        settings=settings, run=run, analysis=result_analysis, footprints=footprints,
        baseline_footprint=baseline_fp, recipes=recipes, memory=memory, out=out,
        elapsed_s=time.perf_counter() - started,
    )
    files = report.write_outputs(out, result, run, result_analysis)
    timings["analysis_report_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - started
    result["files"] = files
    result["timings_s"] = timings
    report.write_json_atomic(out / "result.json", result)  # again, now with the file list
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
    elif not args.quiet:
        print(report.format_report(result_analysis, settings=settings, interrupted=run.interrupted))
        print(f"\nfiles written to {out}/ in {time.perf_counter() - started:.1f} s")
    if run.interrupted:
        print(f"interrupted: partial results (whole trials only) written to {out}/", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``scripts/evaluate.py``; returns the exit status (0, 2 on bad input, 130 on Ctrl-C)."""
    parser = build_evaluate_parser()

    def _main() -> int:
        args = parser.parse_args(argv)
        return evaluate(args)

    try:
        return run_cli(_main)
    except SystemExit as exc:  # argparse (--help exits 0, errors 2)
        return int(exc.code or 0)
