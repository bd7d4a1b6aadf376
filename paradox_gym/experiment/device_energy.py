"""Energy per device inside an evaluation: the headline figure of every trial, the interleaved idle windows,
net energy, and the per-device and emission parts of the result.

Inside a replicate process, :class:`DeviceAccounting` (built from the run's meters and settings) adds to
each trial record the devices' figures (``device_energy_j``, ``device_machine_j``) and the headline as a
pseudo-meter ``headline`` in ``energy_j`` / ``energy_method`` / ``energy_status`` / ``phase_energy_j``,
so that the analysis treats it like a meter; it also measures the ``idle`` windows the runner interleaves
after each round of trials (:meth:`DeviceAccounting.idle`, :class:`IdleRecord`). In the parent,
:func:`apply_idle` adds the net-of-idle headline ``headline-net`` to every trial, and
:func:`energy_section` builds the result's :class:`EnergySection` (the ``energy`` block of the JSON and
each summary's ``energy_by_device``). The records here are typed; ``to_dict`` / ``from_dict`` turn them
into the plain data of the replicate's stream and the result's JSON. Energies in J, powers in W,
durations in s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from paradox_gym.energy.crosscheck import CrossCheck, TrialCrossCheck, cross_check
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
from paradox_gym.energy.device_summary import DeviceSummary
from paradox_gym.energy.emissions import CarbonIntensity, carbon_intensity, grams_per_1000_episodes
from paradox_gym.energy.idle import IDLE, IdlePower, IdleWindow, idle_duration_s, measure_idle, summarize_idle
from paradox_gym.energy.measurement import WindowMeasurement, split_by_cpu_share
from paradox_gym.energy.meters import METERS, Meter
from paradox_gym.energy.validation import trustworthy_window_s
from paradox_gym.experiment.records import EpisodeRecord, TrialRecord

_STATUS_ORDER = ("unavailable", "failed", "too_short", "ok")
#: What the emission figures are (the ``note`` of the JSON's ``energy.emissions``).
EMISSIONS_NOTE = "estimate: energy x the grid's yearly average carbon intensity"


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class MeasuredDevice:
    """One measured device: the meter that measures it, how (``measured``, ``sampled`` or ``modelled``),
    and whether its figure is this process's share of the device (``attributed``) or the whole device."""

    meter: str
    method: str
    attributed: bool

    @property
    def label(self) -> str:
        """The method as the report prints it: ``modelled`` or ``measured, attributed``."""
        return f"{self.method}, attributed" if self.attributed else self.method

    def to_dict(self) -> dict[str, Any]:
        return {"meter": self.meter, "method": self.method, "attributed": self.attributed, "label": self.label}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MeasuredDevice:
        return cls(str(data["meter"]), str(data["method"]), bool(data["attributed"]))


@dataclass(frozen=True)
class DeviceSetup:
    """The devices a run measures (name -> :class:`MeasuredDevice`, in plan order), the devices the
    headline sums (``scope``), the headline's combined method and the device the policy runs on
    (``cpu`` or ``cuda``)."""

    devices: dict[str, MeasuredDevice]
    scope: tuple[str, ...]
    method: str
    policy_device: str

    def to_dict(self) -> dict[str, Any]:
        return {"devices": {d: m.to_dict() for d, m in self.devices.items()}, "scope": list(self.scope),
                "method": self.method, "policy_device": self.policy_device}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceSetup:
        return cls({str(d): MeasuredDevice.from_dict(m) for d, m in data["devices"].items()},
                   tuple(str(d) for d in data["scope"]), str(data["method"]), str(data["policy_device"]))


@dataclass(frozen=True)
class IdleFigure:
    """One device over one idle window: its figure (J; a process share where attributed), the device-wide
    figure (J), the meter's status and the device-wide power (W; None without a figure)."""

    energy_j: float | None
    machine_j: float | None
    status: str
    power_w: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"energy_j": self.energy_j, "machine_j": self.machine_j, "status": self.status,
                "power_w": self.power_w}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IdleFigure:
        return cls(_opt_float(data.get("energy_j")), _opt_float(data.get("machine_j")), str(data["status"]),
                   _opt_float(data.get("power_w")))


