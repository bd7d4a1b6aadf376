#!/usr/bin/env python
"""Map where compression pays over policy width x batch x method x runtime: ``paradox-gym crossover`` (see
docs/crossover.md).

    python scripts/crossover.py --widths 64,1024 --batches 1,256 --methods ptdq --runtimes torch --out DIR
    python scripts/crossover.py --compare DIR_A DIR_B --out DIR
"""

import sys

from paradox_gym.cli import command_main


def main(argv: list[str] | None = None) -> int:
    return command_main("crossover", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
