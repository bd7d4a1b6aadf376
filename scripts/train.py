#!/usr/bin/env python
"""Train a zoo agent into the user's agents directory: ``paradox-gym train`` (see docs/zoo.md).

    python scripts/train.py --algo A2C --env Acrobot-v1 [--steps N] [--seed S] [--out DIR] [--force]
"""

import sys

from paradox_gym.cli import command_main


def main(argv: list[str] | None = None) -> int:
    return command_main("train", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
