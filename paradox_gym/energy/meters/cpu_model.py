"""CPU energy modelled from the process's own CPU time: ``E = t_cpu x TDP / n_logical_cpus``.

``t_cpu`` is the process CPU time (user + system, all threads; ``time.process_time``, nanosecond
clock) between the window edges. The per-core power is the machine's CPU TDP (table TDP x packages,
or the user's ``cpu_tdp_w`` x packages) divided by the number of *logical* CPUs, the same divisor
CodeCarbon uses in its process-tracking "TDP x load" mode (``psutil.cpu_count()``), so that both can be
cross-checked. It is a model (method ``modelled``): it assumes every busy logical CPU draws an equal
share of TDP, ignores idle and frequency scaling, and does not count child processes.
"""

from __future__ import annotations

import time
from typing import Any

from paradox_gym._util.checks import check_cpu_tdp
from paradox_gym._util.cpu import logical_cpus
from paradox_gym.energy.measurement import EnergyReading
from paradox_gym.energy.meters.base import Meter
from paradox_gym.energy.meters.tdp import TdpInfo, resolve_tdp
from paradox_gym.errors import UserInputError


class CpuModelMeter(Meter):
    """Process CPU time x per-logical-CPU power. Always available.

    Args:
        cpu_tdp_w: TDP of one CPU package in W (overrides the table lookup).
        n_cpus: logical CPU count to divide the TDP by (default ``os.cpu_count()``).
    """

    name = "cpu-model"
    method = "modelled"
    resolution_s = 0.01
    min_cpu_s = 0.01

    def __init__(self, cpu_tdp_w: float | None = None, *, n_cpus: int | None = None) -> None:
        super().__init__()
        cpu_tdp_w = check_cpu_tdp(cpu_tdp_w)
        if n_cpus is not None and (isinstance(n_cpus, bool) or not isinstance(n_cpus, int) or n_cpus < 1):
            raise UserInputError(f"n_cpus must be an integer >= 1, got {n_cpus!r}")
        self.tdp: TdpInfo = resolve_tdp(cpu_tdp_w)
        self.n_cpus: int = n_cpus if n_cpus is not None else logical_cpus()
        self.watts_per_cpu: float = self.tdp.machine_w / self.n_cpus
        if self.tdp.source == "table":
            source = f"table match {self.tdp.match!r}"
        elif self.tdp.source == "user":
            source = "user"
        else:
            source = f"fallback: {self.tdp.cpu_model or 'unknown CPU'!r} not in CodeCarbon's table"
        self._note = (
            f"TDP {self.tdp.tdp_w:g} W x {self.tdp.packages} package(s) ({source}) / "
            f"{self.n_cpus} logical CPUs = {self.watts_per_cpu:.3g} W per busy CPU"
        )
        self._details: dict[str, Any] = {
            "tdp_w": self.tdp.tdp_w,
            "tdp_source": self.tdp.source,
            "cpu_packages": self.tdp.packages,
            "logical_cpus": self.n_cpus,
            "watts_per_cpu": self.watts_per_cpu,
        }

    def _probe(self) -> tuple[bool, str]:
        return True, self._note

    def _read(self) -> int:
        return time.process_time_ns()

    def _reading(self, start: int, stop: int, wall_s: float, cpu_s: float) -> EnergyReading:
        cpu_time_s = max(stop - start, 0) / 1e9
        energy = cpu_time_s * self.watts_per_cpu
        details = dict(self._details)
        details["cpu_time_s"] = cpu_time_s
        return EnergyReading(
            meter=self.name,
            method=self.method,
            energy_j=energy,
            status="ok",
            components={"cpu": energy},
            note=self._note,
            details=details,
        )
