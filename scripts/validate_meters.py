#!/usr/bin/env python
"""Check the energy meters on calibrated workloads: ``paradox-gym validate-meters`` (see docs/methodology.md).

    python scripts/validate_meters.py [--windows 0.05,0.2,1,5] [--workloads idle,cpu-1] [--save]
"""

import sys

from paradox_gym.cli import command_main


def main(argv: list[str] | None = None) -> int:
    return command_main("validate-meters", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
