"""Idle power per device, measured in windows interleaved with the trials.

An idle window is a window in which this process sleeps (``time.sleep``) with everything loaded: the
agents, the meters and, when the policy runs on the GPU, its CUDA context. It is run like one more
configuration (``idle``) in the trial schedule -- after each round of trials -- because idle power
drifts (a GPU that just ran work stays in a higher power state for a while; other processes come and
go), so a single reading before the trials is not enough.

Per device and window: ``idle_w = machine_j / wall_s`` (W) from the device-wide figure (the whole
RAPL package and DRAM, the whole GPU board; for the CPU model, which charges only this process's CPU
time, it is the sleeping process's own small draw). Over the windows: the mean with a 95% Student-t
interval (:class:`IdlePower`).

Net energy of a window of ``wall_s`` seconds: ``net_j = (machine_j - idle_w x wall_s) x share`` (see
:meth:`paradox_gym.energy.devices.DeviceReading.net_j`); gross is what a battery or the power bill sees,
net is what the work added on top of the machine sitting idle.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from paradox_gym.energy.devices import DevicePlan, DeviceReading
from paradox_gym.energy.meters.base import Meter
from paradox_gym.errors import UserInputError

#: Pseudo-configuration name of the idle windows in the trial schedule.
IDLE = "idle"
#: Bounds (s) of one idle window's duration when it follows the trials' duration.
MIN_IDLE_S = 0.25
MAX_IDLE_S = 5.0


@dataclass(frozen=True)
class IdleWindow:
    """One idle window: its index, duration (s) and each device's reading over it."""

    index: int
    wall_s: float
    devices: dict[str, DeviceReading]

    def power_w(self, device: str) -> float | None:
        """Device-wide idle power (W) over this window, ``machine_j / wall_s``; None without a figure."""
        r = self.devices.get(device)
        if r is None or r.machine_j is None or self.wall_s <= 0:
            return None
        return r.machine_j / self.wall_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "wall_s": self.wall_s,
            "power_w": {d: self.power_w(d) for d in self.devices},
            "status": {d: r.status for d, r in self.devices.items()},
        }


@dataclass(frozen=True)
class IdlePower:
    """Idle power of one device over the idle windows: mean and 95% t-interval (W)."""

    device: str
    mean_w: float | None
    low_w: float | None
    high_w: float | None
    windows: int

    def to_dict(self) -> dict[str, Any]:
        return {"idle_w": self.mean_w, "idle_w_low": self.low_w, "idle_w_high": self.high_w,
                "idle_windows": self.windows}


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """``(mean, low, high)`` of ``values`` with a two-sided Student-t interval (low/high None with < 2 values)."""
    xs = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not xs:
        return None, None, None
    mean = sum(xs) / len(xs)
    if len(xs) < 2:
        return mean, None, None
    from scipy import stats

    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(xs) - 1)) * sd / math.sqrt(len(xs))
    return mean, mean - half, mean + half


def idle_duration_s(trial_walls_s: Sequence[float]) -> float:
    """Duration of the idle window after a round of trials: their mean duration, clamped to
    [``MIN_IDLE_S``, ``MAX_IDLE_S``]."""
    walls = [w for w in trial_walls_s if w > 0]
    mean = sum(walls) / len(walls) if walls else MIN_IDLE_S
    return min(max(mean, MIN_IDLE_S), MAX_IDLE_S)


def measure_idle(meters: Sequence[Meter], duration_s: float, plan: DevicePlan, *, index: int = 0,
                 key: str | None = None) -> IdleWindow:
    """Sleep ``duration_s`` seconds inside a window of every meter the ``plan`` uses; return the window.

    Only the meters that measure a device are opened (not the CodeCarbon cross-check). Call it with no
    other window of these meters open.

    Raises:
        UserInputError: ``duration_s`` is not a positive number of seconds (at most 600).
    """
    if isinstance(duration_s, bool) or not isinstance(duration_s, (int, float)) or not 0 < duration_s <= 600:
        raise UserInputError(f"idle duration must be a number of seconds in (0, 600], got {duration_s!r}")
    used = set(plan.sources.values())
    chosen = [m for m in meters if m.name in used]
    key = key or f"idle-{index}-{time.perf_counter_ns()}"
    for meter in chosen:
        meter.begin(key)
    t0 = time.perf_counter()
    time.sleep(duration_s)
    wall = time.perf_counter() - t0
    readings = {m.name: m.end(key) for m in reversed(chosen)}
    return IdleWindow(index, wall, plan.readings(readings))


def summarize_idle(windows: Sequence[IdleWindow], devices: Sequence[str]) -> dict[str, IdlePower]:
    """Mean idle power per device with its 95% interval, over the windows that have a figure."""
    out: dict[str, IdlePower] = {}
    for d in devices:
        powers = [p for p in (w.power_w(d) for w in windows) if p is not None]
        mean, low, high = mean_interval(powers)
        out[d] = IdlePower(d, mean, low, high, len(powers))
    return out


def idle_watts(idle: Mapping[str, IdlePower]) -> dict[str, float | None]:
    """Device -> mean idle power (W)."""
    return {d: p.mean_w for d, p in idle.items()}


__all__ = [
    "IDLE",
    "MAX_IDLE_S",
    "MIN_IDLE_S",
    "IdlePower",
    "IdleWindow",
    "idle_duration_s",
    "idle_watts",
    "mean_interval",
    "measure_idle",
    "summarize_idle",
]
