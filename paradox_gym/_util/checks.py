"""Argument checks shared by every layer (one definition each).

Each check returns the value in its canonical type or raises :class:`~paradox_gym.errors.UserInputError`
(a bad value) / :class:`~paradox_gym.errors.UserTypeError` (a value of the wrong kind) whose message
names the argument, the bad value and what is valid. :func:`shown` is the bounded ``repr`` every message
uses for a value that came from a user or a file; :func:`integer_arg` and :func:`number_arg` are the
``type=`` of the command line's numeric options.
"""

from __future__ import annotations

import argparse
import math
import numbers
import re
import reprlib
from typing import Any

from paradox_gym.errors import UserInputError, UserTypeError
from paradox_gym.limits import MAX_CPU_TDP_W

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = _REPR.maxother = 120
_REPR.maxlong = 60
for _attr in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset", "maxdeque", "maxarray"):
    setattr(_REPR, _attr, 6)


def shown(value: Any) -> str:
    """``repr(value)`` cut to a bounded size (long strings and numbers shortened, at most 6 items and 3 levels
    of a container): a hostile value (a megabyte string, a YAML alias bomb, a self-referencing list) costs
    neither time nor space in a message."""
    try:
        return _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails is still shown as something
        return f"<{type(value).__name__}>"


def check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an int >= ``minimum`` (and <= ``maximum`` when given; bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum \
            or (maximum is not None and value > maximum):
        valid = f">= {minimum}" if maximum is None else f">= {minimum} and <= {maximum}"
        raise UserInputError(f"{name} must be an integer {valid}, got {shown(value)}")
    return int(value)


def check_size(name: str, value: Any, minimum: int, cap: int, cap_name: str) -> int:
    """An int in ``[minimum, cap]`` where ``cap`` is ``paradox_gym.limits.<cap_name>`` (a space size, checked
    before anything of that size is allocated)."""
    result = check_int(name, value, minimum)
    if result > cap:
        raise UserInputError(f"{name} must be an int in [{minimum}, {cap}] (paradox_gym.limits.{cap_name}), "
                             f"got {shown(value)}")
    return result


def check_real(name: str, value: Any, low: float, high: float, *, low_open: bool = False,
               high_open: bool = False) -> float:
    """``value`` as a float: a finite real number (not a bool) in the interval from ``low`` to ``high`` (``inf``
    for no upper bound), each end closed unless ``low_open`` / ``high_open``."""
    upper = "inf)" if math.isinf(high) else f"{high:g}{')' if high_open else ']'}"
    message = f"{name} must be a number in {'(' if low_open else '['}{low:g}, {upper}, got {shown(value)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UserInputError(message)
    try:
        result = float(value)
    except OverflowError:  # an int too large for a float
        raise UserInputError(message) from None
    if not math.isfinite(result) or result < low or result > high or (low_open and result == low) \
            or (high_open and result == high):
        raise UserInputError(message)
    return result


def check_fraction(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1) (a pruning amount)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UserInputError(f"{name} must be a number in [0, 1), got {shown(value)}")
    number = float(value)
    if not (math.isfinite(number) and 0.0 <= number < 1.0):
        raise UserInputError(f"{name} must be in [0, 1), got {shown(value)}")
    return number


def check_amount(amount: Any) -> float:
    """A pruning amount: fraction of weights or neurons removed, in [0, 1)."""
    return check_fraction("amount", amount)


def check_cpu_tdp(cpu_tdp_w: object) -> float | None:
    """A user TDP in W per CPU package: None (look it up) or a finite number in (0, MAX_CPU_TDP_W]."""
    if cpu_tdp_w is None:
        return None
    if isinstance(cpu_tdp_w, bool) or not isinstance(cpu_tdp_w, (int, float)):
        raise UserTypeError(f"cpu_tdp_w must be a number of watts, got {type(cpu_tdp_w).__name__}")
    try:
        value = float(cpu_tdp_w)
    except OverflowError:  # an int too large for a float
        value = math.inf
    if not math.isfinite(value) or value <= 0.0 or value > MAX_CPU_TDP_W:
        raise UserInputError(f"cpu_tdp_w must be a finite number of watts in (0, {MAX_CPU_TDP_W:g}], "
                             f"got {shown(cpu_tdp_w)}")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    """``value`` when it is one of ``choices``; otherwise an error listing them."""
    if isinstance(value, str) and value in choices:
        return value
    raise UserInputError(f"unknown {name} {shown(value)}; valid: {', '.join(choices)}")


def check_seconds(name: str, value: Any, maximum: float) -> float:
    """``value`` as a finite number of seconds in (0, ``maximum``]."""
    seconds = math.nan
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float
            seconds = math.inf
    if not (math.isfinite(seconds) and 0.0 < seconds <= maximum):
        raise UserInputError(f"{name} must be a number of seconds in (0, {maximum:g}], got {shown(value)}")
    return seconds


def threads_warning(threads: int | None) -> str | None:
    """A warning when ``threads`` (``--threads``) asks for more threads than the machine has logical CPUs:
    they would compete for the CPUs and slow every configuration; None otherwise."""
    import os

    cpus = os.cpu_count()
    if threads is None or cpus is None or threads <= cpus:
        return None
    return (f"--threads {threads} is more than this machine's {cpus} logical CPUs: the threads compete for "
            "them and the measurement slows down; use at most that many")


# ---------------------------------------------------------------------------------------------------
# command-line numbers: ASCII only, so what the record shows is what was typed
# ---------------------------------------------------------------------------------------------------
_INTEGER = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:_[0-9]+)*(?:\.(?:[0-9]+(?:_[0-9]+)*)?)?|\.[0-9]+(?:_[0-9]+)*)"
                     r"(?:[eE][+-]?[0-9]+(?:_[0-9]+)*)?|[+-]?(?:inf|infinity|nan)", re.ASCII | re.IGNORECASE)
#: Longest numeral read (Python refuses ints of more than 4300 digits anyway; no cap is that long).
_MAX_DIGITS = 100


def _numeral(text: str, pattern: re.Pattern[str], what: str) -> str:
    """``text`` stripped, if it is at most ``_MAX_DIGITS`` long and matches ``pattern``; else ArgumentTypeError."""
    stripped = text.strip()
    if len(stripped) > _MAX_DIGITS:
        raise argparse.ArgumentTypeError(f"{shown(text)} is too long for a number ({len(stripped)} characters)")
    if not pattern.fullmatch(stripped):
        raise argparse.ArgumentTypeError(f"{shown(text)} is not {what}")
    return stripped


def integer_arg(text: str) -> int:
    """argparse ``type=``: a decimal integer in ASCII digits (``10``, ``-1``, ``1_000``)."""
    return int(_numeral(text, _INTEGER, "an integer (decimal digits 0-9, e.g. 10)"))


def number_arg(text: str) -> float:
    """argparse ``type=``: a decimal number in ASCII (``0.5``, ``1e-3``, ``nan`` and ``inf`` are passed on
    for the option's own range check to refuse by name)."""
    return float(_numeral(text, _NUMBER, "a number (decimal, e.g. 0.5 or 1e-3)"))


def path_arg(text: str) -> str:
    """argparse ``type=``: a path, refused when empty, blank or holding a NUL byte (an empty ``--out`` would
    otherwise mean the current directory)."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a path (a non-empty string)")
    return text
