"""A fake ``pynvml`` module with the calls the NVML meter uses, driven by test-controlled state.

Install with ``monkeypatch.setitem(sys.modules, "pynvml", make_fake_pynvml([...]))``.
"""

from __future__ import annotations

import types
from dataclasses import dataclass


class NVMLError(Exception):
    """Stand-in for pynvml.NVMLError."""


class NVMLError_NotSupported(NVMLError):  # noqa: N801 - pynvml's naming
    """Stand-in for pynvml.NVMLError_NotSupported."""


class NVMLError_LibraryNotFound(NVMLError):  # noqa: N801
    """Stand-in for pynvml.NVMLError_LibraryNotFound."""


@dataclass
class FakeGpu:
    """One fake device: ``energy_mj`` None means no energy counter (pre-Volta)."""

    uuid: str
    energy_mj: int | None = 0
    power_mw: int = 100_000
    broken: bool = False  # every call on it raises NVMLError (driver fault mid-run)


def make_fake_pynvml(gpus: list[FakeGpu], *, init_error: bool = False) -> types.ModuleType:
    mod = types.ModuleType("pynvml")
    mod.NVMLError = NVMLError
    mod.NVMLError_NotSupported = NVMLError_NotSupported
    mod.gpus = gpus
    mod.calls = {"init": 0, "shutdown": 0}

    def nvmlInit() -> None:
        mod.calls["init"] += 1
        if init_error:
            raise NVMLError_LibraryNotFound("NVML Shared Library Not Found")

    def nvmlShutdown() -> None:
        mod.calls["shutdown"] += 1

    def nvmlDeviceGetCount() -> int:
        return len(mod.gpus)

    def nvmlDeviceGetHandleByIndex(i: int) -> FakeGpu:
        if not 0 <= i < len(mod.gpus):
            raise NVMLError("Invalid Argument")
        return mod.gpus[i]

    def nvmlDeviceGetUUID(h: FakeGpu) -> str:
        return h.uuid

    def nvmlDeviceGetTotalEnergyConsumption(h: FakeGpu) -> int:
        if h.broken:
            raise NVMLError("GPU is lost")
        if h.energy_mj is None:
            raise NVMLError_NotSupported("Not Supported")
        return h.energy_mj

    def nvmlDeviceGetPowerUsage(h: FakeGpu) -> int:
        if h.broken:
            raise NVMLError("GPU is lost")
        return h.power_mw

    for fn in (nvmlInit, nvmlShutdown, nvmlDeviceGetCount, nvmlDeviceGetHandleByIndex,
               nvmlDeviceGetUUID, nvmlDeviceGetTotalEnergyConsumption, nvmlDeviceGetPowerUsage):
        setattr(mod, fn.__name__, fn)
    return mod
