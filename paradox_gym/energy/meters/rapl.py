"""CPU package (and DRAM) energy from the Linux powercap RAPL counters (method ``measured``).

Zones are read under ``root`` (default ``/sys/class/powercap``): top-level zones named
``<prefix>:<n>`` whose prefix contains ``rapl`` (``intel-rapl:0``, also used by the kernel's AMD RAPL
driver; ``intel-rapl-mmio:0`` mirrors are skipped when the MSR zone of the same name exists), with
their ``dram`` subzones (``intel-rapl:0:1`` ...). ``core``/``uncore`` subzones are part of the
package and ``psys`` covers more than the CPU, so neither is added.

Per zone: ``E = (energy_uj_end - energy_uj_start) / 1e6`` J, and when the counter went backwards it
wrapped once: ``E = (energy_uj_end + max_energy_range_uj - energy_uj_start) / 1e6``.

RAPL is machine-wide. The reading's ``components`` hold each zone, ``"machine"`` (the gross sum) and
``"process"``: the gross energy times the process's share of the machine's busy CPU time over the
window (``psutil.cpu_times()`` deltas: busy = total - idle - iowait, all CPUs). ``energy_j`` is the
**process** share, so that RAPL and the CPU model both charge the measured process.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paradox_gym.energy.measurement import EnergyReading
from paradox_gym.energy.meters.base import Meter

DEFAULT_POWERCAP_ROOT = Path("/sys/class/powercap")
_TOP = re.compile(r"^(?P<prefix>[\w-]*rapl[\w-]*):(?P<pkg>\d+)$")
_SUB = re.compile(r"^(?P<prefix>[\w-]*rapl[\w-]*):(?P<pkg>\d+):(?P<sub>\d+)$")


@dataclass(frozen=True)
class RaplZone:
    """One counter: its component name, ``energy_uj`` path and wrap range (uJ)."""

    label: str
    energy_path: Path
    max_range_uj: int


def _read_int(path: Path) -> int:
    with open(path) as handle:
        return int(handle.read().strip())


def _read_name(zone_dir: Path) -> str:
    try:
        with open(zone_dir / "name") as handle:
            return handle.read().strip()
    except OSError:
        return zone_dir.name


def _machine_busy_s() -> float:
    import psutil

    t = psutil.cpu_times()
    total = sum(t) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)
    return total - t.idle - getattr(t, "iowait", 0.0)


def discover_zones(root: Path) -> list[RaplZone]:
    """Package and DRAM zones under ``root`` (raises OSError when a needed file cannot be read)."""
    packages: dict[tuple[str, str], Path] = {}
    for entry in sorted(root.iterdir()):
        m = _TOP.match(entry.name)
        if m and entry.is_dir():
            packages[(m["prefix"], m["pkg"])] = entry
    # (package index for a dram zone, else None; zone with a provisional label), in reading order
    found: list[tuple[str | None, RaplZone]] = []
    seen_names: set[str] = set()
    # MSR zones first so that MMIO mirrors of the same package are skipped
    for (prefix, pkg), pkg_dir in sorted(packages.items(), key=lambda kv: ("mmio" in kv[0][0], kv[0])):
        name = _read_name(pkg_dir)
        if name.startswith("psys"):
            continue
        if name in seen_names:
            continue
        seen_names.add(name)
        max_range = _read_int(pkg_dir / "max_energy_range_uj")
        found.append((None, RaplZone(name, pkg_dir / "energy_uj", max_range)))
        sub_dirs = {d.resolve(): d for d in pkg_dir.iterdir() if _SUB.match(d.name) and d.is_dir()}
        for d in root.iterdir():
            sm = _SUB.match(d.name)
            if sm and sm["prefix"] == prefix and sm["pkg"] == pkg and d.is_dir():
                sub_dirs.setdefault(d.resolve(), d)
        for sub_dir in sorted(sub_dirs.values(), key=lambda p: p.name):
            if _read_name(sub_dir) == "dram":
                zone = RaplZone("dram", sub_dir / "energy_uj", _read_int(sub_dir / "max_energy_range_uj"))
                found.append((pkg, zone))
    # "dram" on a one-package machine, "dram-<package index>" with several packages (psys and MMIO
    # mirrors are not packages)
    several = sum(1 for pkg, _ in found if pkg is None) > 1
    return [
        RaplZone(f"dram-{pkg}", z.energy_path, z.max_range_uj) if pkg is not None and several else z
        for pkg, z in found
    ]


def counter_delta_uj(start: int, stop: int, max_range_uj: int) -> int:
    """Counter increase in uJ, assuming at most one wrap-around through ``max_range_uj``.

    Raises:
        ValueError: the counter went back by more than its range allows (a bogus
            ``max_energy_range_uj``, or a counter that was reset): no figure rather than a negative one.
    """
    if stop >= start:
        return stop - start
    delta = stop + max_range_uj - start
    if delta < 0:
        raise ValueError(
            f"energy_uj went back from {start} to {stop} uJ, beyond max_energy_range_uj={max_range_uj}"
        )
    return delta


class RaplMeter(Meter):
    """Machine-wide RAPL energy counters, with the process share as ``energy_j``.

    Args:
        root: powercap directory (default ``/sys/class/powercap``); tests point it at a fake tree.
    """

    name = "rapl"
    method = "measured"
    # energy_uj updates about every 1 ms; a window needs many updates to be meaningful
    resolution_s = 0.01

    def __init__(self, root: Path | str = DEFAULT_POWERCAP_ROOT) -> None:
        super().__init__()
        self.root = Path(root)
        self.zones: list[RaplZone] = []

    def _probe(self) -> tuple[bool, str]:
        if not self.root.is_dir():
            return False, f"{self.root} does not exist (no powercap RAPL: not Linux, a VM or a container)"
        try:
            zones = discover_zones(self.root)
        except PermissionError as exc:
            return False, f"RAPL files are not readable ({exc}); grant read access to energy_uj"
        except (OSError, ValueError) as exc:
            return False, f"RAPL files under {self.root} cannot be read: {type(exc).__name__}: {exc}"
        if not zones:
            return False, f"no RAPL package zone under {self.root}"
        try:
            for zone in zones:
                _read_int(zone.energy_path)
        except PermissionError as exc:
            return False, f"RAPL energy_uj is not readable ({exc}); grant read access to energy_uj"
        except (OSError, ValueError) as exc:
            return False, f"RAPL energy_uj cannot be read: {type(exc).__name__}: {exc}"
        self.zones = zones
        return True, "RAPL zones: " + ", ".join(z.label for z in zones)

    def _read(self) -> tuple[list[int], int, float]:
        counters = [_read_int(zone.energy_path) for zone in self.zones]
        return counters, time.process_time_ns(), _machine_busy_s()

    def _reading(self, start: Any, stop: Any, wall_s: float, cpu_s: float) -> EnergyReading:
        counters0, proc0, busy0 = start
        counters1, proc1, busy1 = stop
        components: dict[str, float] = {}
        wrapped = []
        for zone, c0, c1 in zip(self.zones, counters0, counters1):
            if c1 < c0:
                wrapped.append(zone.label)
            components[zone.label] = counter_delta_uj(c0, c1, zone.max_range_uj) / 1e6
        gross = sum(components.values())
        proc_cpu_s = max(proc1 - proc0, 0) / 1e9
        busy_s = busy1 - busy0
        if busy_s > 0.0:
            share = min(proc_cpu_s / busy_s, 1.0)
            share_how = "process CPU / machine busy CPU (psutil.cpu_times)"
        else:
            # the machine-wide counters did not advance (10 ms ticks): fall back to wall x CPUs
            from paradox_gym._util.cpu import logical_cpus

            share = min(proc_cpu_s / (wall_s * logical_cpus()), 1.0) if wall_s > 0 else 0.0
            share_how = "process CPU / (wall x logical CPUs)"
        components["machine"] = gross
        components["process"] = gross * share
        note = f"energy_j is the process share ({share:.3f} of {gross:.4g} J machine-wide; {share_how})"
        if wrapped:
            note += "; counter wrapped in " + ", ".join(wrapped)
        return EnergyReading(
            meter=self.name,
            method=self.method,
            energy_j=components["process"],
            status="ok",
            components=components,
            note=note,
            details={"cpu_share": share, "process_cpu_s": proc_cpu_s, "machine_busy_cpu_s": busy_s},
        )
