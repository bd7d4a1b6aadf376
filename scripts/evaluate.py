#!/usr/bin/env python
"""Measure whether compressing an RL agent saves energy, memory and time (see docs/evaluation.md).

    python scripts/evaluate.py --env CartPole-v1 --compress ptdq

Bad input prints one line ``error: ...`` on stderr and exits with status 2; Ctrl-C writes the finished
trials and exits with status 130.
"""

from __future__ import annotations

import sys

from paradox_gym.cli import evaluate_main

if __name__ == "__main__":
    sys.exit(evaluate_main(sys.argv[1:]))
