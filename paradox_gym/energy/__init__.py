"""Energy measurement: meters (RAPL, NVML, a CPU-time model, CodeCarbon), the Gymnasium
``EnergyWrapper`` that measures episode and trial windows, the CodeCarbon cross-check, energy per
device with a headline scope (``devices``), idle power (``idle``), where the policy runs
(``placement``), the machine's energy hardware (``hardware``), emission estimates (``emissions``) and
the meter validation workloads (``validation``).
Energies are in joules (J), times in seconds (s); every figure is labelled measured / sampled /
modelled (see docs/methodology.md).
"""

from __future__ import annotations

from paradox_gym.energy.crosscheck import DEFAULT_TOLERANCE, CrossCheck, cross_check
from paradox_gym.energy.device_summary import DeviceSummary, DeviceTrial, summarize_devices
from paradox_gym.energy.devices import (
    ENERGY_SCOPES,
    DevicePlan,
    DeviceReading,
    headline_scope,
    plan_devices,
)
from paradox_gym.energy.idle import IDLE, IdlePower, IdleWindow, measure_idle, summarize_idle
from paradox_gym.energy.measurement import (
    METHODS,
    PHASES,
    STATUSES,
    EnergyReading,
    PhaseTimes,
    WindowMeasurement,
    split_by_cpu_share,
)
from paradox_gym.energy.meters import (
    METER_NAMES,
    CodeCarbonMeter,
    CpuModelMeter,
    Meter,
    NvmlMeter,
    RaplMeter,
    default_meter_names,
    make_meters,
)
from paradox_gym.energy.wrapper import EnergyWrapper

__all__ = [
    "DEFAULT_TOLERANCE",
    "ENERGY_SCOPES",
    "IDLE",
    "DevicePlan",
    "DeviceReading",
    "DeviceSummary",
    "DeviceTrial",
    "IdlePower",
    "IdleWindow",
    "headline_scope",
    "measure_idle",
    "plan_devices",
    "summarize_devices",
    "summarize_idle",
    "METER_NAMES",
    "METHODS",
    "PHASES",
    "STATUSES",
    "CodeCarbonMeter",
    "CpuModelMeter",
    "CrossCheck",
    "EnergyReading",
    "EnergyWrapper",
    "Meter",
    "NvmlMeter",
    "PhaseTimes",
    "RaplMeter",
    "WindowMeasurement",
    "cross_check",
    "default_meter_names",
    "make_meters",
    "split_by_cpu_share",
]
