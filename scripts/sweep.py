#!/usr/bin/env python
"""Measure every cell of a grid, resumably, and write the study report: ``paradox-gym sweep`` (see docs/study.md).

    python scripts/sweep.py --grid GRID.yml --out DIR [--executor serial|process|ray] [--retry-failed] [--force]
"""

import sys

from paradox_gym.cli import command_main


def main(argv: list[str] | None = None) -> int:
    return command_main("sweep", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
