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


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "runtime" not in frame.columns:  # results written before runtimes were a grid dimension: sb3 only
        frame["runtime"] = "sb3"
    for column in KEY + WORDS:
        if column not in frame.columns:
            frame[column] = ""
    frame["amount"] = [f"{float(a):g}" if a else "" for a in frame["amount"]]
    return frame.set_index(KEY)[WORDS]


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
    old, new = _read(args.old), _read(args.new)
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
