"""Energy meters behind one interface (:class:`Meter`), and the factory that builds them by name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from paradox_gym._util.checks import check_cpu_tdp

from paradox_gym.energy.meters.base import Availability, Meter
from paradox_gym.energy.meters.codecarbon import CodeCarbonMeter
from paradox_gym.energy.meters.cpu_model import CpuModelMeter
from paradox_gym.energy.meters.nvml import NvmlMeter
from paradox_gym.energy.meters.rapl import RaplMeter
from paradox_gym.errors import UserInputError, UserTypeError

#: What a meter's figures are used for: ``energy`` (the figures the report shows) or ``cross-check``
#: (an independent or consistency comparison over the same windows, never a headline).
METER_ROLES: tuple[str, ...] = ("energy", "cross-check")


@dataclass(frozen=True)
class MeterEntry:
    """One meter in the table: its class, its role, and whether it takes the CPU TDP (W per package)."""

    name: str
    cls: type[Meter]
    role: str
    takes_cpu_tdp: bool = False

    def build(self, cpu_tdp_w: float | None) -> Meter:
        return self.cls(cpu_tdp_w=cpu_tdp_w) if self.takes_cpu_tdp else self.cls()  # type: ignore[call-arg]


#: The meter table: adding a meter is its own file plus one entry here.
METERS: dict[str, MeterEntry] = {
    e.name: e
    for e in (
        MeterEntry("cpu-model", CpuModelMeter, "energy", takes_cpu_tdp=True),
        MeterEntry("rapl", RaplMeter, "energy"),
        MeterEntry("nvml", NvmlMeter, "energy"),
        MeterEntry("codecarbon", CodeCarbonMeter, "cross-check", takes_cpu_tdp=True),
    )
}
#: Names accepted by :func:`make_meters`.
METER_NAMES: tuple[str, ...] = tuple(METERS)

__all__ = [
    "METERS",
    "METER_NAMES",
    "METER_ROLES",
    "Availability",
    "MeterEntry",
    "CodeCarbonMeter",
    "CpuModelMeter",
    "Meter",
    "NvmlMeter",
    "RaplMeter",
    "check_cpu_tdp",
    "default_meter_names",
    "make_meters",
]


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
        meters.append(METERS[name].build(tdp))
    return meters


def default_meter_names() -> list[str]:
    """``cpu-model`` plus the hardware counters available here (``rapl``, ``nvml``); never codecarbon."""
    names = ["cpu-model"]
    for entry in METERS.values():
        if entry.role != "energy" or entry.name in names:
            continue
        meter = entry.build(None)
        if meter.availability().available:
            names.append(entry.name)
        meter.close()
    return names
