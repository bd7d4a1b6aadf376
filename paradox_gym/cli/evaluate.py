"""``paradox-gym evaluate`` (and ``scripts/evaluate.py``): parse -> EvalSettings -> evaluate -> print.

Every option is documented in docs/evaluation.md. Bad input: one line ``error: ...``, exit status 2.
Ctrl-C during the trials: whole trials are kept and written, exit status 130.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

from paradox_gym._util.checks import integer_arg, number_arg
from paradox_gym._util.cli import EXIT_INTERRUPTED, EXIT_USAGE, ArgumentParser, one_line
from paradox_gym.compression import ALIASES, METHOD_TABLE
from paradox_gym.compression.qat import DEFAULT_QAT_STEPS
from paradox_gym.compression.runtimes import RUNTIME_TABLE
from paradox_gym.energy.devices import DEFAULT_ENERGY_SCOPE, ENERGY_SCOPES
from paradox_gym.energy.meters import METER_NAMES
from paradox_gym.energy.placement import DEFAULT_DEVICE, POLICY_DEVICES
from paradox_gym.experiment.settings import (
    DEFAULT_AMOUNT,
    DEFAULT_EPISODES,
    DEFAULT_MARGIN,
    DEFAULT_REPLICATES,
    DEFAULT_RETURN_MARGIN,
    DEFAULT_THREADS,
    DEFAULT_TRIALS,
    DEFAULT_WARMUP,
    PHASE_CLOCKS,
    EvalSettings,
    SettingsError,
)
from paradox_gym.limits import MAX_EPISODES, MAX_REPLICATES, MAX_SEED, MAX_THREADS, MAX_TRIALS, MAX_WARMUP
from paradox_gym.pipeline import Progress, evaluate
from paradox_gym.zoo import env_slug


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``evaluate`` (shared by the console command and ``scripts/evaluate.py``)."""
    methods = ", ".join(f"{m.name} ({m.summary})" for m in METHOD_TABLE.values() if m.name != "none")
    p.add_argument("--env", default=None,
                   help="Gymnasium env id (default: what --agent's rl-zoo3 run folder says, else CartPole-v1)")
    p.add_argument("--algo", default=None, help="PPO, A2C, DQN, SAC, TD3, DDPG, TRPO, TQC or QRDQN (default: the zoo's for --env, or read from --agent)")
    p.add_argument("--agent", default=None, metavar="PATH",
                   help="your own SB3 / sb3-contrib zip (loaded without unpickling), or an rl-zoo3 run folder "
                        "(logs/ppo/Hopper-v4_1/: env, env_kwargs and normalisation read from its config)")
    p.add_argument("--best", action="store_true", help="with an rl-zoo3 run folder: load its best_model.zip")
    p.add_argument("--vecnormalize", default=None, metavar="PATH",
                   help="VecNormalize statistics (vecnormalize.pkl; read without unpickling; default: found "
                        "beside the zip or in its run folder), applied to every configuration alike")
    p.add_argument("--no-vecnormalize", action="store_true",
                   help="evaluate on raw observations even if the agent was trained with VecNormalize")
    p.add_argument("--stochastic", action="store_true",
                   help="sample actions (seeded per episode) instead of the deterministic action (the default)")
    p.add_argument("--agents-dir", default=None, metavar="DIR",
                   help="your agents directory (default $PARADOX_GYM_AGENTS or ~/.local/share/paradox_gym/agents)")
    p.add_argument("--train-missing", action="store_true",
                   help="train the zoo agent for --env/--algo first if it is not shipped (zoo hyperparameters)")
    p.add_argument("--compress", default="ptdq",
                   help=f"compression methods, comma separated; the baseline 'none' is always included "
                        f"(default ptdq). Methods: {methods}; aliases: {', '.join(ALIASES)}")
    p.add_argument("--amount", type=number_arg, default=DEFAULT_AMOUNT, help="pruning amount in [0, 1) (default 0.5)")
    p.add_argument("--runtime", default="sb3",
                   help="inference runtimes, comma separated (default sb3); each method runs on each, as "
                        "'<runtime>:<method>' beyond sb3, compared with its runtime's float baseline. Runtimes: "
                        + ", ".join(f"{r.name} ({r.summary})" for r in RUNTIME_TABLE.values()))
    p.add_argument("--qat-steps", type=integer_arg, default=DEFAULT_QAT_STEPS,
                   help=f"fine-tuning steps of --compress qat (distillation, batch 64; default {DEFAULT_QAT_STEPS})")
    p.add_argument("--episodes", type=integer_arg, default=DEFAULT_EPISODES,
                   help=f"episodes per trial (default {DEFAULT_EPISODES}; at most {MAX_EPISODES})")
    p.add_argument("--trials", type=integer_arg, default=DEFAULT_TRIALS,
                   help=f"trials per configuration (default {DEFAULT_TRIALS}; at most {MAX_TRIALS})")
    p.add_argument("--warmup", type=integer_arg, default=DEFAULT_WARMUP,
                   help=f"warm-up episodes per configuration (default {DEFAULT_WARMUP}; at most {MAX_WARMUP})")
    p.add_argument("--seed", type=integer_arg, default=0,
                   help=f"seed of the first episode (default 0; at most {MAX_SEED})")
    p.add_argument("--meters", default=None,
                   help=f"energy meters, comma separated: {', '.join(METER_NAMES)} "
                        f"(default: cpu-model plus rapl/nvml where available)")
    p.add_argument("--cpu-tdp", type=number_arg, default=None, metavar="W",
                   help="CPU TDP in W per package for cpu-model")
    p.add_argument("--no-codecarbon", action="store_true", help="skip the CodeCarbon cross-check")
    p.add_argument("--out", default=None, metavar="DIR", help="output directory (default results/<time>-<env>/)")
    p.add_argument("--threads", type=integer_arg, default=DEFAULT_THREADS,
                   help=f"torch threads (default 1; at most {MAX_THREADS})")
    p.add_argument("--no-memory", action="store_true", help="skip the fresh-process memory probe")
    p.add_argument("--phase-clock", default="wall", choices=PHASE_CLOCKS,
                   help="per-step clock of the phase split: wall (cheapest, default) or cpu (per-thread CPU time)")
    p.add_argument("--replicates", type=integer_arg, default=DEFAULT_REPLICATES,
                   help=f"independent replicates, each a fresh process (default {DEFAULT_REPLICATES}; "
                        f"at most {MAX_REPLICATES})")
    p.add_argument("--no-control", action="store_true",
                   help="skip the A/A control (none-copy, a second copy of the baseline measured like the others)")
    p.add_argument("--margin", type=number_arg, default=DEFAULT_MARGIN,
                   help=f"energy equivalence margin as a fraction (default {DEFAULT_MARGIN}: +-5%%)")
    p.add_argument("--return-margin", type=number_arg, default=DEFAULT_RETURN_MARGIN,
                   help=f"return is kept when its ratio's lower bound >= 1 - this (default {DEFAULT_RETURN_MARGIN})")
    p.add_argument("--device", default=DEFAULT_DEVICE, choices=POLICY_DEVICES,
                   help="where the policy runs (default cpu); cuda runs none, prune and prune-structured")
    p.add_argument("--energy-scope", default=DEFAULT_ENERGY_SCOPE, choices=ENERGY_SCOPES,
                   help="devices the headline energy sums: total (default: every device measured), cpu or gpu")
    p.add_argument("--country", default=None, metavar="ISO3",
                   help="country for the CO2e estimate per 1000 episodes (CodeCarbon's offline data; "
                        "default: the world average)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout (and nothing else)")
    p.add_argument("--quiet", action="store_true", help="no progress bar; errors only")