@dataclass(frozen=True)
class IdleRecord:
    """One idle window of the run: the replicate, the trial round it followed, its index in the replicate,
    its duration (s) and each device's :class:`IdleFigure`. In the JSON it is a pseudo-configuration
    (``config: idle``)."""

    replicate: int
    after_trial: int
    index: int
    wall_s: float
    devices: dict[str, IdleFigure]

    def to_dict(self) -> dict[str, Any]:
        return {"config": IDLE, "replicate": self.replicate, "after_trial": self.after_trial, "index": self.index,
                "wall_s": self.wall_s, "devices": {d: f.to_dict() for d, f in self.devices.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IdleRecord:
        return cls(int(data["replicate"]), int(data["after_trial"]), int(data.get("index", 0)),
                   float(data["wall_s"]),
                   {str(d): IdleFigure.from_dict(f) for d, f in data.get("devices", {}).items()})


@dataclass(frozen=True)
class DeviceIdle:
    """A measured device with its idle power over the run's idle windows (None where it has none)."""

    device: MeasuredDevice
    idle: IdlePower | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.device.to_dict(), **self.idle.to_dict()} if self.idle is not None else self.device.to_dict()


@dataclass(frozen=True)
class Headline:
    """The headline figure: the devices it sums (``scope``), their combined method, gross or net
    (``basis``) and the device the policy runs on."""

    scope: tuple[str, ...]
    method: str
    basis: str
    policy_device: str

    def to_dict(self) -> dict[str, Any]:
        return {"scope": list(self.scope), "method": self.method, "basis": self.basis, "meter_key": HEADLINE,
                "net_meter_key": HEADLINE_NET, "policy_device": self.policy_device}


@dataclass(frozen=True)
class ConfigEmissions:
    """gCO2e per 1000 episodes of one configuration, from its gross and its net headline (None without
    a figure)."""

    gross_g_per_1000_episodes: float | None
    net_g_per_1000_episodes: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"gross_g_per_1000_episodes": self.gross_g_per_1000_episodes,
                "net_g_per_1000_episodes": self.net_g_per_1000_episodes}


@dataclass(frozen=True)
class Emissions:
    """The CO2e estimate: the grid's carbon intensity and each configuration's grams per 1000 episodes."""

    intensity: CarbonIntensity
    per_config: dict[str, ConfigEmissions]
    note: str = EMISSIONS_NOTE

    def to_dict(self) -> dict[str, Any]:
        return {**self.intensity.to_dict(), "per_config": {c: e.to_dict() for c, e in self.per_config.items()},
                "note": self.note}


