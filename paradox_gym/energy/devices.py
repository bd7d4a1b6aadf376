"""Energy per device (``cpu``, ``gpu-0``, ``gpu-1`` ...), a total over the devices measured, and the
headline scope.

Each device gets its figure from one meter, chosen once per run from the :data:`DEVICE_SOURCES` table
(first available source of the device's kind wins; ``cpu``: ``rapl`` then ``cpu-model``; ``gpu``:
``nvml``), so that one run never mixes sources for a device from window to window. A figure is a
:class:`DeviceReading`:

- ``energy_j``: the device's figure (J) charged to this run: for RAPL the **process share** of the
  machine-wide counter (``attributed=True``, shown as "measured, attributed"); for the CPU model the
  process's CPU time x per-CPU power (modelled); for a GPU the whole board's counter (NVML measures the
  board, every process on it).
- ``machine_j``: the device-wide figure beside it (RAPL package + DRAM machine-wide; equal to
  ``energy_j`` where no attribution happened).
- ``components_j``: parts where known (``package-0``, ``dram`` for RAPL).

Net of idle (see :mod:`paradox_gym.energy.idle`): ``net_j = (machine_j - idle_w x wall_s) x
energy_j / machine_j`` -- the device-wide figure less idle power times the window's duration, then the
same attribution share as the gross figure (for unattributed figures: ``energy_j - idle_w x wall_s``).

The headline is the sum over the devices in the scope (:data:`ENERGY_SCOPES`): ``total`` (default:
every device measured), ``cpu`` or ``gpu``. A scope that leaves out the device the policy runs on is
refused (:func:`headline_scope`): a CPU policy never gets a GPU-only headline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from paradox_gym.energy.measurement import EnergyReading
from paradox_gym.energy.meters.base import Meter
from paradox_gym.errors import UserInputError

#: Headline scopes: ``total`` (every device measured), ``cpu`` (the CPU only), ``gpu`` (the GPUs only).
ENERGY_SCOPES: tuple[str, ...] = ("total", "cpu", "gpu")
DEFAULT_ENERGY_SCOPE = "total"
#: Key under which the headline figure is stored beside the meters' figures in a trial record.
HEADLINE = "headline"
#: Key of the headline's net-of-idle figure.
HEADLINE_NET = "headline-net"


@dataclass(frozen=True)
class DeviceReading:
    """One device's energy over one window.

    Attributes:
        device: ``"cpu"`` or ``"gpu-N"`` (N = the visible CUDA index).
        meter: the meter the figure comes from.
        method: ``measured``, ``sampled`` or ``modelled``.
        attributed: the figure is this process's share of a device-wide measured counter.
        energy_j: the device's figure (J), or None when the meter had no figure for the window.
        machine_j: the device-wide figure (J) beside it (equals ``energy_j`` when not attributed).
        status: the meter reading's status (``ok``, ``too_short``, ``failed``, ``unavailable``).
        components_j: parts of the device-wide figure (``package-0``, ``dram`` ...), J.
    """

    device: str
    meter: str
    method: str
    attributed: bool
    energy_j: float | None
    machine_j: float | None
    status: str
    components_j: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``"measured"``, ``"measured, attributed"``, ``"modelled"`` ..."""
        return f"{self.method}, attributed" if self.attributed else self.method

    @property
    def share(self) -> float | None:
        """``energy_j / machine_j`` (1.0 when not attributed), or None without figures."""
        if self.energy_j is None or self.machine_j is None:
            return None
        if not self.attributed:
            return 1.0
        return self.energy_j / self.machine_j if self.machine_j > 0 else 0.0

    def net_j(self, idle_w: float | None, wall_s: float) -> float | None:
        """Energy net of idle (J): ``(machine_j - idle_w x wall_s) x share``; None without figures."""
        share = self.share
        if share is None or idle_w is None:
            return None
        return (float(self.machine_j) - idle_w * wall_s) * share  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device, "meter": self.meter, "method": self.method, "attributed": self.attributed,
            "label": self.label, "energy_j": self.energy_j, "machine_j": self.machine_j, "status": self.status,
            **{f"{k}_j": v for k, v in self.components_j.items()},
        }


