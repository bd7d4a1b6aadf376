"""Energy meters behind one interface (:class:`Meter`), and the factory that builds them by name."""

from __future__ import annotations

import math
from collections.abc import Iterable

from paradox_gym.energy.meters.base import Meter
from paradox_gym.energy.meters.codecarbon import CodeCarbonMeter
from paradox_gym.energy.meters.cpu_model import CpuModelMeter
from paradox_gym.energy.meters.nvml import NvmlMeter
from paradox_gym.energy.meters.rapl import RaplMeter
from paradox_gym.errors import UserInputError, UserTypeError

#: Names accepted by :func:`make_meters`.
METER_NAMES: tuple[str, ...] = ("cpu-model", "rapl", "nvml", "codecarbon")

__all__ = [
    "METER_NAMES",
    "CodeCarbonMeter",
    "CpuModelMeter",
    "Meter",
    "NvmlMeter",
    "RaplMeter",
    "check_cpu_tdp",
    "default_meter_names",
    "make_meters",
]


def check_cpu_tdp(cpu_tdp_w: object) -> float | None:
    """Validate a user TDP (W per CPU package): None or a finite number > 0."""
    if cpu_tdp_w is None:
        return None
    if isinstance(cpu_tdp_w, bool) or not isinstance(cpu_tdp_w, (int, float)):
        raise UserTypeError(f"cpu_tdp_w must be a number of watts, got {type(cpu_tdp_w).__name__}")
    value = float(cpu_tdp_w)
    if not math.isfinite(value) or value <= 0.0:
        raise UserInputError(f"cpu_tdp_w must be a finite number of watts > 0, got {cpu_tdp_w!r}")
    return value


def make_meters(names: Iterable[str] | str, *, cpu_tdp_w: float | None = None) -> list[Meter]:
    """Build meters by name, in the order given.

    A meter that cannot run on this machine is still built: its readings have status
    ``unavailable`` with the reason (check ``meter.availability()`` to refuse it up front).

    Args:
        names: meter names from :data:`METER_NAMES` (a single name may be given as a string).
        cpu_tdp_w: CPU TDP in W per package for ``cpu-model`` (and ``force_cpu_power`` for
            ``codecarbon``); None looks it up in CodeCarbon's table.

    Raises:
        UserInputError: an unknown or repeated name, or a bad ``cpu_tdp_w``.
        UserTypeError: ``names`` is not a sequence of strings.
    """
    tdp = check_cpu_tdp(cpu_tdp_w)
    if isinstance(names, str):
        names = [names]
    try:
        name_list = list(names)
    except TypeError:
        raise UserTypeError(f"meter names must be a list of strings, got {type(names).__name__}") from None
    meters: list[Meter] = []
    seen: set[str] = set()
    for name in name_list:
        if not isinstance(name, str):
            raise UserTypeError(f"meter names must be strings, got {name!r}")
        if name not in METER_NAMES:
            raise UserInputError(f"unknown meter {name!r}; valid meters: {', '.join(METER_NAMES)}")
        if name in seen:
            raise UserInputError(f"meter {name!r} is listed twice")
        seen.add(name)
        if name == "cpu-model":
            meters.append(CpuModelMeter(cpu_tdp_w=tdp))
        elif name == "rapl":
            meters.append(RaplMeter())
        elif name == "nvml":
            meters.append(NvmlMeter())
        else:
            meters.append(CodeCarbonMeter(cpu_tdp_w=tdp))
    return meters


def default_meter_names() -> list[str]:
    """``cpu-model`` plus the hardware counters available here (``rapl``, ``nvml``); never codecarbon."""
    names = ["cpu-model"]
    if RaplMeter().availability()[0]:
        names.append("rapl")
    nvml = NvmlMeter()
    if nvml.availability()[0]:
        names.append("nvml")
    nvml.close()
    return names
