"""Energy measurement: meters (RAPL, NVML, a CPU-time model, CodeCarbon), the Gymnasium
``EnergyWrapper`` that measures episode and trial windows, and the CodeCarbon cross-check.
Energies are in joules (J), times in seconds (s); every figure is labelled measured / sampled /
modelled (see docs/methodology.md).
"""

from __future__ import annotations

from paradox_gym.energy.crosscheck import DEFAULT_TOLERANCE, CrossCheck, cross_check
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