def _rapl_devices(meter: Meter) -> list[str]:
    return ["cpu"]


def _rapl_readings(reading: EnergyReading) -> dict[str, DeviceReading]:
    parts = {k: v for k, v in reading.components.items() if k not in ("machine", "process")}
    return {"cpu": DeviceReading(
        "cpu", reading.meter, reading.method, True,
        reading.components.get("process", reading.energy_j) if reading.has_figure else None,
        reading.components.get("machine", reading.energy_j) if reading.has_figure else None,
        reading.status, parts,
    )}


def _cpu_model_readings(reading: EnergyReading) -> dict[str, DeviceReading]:
    return {"cpu": DeviceReading("cpu", reading.meter, reading.method, False, reading.energy_j,
                                 reading.energy_j, reading.status)}


def _nvml_devices(meter: Meter) -> list[str]:
    names = getattr(meter, "device_names", None)
    return list(names()) if callable(names) else []


def _nvml_readings(reading: EnergyReading, devices: Sequence[str]) -> dict[str, DeviceReading]:
    out = {}
    for name in devices:
        value = reading.components.get(name) if reading.has_figure else None
        status = reading.status if value is not None or not reading.has_figure else "failed"
        out[name] = DeviceReading(name, reading.meter, reading.method, False, value, value, status)
    return out


@dataclass(frozen=True)
class DeviceSource:
    """One way to measure a kind of device: the meter, the device names it covers once it is available,
    and how its reading turns into device readings."""

    meter: str
    kind: str
    devices: Callable[[Meter], list[str]]
    readings: Callable[[EnergyReading, Sequence[str]], dict[str, DeviceReading]]


#: Device sources in order of preference per kind (a measured counter before a model).
DEVICE_SOURCES: tuple[DeviceSource, ...] = (
    DeviceSource("rapl", "cpu", _rapl_devices, lambda r, d: _rapl_readings(r)),
    DeviceSource("cpu-model", "cpu", lambda m: ["cpu"], lambda r, d: _cpu_model_readings(r)),
    DeviceSource("nvml", "gpu", _nvml_devices, _nvml_readings),
)


@dataclass(frozen=True)
class DevicePlan:
    """Which meter measures which device in this run (chosen once from the available meters).

    Attributes:
        sources: device name -> meter name.
        methods: device name -> the meter's method.
        attributed: device name -> whether its figure is a process share.
    """

    sources: dict[str, str]
    methods: dict[str, str]
    attributed: dict[str, bool]

    @property
    def devices(self) -> tuple[str, ...]:
        """Device names, ``cpu`` first then the GPUs."""
        return tuple(self.sources)

    def readings(self, readings: Mapping[str, EnergyReading]) -> dict[str, DeviceReading]:
        """One window's meter readings -> device readings (a device whose meter has no reading gets a
        ``failed`` one with no figure)."""
        out: dict[str, DeviceReading] = {}
        for source in DEVICE_SOURCES:
            mine = [d for d, m in self.sources.items() if m == source.meter]
            if not mine:
                continue
            reading = readings.get(source.meter)
            if reading is None:
                for d in mine:
                    out[d] = DeviceReading(d, source.meter, self.methods[d], self.attributed[d], None, None,
                                           "failed")
                continue
            out.update({d: r for d, r in source.readings(reading, mine).items() if d in mine})
        return {d: out[d] for d in self.sources if d in out}


