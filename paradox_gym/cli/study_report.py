"""``paradox-gym report DIR`` (and ``scripts/study_report.py``): merge a sweep's job files into the study
report (results.parquet, results.csv, study.md, study.json, study_code.csv, plots); ``--copy-to`` copies the
report (never a job file) to a documentation folder and ``--claims-into`` puts claims.md's table into a page
between its marker lines. See docs/study.md.
"""

from __future__ import annotations

import argparse
import sys

from paradox_gym._util.checks import number_arg, path_arg
from paradox_gym._util.cli import ArgumentParser, one_line
from paradox_gym.study.publish import check_destination, check_page, copy_report, splice_claims
from paradox_gym.study.report import FILES, write_report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", type=path_arg, metavar="DIR", help="a sweep's --out directory")
    p.add_argument("--return-margin", type=number_arg, default=None, metavar="K",
                   help="return kept when its interval lies above -K x |baseline| (default 0.10: >= 90%%)")
    p.add_argument("--copy-to", type=path_arg, default=None, metavar="DEST",
                   help="then copy the report files and plots (not the job files) into DEST")
    p.add_argument("--claims-into", type=path_arg, default=None, metavar="PAGE",
                   help="then put claims.md's table into the markdown PAGE, between its two claims marker lines")


def run(args: argparse.Namespace) -> int:
    if args.copy_to is not None:  # both checked before anything is written
        check_destination(args.directory, args.copy_to)
    if args.claims_into is not None:
        check_page(args.claims_into)
    paths = write_report(args.directory, return_margin=args.return_margin,
                         warn=lambda line: print(f"warning: {one_line(line)}", file=sys.stderr, flush=True))
    with open(paths["study_md"], encoding="utf-8") as fh:
        text = fh.read()
    lead = text.split("\n## ", 1)[0].rstrip()  # the answer first: the tables stay in the file
    print(lead + "\n")
    print(f"the whole report: {paths['study_md']} ({text.count(chr(10))} lines)")
    print("files: " + ", ".join(FILES.values()) + (", plots/" if any(k.startswith("plot_") for k in paths) else "")
          + f" in {args.directory}")
    if args.copy_to is not None:
        copied = copy_report(args.directory, args.copy_to, paths)
        print(f"copied {len(copied)} files to {args.copy_to}")
    if args.claims_into is not None:
        with open(paths["claims_md"], encoding="utf-8") as fh:
            print(f"claims table written into {splice_claims(fh.read(), args.claims_into)}")
    return 0


def build_parser(prog: str = "paradox-gym report") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description="Write the study report of a sweep directory.")
    add_arguments(parser)
    return parser