@dataclass(frozen=True)
class EnergySection:
    """Energy per device of one evaluation: the headline, each device with its idle power, the idle
    windows, the CO2e estimate, and per configuration and device the gross and net energy
    (``by_device``: config -> device -> :class:`DeviceSummary`).

    ``to_dict`` is the JSON's ``energy`` block; ``by_device`` goes into each summary's
    ``energy_by_device`` (:meth:`by_device_dict`).
    """

    headline: Headline
    devices: dict[str, DeviceIdle]
    idle_windows: tuple[IdleRecord, ...]
    emissions: Emissions
    by_device: dict[str, dict[str, DeviceSummary]]

    def to_dict(self) -> dict[str, Any]:
        return {"headline": self.headline.to_dict(), "devices": {d: v.to_dict() for d, v in self.devices.items()},
                "idle_windows": [w.to_dict() for w in self.idle_windows], "emissions": self.emissions.to_dict()}

    def by_device_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Config -> device -> the summary as plain data (each summary's ``energy_by_device``)."""
        return {cfg: {d: s.to_dict() for d, s in per.items()} for cfg, per in self.by_device.items()}


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
        idle_windows: the idle windows measured so far.
    """

    plan: DevicePlan
    scope: tuple[str, ...]
    policy_device: str
    meters: list[Meter]
    replicate: int = 0
    idle_windows: list[IdleRecord] = field(default_factory=list)

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

    def info(self) -> DeviceSetup:
        """The devices (meter, method, attributed), the headline scope and method, and the policy device."""
        devices = {d: MeasuredDevice(self.plan.sources[d], self.plan.methods[d], self.plan.attributed[d])
                   for d in self.plan.devices}
        return DeviceSetup(devices, tuple(self.scope), self.headline_method, self.policy_device)

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
            checks: dict[str, CrossCheck] = {}
            for d, part in (("cpu", "cpu"), *((g, "gpu") for g in self.plan.devices if g.startswith("gpu"))):
                source = self.plan.sources.get(d)
                if source is not None and source in window.readings and part not in checks:
                    checks[part] = cross_check(window.readings[source], window.readings[cc_meter], part=part)
            if "cpu" in checks:
                crosscheck = TrialCrossCheck.of(checks["cpu"], checks)
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

    def idle(self, trial_walls_s: Sequence[float], after_trial: int) -> IdleRecord:
        """Measure one idle window (as long as the round's trials, clamped), keep it and return it."""
        window = measure_idle(self.meters, idle_duration_s(trial_walls_s), self.plan, index=len(self.idle_windows))
        out = idle_record(window, self.replicate, after_trial)
        self.idle_windows.append(out)
        return out


def idle_record(window: IdleWindow, replicate: int, after_trial: int) -> IdleRecord:
    """An idle window of ``replicate``, measured after the trial round ``after_trial``, as the run keeps it."""
    return IdleRecord(replicate, after_trial, window.index, window.wall_s,
                      {d: IdleFigure(r.energy_j, r.machine_j, r.status, window.power_w(d))
                       for d, r in window.devices.items()})


def _readings(info: DeviceSetup, energy: Mapping[str, Any], machine: Mapping[str, Any],
              status: str = "ok") -> dict[str, DeviceReading]:
    out = {}
    for d, meta in info.devices.items():
        if d in energy:
            e, m = energy.get(d), machine.get(d, energy.get(d))
            out[d] = DeviceReading(d, meta.meter, meta.method, meta.attributed,
                                   None if e is None else float(e), None if m is None else float(m),
                                   status if e is not None else "failed")
    return out


def idle_windows(windows: Sequence[IdleRecord], info: DeviceSetup) -> list[IdleWindow]:
    """The run's idle records -> :class:`IdleWindow` readings of the devices in ``info``."""
    out = []
    for w in windows:
        energy = {d: f.energy_j for d, f in w.devices.items()}
        machine = {d: f.machine_j for d, f in w.devices.items()}
        out.append(IdleWindow(w.index, w.wall_s, _readings(info, energy, machine)))
    return out


def idle_power(windows: Sequence[IdleRecord], info: DeviceSetup) -> dict[str, IdlePower]:
    """Mean idle power per device (W) with its 95% interval over the run's idle windows."""
    return summarize_idle(idle_windows(windows, info), list(info.devices))


def apply_idle(trials: Mapping[str, Sequence[TrialRecord]], windows: Sequence[IdleRecord],
               info: DeviceSetup) -> dict[str, list[TrialRecord]]:
    """Every trial with the net-of-idle headline ``headline-net`` (J) added beside ``headline``:
    the sum over the scope of ``(machine_j - idle_w x wall_s) x share`` with the run's mean idle power."""
    idle_w = {d: p.mean_w for d, p in idle_power(windows, info).items()}
    scope = list(info.scope)
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


def apply_idle_to_episodes(episodes: Sequence[EpisodeRecord], windows: Sequence[IdleRecord],
                           info: DeviceSetup) -> list[EpisodeRecord]:
    """Every episode with ``headline-net.energy_j`` added to its window (same rule as :func:`apply_idle`)."""
    idle_w = {d: p.mean_w for d, p in idle_power(windows, info).items()}
    scope = list(info.scope)
    devices = list(info.devices)
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


def energy_by_device(trials: Mapping[str, Sequence[TrialRecord]], windows: Sequence[IdleRecord],
                     info: DeviceSetup) -> dict[str, dict[str, DeviceSummary]]:
    """Config -> device -> gross and net energy per episode (mean and 95% interval over trials) and per step."""
    idle = idle_power(windows, info)
    devices = list(info.devices)
    out: dict[str, dict[str, DeviceSummary]] = {}
    for config, records in trials.items():
        dtrials = [DeviceTrial(t.episodes, t.steps, t.wall_s, _readings(info, t.device_energy_j, t.device_machine_j))
                   for t in records if t.episodes > 0 and t.device_energy_j]
        out[config] = summarize_devices(dtrials, idle, devices)
    return out


def _mean_per_episode(records: Sequence[TrialRecord], key: str) -> float | None:
    values = [t.energy_j[key] / t.episodes for t in records if t.episodes > 0 and t.energy_j.get(key) is not None]
    return sum(values) / len(values) if values else None


def short_window_notes(trials: Mapping[str, Sequence[TrialRecord]], info: DeviceSetup) -> list[str]:
    """A note per measuring meter whose trial windows are shorter than its trustworthy window."""
    walls = [t.wall_s for records in trials.values() for t in records if t.episodes > 0]
    if not walls:
        return []
    notes = []
    for meter in sorted({m.meter for m in info.devices.values()}):
        window, basis = trustworthy_window_s(meter)
        if window is None:
            continue
        short = sum(1 for w in walls if w < window)
        if short:
            notes.append(f"{meter}: {short} of {len(walls)} trial windows are shorter than its trustworthy window "
                         f"of {window:g} s ({basis}); use more --episodes per trial")
    return notes


def energy_section(trials: Mapping[str, Sequence[TrialRecord]], windows: Sequence[IdleRecord],
                   info: DeviceSetup, country: str | None = None, energy_basis: str = "gross") -> EnergySection:
    """Energy per device of the run: the headline (scope, method, basis), each device (meter, method,
    attributed, idle power with its interval), the idle windows, CO2e per 1000 episodes (an estimate)
    and each configuration's gross and net energy per device."""
    idle = idle_power(windows, info)
    devices = {d: DeviceIdle(meta, idle.get(d)) for d, meta in info.devices.items()}
    intensity = carbon_intensity(country)
    per_config = {config: ConfigEmissions(grams_per_1000_episodes(_mean_per_episode(records, HEADLINE), intensity),
                                          grams_per_1000_episodes(_mean_per_episode(records, HEADLINE_NET), intensity))
                  for config, records in trials.items()}
    headline = Headline(tuple(info.scope), info.method, energy_basis, info.policy_device)
    return EnergySection(headline, devices, tuple(windows), Emissions(intensity, per_config),
                         energy_by_device(trials, windows, info))


__all__ = [
    "EMISSIONS_NOTE",
    "ConfigEmissions",
    "DeviceAccounting",
    "DeviceIdle",
    "DeviceSetup",
    "Emissions",
    "EnergySection",
    "Headline",
    "IdleFigure",
    "IdleRecord",
    "MeasuredDevice",
    "apply_idle",
    "apply_idle_to_episodes",
    "energy_by_device",
    "energy_section",
    "idle_power",
    "idle_record",
    "idle_windows",
    "short_window_notes",
]
