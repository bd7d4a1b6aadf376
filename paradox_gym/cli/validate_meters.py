"""``paradox-gym validate-meters`` (and ``scripts/validate_meters.py``): calibrated workloads through every
available meter and its references, at window lengths from 0.05 s to 5 s; prints the agreement table and,
per meter, the shortest window it can be trusted at (see docs/methodology.md).

With ``--save`` the result is written to ``$PARADOX_GYM_METER_VALIDATION`` (default
``$XDG_DATA_HOME/paradox_gym/meter-validation.json``, ``~/.local/share/...`` where it is
unset); the evaluation then flags trial windows shorter than this machine's trustworthy window of a meter.
"""

from __future__ import annotations

import argparse
import json
import sys

from paradox_gym._util.checks import number_arg, shown
from paradox_gym._util.cli import ArgumentParser
from paradox_gym.energy.validation import (
    DEFAULT_TOLERANCE,
    DEFAULT_WINDOWS_S,
    WORKLOADS,
    save_validation,
    validate_meters,
)
from paradox_gym.errors import UserInputError
from paradox_gym.limits import MAX_METER_WINDOWS


def _floats(text: str) -> list[float]:
    items = [v for v in text.split(",", MAX_METER_WINDOWS + 1) if v.strip()]
    if len(items) > MAX_METER_WINDOWS:
        raise UserInputError(f"--windows lists more than {MAX_METER_WINDOWS} window lengths")
    try:
        return [number_arg(v) for v in items]
    except argparse.ArgumentTypeError:
        raise UserInputError(f"--windows must be seconds separated by commas, e.g. 0.05,1,5; got {shown(text)}") \
            from None


def _list(text: str | None, option: str, valid: list[str] | tuple[str, ...]) -> list[str] | None:
    """A comma-separated option: None when not given; its names, each once, in order; an option given with
    no name at all is refused (it would otherwise mean "all" without saying so)."""
    if text is None:
        return None
    names = list(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    if not names:
        raise UserInputError(f"{option} names nothing, got {shown(text)}; valid: {', '.join(valid)} (leave it out "
                             "for all)")
    return names


def _check_meters(names: list[str] | None) -> None:
    """Named meters must be energy meters available here (a reference such as codecarbon is added by
    itself; an unavailable meter would leave nothing to validate)."""
    if names is None:
        return
    from paradox_gym.energy.meters import METERS, make_meters

    energy = [n for n, e in METERS.items() if e.role == "energy"]
    for name in names:
        if name not in energy:
            raise UserInputError(f"--meters: {shown(name)} is not an energy meter to validate; valid: "
                                 f"{', '.join(energy)}")
    for meter in make_meters(names):
        state = meter.availability()
        if not state.available:
            raise UserInputError(f"--meters: {meter.name} is not available here ({state.reason})")


def _check_save_target() -> None:
    """Before anything runs: the file ``--save`` writes is a regular file or absent, in a folder that can be
    written (the validation takes minutes; its result must not be lost to a bad path afterwards)."""
    import os
    import stat

    from paradox_gym._util.files import ensure_writable_dir
    from paradox_gym.energy.validation import validation_file

    target = validation_file()
    if os.path.lexists(target):
        try:
            regular = stat.S_ISREG(os.stat(target).st_mode)
        except OSError:
            regular = False
        if not regular:
            raise UserInputError(f"--save: {str(target)!r} (PARADOX_GYM_METER_VALIDATION) is not a regular file")
    ensure_writable_dir(target.parent, "--save: the folder")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--windows", default=",".join(f"{w:g}" for w in DEFAULT_WINDOWS_S), metavar="S,S,...",
                   help=f"window lengths in s (default {','.join(f'{w:g}' for w in DEFAULT_WINDOWS_S)})")
    p.add_argument("--workloads", default=None,
                   help=f"workloads, comma separated: {', '.join(WORKLOADS)} (default: all that can run here)")
    p.add_argument("--meters", default=None, help="energy meters to validate (default: every available one)")
    p.add_argument("--tolerance", type=number_arg, default=DEFAULT_TOLERANCE,
                   help=f"relative agreement required to trust a window (default {DEFAULT_TOLERANCE})")
    p.add_argument("--no-codecarbon", action="store_true", help="leave CodeCarbon out of the references")
    p.add_argument("--save", action="store_true",
                   help="save the result as this machine's meter validation (used by evaluate to flag short windows)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    from paradox_gym.energy.meters import METERS

    windows = _floats(args.windows)
    workloads = _list(args.workloads, "--workloads", tuple(WORKLOADS))
    meters = _list(args.meters, "--meters", tuple(n for n, e in METERS.items() if e.role == "energy"))
    quiet = args.quiet or args.json
    _check_meters(meters)
    if args.save:
        _check_save_target()
    report = validate_meters(
        windows, workloads, meters=meters, codecarbon=not args.no_codecarbon,
        tolerance=args.tolerance, progress=None if quiet else (lambda m: print(m + " ...", file=sys.stderr)),
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print(report.table())
        print(f"\nran in {report.elapsed_s:.1f} s")
    if args.save:
        try:
            path = save_validation(report)
        except OSError as exc:
            raise UserInputError(f"--save: the result cannot be written ({exc}); set PARADOX_GYM_METER_VALIDATION "
                                 "to a writable file") from None
        print(f"saved to {path}", file=sys.stderr)
    return 0


def build_parser(prog: str = "paradox-gym validate-meters") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description="Check the energy meters against references on calibrated "
                                                   "workloads and find the shortest window each can be trusted at.")
    add_arguments(parser)
    return parser
