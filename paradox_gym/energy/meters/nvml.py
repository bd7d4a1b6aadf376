"""NVIDIA GPU energy through NVML (``pynvml``, from the ``nvidia-ml-py`` package).

On GPUs with an energy counter (Volta and later), ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since
the driver loaded) is read at the window edges: ``E = (mJ_end - mJ_start) / 1000`` J, method
``measured``. A GPU without that counter gets a polling thread that integrates
``nvmlDeviceGetPowerUsage`` (mW) with the trapezoid rule every ``poll_s`` seconds while a window is
open: ``E = integral P dt``, method ``sampled``; the thread exists only in that case. If any visible
GPU is sampled the meter's method is ``sampled``.

Only the GPUs visible to the process count: ``CUDA_VISIBLE_DEVICES`` in integer form (``"1,0"``) or
UUID form (``"GPU-8a3c..."``, prefixes allowed) is mapped to NVML indices; an empty value hides every
GPU. Components are keyed by the visible (CUDA) index: ``gpu-0``, ``gpu-1``. Integer entries are read
as NVML indices, which follow the PCI bus order; CUDA numbers devices in that order only with
``CUDA_DEVICE_ORDER=PCI_BUS_ID`` (its default, ``FASTEST_FIRST``, can differ on a machine with mixed GPU
models), so the availability description warns when integer entries select a subset of several GPUs
without it; UUID entries are unambiguous. If ``torch.cuda`` is
already initialised, the meter calls ``torch.cuda.synchronize()`` at each window edge so that queued
kernels are charged to the window that launched them (a CUDA error there fails the window; torch is never
imported by this module).
NVML counters refresh about every 100 ms (``resolution_s = 0.1``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Any

from paradox_gym.energy.measurement import EnergyReading
from paradox_gym.energy.meters.base import Meter
from paradox_gym.errors import UserInputError


def _sync_cuda() -> None:
    """Wait for the queued CUDA work when torch has initialised CUDA. A CUDA error (torch raises a
    ``RuntimeError``) propagates: the GPU window is then ``failed`` with it as its note (the work it would
    charge is unknown); the other meters' windows are unaffected."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _PowerSampler(threading.Thread):
    """Integrates the power of some devices (mW) into joules until stopped.

    A sample reads the clock and the powers and integrates under one lock, so that the thread's
    samples and the window-edge samples of the main thread are applied in time order. A failed
    sample increments ``errors``: a window during which that count changed is failed, later windows
    measure normally once the readings recover.
    """

    def __init__(self, nvml: Any, handles: dict[int, Any], poll_s: float) -> None:
        super().__init__(name="paradox-gym-nvml-sampler", daemon=True)
        self._nvml = nvml
        self._handles = handles
        self._poll_s = poll_s
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self.energy_j: dict[int, float] = {i: 0.0 for i in handles}
        self._last: dict[int, tuple[float, float]] = {}
        self.errors = 0
        self.error: str | None = None
        self._sample()

    def _sample(self) -> None:
        with self._lock:
            now = time.perf_counter()
            try:
                powers = {i: self._nvml.nvmlDeviceGetPowerUsage(h) / 1000.0
                          for i, h in self._handles.items()}
            except self._nvml.NVMLError as exc:
                self.errors += 1
                self.error = f"nvmlDeviceGetPowerUsage failed: {type(exc).__name__}: {exc}"
                return
            for i, watts in powers.items():
                last = self._last.get(i)
                if last is not None:
                    self.energy_j[i] += 0.5 * (last[1] + watts) * (now - last[0])
                self._last[i] = (now, watts)

    def run(self) -> None:
        while not self._stop_event.wait(self._poll_s):
            self._sample()

    def energy_now(self) -> tuple[dict[int, float], int, str | None]:
        """Cumulative J per device (a sample is taken now), the error count and the last error."""
        self._sample()
        with self._lock:
            return dict(self.energy_j), self.errors, self.error

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=2.0)


