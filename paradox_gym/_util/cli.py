"""One-line errors for command-line entry points (``paradox-gym``, ``scripts/*.py``, fresh-process probes).

- :class:`ArgumentParser`: an ``argparse.ArgumentParser`` whose errors are one line (``error: ...``) on
  stderr and exit status 2.
- :func:`run_cli`: runs a ``main()`` callable; a :class:`~paradox_gym.errors.ParadoxGymError` becomes one
  line ``error: <message>`` on stderr and exit status 2 (no traceback); ``KeyboardInterrupt`` exits 130.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, NoReturn

from paradox_gym.errors import ParadoxGymError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors print one line ``error: ...`` and exit with status 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def one_line(message: object) -> str:
    """``message`` with all whitespace runs (newlines included) collapsed to single spaces."""
    return " ".join(str(message).split())


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
    try:
        status = main()
        return int(status or 0)
    except ParadoxGymError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # argparse: --help exits 0, errors 2
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
