"""Energy per device inside an evaluation: the headline figure of every trial, the interleaved idle windows,
net energy, and the per-device and emission parts of the result.

Inside a replicate process, :class:`DeviceAccounting` (built from the run's meters and settings) adds to
each trial record the devices' figures (``device_energy_j``, ``device_machine_j``) and the headline as a
pseudo-meter ``headline`` in ``energy_j`` / ``energy_method`` / ``energy_status`` / ``phase_energy_j``,
so that the analysis treats it like a meter; it also measures the ``idle`` windows the runner interleaves
after each round of trials (:meth:`DeviceAccounting.idle`, plain dicts). In the parent,
:func:`apply_idle` adds the net-of-idle headline ``headline-net`` to every trial, and
:func:`energy_section` / :func:`energy_by_device` build the result's ``energy`` block and each
summary's ``energy_by_device``. Energies in J, powers in W, durations in s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from paradox_gym.energy.crosscheck import cross_check
from paradox_gym.energy.device_summary import DeviceTrial, summarize_devices
from paradox_gym.energy.devices import (
    HEADLINE,
    HEADLINE_NET,
    DevicePlan,
    DeviceReading,
    combined_method,
    headline_j,
    headline_scope,
    plan_devices,
)
from paradox_gym.energy.emissions import carbon_intensity, grams_per_1000_episodes
from paradox_gym.energy.idle import IDLE, IdlePower, IdleWindow, idle_duration_s, measure_idle, summarize_idle
from paradox_gym.energy.measurement import WindowMeasurement, split_by_cpu_share
from paradox_gym.energy.meters import METERS, Meter
from paradox_gym.energy.validation import trustworthy_window_s
from paradox_gym.experiment.records import EpisodeRecord, TrialRecord

_STATUS_ORDER = ("unavailable", "failed", "too_short", "ok")


def _worst(statuses: Sequence[str]) -> str:
    for s in _STATUS_ORDER:
        if s in statuses:
            return s
    return "ok"


@dataclass
class DeviceAccounting:
    """Per-device bookkeeping of one replicate (see the module docstring).

    Attributes:
        plan: which meter measures which device.
        scope: the devices the headline sums.
        policy_device: ``cpu`` or ``cuda``.
        meters: the run's meters (idle windows open the ones the plan uses).
        idle_windows: the idle windows measured so far, as plain dicts.
    """

    plan: DevicePlan
    scope: tuple[str, ...]
    policy_device: str
    meters: list[Meter]
    replicate: int = 0
    idle_windows: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def build(cls, meters: Sequence[Meter], energy_scope: str = "total", policy_device: str = "cpu",
              replicate: int = 0) -> DeviceAccounting:
        """Plan the devices among ``meters`` and resolve the headline scope (UserInputError when the scope
        leaves out the policy's device or has no measured device)."""
        plan = plan_devices(meters)
        return cls(plan, headline_scope(energy_scope, plan.devices, policy_device), policy_device,
                   list(meters), replicate)

    @property
    def headline_method(self) -> str:
        return combined_method([self.plan.methods[d] for d in self.scope])

    def info(self) -> dict[str, Any]:
        """Plain data: devices (meter, method, attributed, label), the headline scope and the policy device."""
        return {
            "devices": {
                d: {"meter": self.plan.sources[d], "method": self.plan.methods[d],
                    "attributed": self.plan.attributed[d],
                    "label": f"{self.plan.methods[d]}, attributed" if self.plan.attributed[d] else self.plan.methods[d]}
                for d in self.plan.devices
            },
            "scope": list(self.scope),
            "method": self.headline_method,
            "policy_device": self.policy_device,
        }

    def annotate(self, record: TrialRecord, window: WindowMeasurement) -> TrialRecord:
        """``record`` with the devices' figures, the ``headline`` pseudo-meter and the CodeCarbon comparison
        of the CPU (and GPU) device."""
        dev = self.plan.readings(window.readings)
        head = headline_j(dev, self.scope)
        energy = {**record.energy_j, HEADLINE: head}
        method = {**record.energy_method, HEADLINE: self.headline_method}
        status = {**record.energy_status, HEADLINE: _worst([dev[d].status for d in self.scope if d in dev])}
        phases = {k: dict(v) for k, v in record.phase_energy_j.items()}
        if head is not None:
            phases[HEADLINE] = split_by_cpu_share(head, window.phases)
        notes = {**record.energy_note, HEADLINE: f"sum of {', '.join(self.scope)}"}
        crosscheck = record.crosscheck
        cc_meter = next((n for n in window.readings if n in METERS and METERS[n].role == "cross-check"), None)
        if cc_meter is not None:
            checks = {}
            for d, part in (("cpu", "cpu"), *((g, "gpu") for g in self.plan.devices if g.startswith("gpu"))):
                source = self.plan.sources.get(d)
                if source is not None and source in window.readings and part not in checks:
                    checks[part] = cross_check(window.readings[source], window.readings[cc_meter], part=part).to_dict()
            if "cpu" in checks:
                crosscheck = {**checks["cpu"], "parts": checks}
        return dataclasses.replace(
            record, energy_j=energy, energy_method=method, energy_status=status, phase_energy_j=phases,
            energy_note=notes, crosscheck=crosscheck,
            device_energy_j={d: r.energy_j for d, r in dev.items()},
            device_machine_j={d: r.machine_j for d, r in dev.items()},
        )

    def episode_dict(self, window: WindowMeasurement) -> dict[str, Any]:
        """An episode window flattened (``WindowMeasurement.to_dict``) with the headline
        (``headline.energy_j``, ``headline.method``, ``headline.status``) and each device's figures
        (``device.<name>.energy_j``, ``device.<name>.machine_j``) added."""
        out = window.to_dict()
        dev = self.plan.readings(window.readings)
        out[f"{HEADLINE}.energy_j"] = headline_j(dev, self.scope)
        out[f"{HEADLINE}.method"] = self.headline_method
        out[f"{HEADLINE}.status"] = _worst([dev[d].status for d in self.scope if d in dev])
        for d, r in dev.items():
            out[f"device.{d}.energy_j"] = r.energy_j
            out[f"device.{d}.machine_j"] = r.machine_j
        return out

    def idle(self, trial_walls_s: Sequence[float], after_trial: int) -> dict[str, Any]:
        """Measure one idle window (as long as the round's trials, clamped) and keep it; returns it as plain data."""
        window = measure_idle(self.meters, idle_duration_s(trial_walls_s), self.plan, index=len(self.idle_windows))
        out = idle_to_dict(window, self.replicate, after_trial)
        self.idle_windows.append(out)
        return out


def idle_to_dict(window: IdleWindow, replicate: int, after_trial: int) -> dict[str, Any]:
    """An idle window as plain data (for the replicate's stream and the result)."""
    return {
        "config": IDLE, "replicate": replicate, "after_trial": after_trial, "index": window.index,
        "wall_s": window.wall_s,
        "devices": {d: {"energy_j": r.energy_j, "machine_j": r.machine_j, "status": r.status,
                        "power_w": window.power_w(d)} for d, r in window.devices.items()},
    }


def _readings(info: Mapping[str, Any], energy: Mapping[str, Any], machine: Mapping[str, Any],
              status: str = "ok") -> dict[str, DeviceReading]:
    out = {}
    for d, meta in info.get("devices", {}).items():
        if d in energy:
            e, m = energy.get(d), machine.get(d, energy.get(d))
            out[d] = DeviceReading(d, meta["meter"], meta["method"], bool(meta["attributed"]),
                                   None if e is None else float(e), None if m is None else float(m),
                                   status if e is not None else "failed")
    return out


def idle_windows(windows: Sequence[Mapping[str, Any]], info: Mapping[str, Any]) -> list[IdleWindow]:
    """Plain idle windows -> :class:`IdleWindow` records."""
    out = []
    for w in windows:
        devs = w.get("devices", {})
        energy = {d: v.get("energy_j") for d, v in devs.items()}
        machine = {d: v.get("machine_j") for d, v in devs.items()}
        out.append(IdleWindow(int(w.get("index", 0)), float(w["wall_s"]), _readings(info, energy, machine)))
    return out


def idle_power(windows: Sequence[Mapping[str, Any]], info: Mapping[str, Any]) -> dict[str, IdlePower]:
    """Mean idle power per device (W) with its 95% interval over the run's idle windows."""
    return summarize_idle(idle_windows(windows, info), list(info.get("devices", {})))


def apply_idle(trials: Mapping[str, Sequence[TrialRecord]], windows: Sequence[Mapping[str, Any]],
               info: Mapping[str, Any]) -> dict[str, list[TrialRecord]]:
    """Every trial with the net-of-idle headline ``headline-net`` (J) added beside ``headline``:
    the sum over the scope of ``(machine_j - idle_w x wall_s) x share`` with the run's mean idle power."""
    idle_w = {d: p.mean_w for d, p in idle_power(windows, info).items()}
    scope = list(info.get("scope", []))
    out: dict[str, list[TrialRecord]] = {}
    for config, records in trials.items():
        new = []
        for t in records:
            if HEADLINE not in t.energy_j or not scope:
                new.append(t)
                continue
            dev = _readings(info, t.device_energy_j, t.device_machine_j)
            net = _net_j(dev, scope, idle_w, t.wall_s)
            phases = {k: dict(v) for k, v in t.phase_energy_j.items()}
            gross_phases = t.phase_energy_j.get(HEADLINE)
            head = t.energy_j.get(HEADLINE)
            if net is not None and gross_phases and head:
                phases[HEADLINE_NET] = {p: j * net / head for p, j in gross_phases.items()}
            new.append(dataclasses.replace(
                t, energy_j={**t.energy_j, HEADLINE_NET: net},
                energy_method={**t.energy_method, HEADLINE_NET: t.energy_method.get(HEADLINE, "")},
                energy_status={**t.energy_status, HEADLINE_NET: t.energy_status.get(HEADLINE, "ok")
                               if net is not None else "failed"},
                phase_energy_j=phases,
            ))
        out[config] = new
    return out


def _net_j(dev: Mapping[str, DeviceReading], scope: Sequence[str], idle_w: Mapping[str, float | None],
           wall_s: float) -> float | None:
    net = 0.0
    for d in scope:
        value = dev[d].net_j(idle_w.get(d), wall_s) if d in dev else None
        if value is None:
            return None
        net += value
    return net


def apply_idle_to_episodes(episodes: Sequence[EpisodeRecord], windows: Sequence[Mapping[str, Any]],
                           info: Mapping[str, Any]) -> list[EpisodeRecord]:
    """Every episode with ``headline-net.energy_j`` added to its window (same rule as :func:`apply_idle`)."""
    idle_w = {d: p.mean_w for d, p in idle_power(windows, info).items()}
    scope = list(info.get("scope", []))
    devices = list(info.get("devices", {}))
    out = []
    for e in episodes:
        w = e.window
        if f"{HEADLINE}.energy_j" not in w or not scope:
            out.append(e)
            continue
        energy = {d: w.get(f"device.{d}.energy_j") for d in devices if f"device.{d}.energy_j" in w}
        machine = {d: w.get(f"device.{d}.machine_j") for d in energy}
        net = _net_j(_readings(info, energy, machine), scope, idle_w, float(w.get("wall_s", e.wall_s)))
        out.append(dataclasses.replace(e, window={**w, f"{HEADLINE_NET}.energy_j": net}))
    return out


def energy_by_device(trials: Mapping[str, Sequence[TrialRecord]], windows: Sequence[Mapping[str, Any]],
                     info: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Config -> device -> gross and net energy per episode (mean and 95% interval over trials) and per step."""
    idle = idle_power(windows, info)
    devices = list(info.get("devices", {}))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for config, records in trials.items():
        dtrials = [DeviceTrial(t.episodes, t.steps, t.wall_s, _readings(info, t.device_energy_j, t.device_machine_j))
                   for t in records if t.episodes > 0 and t.device_energy_j]
        out[config] = {d: s.to_dict() for d, s in summarize_devices(dtrials, idle, devices).items()}
    return out


def _mean_per_episode(records: Sequence[TrialRecord], key: str) -> float | None:
    values = [t.energy_j[key] / t.episodes for t in records if t.episodes > 0 and t.energy_j.get(key) is not None]
    return sum(values) / len(values) if values else None


def short_window_notes(trials: Mapping[str, Sequence[TrialRecord]], info: Mapping[str, Any]) -> list[str]:
    """A note per measuring meter whose trial windows are shorter than its trustworthy window."""
    walls = [t.wall_s for records in trials.values() for t in records if t.episodes > 0]
    if not walls:
        return []
    notes = []
    for meter in sorted({m["meter"] for m in info.get("devices", {}).values()}):
        window, basis = trustworthy_window_s(meter)
        if window is None:
            continue
        short = sum(1 for w in walls if w < window)
        if short:
            notes.append(f"{meter}: {short} of {len(walls)} trial windows are shorter than its trustworthy window "
                         f"of {window:g} s ({basis}); use more --episodes per trial")
    return notes


def energy_section(trials: Mapping[str, Sequence[TrialRecord]], windows: Sequence[Mapping[str, Any]],
                   info: Mapping[str, Any], country: str | None = None,
                   energy_basis: str = "gross") -> dict[str, Any]:
    """The result's ``energy`` block: the headline (scope, method, basis), each device (meter, method,
    attributed, idle power with its interval), the idle windows, and CO2e per 1000 episodes (an estimate)."""
    idle = idle_power(windows, info)
    devices = {d: {**meta, **idle[d].to_dict()} if d in idle else dict(meta)
               for d, meta in info.get("devices", {}).items()}
    intensity = carbon_intensity(country)
    per_config = {}
    for config, records in trials.items():
        gross = _mean_per_episode(records, HEADLINE)
        net = _mean_per_episode(records, HEADLINE_NET)
        per_config[config] = {
            "gross_g_per_1000_episodes": grams_per_1000_episodes(gross, intensity),
            "net_g_per_1000_episodes": grams_per_1000_episodes(net, intensity),
        }
    return {
        "headline": {"scope": list(info.get("scope", [])), "method": info.get("method"),
                     "basis": energy_basis, "meter_key": HEADLINE, "net_meter_key": HEADLINE_NET,
                     "policy_device": info.get("policy_device", "cpu")},
        "devices": devices,
        "idle_windows": [dict(w) for w in windows],
        "emissions": {**intensity.to_dict(), "per_config": per_config,
                      "note": "estimate: energy x the grid's yearly average carbon intensity"},
    }


__all__ = [
    "DeviceAccounting",
    "apply_idle",
    "apply_idle_to_episodes",
    "energy_by_device",
    "energy_section",
    "idle_power",
    "idle_to_dict",
    "idle_windows",
    "short_window_notes",
]
