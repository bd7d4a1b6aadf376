"""Plain records of one measurement window: energies in joules (J), times in seconds (s).

Every energy figure carries the method that produced it (``measured``: a hardware energy counter;
``sampled``: power readings integrated over time; ``modelled``: an estimate such as CPU time x per-core
power) and a status (``ok``, ``too_short``, ``failed``, ``unavailable``). A failed or unavailable figure
has ``energy_j = None``: it is never reported as 0 J.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from paradox_gym.vocab import ENERGY_METHODS, PHASES, READING_STATUSES

#: Labels of how an energy figure was obtained.
METHODS: tuple[str, ...] = ENERGY_METHODS
#: Status of one reading.
STATUSES: tuple[str, ...] = READING_STATUSES
#: Kinds of window.
WINDOW_KINDS: tuple[str, ...] = ("episode", "trial")


@dataclass(frozen=True)
class EnergyReading:
    """One meter's energy figure over one window.

    Attributes:
        meter: meter name (``"cpu-model"``, ``"rapl"``, ``"nvml"``, ``"codecarbon"``).
        method: ``"measured"``, ``"sampled"`` or ``"modelled"``.
        energy_j: energy in J charged to the measured process (see each meter), or ``None`` when
            the status is ``failed`` or ``unavailable``.
        status: ``"ok"``; ``"too_short"`` (the window is shorter than the meter's resolution: the
            figure is reported but unreliable); ``"failed"`` (the meter broke during the window);
            ``"unavailable"`` (the meter cannot run on this machine).
        components: part name (``"package-0"``, ``"dram"``, ``"cpu"``, ``"gpu-0"``, ``"ram"``,
            ``"machine"``, ``"process"``) -> energy in J.
        note: one human-readable line (the reason for a failure, the TDP used and its source, ...).
        details: extra labelled values (numbers or strings) such as ``tdp_w``, ``cpu_share``,
            ``codecarbon_cpu_method``; never energies (those go in ``components``).
    """

    meter: str
    method: str
    energy_j: float | None
    status: str
    components: dict[str, float] = field(default_factory=dict)
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r} is not one of {', '.join(METHODS)}")
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")
        has_figure = self.status in ("ok", "too_short")
        if has_figure and (self.energy_j is None or not math.isfinite(self.energy_j)):
            raise ValueError(
                f"a reading with status {self.status!r} needs a finite energy_j, got {self.energy_j!r}"
            )
        if not has_figure and self.energy_j is not None:
            raise ValueError(f"a reading with status {self.status!r} must have energy_j None")

    @property
    def has_figure(self) -> bool:
        """True when ``energy_j`` is a number (status ``ok`` or ``too_short``)."""
        return self.energy_j is not None

    @classmethod
    def failed(cls, meter: str, method: str, note: str) -> EnergyReading:
        """A reading for a window during which the meter broke (``energy_j`` None)."""
        return cls(meter=meter, method=method, energy_j=None, status="failed", note=note)

    @classmethod
    def unavailable(cls, meter: str, method: str, note: str) -> EnergyReading:
        """A reading of a meter that cannot run here (``energy_j`` None)."""
        return cls(meter=meter, method=method, energy_j=None, status="unavailable", note=note)

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: ``energy_j``, ``method``, ``status``, ``note``, ``<component>_j``, details."""
        out: dict[str, Any] = {
            "energy_j": self.energy_j,
            "method": self.method,
            "status": self.status,
            "note": self.note,
        }
        for part, joules in self.components.items():
            out[f"{part}_j"] = joules
        for key, value in self.details.items():
            out[key] = value
        return out


