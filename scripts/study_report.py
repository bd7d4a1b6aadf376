#!/usr/bin/env python
"""Write the study report of a sweep directory: ``paradox-gym report`` (see docs/study.md).

    python scripts/study_report.py DIR [--return-margin K]
"""

import sys

from paradox_gym.cli import command_main


def main(argv: list[str] | None = None) -> int:
    return command_main("report", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
