#!/usr/bin/env python3
"""The cells whose words changed between two runs of a study (results.csv of each).

    python scripts/study_diff.py OLD/results.csv NEW/results.csv [--markdown]

A cell is (agent, method, amount, runtime); its words are the verdict columns the report prints (return
kept, energy direction and saving, mechanism, per-step and latency directions). Prints one line per cell
and column that changed, then how many cells changed, and cells present in only one file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

KEY = ["agent", "method", "amount", "runtime"]
WORDS = ["return_kept", "energy_per_episode_direction", "energy_saving", "mechanism",
         "energy_per_step_direction", "latency_direction"]


class BadResults(ValueError):
    """A results file this script cannot compare (named in one line)."""


def _amount(text: str, path: Path) -> str:
    if not text:
        return ""
    try:
        return f"{float(text):g}"
    except ValueError:
        raise BadResults(f"{path}: amount {text!r} is not a number") from None


def _read(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BadResults(f"{path}: not a results CSV ({str(exc).splitlines()[0][:200]})") from None
    if "agent" not in frame.columns or "method" not in frame.columns:
        raise BadResults(f"{path}: not a study's results.csv (no agent and method columns)")
    if "runtime" not in frame.columns:  # results written before runtimes were a grid dimension: sb3 only
        frame["runtime"] = "sb3"
    for column in KEY + WORDS:
        if column not in frame.columns:
            frame[column] = ""
    frame["amount"] = [_amount(a, path) for a in frame["amount"]]
    frame = frame.set_index(KEY)[WORDS]
    if frame.index.has_duplicates:
        cell = " ".join(str(x) for x in frame.index[frame.index.duplicated()][0] if x)
        raise BadResults(f"{path}: cell {cell!r} appears more than once")
    return frame


def changes(old: pd.DataFrame, new: pd.DataFrame) -> list[tuple[tuple[str, ...], str, str, str]]:
    """(cell, column, old word, new word) for every word that differs in a cell both runs hold."""
    both = old.index.intersection(new.index)
    out = []
    for cell in both:
        for column in WORDS:
            a, b = old.at[cell, column], new.at[cell, column]
            if a != b:
                out.append((cell, column, a or "-", b or "-"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = p.parse_args(argv)
    for path in (args.old, args.new):
        if not path.is_file():
            print(f"error: {path} is not a file", file=sys.stderr)
            return 2
    try:
        old, new = _read(args.old), _read(args.new)
    except BadResults as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    found = changes(old, new)
    cells = sorted({c for c, *_ in found})
    if args.markdown:
        print("| agent | method | amount | runtime | column | before | after |")
        print("|---|---|---|---|---|---|---|")
        for cell, column, a, b in found:
            print(f"| {' | '.join(cell)} | {column} | {a} | {b} |")
    else:
        for cell, column, a, b in found:
            print(f"{' '.join(x for x in cell if x)}: {column} {a} -> {b}")
    only_old, only_new = old.index.difference(new.index), new.index.difference(old.index)
    print(f"\n{len(cells)} of {len(old.index.intersection(new.index))} cells changed words "
          f"({len(found)} words); {len(only_old)} cells only in {args.old}, {len(only_new)} only in {args.new}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
