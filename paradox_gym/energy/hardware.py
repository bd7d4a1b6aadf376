"""What the energy figures were measured on: the CPU model and its RAPL domains, and per NVIDIA GPU its
name, driver, power limit and whether it has an energy counter (from NVML; an NVML error is recorded:
``unknown`` / None for a field the GPU does not answer, the reason in ``nvml_note`` when the query fails).

Power limits are in W (NVML reports mW). ``energy_counter`` is whether
``nvmlDeviceGetTotalEnergyConsumption`` answers (Volta and later): without it the NVML meter samples
power instead.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from paradox_gym._util.cpu import count_packages, cpu_model, logical_cpus
from paradox_gym.energy.meters.rapl import DEFAULT_POWERCAP_ROOT, discover_zones


@dataclass(frozen=True)
class GpuInfo:
    """One visible NVIDIA GPU (``index`` is its NVML index)."""

    index: int
    name: str
    uuid: str
    driver: str
    power_limit_w: float | None
    energy_counter: bool


@dataclass(frozen=True)
class HardwareInfo:
    """The energy-relevant hardware of this machine.

    Attributes:
        cpu_model: CPU model name (``/proc/cpuinfo``).
        cpu_packages, logical_cpus: sockets and logical CPUs.
        rapl_domains: RAPL zones the ``rapl`` meter reads (empty without RAPL).
        rapl_note: why there is no RAPL, when there is none.
        gpus: the GPUs NVML lists.
        nvml_note: why no GPU is listed, when none is.
    """

    cpu_model: str
    cpu_packages: int
    logical_cpus: int
    rapl_domains: list[str] = field(default_factory=list)
    rapl_note: str = ""
    gpus: list[GpuInfo] = field(default_factory=list)
    nvml_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def gpu_info() -> tuple[list[GpuInfo], str]:
    """The GPUs NVML lists, and a note (why none, when none)."""
    try:
        import pynvml
    except ImportError:
        return [], "pynvml (nvidia-ml-py) is not installed"
    nvml_error = pynvml.NVMLError  # every NVML call raises a subclass (NOT_SUPPORTED, NO_PERMISSION, ...)
    try:
        pynvml.nvmlInit()
    except nvml_error as exc:
        return [], f"NVML cannot start (no NVIDIA driver?): {exc}"
    gpus: list[GpuInfo] = []
    try:
        try:
            driver = _decode(pynvml.nvmlSystemGetDriverVersion())
        except nvml_error:
            driver = "unknown"
        for i in range(int(pynvml.nvmlDeviceGetCount())):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            try:
                limit: float | None = pynvml.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0
            except nvml_error:
                limit = None
            try:
                pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
                counter = True
            except nvml_error:
                counter = False
            try:
                name = _decode(pynvml.nvmlDeviceGetName(h))
            except (nvml_error, UnicodeDecodeError):
                name = "unknown"
            try:
                uuid = _decode(pynvml.nvmlDeviceGetUUID(h))
            except (nvml_error, UnicodeDecodeError):
                uuid = ""
            gpus.append(GpuInfo(i, name, uuid, driver, limit, counter))
    except (nvml_error, UnicodeDecodeError) as exc:
        return gpus, f"NVML device query failed: {exc}"
    finally:
        with contextlib.suppress(nvml_error):  # releasing the library: nothing is left to report
            pynvml.nvmlShutdown()
    return gpus, "" if gpus else "NVML found no GPU"


def hardware_info(powercap_root: Path | str = DEFAULT_POWERCAP_ROOT) -> HardwareInfo:
    """CPU model, RAPL domains and NVIDIA GPUs of this machine."""
    root = Path(powercap_root)
    domains: list[str] = []
    note = ""
    if not root.is_dir():
        note = f"{root} does not exist (no powercap RAPL)"
    else:
        try:
            domains = [z.label for z in discover_zones(root)]
            note = "" if domains else f"no RAPL package zone under {root}"
        except (OSError, ValueError) as exc:
            note = f"RAPL zones cannot be read: {type(exc).__name__}: {exc}"
    gpus, gnote = gpu_info()
    return HardwareInfo(cpu_model(), count_packages(), logical_cpus(), domains, note, gpus, gnote)


__all__ = ["GpuInfo", "HardwareInfo", "gpu_info", "hardware_info"]
