#!/usr/bin/env python
"""Compare a trained agent with its compressed copies: ``paradox-gym evaluate`` (see docs/evaluation.md).

    python scripts/evaluate.py --env CartPole-v1 --compress ptdq
"""

import sys

from paradox_gym.cli import command_main


def main(argv: list[str] | None = None) -> int:
    return command_main("evaluate", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