@dataclass(frozen=True)
class PhaseTimes:
    """Wall-clock and CPU time (s) of one window split into environment, policy and overhead.

    ``env`` is the time inside the wrapped environment's ``step``/``reset``; ``policy`` is what the
    rollout loop reported through ``EnergyWrapper.record_policy_time``; ``overhead`` is the rest of the
    window (the harness, the wrappers, the meters at the edges). CPU times are those of the thread
    that runs the rollout: timed per phase when ``clock == "cpu"``; when ``clock == "wall"`` the
    thread's CPU time over the window is apportioned to the phases by their wall-clock share.
    """

    env_wall_s: float = 0.0
    env_cpu_s: float = 0.0
    policy_wall_s: float = 0.0
    policy_cpu_s: float = 0.0
    overhead_wall_s: float = 0.0
    overhead_cpu_s: float = 0.0
    clock: str = "cpu"
    #: the part of ``env_wall_s`` spent in ``reset`` (an episode's fixed work, outside its steps)
    reset_wall_s: float = 0.0

    @property
    def total_wall_s(self) -> float:
        """Sum of the three phases' wall-clock times (s)."""
        return self.env_wall_s + self.policy_wall_s + self.overhead_wall_s

    @property
    def total_cpu_s(self) -> float:
        """Sum of the three phases' CPU times (s)."""
        return self.env_cpu_s + self.policy_cpu_s + self.overhead_cpu_s

    def cpu_s(self, phase: str) -> float:
        """CPU time (s) of ``phase`` (``"policy"``, ``"env"`` or ``"overhead"``)."""
        return float(getattr(self, f"{phase}_cpu_s"))

    def wall_s(self, phase: str) -> float:
        """Wall-clock time (s) of ``phase``."""
        return float(getattr(self, f"{phase}_wall_s"))

    def to_dict(self) -> dict[str, float | str]:
        """The six times (s) and the per-step clock (``phase_clock``) as a dict."""
        return {
            "env_wall_s": self.env_wall_s,
            "env_cpu_s": self.env_cpu_s,
            "policy_wall_s": self.policy_wall_s,
            "policy_cpu_s": self.policy_cpu_s,
            "overhead_wall_s": self.overhead_wall_s,
            "overhead_cpu_s": self.overhead_cpu_s,
            "reset_wall_s": self.reset_wall_s,
            "phase_clock": self.clock,
        }


@dataclass(frozen=True)
class WindowMeasurement:
    """Everything measured over one window (an episode, or a trial of several episodes).

    Attributes:
        kind: ``"episode"`` or ``"trial"``.
        index: 0-based index among the wrapper's windows of that kind.
        steps: environment steps taken in the window.
        wall_s: wall-clock duration (s).
        cpu_s: CPU time (s) of the whole process (all threads) during the window.
        readings: meter name -> its reading.
        phases: time split into policy / env / overhead.
        phase_energy_j: meter name -> phase -> J; each meter's figure charged to phases by their
            CPU-time share (the three phases sum to the meter's ``energy_j``). Only meters with a
            figure appear.
    """

    kind: str
    index: int
    steps: int
    wall_s: float
    cpu_s: float
    readings: dict[str, EnergyReading]
    phases: PhaseTimes
    phase_energy_j: dict[str, dict[str, float]]

    def energy_j(self, meter: str) -> float | None:
        """The ``energy_j`` of ``meter`` in this window (None if absent, failed or unavailable)."""
        reading = self.readings.get(meter)
        return None if reading is None else reading.energy_j

    def to_dict(self) -> dict[str, Any]:
        """Flat dict for CSV / JSON rows: ``kind, index, steps, wall_s, cpu_s``, the phase times,
        then for each meter ``<meter>.energy_j``, ``<meter>.method``, ``<meter>.status``,
        ``<meter>.note``, ``<meter>.<component>_j``, details, and ``<meter>.<phase>_j``."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "index": self.index,
            "steps": self.steps,
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
        }
        out.update(self.phases.to_dict())
        for name, reading in self.readings.items():
            for key, value in reading.to_dict().items():
                out[f"{name}.{key}"] = value
            for phase, joules in self.phase_energy_j.get(name, {}).items():
                out[f"{name}.{phase}_j"] = joules
        return out


def split_by_cpu_share(energy_j: float, phases: PhaseTimes) -> dict[str, float]:
    """Charge ``energy_j`` (J) to the phases in proportion to their CPU time.

    ``E_phase = E x t_cpu_phase / sum(t_cpu)``. When no CPU time was recorded the split falls back to
    wall-clock shares, and to all-overhead when the window has no duration at all. The three values
    always sum to ``energy_j``.
    """
    weights = [phases.cpu_s(p) for p in PHASES]
    total = sum(weights)
    if total <= 0.0:
        weights = [phases.wall_s(p) for p in PHASES]
        total = sum(weights)
    if total <= 0.0:
        return {"policy": 0.0, "env": 0.0, "overhead": energy_j}
    shares = {p: energy_j * w / total for p, w in zip(PHASES, weights)}
    # put the rounding residue on overhead so that the phases sum exactly to the total
    shares["overhead"] = energy_j - shares["policy"] - shares["env"]
    return shares