def default_out_dir(env_id: str) -> Path:
    """``results/<YYYYmmdd-HHMMSS>-<env slug>`` (``-2``, ``-3``, ... appended if that exists already: two
    runs started in the same second never share a directory)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("results") / f"{stamp}-{env_slug(env_id)}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def settings_from_args(args: argparse.Namespace) -> EvalSettings:
    """Parsed arguments -> validated EvalSettings (the output directory defaults to results/<time>-<env>)."""
    try:
        if args.out is not None:
            return _settings(args, args.out)
        settings = _settings(args, None)  # the env may come from the agent's run folder
        return settings.replace(out=str(default_out_dir(settings.env_id)))
    except SettingsError as exc:
        raise exc.with_label(FLAGS.get(exc.field, exc.field)) from None


#: EvalSettings field -> the flag that sets it (for error messages).
FLAGS: dict[str, str] = {"episodes": "--episodes", "trials": "--trials", "warmup": "--warmup",
                         "threads": "--threads", "seed": "--seed", "amount": "--amount", "cpu_tdp_w": "--cpu-tdp",
                         "replicates": "--replicates", "margin": "--margin", "return_margin": "--return-margin"}


FLAGS.update({"env_id": "--env", "vecnormalize_path": "--vecnormalize", "best": "--best",
              "no_vecnormalize": "--no-vecnormalize", "stochastic": "--stochastic"})
FLAGS.update({"out": "--out", "agent_path": "--agent", "agents_dir": "--agents-dir"})
FLAGS.update({"device": "--device", "energy_scope": "--energy-scope", "country": "--country"})
FLAGS.update({"qat_steps": "--qat-steps", "methods": "--compress", "runtimes": "--runtime", "meters": "--meters",
              "phase_clock": "--phase-clock"})


def _settings(args: argparse.Namespace, out: str | Path | None) -> EvalSettings:
    return EvalSettings(
        env_id=args.env, algo=args.algo, agent_path=args.agent, methods=args.compress, amount=args.amount,
        episodes=args.episodes, trials=args.trials, warmup=args.warmup, seed=args.seed, meters=args.meters,
        cpu_tdp_w=args.cpu_tdp, codecarbon=not args.no_codecarbon, memory=not args.no_memory,
        threads=args.threads, phase_clock=args.phase_clock, train_missing=args.train_missing,
        agents_dir=args.agents_dir, out=None if out is None else str(out), runtimes=args.runtime,
        qat_steps=args.qat_steps, vecnormalize_path=args.vecnormalize, no_vecnormalize=args.no_vecnormalize,
        best=args.best, stochastic=args.stochastic,
        replicates=args.replicates, control=not args.no_control, margin=args.margin,
        return_margin=args.return_margin, device=args.device, energy_scope=args.energy_scope, country=args.country,
    )


class _ProgressBar:
    """Progress on stderr: one line per stage, a tqdm bar over the trials."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, event: Progress) -> None:
        if event.stage == "trials":
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=event.total, desc="trials", unit="trial", file=sys.stderr, leave=False)
            self.bar.n = event.done
            self.bar.refresh()
            return
        self.close()
        print(event.message + " ...", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run(args: argparse.Namespace) -> int:
    """The evaluate command: validate -> evaluate (writes the files) -> print."""
    settings = settings_from_args(args)
    quiet = args.quiet or args.json
    bar = None if quiet else _ProgressBar()
    try:
        result = evaluate(settings, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    elif not args.quiet:
        print(result.report())
        if "result_json" in result.files:
            print(f"\nfiles written to {settings.out}/ in {result.timings_s.get('total_s', 0.0):.1f} s")
    kept = (f"{result.trials_kept} whole trial(s) written to {settings.out}/"
            if "result_json" in result.files else "the report above is all that was kept")
    if result.status == "interrupted":
        print(f"interrupted: partial results ({kept})", file=sys.stderr)
        return EXIT_INTERRUPTED
    if result.status == "failed":
        print(f"error: {one_line(result.error)} ({kept}, status failed)", file=sys.stderr)
        return EXIT_USAGE
    return 0


def build_parser(prog: str = "paradox-gym evaluate") -> ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description="Does compressing an RL policy save energy, memory and time? Measure it, with error bars.",
    )
    add_arguments(parser)
    return parser
