"""``paradox-gym evaluate`` (and ``scripts/evaluate.py``): parse -> EvalSettings -> evaluate -> print.

Every option is documented in docs/evaluation.md. Bad input: one line ``error: ...``, exit status 2.
Ctrl-C during the trials: whole trials are kept and written, exit status 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any, Callable

from paradox_gym._util.checks import integer_arg, number_arg, threads_warning
from paradox_gym._util.cli import EXIT_INTERRUPTED, EXIT_USAGE, ArgumentParser, one_line
from paradox_gym.experiment.settings import EvalSettings, SettingsError, flags, settings_of
from paradox_gym.pipeline import evaluate
from paradox_gym.report.progress import ProgressBar
from paradox_gym.zoo import env_slug


_TYPES: dict[str, Callable[[str], Any]] = {"int": integer_arg, "number": number_arg, "str": str, "names": str,
                                           "choice": str}


def add_setting_arguments(p: argparse.ArgumentParser, cls: type = EvalSettings) -> None:
    """One option per declared setting of ``cls`` (:class:`~paradox_gym.experiment.settings.Setting`): the
    flag, help, type, choices and default all come from the field's declaration."""
    for f in dataclasses.fields(cls):
        declared = f.metadata.get("setting")
        if declared is None or declared.flag is None:
            continue
        default = ",".join(f.default) if isinstance(f.default, tuple) else f.default
        bounds = f" (at most {declared.bounds[1]})" if declared.bounds else ""
        if declared.kind in ("flag", "no-flag"):
            p.add_argument(declared.flag, dest=f.name, default=f.default, help=declared.help,
                           action="store_true" if declared.kind == "flag" else "store_false")
            continue
        p.add_argument(declared.flag, dest=f.name, default=default, type=_TYPES[declared.kind],
                       choices=declared.choices, metavar=declared.metavar,
                       help=f"{declared.help}{bounds}" + ("" if default is None else f" [default: {default}]"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``evaluate`` (shared by the console command and ``scripts/evaluate.py``): one per
    declared setting, then the output options."""
    add_setting_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout (and nothing else)")
    p.add_argument("--details", action="store_true",
                   help="print the whole report (tables, notes, decomposition, checks), not only the first screen")
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
    """Parsed arguments -> validated, resolved EvalSettings (the output directory defaults to
    results/<time>-<env>, the env being known only once the agent is resolved)."""
    values = {name: getattr(args, name) for name in settings_of() if hasattr(args, name)}
    try:
        settings = EvalSettings(**values).resolve()
    except SettingsError as exc:
        raise exc.with_label(FLAGS.get(exc.field, exc.field)) from None
    if settings.out is None:
        settings = dataclasses.replace(settings, out=str(default_out_dir(settings.env_id or "run")))
    return settings


#: EvalSettings field -> the flag that sets it (for error messages).
FLAGS: dict[str, str] = flags()


def run(args: argparse.Namespace) -> int:
    """The evaluate command: validate -> evaluate (writes the files) -> print."""
    settings = settings_from_args(args)
    if (threads_note := threads_warning(settings.threads)) is not None:
        print(f"warning: {threads_note}", file=sys.stderr)
    quiet = args.quiet or args.json
    bar = None if quiet else ProgressBar()
    try:
        result = evaluate(settings, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    elif not args.quiet:
        print(result.report(details=args.details))
        if "result_json" in result.files:
            print(f"files written to {settings.out}/ in {result.timings_s.get('total_s', 0.0):.1f} s")
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