def plan_devices(meters: Sequence[Meter]) -> DevicePlan:
    """Choose a meter per device among ``meters`` (first available source of each kind in
    :data:`DEVICE_SOURCES`). The CPU is always planned when ``cpu-model`` or ``rapl`` is among the
    meters; GPUs when ``nvml`` is available.

    Raises:
        UserInputError: no meter among ``meters`` can measure any device.
    """
    by_name = {m.name: m for m in meters}
    sources: dict[str, str] = {}
    methods: dict[str, str] = {}
    attributed: dict[str, bool] = {}
    kinds_done: set[str] = set()
    for source in DEVICE_SOURCES:
        meter = by_name.get(source.meter)
        if meter is None or source.kind in kinds_done or not meter.availability().available:
            continue
        names = source.devices(meter)
        if not names:
            continue
        kinds_done.add(source.kind)
        for d in names:
            sources[d] = source.meter
            methods[d] = meter.method
            attributed[d] = source.meter == "rapl"
    if not sources:
        reasons = "; ".join(f"{m.name}: {m.availability().reason}" for m in meters)
        raise UserInputError(
            f"none of the meters {[m.name for m in meters]} can measure a device here ({reasons}); include cpu-model"
        )
    return DevicePlan(sources, methods, attributed)


def device_kind(device: str) -> str:
    """``"cpu"`` or ``"gpu"`` for a device name."""
    return "gpu" if device.startswith("gpu") else "cpu"


def headline_scope(scope: str, devices: Sequence[str], policy_device: str = "cpu") -> tuple[str, ...]:
    """The devices the headline sums for ``scope`` (``total``, ``cpu`` or ``gpu``).

    Raises:
        UserInputError: unknown scope; a scope with no measured device; or a scope that leaves out the
            device the policy runs on (``gpu`` for a policy on the CPU, ``cpu`` for one on CUDA).
    """
    if scope not in ENERGY_SCOPES:
        raise UserInputError(f"unknown energy scope {scope!r}; valid: {', '.join(ENERGY_SCOPES)}")
    policy_kind = "gpu" if policy_device == "cuda" else "cpu"
    if scope == "total":
        chosen = tuple(devices)
    else:
        if scope != policy_kind:
            raise UserInputError(
                f"energy scope {scope!r} leaves out the {policy_kind.upper()}, where the policy runs "
                f"(--device {policy_device}); use 'total' or {policy_kind!r}"
            )
        chosen = tuple(d for d in devices if device_kind(d) == scope)
    if not chosen:
        raise UserInputError(
            f"energy scope {scope!r} has no measured device here (measured: {', '.join(devices) or 'none'})"
        )
    return chosen


def combined_method(methods: Sequence[str]) -> str:
    """One method label for a sum of figures: the common method, else ``"mixed"``."""
    unique = sorted(set(methods))
    return unique[0] if len(unique) == 1 else "mixed"


def headline_j(readings: Mapping[str, DeviceReading], scope: Sequence[str]) -> float | None:
    """Sum of ``energy_j`` over the devices in ``scope``; None if any of them has no figure."""
    total = 0.0
    for d in scope:
        r = readings.get(d)
        if r is None or r.energy_j is None or not math.isfinite(r.energy_j):
            return None
        total += r.energy_j
    return total


def headline_net_j(readings: Mapping[str, DeviceReading], scope: Sequence[str],
                   idle_w: Mapping[str, float | None], wall_s: float) -> float | None:
    """Sum of the devices' net-of-idle figures (J) over ``scope``; None if any is missing."""
    total = 0.0
    for d in scope:
        r = readings.get(d)
        net = None if r is None else r.net_j(idle_w.get(d), wall_s)
        if net is None:
            return None
        total += net
    return total


__all__ = [
    "DEFAULT_ENERGY_SCOPE",
    "DEVICE_SOURCES",
    "ENERGY_SCOPES",
    "HEADLINE",
    "HEADLINE_NET",
    "DevicePlan",
    "DeviceReading",
    "DeviceSource",
    "combined_method",
    "device_kind",
    "headline_j",
    "headline_net_j",
    "headline_scope",
    "plan_devices",
]