class NvmlMeter(Meter):
    """GPU energy of the visible NVIDIA GPUs (counter when present, else sampled power).

    Args:
        poll_s: polling period (s) of the power sampler used for GPUs without an energy counter.
    """

    name = "nvml"
    method = "measured"
    resolution_s = 0.1

    def __init__(self, poll_s: float = 0.05) -> None:
        super().__init__()
        if isinstance(poll_s, bool) or not isinstance(poll_s, (int, float)) or not 0.001 <= poll_s <= 10.0:
            raise UserInputError(f"poll_s must be a number of seconds in [0.001, 10], got {poll_s!r}")
        self.poll_s = float(poll_s)
        self._nvml: Any = None
        self._counter: dict[int, Any] = {}  # visible index -> handle (energy counter)
        self._power: dict[int, Any] = {}  # visible index -> handle (power only)
        self._sampler: _PowerSampler | None = None

    # -- discovery ------------------------------------------------------------------------------
    def _visible(self, nvml: Any, count: int) -> list[tuple[int, int]] | str:
        """``[(visible index, nvml index)]`` or a reason string."""
        env = os.environ.get("CUDA_VISIBLE_DEVICES")
        if env is None:
            return [(i, i) for i in range(count)]
        tokens = [t.strip() for t in env.split(",")]
        if not env.strip():
            return "CUDA_VISIBLE_DEVICES is empty: no GPU is visible"
        mapping: list[tuple[int, int]] = []
        uuids: dict[str, int] | None = None
        for token in tokens:
            if not token:
                break  # an empty entry is invalid: CUDA ignores it and the rest
            if token.lstrip("-").isdigit():
                idx = int(token)
                if idx < 0 or idx >= count:
                    break  # CUDA ignores the rest of the list from the first invalid entry
                nvml_idx = idx
            else:
                if token.startswith("MIG-"):
                    return f"CUDA_VISIBLE_DEVICES selects a MIG instance ({token}): not measured"
                if uuids is None:
                    uuids = {
                        _decode(nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i))): i
                        for i in range(count)
                    }
                found = [i for u, i in uuids.items() if u.startswith(token)]
                if len(found) != 1:
                    break
                nvml_idx = found[0]
            if any(n == nvml_idx for _, n in mapping):
                break
            mapping.append((len(mapping), nvml_idx))
        if not mapping:
            return f"CUDA_VISIBLE_DEVICES={env!r} selects no GPU among {count}"
        return mapping

    def _probe(self) -> tuple[bool, str]:
        try:
            import pynvml
        except ImportError as exc:
            return False, f"pynvml is not installed ({exc}); install nvidia-ml-py"
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:  # the library or the driver is missing
            return False, f"NVML cannot start (no NVIDIA driver?): {type(exc).__name__}: {exc}"
        self._nvml = pynvml
        try:
            count = int(pynvml.nvmlDeviceGetCount())
            if count == 0:
                self._shutdown()
                return False, "NVML found no GPU"
            visible = self._visible(pynvml, count)
            if isinstance(visible, str):
                self._shutdown()
                return False, visible
            no_counter = {
                getattr(pynvml, "NVML_ERROR_NOT_SUPPORTED", 3),
                getattr(pynvml, "NVML_ERROR_FUNCTION_NOT_FOUND", 13),
            }
            for vis, idx in visible:
                handle = pynvml.nvmlDeviceGetHandleByIndex(idx)
                try:
                    pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
                    self._counter[vis] = handle
                except pynvml.NVMLError as exc:
                    # only a GPU without the counter (pre-Volta, old driver) falls back to sampling;
                    # any other error (permissions, a lost GPU) makes the meter unavailable
                    if getattr(exc, "value", None) not in no_counter:
                        raise RuntimeError(
                            f"nvmlDeviceGetTotalEnergyConsumption on gpu-{vis} (NVML index {idx}): "
                            f"{type(exc).__name__}: {exc}"
                        ) from exc
                    pynvml.nvmlDeviceGetPowerUsage(handle)  # raises if even power is unsupported
                    self._power[vis] = handle
        except (pynvml.NVMLError, RuntimeError, ValueError) as exc:  # NVML, the counter check, a UUID's text
            self._shutdown()
            self._counter.clear()
            self._power.clear()
            return False, f"NVML device query failed: {type(exc).__name__}: {exc}"
        self.method = "sampled" if self._power else "measured"
        parts = [f"gpu-{i} energy counter" for i in sorted(self._counter)]
        parts += [f"gpu-{i} sampled power" for i in sorted(self._power)]
        description = "NVML: " + ", ".join(parts)
        env = os.environ.get("CUDA_VISIBLE_DEVICES")
        if (
            env is not None and count > 1 and len(visible) < count
            and any(t.strip().isdigit() for t in env.split(","))
            and os.environ.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID"
        ):
            description += (
                " (CUDA_VISIBLE_DEVICES indices read in PCI bus order: set CUDA_DEVICE_ORDER=PCI_BUS_ID "
                "or use GPU UUIDs so that CUDA numbers the GPUs the same way)"
            )
        return True, description

    def _shutdown(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(self._nvml.NVMLError):  # releasing the library: nothing is left to report
                self._nvml.nvmlShutdown()
        self._nvml = None

    def device_names(self) -> tuple[str, ...]:
        """``gpu-N`` for every visible GPU this meter measures (empty when it is unavailable)."""
        if not self.availability().available:
            return ()
        return tuple(f"gpu-{i}" for i in sorted({*self._counter, *self._power}))

    # -- windows --------------------------------------------------------------------------------
    def _on_begin(self, key: str) -> None:
        _sync_cuda()
        if self._power and self._sampler is None:
            self._sampler = _PowerSampler(self._nvml, self._power, self.poll_s)
            self._sampler.start()

    def _on_end(self, key: str) -> None:
        if self._sampler is not None and not self._open:
            self._sampler.stop()
            self._sampler = None

    def _read(self) -> tuple[dict[int, float], int, str | None]:
        _sync_cuda()
        values: dict[int, float] = {}
        for vis, handle in self._counter.items():
            values[vis] = self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0
        errors, last_error = 0, None
        if self._power:
            if self._sampler is None:
                raise RuntimeError("power sampler is not running")
            sampled, errors, last_error = self._sampler.energy_now()
            values.update(sampled)
        return values, errors, last_error

    def _reading(self, start: Any, stop: Any, wall_s: float, cpu_s: float) -> EnergyReading:
        values0, errors0, _ = start
        values1, errors1, last_error = stop
        if errors1 != errors0:
            raise RuntimeError(f"{errors1 - errors0} power sample(s) failed in the window: {last_error}")
        components: dict[str, float] = {}
        for i in sorted(values1):
            delta = values1[i] - values0[i]
            if delta < 0.0:
                # the counter counts since the driver loaded: it went back, the driver was reloaded
                raise RuntimeError(
                    f"gpu-{i} energy counter went backwards ({values0[i]:.3f} J -> {values1[i]:.3f} J): "
                    "driver reloaded?"
                )
            components[f"gpu-{i}"] = delta
        energy = sum(components.values())
        note = "energy counter (mJ) deltas" if not self._power else (
            f"power sampled every {self.poll_s} s and integrated for " +
            ", ".join(f"gpu-{i}" for i in sorted(self._power))
        )
        return EnergyReading(
            meter=self.name, method=self.method, energy_j=energy, status="ok",
            components=components, note=note, details={"gpus": len(components)},
        )

    def close(self) -> None:
        super().close()
        if self._sampler is not None:
            self._sampler.stop()
            self._sampler = None
        self._shutdown()
        self._availability = None
        self._counter.clear()
        self._power.clear()
