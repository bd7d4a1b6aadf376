"""One-line errors for command-line entry points (``paradox-gym``, ``scripts/*.py``, fresh-process probes).

- :class:`ArgumentParser`: an ``argparse.ArgumentParser`` whose errors are one line (``error: ...``) on
  stderr and exit status 2.
- :func:`run_cli`: runs a ``main()`` callable; a :class:`~paradox_gym.errors.ParadoxGymError` becomes one
  line ``error: <message>`` on stderr and exit status 2 (no traceback); ``KeyboardInterrupt`` exits 130.
  SIGTERM is turned into ``KeyboardInterrupt`` (it behaves like Ctrl-C: whole trials are kept and written)
  and exits 143.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from typing import Callable, NoReturn, TextIO

from paradox_gym.errors import ParadoxGymError
from paradox_gym.limits import MAX_MESSAGE_CHARS

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM

_terminated: list[int] = []


def _terminate_as_interrupt(signum: int, _frame: object) -> None:
    _terminated.append(signum)
    raise KeyboardInterrupt


def handle_sigterm_as_interrupt() -> None:
    """From now on SIGTERM raises ``KeyboardInterrupt`` in the main thread (as Ctrl-C does)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)


#: What argparse takes for a negative number rather than an option: its own ``-1`` and ``-.5`` and also
#: ``-1e3``, ``-inf`` and ``-nan``, so that ``--amount -inf`` reaches the option's range check (which names
#: the value) instead of "expected one argument".
_NEGATIVE_NUMBER = re.compile(r"^-(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?$"
                              r"|^-(?:inf|infinity|nan)$", re.IGNORECASE | re.ASCII)


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors print one line ``error: ...`` and exit with status 2."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._negative_number_matcher = _NEGATIVE_NUMBER  # argparse's own attribute (3.8 to 3.13)

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        if message.endswith("expected one argument"):
            message += " (a value that starts with '-' is written --option=VALUE)"
        print(f"error: {one_line(message)}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def one_line(message: object) -> str:
    """``message`` with all whitespace runs (newlines included) collapsed to single spaces, and the middle
    of a message longer than ``MAX_MESSAGE_CHARS`` left out (a megabyte argument is not printed back)."""
    text = " ".join(str(message).split())
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    head, tail = MAX_MESSAGE_CHARS * 3 // 5, MAX_MESSAGE_CHARS // 5
    return f"{text[:head]} ...({len(text) - head - tail} characters left out)... {text[-tail:]}"


def fail(message: str) -> NoReturn:
    """Print ``error: message`` (one line) on stderr and exit with status 2."""
    print(f"error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def run_cli(main: Callable[[], int | None]) -> int:
    """Run ``main()`` and return its exit status, turning user errors into one line and status 2.

    ``ParadoxGymError`` (any user mistake) -> ``error: <message>`` on stderr, 2;
    ``KeyboardInterrupt`` -> ``interrupted`` on stderr, 130; ``SystemExit`` (argparse) -> its code.
    Anything else is a bug and propagates.
    """
    handle_sigterm_as_interrupt()
    try:
        status = int(main() or 0)
        return EXIT_TERMINATED if status == EXIT_INTERRUPTED and _terminated else status
    except ParadoxGymError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("terminated" if _terminated else "interrupted", file=sys.stderr)
        return EXIT_TERMINATED if _terminated else EXIT_INTERRUPTED
    except SystemExit as exc:  # argparse: --help exits 0, errors 2
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE


def keep_stdout_for_results() -> TextIO:
    """For a child process that reports to its parent on stdout: return a text stream on the original stdout
    and point fd 1 (``sys.stdout`` and anything printed by the environment, the agent or a library) at
    stderr, so nothing else can ever be read as (or break) a result line."""
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(2, 1)
    return results
