"""``paradox-gym report DIR`` (and ``scripts/study_report.py``): merge a sweep's job files into the study
report (results.parquet, results.csv, study.md, study.json, study_code.csv, plots). See docs/study.md.
"""

from __future__ import annotations

import argparse

from paradox_gym._util.cli import ArgumentParser
from paradox_gym.study.report import FILES, write_report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", metavar="DIR", help="a sweep's --out directory")
    p.add_argument("--return-margin", type=float, default=None, metavar="K",
                   help="return kept when its interval lies above -K x |baseline| (default 0.10: >= 90%%)")


def run(args: argparse.Namespace) -> int:
    paths = write_report(args.directory, return_margin=args.return_margin)
    print(open(paths["study_md"], encoding="utf-8").read())
    print("files: " + ", ".join(FILES.values()) + (", plots/" if any(k.startswith("plot_") for k in paths) else "")
          + f" in {args.directory}")
    return 0


def build_parser(prog: str = "paradox-gym report") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description="Write the study report of a sweep directory.")
    add_arguments(parser)
    return parser
