"""A fake ``pynvml`` module (package nvidia-ml-py) driven by test-controlled state.

It reproduces the parts of the real module the NVML meter touches, with the real semantics:

- ``NVML_ERROR_*`` constants with nvidia-ml-py's values, and ``NVMLError(value)``, which maps the code
  to a generated subclass (``NVMLError(3)`` is an ``NVMLError_NotSupported``; ``NVMLError_NotSupported()``
  takes no argument), carries ``.value`` and prints the library's message (``"Not Supported"``);
- ``nvmlInit`` / ``nvmlInitWithFlags`` / ``nvmlShutdown`` with reference counting: every other call
  raises ``NVMLError_Uninitialized`` unless NVML is initialised, and ``nvmlShutdown`` without a
  matching init raises it too;
- ``nvmlDeviceGetCount``, ``nvmlDeviceGetHandleByIndex(index)``, ``nvmlDeviceGetHandleByUUID(uuid)``,
  ``nvmlDeviceGetUUID(handle)`` (a ``str`` such as ``"GPU-8a3c..."``),
  ``nvmlDeviceGetTotalEnergyConsumption(handle)`` (int, **mJ since the driver loaded**; raises
  ``NVMLError_NotSupported`` before Volta) and ``nvmlDeviceGetPowerUsage(handle)`` (int, **mW**);
- ``nvmlDeviceGetName(handle)`` (str), ``nvmlSystemGetDriverVersion()`` (str),
  ``nvmlDeviceGetPowerManagementLimit(handle)`` and ``nvmlDeviceGetEnforcedPowerLimit(handle)`` (int, mW).

A device built with ``watts`` draws that constant power in real time: its counter is
``energy_mj + watts x (time.perf_counter() - epoch_s) x 1000`` and its power reading ``watts x 1000`` mW
(:func:`constant_power_gpu`), so that any window measures ``watts x its duration``.

``tests/test_energy_nvml.py`` checks these names, signatures and error codes against the real module.
Install with ``monkeypatch.setitem(sys.modules, "pynvml", make_fake_pynvml([...]))``.
"""

from __future__ import annotations

import string
import time
import types
from dataclasses import dataclass
from typing import Any

NVML_SUCCESS = 0
#: nvidia-ml-py's error codes (``NVML_ERROR_*``), same values as the real module.
ERROR_CODES: dict[str, int] = {
    "NVML_ERROR_UNINITIALIZED": 1,
    "NVML_ERROR_INVALID_ARGUMENT": 2,
    "NVML_ERROR_NOT_SUPPORTED": 3,
    "NVML_ERROR_NO_PERMISSION": 4,
    "NVML_ERROR_ALREADY_INITIALIZED": 5,
    "NVML_ERROR_NOT_FOUND": 6,
    "NVML_ERROR_INSUFFICIENT_SIZE": 7,
    "NVML_ERROR_INSUFFICIENT_POWER": 8,
    "NVML_ERROR_DRIVER_NOT_LOADED": 9,
    "NVML_ERROR_TIMEOUT": 10,
    "NVML_ERROR_IRQ_ISSUE": 11,
    "NVML_ERROR_LIBRARY_NOT_FOUND": 12,
    "NVML_ERROR_FUNCTION_NOT_FOUND": 13,
    "NVML_ERROR_CORRUPTED_INFOROM": 14,
    "NVML_ERROR_GPU_IS_LOST": 15,
    "NVML_ERROR_RESET_REQUIRED": 16,
    "NVML_ERROR_OPERATING_SYSTEM": 17,
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": 18,
    "NVML_ERROR_IN_USE": 19,
    "NVML_ERROR_MEMORY": 20,
    "NVML_ERROR_NO_DATA": 21,
    "NVML_ERROR_UNKNOWN": 999,
}
_MESSAGES: dict[int, str] = {
    1: "Uninitialized",
    2: "Invalid Argument",
    3: "Not Supported",
    4: "Insufficient Permissions",
    5: "Already Initialized",
    6: "Not Found",
    7: "Insufficient Size",
    8: "Insufficient External Power",
    9: "Driver Not Loaded",
    10: "Timeout",
    11: "Interrupt Request Issue",
    12: "NVML Shared Library Not Found",
    13: "Function Not Found",
    14: "Corrupted infoROM",
    15: "GPU is lost",
    16: "GPU requires restart",
    17: "The operating system has blocked the request.",
    18: "RM has detected an NVML/RM version mismatch.",
    20: "Insufficient Memory",
    999: "Unknown Error",
}


