"""Typed records of what an evaluation measured: episodes and trials (energies in J, times in s, per-step
policy latencies in ns), memory probes (bytes). Produced by :mod:`paradox_gym.experiment`, read by
:mod:`paradox_gym.analysis` and :mod:`paradox_gym.report`; turned into dicts only at the edge.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


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


@dataclass(frozen=True)
class TrialRecord:
    """One trial (several episodes in one EnergyWrapper trial window) of one configuration.

    ``energy_j`` maps meter name -> trial energy in J (``None`` when that meter failed);
    ``energy_method`` / ``energy_status`` give each meter's method and status.
    ``phase_energy_j`` maps meter -> phase (policy / env / overhead) -> J, ``phase_wall_s`` and
    ``phase_cpu_s`` map phase -> s. ``policy_ns`` holds the wall time of every ``predict`` call (ns).
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
    crosscheck: dict[str, Any] | None = None
    energy_note: dict[str, str] = field(default_factory=dict)

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
