"""Typed records of what an evaluation measured: episodes and trials (energies in J, times in s, per-step
policy latencies in ns), memory probes (bytes). Produced by :mod:`paradox_gym.experiment`, read by
:mod:`paradox_gym.analysis` and :mod:`paradox_gym.report`; turned into dicts only at the edge.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from paradox_gym.energy.crosscheck import TrialCrossCheck

#: A trial whose rollout thread had less than this share of the wall time ran under CPU contention.
CONTENTION_SHARE = 0.9


@dataclass(frozen=True)
class EpisodeRecord:
    """One measured episode: return, length (steps), wall time (s) and its energy window (flattened dict)."""

    config: str
    trial: int
    episode: int
    seed: int
    ret: float
    length: int
    wall_s: float
    window: dict[str, Any] = field(default_factory=dict)
    replicate: int = 0

    def energy_j(self, meter: str) -> float | None:
        """The episode's energy (J) by ``meter`` (None when that meter has no episode figure)."""
        value = self.window.get(f"{meter}.energy_j")
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EpisodeRecord":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class TrialRecord:
    """One trial (several episodes in one EnergyWrapper trial window) of one configuration.

    ``energy_j`` maps meter name -> trial energy in J (``None`` when that meter failed);
    ``energy_method`` / ``energy_status`` give each meter's method and status.
    ``phase_energy_j`` maps meter -> phase (policy / env / overhead) -> J; ``phase_wall_s`` maps phase ->
    wall-clock s; ``phase_cpu_s`` maps phase -> the rollout thread's CPU s, timed per phase (only with the
    ``cpu`` phase clock; empty with the ``wall`` clock, where no per-phase CPU time exists).
    ``policy_ns`` holds the wall time of every ``predict`` call (ns).

    ``replicate`` is the fresh process the trial ran in; ``position`` its place in the round's randomised
    configuration order. ``rollout_cpu_share`` = the rollout thread's CPU time / the window's wall time:
    below :data:`CONTENTION_SHARE` other processes took the CPU, the wall-clock phase split charged their
    time to the phases, and ``phase_split_reliable`` is False.

    ``device_energy_j`` maps device (``cpu``, ``gpu-0`` ...) -> its figure in J (a RAPL process share where
    attributed) and ``device_machine_j`` -> the device-wide figure beside it (see
    :mod:`paradox_gym.energy.devices`); the headline over the energy scope is the pseudo-meter
    ``headline`` in ``energy_j`` (and ``headline-net``, net of idle power, once the run's idle windows are in).
    ``crosscheck`` is the trial's comparison with CodeCarbon (None without CodeCarbon).
    """

    config: str
    trial: int
    seeds: list[int]
    returns: list[float]
    lengths: list[int]
    wall_s: float
    cpu_s: float
    energy_j: dict[str, float | None]
    energy_method: dict[str, str]
    energy_status: dict[str, str]
    phase_energy_j: dict[str, dict[str, float]]
    phase_wall_s: dict[str, float]
    phase_cpu_s: dict[str, float]
    policy_ns: np.ndarray
    crosscheck: TrialCrossCheck | None = None
    energy_note: dict[str, str] = field(default_factory=dict)
    replicate: int = 0
    position: int = 0
    phase_clock: str = "wall"
    rollout_cpu_s: float | None = None
    rollout_cpu_share: float | None = None
    phase_split_reliable: bool = True
    device_energy_j: dict[str, float | None] = field(default_factory=dict)
    device_machine_j: dict[str, float | None] = field(default_factory=dict)
    #: wall time (s) of the trial's ``reset`` calls (part of ``phase_wall_s["env"]``): the episodes' fixed
    #: work outside their steps, from which the decomposition measures the fixed per-episode cost
    reset_wall_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain data (``policy_ns`` as a list of ints, ``crosscheck`` as its dict)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["policy_ns"] = [int(v) for v in np.asarray(self.policy_ns)]
        out["crosscheck"] = None if self.crosscheck is None else self.crosscheck.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrialRecord":
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["policy_ns"] = np.asarray(values.get("policy_ns", []), dtype=np.int64)
        if values.get("crosscheck") is not None:
            values["crosscheck"] = TrialCrossCheck.from_dict(values["crosscheck"])
        return cls(**values)

    @property
    def episodes(self) -> int:
        return len(self.returns)

    @property
    def steps(self) -> int:
        return int(sum(self.lengths))


@dataclass(frozen=True)
class MemoryProbe:
    """Memory of one configuration measured in a fresh process (bytes; see
    :mod:`paradox_gym.experiment.memory`). ``status`` is ``"ok"`` or ``"failed"`` (then ``reason`` says
    why and the byte fields are None: a failure is never reported as 0 bytes)."""

    status: str
    method: str | None = None
    episodes: int | None = None
    steps: int | None = None
    rss_after_load_bytes: int | None = None
    uss_after_load_bytes: int | None = None
    rss_after_rollout_bytes: int | None = None
    uss_after_rollout_bytes: int | None = None
    uss_delta_bytes: int | None = None
    peak_rss_bytes: int | None = None
    reason: str | None = None

    @classmethod
    def failed(cls, reason: str) -> "MemoryProbe":
        return cls(status="failed", reason=reason)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MemoryProbe":
        known = {k: data.get(k) for k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.status == "ok":
            out.pop("reason")
        else:
            out = {"status": self.status, "reason": self.reason}
        return out
