"""Per-device energy of one configuration over its trials: gross and net of idle, per episode and per step.

Input: one :class:`DeviceTrial` per trial window (episodes, steps, duration, and each device's reading);
idle power per device from :func:`paradox_gym.energy.idle.summarize_idle`. Per device and trial:
``gross = energy_j``, ``net = (machine_j - idle_w x wall_s) x share``; per episode the trial's figure
divided by its episodes. Reported: the mean over trials with a 95% Student-t interval (trials are the
independent units), in J.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from paradox_gym.energy.devices import DeviceReading
from paradox_gym.energy.idle import IdlePower, mean_interval


@dataclass(frozen=True)
class DeviceTrial:
    """One trial window as the per-device summary needs it (durations in s)."""

    episodes: int
    steps: int
    wall_s: float
    devices: Mapping[str, DeviceReading]


@dataclass(frozen=True)
class DeviceSummary:
    """One device's energy for one configuration (J; means over trials with 95% intervals).

    ``net_*`` subtract the device's idle power x each trial's duration; ``idle_share`` is the mean
    fraction of the gross figure that idle power explains (``1 - net / gross``).
    """

    device: str
    meter: str
    method: str
    attributed: bool
    trials: int
    gross_per_episode_j: float | None
    gross_per_episode_low_j: float | None
    gross_per_episode_high_j: float | None
    net_per_episode_j: float | None
    net_per_episode_low_j: float | None
    net_per_episode_high_j: float | None
    gross_per_step_j: float | None
    net_per_step_j: float | None
    idle_w: float | None
    idle_share: float | None

    @property
    def label(self) -> str:
        return f"{self.method}, attributed" if self.attributed else self.method

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["label"] = self.label
        return out


def summarize_devices(trials: Sequence[DeviceTrial], idle: Mapping[str, IdlePower],
                      devices: Sequence[str]) -> dict[str, DeviceSummary]:
    """Per device: gross and net energy per episode (mean, 95% interval) and per step (pooled)."""
    out: dict[str, DeviceSummary] = {}
    for d in devices:
        idle_w = idle[d].mean_w if d in idle else None
        gross_ep: list[float] = []
        net_ep: list[float] = []
        gross_sum = net_sum = 0.0
        steps = 0
        meter = method = ""
        attributed = False
        for t in trials:
            r = t.devices.get(d)
            if r is None:
                continue
            meter, method, attributed = r.meter, r.method, r.attributed
            if r.energy_j is None or t.episodes <= 0:
                continue
            gross_ep.append(r.energy_j / t.episodes)
            gross_sum += r.energy_j
            steps += t.steps
            net = r.net_j(idle_w, t.wall_s)
            if net is not None:
                net_ep.append(net / t.episodes)
                net_sum += net
        g, gl, gh = mean_interval(gross_ep)
        n, nl, nh = mean_interval(net_ep) if len(net_ep) == len(gross_ep) else (None, None, None)
        share = None
        if g and n is not None:
            share = 1.0 - n / g
        out[d] = DeviceSummary(
            d, meter, method, attributed, len(gross_ep), g, gl, gh, n, nl, nh,
            gross_sum / steps if steps else None,
            net_sum / steps if steps and n is not None else None,
            idle_w, share,
        )
    return out


__all__ = ["DeviceSummary", "DeviceTrial", "summarize_devices"]
