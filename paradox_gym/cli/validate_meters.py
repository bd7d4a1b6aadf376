"""``paradox-gym validate-meters`` (and ``scripts/validate_meters.py``): calibrated workloads through every
available meter and its references, at window lengths from 0.05 s to 5 s; prints the agreement table and,
per meter, the shortest window it can be trusted at (see docs/methodology.md).

With ``--save`` the result is written to ``$PARADOX_GYM_METER_VALIDATION`` (default
``~/.local/share/paradox_gym/meter-validation.json``); the evaluation then flags trial windows shorter
than this machine's trustworthy window of a meter.
"""

from __future__ import annotations

import argparse
import json
import sys

from paradox_gym._util.cli import ArgumentParser
from paradox_gym.energy.validation import (
    DEFAULT_TOLERANCE,
    DEFAULT_WINDOWS_S,
    WORKLOADS,
    save_validation,
    validate_meters,
)
from paradox_gym.errors import UserInputError


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserInputError(f"--windows must be seconds separated by commas, e.g. 0.05,1,5; got {text!r}") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--windows", default=",".join(f"{w:g}" for w in DEFAULT_WINDOWS_S), metavar="S,S,...",
                   help=f"window lengths in s (default {','.join(f'{w:g}' for w in DEFAULT_WINDOWS_S)})")
    p.add_argument("--workloads", default=None,
                   help=f"workloads, comma separated: {', '.join(WORKLOADS)} (default: all that can run here)")
    p.add_argument("--meters", default=None, help="energy meters to validate (default: every available one)")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                   help=f"relative agreement required to trust a window (default {DEFAULT_TOLERANCE})")
    p.add_argument("--no-codecarbon", action="store_true", help="leave CodeCarbon out of the references")
    p.add_argument("--save", action="store_true",
                   help="save the result as this machine's meter validation (used by evaluate to flag short windows)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()] if args.workloads else None
    meters = [m.strip() for m in args.meters.split(",") if m.strip()] if args.meters else None
    quiet = args.quiet or args.json
    report = validate_meters(
        _floats(args.windows), workloads, meters=meters, codecarbon=not args.no_codecarbon,
        tolerance=args.tolerance, progress=None if quiet else (lambda m: print(m + " ...", file=sys.stderr)),
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print(report.table())
        print(f"\nran in {report.elapsed_s:.1f} s")
    if args.save:
        path = save_validation(report)
        print(f"saved to {path}", file=sys.stderr)
    return 0


def build_parser(prog: str = "paradox-gym validate-meters") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description="Check the energy meters against references on calibrated "
                                                   "workloads and find the shortest window each can be trusted at.")
    add_arguments(parser)
    return parser
