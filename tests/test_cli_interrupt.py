"""Ctrl-C at any moment of a command (its slow start included) is exit status 130 and one line; ``--threads``
above the logical CPU count is warned about."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paradox_gym._util.checks import threads_warning
from paradox_gym.cli import main

#: A driver that imports the package, arms a SIGINT after ``delay`` seconds and runs the command: the signal
#: lands while the command's modules (torch, scipy, ...) are imported, or later.
DRIVER = """\
import os, signal, sys, threading
import paradox_gym
threading.Timer(float(sys.argv[1]), lambda: os.kill(os.getpid(), signal.SIGINT)).start()
from paradox_gym.cli import main
raise SystemExit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("delay", [0.3, 2.0])
def test_ctrl_c_during_a_slow_start_is_one_line_and_130(tmp_path: Path, delay: float) -> None:
    argv = ["evaluate", "--env", "CartPole-v1", "--compress", "ptdq", "--episodes", "1", "--trials", "100",
            "--out", str(tmp_path / "out")]
    done = subprocess.run([sys.executable, "-c", DRIVER, str(delay), *argv], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 130, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("interrupted"), lines


def test_threads_above_the_cpu_count_are_warned_about(monkeypatch, capsys) -> None:
    cpus = os.cpu_count() or 1
    assert threads_warning(cpus) is None and threads_warning(None) is None
    assert f"{cpus} logical CPUs" in (threads_warning(cpus + 1) or "")
    from paradox_gym.cli import evaluate as evaluate_cli

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate_cli, "evaluate", interrupted)  # the warning comes before any work
    assert main(["evaluate", "--env", "CartPole-v1", "--threads", str(cpus + 1)]) == 130
    err = capsys.readouterr().err
    assert f"warning: --threads {cpus + 1} is more than this machine's {cpus} logical CPUs" in err


def test_the_command_table_imports_its_modules_on_use(capsys) -> None:
    """The command table imports its modules on use: --help lists every command."""
    with pytest.raises(SystemExit):
        from paradox_gym.cli import build_parser

        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "evaluate" in out and "sweep" in out and "report" in out