class NVMLError(Exception):
    """Like pynvml.NVMLError: built from an error code, mapped to its subclass, ``.value`` = code."""

    _valClassMapping: dict[int, type] = {}  # noqa: N815 - pynvml's naming
    value: int

    def __new__(cls, value: int) -> NVMLError:  # noqa: D102
        if cls is NVMLError:
            cls = NVMLError._valClassMapping.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, *args: Any) -> None:
        super().__init__()

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML Error with code {self.value}")


def _class_name(constant: str) -> str:
    # the real module's rule: NVML_ERROR_NOT_SUPPORTED -> NVMLError_NotSupported
    return "NVMLError_" + string.capwords(constant.replace("NVML_ERROR_", ""), "_").replace("_", "")


def _make_subclass(code: int, name: str) -> type:
    def new(cls: type, *args: Any) -> NVMLError:
        return NVMLError.__new__(cls, code)

    return type(name, (NVMLError,), {"__new__": new, "__module__": "pynvml"})


ERROR_CLASSES: dict[str, type] = {}
for _const, _code in ERROR_CODES.items():
    _cls = _make_subclass(_code, _class_name(_const))
    ERROR_CLASSES[_cls.__name__] = _cls
    NVMLError._valClassMapping[_code] = _cls


@dataclass
class FakeGpu:
    """One fake device.

    Attributes:
        uuid: ``nvmlDeviceGetUUID`` value (``"GPU-..."``).
        energy_mj: the energy counter in mJ since the driver loaded; None = no counter (pre-Volta:
            ``NVMLError_NotSupported``).
        power_mw: the power reading in mW; None = ``NVMLError_NotSupported``.
        energy_error: an ``NVML_ERROR_*`` code the energy call raises instead (e.g. no permission).
        broken: every device call raises ``NVMLError_GpuIsLost`` (a fault mid-run).
        watts: a constant power draw in W in real time (None: the counter moves only when a test
            changes ``energy_mj``); the counter then adds ``watts x (perf_counter - epoch_s)``.
        epoch_s: ``time.perf_counter()`` at which the constant draw started.
        name: ``nvmlDeviceGetName`` value.
        power_limit_mw: ``nvmlDeviceGetPowerManagementLimit`` / ``nvmlDeviceGetEnforcedPowerLimit``
            value in mW (None: ``NVMLError_NotSupported``).
    """

    uuid: str
    energy_mj: int | None = 0
    power_mw: int | None = 100_000
    energy_error: int | None = None
    broken: bool = False
    watts: float | None = None
    epoch_s: float = 0.0
    name: str = "NVIDIA Fake GPU"
    power_limit_mw: int | None = 700_000

    def counter_mj(self) -> int | None:
        """The energy counter now (mJ), or None without one."""
        if self.energy_mj is None:
            return None
        if self.watts is None:
            return int(self.energy_mj)
        return int(self.energy_mj + self.watts * (time.perf_counter() - self.epoch_s) * 1000.0)

    def power_now_mw(self) -> int | None:
        """The power reading now (mW), or None when unsupported."""
        if self.watts is not None:
            return int(round(self.watts * 1000.0))
        return None if self.power_mw is None else int(self.power_mw)


def constant_power_gpu(uuid: str = "GPU-00000000-fake-0000-0000-000000000100", watts: float = 100.0,
                       **kw: Any) -> FakeGpu:
    """A GPU drawing ``watts`` W from now on, with an energy counter (``counter = watts x time``)."""
    return FakeGpu(uuid, energy_mj=kw.pop("energy_mj", 5_000_000), watts=watts, epoch_s=time.perf_counter(),
                   **kw)


