"""``paradox-gym report DIR`` (and ``scripts/study_report.py``): merge a sweep's job files into the study
report (results.parquet, results.csv, study.md, study.json, study_code.csv, plots). See docs/study.md.
"""

from __future__ import annotations

import argparse
import sys

from paradox_gym._util.checks import number_arg, path_arg
from paradox_gym._util.cli import ArgumentParser, one_line
from paradox_gym.study.report import FILES, write_report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", type=path_arg, metavar="DIR", help="a sweep's --out directory")
    p.add_argument("--return-margin", type=number_arg, default=None, metavar="K",
                   help="return kept when its interval lies above -K x |baseline| (default 0.10: >= 90%%)")


def run(args: argparse.Namespace) -> int:
    paths = write_report(args.directory, return_margin=args.return_margin,
                         warn=lambda line: print(f"warning: {one_line(line)}", file=sys.stderr, flush=True))
    with open(paths["study_md"], encoding="utf-8") as fh:
        print(fh.read())
    print("files: " + ", ".join(FILES.values()) + (", plots/" if any(k.startswith("plot_") for k in paths) else "")
          + f" in {args.directory}")
    return 0


def build_parser(prog: str = "paradox-gym report") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description="Write the study report of a sweep directory.")
    add_arguments(parser)
    return parser
