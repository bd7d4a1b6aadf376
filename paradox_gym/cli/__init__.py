"""The ``paradox-gym`` console command: one subcommand per task, each parse -> library call -> print.

    paradox-gym evaluate --env CartPole-v1 --compress ptdq
    paradox-gym train --algo A2C --env Acrobot-v1

A subcommand is one module here with ``add_arguments(parser)`` and ``run(args) -> exit status``, plus one
entry in :data:`COMMANDS`. Bad input: one line ``error: ...`` on stderr, exit status 2, no traceback.
Nothing in the package imports this module.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from types import ModuleType

from paradox_gym._util.cli import ArgumentParser, run_cli

#: subcommand -> (module under ``paradox_gym.cli`` with add_arguments / run, one-line help). The modules (and
#: the libraries they load: torch, scipy, ...) are imported inside :func:`run_cli`, so that Ctrl-C during a slow
#: start is one line and exit status 130 like any other moment.
COMMANDS: dict[str, tuple[str, str]] = {
    "evaluate": ("evaluate", "measure a trained agent against its compressed copies"),
    "train": ("train", "train a zoo agent and record it in the user's agents directory"),
    "validate-meters": ("validate_meters", "check the energy meters on calibrated workloads and find their "
                                           "shortest trustworthy window"),
    "sweep": ("sweep", "measure every cell of a grid (agents x methods x amounts), resumably"),
    "report": ("study_report", "write the study report of a sweep directory"),
    "crossover": ("crossover", "map where compression pays: policy width x batch x method x runtime"),
}


def command_module(name: str) -> ModuleType:
    """The module of subcommand ``name`` (imported on first use)."""
    return importlib.import_module(f"paradox_gym.cli.{COMMANDS[name][0]}")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="paradox-gym",
                            description="Does compressing a deep-RL policy save energy, memory and time?")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    sub.required = True
    for name, (_module, help_text) in COMMANDS.items():
        command_module(name).add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``paradox-gym``; returns the exit status (0, 2 on bad input, 130 on Ctrl-C)."""

    def _main() -> int:
        args = build_parser().parse_args(argv)
        return command_module(args.command).run(args)

    return run_cli(_main)


def command_main(name: str, argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run one subcommand with its own program name (``scripts/<name>.py``)."""
    def _main() -> int:
        module = command_module(name)
        args: argparse.Namespace = module.build_parser(prog or f"{name}.py").parse_args(argv)
        return module.run(args)

    return run_cli(_main)


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """``scripts/evaluate.py``."""
    return command_main("evaluate", argv)
