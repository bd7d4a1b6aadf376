"""CodeCarbon's own energy estimate over trial windows, for cross-checking (``OfflineEmissionsTracker``).

One tracker is built per meter and reused: each window is a CodeCarbon *task*
(``start_task`` / ``stop_task``: about 1.4 ms + 2.6 ms on the reference machine); the first task of a
process costs about 1.4 s (hardware probing), which :meth:`CodeCarbonMeter.prepare` does up front. The tracker is configured to stay
offline (``country_iso_code``, no API, no ``emissions_endpoint``), to write no file
(``output_methods=[]``, ``allow_multiple_runs=True`` so no lock file) and to be quiet (its logger set to
``error``). Settings a ``.codecarbon.config`` file or ``CODECARBON_*`` variable could otherwise inject
(``emissions_endpoint``, ``pue``, ``force_cpu_power``, ``force_mode_cpu_load``, ``rapl_include_dram``,
``rapl_prefer_psys``, ``gpu_ids``) are passed explicitly with neutral values.

It runs in ``tracking_mode="process"``: in its "TDP x load" CPU mode CodeCarbon then charges
``P = TDP x (process CPU time / wall) / psutil.cpu_count()``, the same attribution and the same logical
CPU divisor as the ``cpu-model`` meter. With ``cpu_tdp_w`` it is told the same TDP
(``force_cpu_power``), which also makes it skip RAPL; without it CodeCarbon chooses on its own (RAPL
when readable, else its TDP table x load). The CPU method it chose is recorded in
``details["codecarbon_cpu_method"]``.

CodeCarbon converts kWh to J here with ``x 3.6e6``. Components: ``cpu``, ``gpu``, ``ram`` (J);
``energy_j`` is their sum (its ``energy_consumed``). The figure's method is ``measured`` when CodeCarbon
used RAPL for the CPU and ``modelled`` otherwise. Trial windows only (``episode_windows = False``), and
one window at a time (a window opened while another is open gets a ``failed`` reading). CodeCarbon swallows most of its
errors; a task that did not start or returned nothing is reported ``failed``, never 0 J.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from typing import Any

from paradox_gym._util.checks import check_cpu_tdp
from paradox_gym.energy.measurement import EnergyReading
from paradox_gym.energy.meters.base import Meter
from paradox_gym.errors import UserInputError

KWH_TO_J = 3.6e6
#: valid values of ``CodeCarbonMeter(tracking_mode=...)``
TRACKING_MODES: tuple[str, ...] = ("process", "machine")

_CPU_METHODS = {
    "intel_rapl": "RAPL",
    "cpu_load": "TDP x load",
    "constant": "constant (TDP x 50%)",
    "intel_power_gadget": "Intel Power Gadget",
    "windows_emi": "Windows EMI (RAPL)",
    "apple_powermetrics": "powermetrics",
}


def _tracker_parameters(tracker_cls: type) -> set[str]:
    """Keyword arguments the tracker class (and its bases) accept."""
    names: set[str] = set()
    for cls in tracker_cls.__mro__:
        init = cls.__dict__.get("__init__")
        if init is not None:
            names.update(inspect.signature(init).parameters)
    return names


class CodeCarbonMeter(Meter):
    """CodeCarbon's CPU / GPU / RAM energy over trial windows.

    Args:
        cpu_tdp_w: CPU TDP in W per package; CodeCarbon gets ``force_cpu_power = cpu_tdp_w x packages``
            (None: CodeCarbon chooses its own method and power).
        country_iso_code: country for its offline carbon-intensity table (no effect on energy).
        tracking_mode: ``"process"`` (default) or ``"machine"``.
    """

    name = "codecarbon"
    method = "modelled"
    resolution_s = 1.0
    episode_windows = False

    def __init__(
        self,
        cpu_tdp_w: float | None = None,
        *,
        country_iso_code: str = "USA",
        tracking_mode: str = "process",
    ) -> None:
        super().__init__()
        if tracking_mode not in TRACKING_MODES:
            raise UserInputError(
                f"unknown tracking_mode {tracking_mode!r}; valid: {', '.join(TRACKING_MODES)}"
            )
        self.cpu_tdp_w = check_cpu_tdp(cpu_tdp_w)
        self.country_iso_code = country_iso_code
        self.tracking_mode = tracking_mode
        self._tracker: Any = None
        self._active: str | None = None
        self._cpu_method = ""
        self._pending: tuple[Any, str | None] = (None, None)

    def _probe(self) -> tuple[bool, str]:
        try:
            import codecarbon  # noqa: F401
        except ImportError as exc:
            return False, f"codecarbon is not installed ({exc})"
        return True, "CodeCarbon OfflineEmissionsTracker (process tracking, task windows)"

    def _get_tracker(self) -> Any:
        if self._tracker is None:
            from codecarbon import OfflineEmissionsTracker

            # importing CodeCarbon sets its logger to INFO; quiet it before the constructor logs
            logging.getLogger("codecarbon").setLevel(logging.ERROR)

            kwargs: dict[str, Any] = {
                "country_iso_code": self.country_iso_code,
                "output_methods": [],  # no CSV, no API, no logger output
                "log_level": "error",
                "measure_power_secs": 1.0,
                "tracking_mode": self.tracking_mode,
                "allow_multiple_runs": True,
                "project_name": "paradox_gym",
            }
            # CodeCarbon also reads ~/.codecarbon.config, ./.codecarbon.config and CODECARBON_*
            # variables for every argument left out: pin those that would send data somewhere or
            # change the energy figures (pue scales them; the others change the method)
            neutral: dict[str, Any] = {
                "emissions_endpoint": None,
                "pue": 1.0,
                "force_cpu_power": None,
                "force_mode_cpu_load": False,
                "rapl_include_dram": False,
                "rapl_prefer_psys": False,
                "gpu_ids": None,  # None: the GPUs of CUDA_VISIBLE_DEVICES, like the nvml meter
            }
            accepted = _tracker_parameters(OfflineEmissionsTracker)
            kwargs.update({k: v for k, v in neutral.items() if k in accepted})
            if self.cpu_tdp_w is not None:
                # CodeCarbon's forced power is for the whole machine; ours is per package
                from paradox_gym._util.cpu import count_packages

                kwargs["force_cpu_power"] = float(self.cpu_tdp_w) * count_packages()
            try:
                self._tracker = OfflineEmissionsTracker(**kwargs)
            except TypeError:  # CodeCarbon < 3 has no output_methods
                kwargs.pop("output_methods")
                kwargs["save_to_file"] = False
                self._tracker = OfflineEmissionsTracker(**kwargs)
        return self._tracker

    def prepare(self) -> None:
        """Probe CodeCarbon's hardware now (about 1.5 s once) instead of at the first window."""
        tracker = self._get_tracker()
        tracker._ensure_hardware_ready()
        self._cpu_method = self._detect_cpu_method(tracker)

    @staticmethod
    def _detect_cpu_method(tracker: Any) -> str:
        for hw in getattr(tracker, "_hardware", []):
            mode = getattr(hw, "_mode", None)
            if mode is not None and type(hw).__name__ == "CPU":
                label = _CPU_METHODS.get(mode, mode)
                tdp = getattr(hw, "_tdp", None)
                if mode == "cpu_load":
                    label += f" ({getattr(hw, '_tracking_mode', '?')} mode, TDP {tdp} W)"
                return label
        return "unknown"

    def _on_begin(self, key: str) -> None:
        if self._active is not None:
            raise RuntimeError(
                f"CodeCarbon measures one window at a time ({self._active!r} is open)"
            )

    def _read(self) -> Any:
        # edges are handled in begin/end below; CodeCarbon holds its own state
        return None

    def begin(self, key: str) -> None:
        super().begin(key)
        snap = self._open[key]
        if snap.error is not None or not self.availability()[0]:
            return
        try:
            tracker = self._get_tracker()
            tracker.start_task(key)
            if getattr(tracker, "_active_task", None) != key:
                raise RuntimeError("CodeCarbon did not start the task")
            self._active = key
            self._cpu_method = self._detect_cpu_method(tracker)
        except Exception as exc:  # noqa: BLE001 - CodeCarbon probes this machine: any fault fails the window
            snap.error = f"CodeCarbon start_task failed: {type(exc).__name__}: {exc}"

    def end(self, key: str) -> EnergyReading:
        snap = self._open.get(key)
        data: Any = None
        error: str | None = None
        if snap is not None and snap.error is None and self._active == key:
            try:
                data = self._tracker.stop_task(key)
                if data is None:
                    error = "CodeCarbon stop_task returned nothing"
            except Exception as exc:  # noqa: BLE001 - CodeCarbon probes this machine: any fault fails the window
                error = f"CodeCarbon stop_task failed: {type(exc).__name__}: {exc}"
            self._active = None
        self._pending = (data, error)
        return super().end(key)

    def _reading(self, start: Any, stop: Any, wall_s: float, cpu_s: float) -> EnergyReading:
        data, error = self._pending
        self._pending = (None, None)
        if error is not None:
            return EnergyReading.failed(self.name, self.method, error)
        try:
            cpu = float(data.cpu_energy) * KWH_TO_J
            gpu = float(data.gpu_energy) * KWH_TO_J
            ram = float(data.ram_energy) * KWH_TO_J
        except (AttributeError, TypeError, ValueError) as exc:
            return EnergyReading.failed(self.name, self.method, f"unusable CodeCarbon result: {exc}")
        method = "measured" if self._cpu_method.startswith(("RAPL", "Windows EMI")) else "modelled"
        return EnergyReading(
            meter=self.name,
            method=method,
            energy_j=cpu + gpu + ram,
            status="ok",
            components={"cpu": cpu, "gpu": gpu, "ram": ram},
            note=(f"energy_j = CodeCarbon's CPU + RAM + GPU ({cpu:.4g} + {ram:.4g} + {gpu:.4g} J; compare parts, "
                  f"not the total); CPU method: {self._cpu_method}; RAM is CodeCarbon's model"),
            details={
                "codecarbon_cpu_method": self._cpu_method,
                "codecarbon_tracking_mode": self.tracking_mode,
                "codecarbon_duration_s": float(getattr(data, "duration", 0.0) or 0.0),
            },
        )

    def close(self) -> None:
        """Stop the task of a window still open (its figure is discarded) and release the windows; a fault
        of CodeCarbon's ``stop_task`` then is a RuntimeWarning (closing never raises)."""
        if self._active is not None and self._tracker is not None:
            try:
                self._tracker.stop_task(self._active)
            except Exception as exc:  # noqa: BLE001 - CodeCarbon probes this machine: any fault is a RuntimeWarning
                warnings.warn(f"CodeCarbon stop_task of the discarded window {self._active!r} failed: "
                              f"{type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)
            self._active = None
        super().close()
