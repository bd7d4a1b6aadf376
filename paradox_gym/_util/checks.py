"""Argument checks shared by every layer (one definition each).

Each check returns the value in its canonical type or raises :class:`~paradox_gym.errors.UserInputError`
(a bad value) / :class:`~paradox_gym.errors.UserTypeError` (a value of the wrong kind) whose message
names the argument, the bad value and what is valid.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from paradox_gym.errors import UserInputError, UserTypeError


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise UserInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_fraction(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1) (a pruning amount)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UserInputError(f"{name} must be a number in [0, 1), got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and 0.0 <= number < 1.0):
        raise UserInputError(f"{name} must be in [0, 1), got {value!r}")
    return number


def check_amount(amount: Any) -> float:
    """A pruning amount: fraction of weights or neurons removed, in [0, 1)."""
    return check_fraction("amount", amount)


def check_cpu_tdp(cpu_tdp_w: object) -> float | None:
    """A user TDP in W per CPU package: None (look it up) or a finite number > 0."""
    if cpu_tdp_w is None:
        return None
    if isinstance(cpu_tdp_w, bool) or not isinstance(cpu_tdp_w, (int, float)):
        raise UserTypeError(f"cpu_tdp_w must be a number of watts, got {type(cpu_tdp_w).__name__}")
    value = float(cpu_tdp_w)
    if not math.isfinite(value) or value <= 0.0:
        raise UserInputError(f"cpu_tdp_w must be a finite number of watts > 0, got {cpu_tdp_w!r}")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    """``value`` when it is one of ``choices``; otherwise an error listing them."""
    if isinstance(value, str) and value in choices:
        return value
    raise UserInputError(f"unknown {name} {value!r}; valid: {', '.join(choices)}")