def make_fake_pynvml(gpus: list[FakeGpu], *, init_error: int | bool | None = None,
                     driver_version: str = "550.54.15") -> types.ModuleType:
    """A module object standing in for ``pynvml``.

    Args:
        gpus: the devices, in NVML (PCI bus) order.
        init_error: an ``NVML_ERROR_*`` code that ``nvmlInit`` raises (``True`` means
            ``NVML_ERROR_LIBRARY_NOT_FOUND``, as on a machine without the driver's libnvidia-ml.so.1).
    """
    mod = types.ModuleType("pynvml")
    mod.NVML_SUCCESS = NVML_SUCCESS
    mod.NVMLError = NVMLError
    mod.nvmlExceptionClass = lambda code: NVMLError._valClassMapping[code]
    for const, code in ERROR_CODES.items():
        setattr(mod, const, code)
    for name, cls in ERROR_CLASSES.items():
        setattr(mod, name, cls)
    mod.gpus = gpus
    mod.calls = {"init": 0, "shutdown": 0}
    mod.refcount = 0
    if init_error is True:
        init_error = ERROR_CODES["NVML_ERROR_LIBRARY_NOT_FOUND"]

    def _check_init() -> None:
        if mod.refcount <= 0:
            raise NVMLError(ERROR_CODES["NVML_ERROR_UNINITIALIZED"])

    def _device(handle: FakeGpu) -> FakeGpu:
        _check_init()
        if handle.broken:
            raise NVMLError(ERROR_CODES["NVML_ERROR_GPU_IS_LOST"])
        return handle

    def nvmlInitWithFlags(flags: int) -> None:
        mod.calls["init"] += 1
        if init_error:
            raise NVMLError(int(init_error))
        mod.refcount += 1

    def nvmlInit() -> None:
        nvmlInitWithFlags(0)

    def nvmlShutdown() -> None:
        mod.calls["shutdown"] += 1
        _check_init()
        mod.refcount -= 1

    def nvmlDeviceGetCount() -> int:
        _check_init()
        return len(mod.gpus)

    def nvmlDeviceGetHandleByIndex(index: int) -> FakeGpu:
        _check_init()
        if not 0 <= index < len(mod.gpus):
            raise NVMLError(ERROR_CODES["NVML_ERROR_INVALID_ARGUMENT"])
        return mod.gpus[index]

    def nvmlDeviceGetHandleByUUID(uuid: str | bytes) -> FakeGpu:
        _check_init()
        text = uuid.decode() if isinstance(uuid, bytes) else uuid
        for gpu in mod.gpus:
            if gpu.uuid == text:
                return gpu
        raise NVMLError(ERROR_CODES["NVML_ERROR_NOT_FOUND"])

    def nvmlDeviceGetUUID(handle: FakeGpu) -> str:
        return _device(handle).uuid

    def nvmlDeviceGetTotalEnergyConsumption(handle: FakeGpu) -> int:
        gpu = _device(handle)
        if gpu.energy_error is not None:
            raise NVMLError(gpu.energy_error)
        value = gpu.counter_mj()
        if value is None:
            raise NVMLError(ERROR_CODES["NVML_ERROR_NOT_SUPPORTED"])
        return value

    def nvmlDeviceGetPowerUsage(handle: FakeGpu) -> int:
        gpu = _device(handle)
        value = gpu.power_now_mw()
        if value is None:
            raise NVMLError(ERROR_CODES["NVML_ERROR_NOT_SUPPORTED"])
        return value

    def nvmlDeviceGetName(handle: FakeGpu) -> str:
        return _device(handle).name

    def nvmlSystemGetDriverVersion() -> str:
        _check_init()
        return driver_version

    def nvmlDeviceGetPowerManagementLimit(handle: FakeGpu) -> int:
        gpu = _device(handle)
        if gpu.power_limit_mw is None:
            raise NVMLError(ERROR_CODES["NVML_ERROR_NOT_SUPPORTED"])
        return int(gpu.power_limit_mw)

    def nvmlDeviceGetEnforcedPowerLimit(handle: FakeGpu) -> int:
        return nvmlDeviceGetPowerManagementLimit(handle)

    for fn in (nvmlInit, nvmlInitWithFlags, nvmlShutdown, nvmlDeviceGetCount,
               nvmlDeviceGetHandleByIndex, nvmlDeviceGetHandleByUUID, nvmlDeviceGetUUID,
               nvmlDeviceGetTotalEnergyConsumption, nvmlDeviceGetPowerUsage, nvmlDeviceGetName,
               nvmlSystemGetDriverVersion, nvmlDeviceGetPowerManagementLimit,
               nvmlDeviceGetEnforcedPowerLimit):
        setattr(mod, fn.__name__, fn)
    #: names of the functions above (checked against the real module by the tests)
    mod.FAKED_FUNCTIONS = tuple(
        name for name in dir(mod) if name.startswith("nvml") and callable(getattr(mod, name))
        and name != "nvmlExceptionClass"
    )
    return mod
