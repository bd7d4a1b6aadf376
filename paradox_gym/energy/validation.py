"""Meters checked against references on calibrated workloads, across window lengths
(``paradox-gym validate-meters``).

Workloads (:data:`WORKLOADS`): ``idle`` (the process sleeps), ``cpu-1`` (one thread hashing a 1 MiB
buffer with SHA-256, which releases the GIL: one core busy), ``cpu-all`` (one such thread per logical
CPU) and, when torch sees a CUDA GPU, ``gpu-matmul`` (2048 x 2048 float32 matrix products, synchronised).
Each runs for every window length in :data:`DEFAULT_WINDOWS_S` (0.05 s to 5 s) while every available
meter and every reference instrument measures the same window.

Comparisons (:data:`REFERENCES`), each ``ratio = meter / reference``:

- ``nvml`` (energy counter) vs ``nvml-poll`` (``nvmlDeviceGetPowerUsage`` polled every 20 ms and
  integrated): a validation (the counter and the power reading are read separately; the power reading
  is an average over a past interval, so it lags);
- ``cpu-model`` vs ``rapl`` (the RAPL process share): a validation of the CPU-time x TDP model by a
  counter;
- ``rapl`` (package zones, machine-wide) vs ``codecarbon-machine`` (CodeCarbon in machine mode): a
  consistency check when CodeCarbon reads RAPL too, else a validation;
- ``cpu-model`` vs ``codecarbon`` (CodeCarbon in process mode): a consistency check when CodeCarbon
  uses its TDP model (both are CPU time x a TDP from the same table), a validation when it reads RAPL.

A reference shorter than its resolution (CodeCarbon: 1 s) gives ``n/a (below resolution)``. Two
figures agree when ``|ratio - 1| <= tolerance`` or they differ by at most ``ABS_TOLERANCE_W`` (0.5 W)
x the window length (a sleeping process's few millijoules differ by large, meaningless factors).

The **trustworthy window** of a meter is the shortest tested window from which on every comparison
of that meter, at that length and every longer one, agrees within the tolerance (default 20%). A
meter whose comparisons are all below resolution or that has no reference here keeps its declared
resolution, marked "not validated". :func:`trustworthy_window_s` gives the figure the evaluation flags
short trial windows with: the last saved validation of this machine (``validate-meters --save``),
else :data:`DEFAULT_TRUSTWORTHY_WINDOW_S`.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from paradox_gym._util.cpu import cpu_name, logical_cpus
from paradox_gym._util.files import user_data_dir
from paradox_gym.energy.crosscheck import (
    CONSISTENCY_CHECK,
    NVML_POWER_SOURCE,
    RAPL_SOURCE,
    TDP_SOURCE,
    VALIDATION,
    comparison_kind,
    source_of,
)
from paradox_gym.energy.measurement import EnergyReading
from paradox_gym.energy.meters import METERS, CodeCarbonMeter, Meter, make_meters
from paradox_gym.energy.meters.nvml import NvmlMeter, _PowerSampler
from paradox_gym.errors import UserInputError

#: Window lengths (s) tested by default.
DEFAULT_WINDOWS_S: tuple[float, ...] = (0.05, 0.2, 1.0, 5.0)
#: Relative agreement a window must reach to be trusted.
DEFAULT_TOLERANCE = 0.20
#: Absolute agreement (W x window length) that also counts: near-zero figures (a sleeping process)
#: differ by large factors that mean nothing.
ABS_TOLERANCE_W = 0.5
#: ``kind`` of a table row for a meter with no reference here.
NO_REFERENCE = "no reference"
#: Power-polling period (s) of the NVML reference.
POLL_S = 0.02

#: Trustworthy window (s) per meter when this machine has no saved validation, with its basis.
DEFAULT_TRUSTWORTHY_WINDOW_S: dict[str, tuple[float, str]] = {
    "nvml": (3.0, "NVML counter vs 20 ms power polling on an H200: within 4% idle and 15% under load over "
                  "3 s windows, 2.5-3.2x apart at 0.05-0.3 s"),
    "rapl": (1.0, "not validated: counters update every ~1 ms, but the process share rests on 10 ms "
                  "psutil CPU-time ticks"),
    "cpu-model": (1.0, "validate-meters on the 2-core reference machine (no RAPL): within 1% of CodeCarbon's "
                       "process mode from 1 s on, a consistency check (the same TDP model); shorter windows "
                       "are below CodeCarbon's resolution"),
    "codecarbon": (1.0, "CodeCarbon's power-measurement interval"),
}


# -- workloads -----------------------------------------------------------------------------------
def _hash_until(deadline: float, stop: threading.Event | None = None) -> None:
    buf = b"\x5a" * (1 << 20)
    h = hashlib.sha256()
    while time.perf_counter() < deadline and (stop is None or not stop.is_set()):
        h.update(buf)  # releases the GIL for large buffers


def _idle(duration_s: float) -> None:
    time.sleep(duration_s)


def _cpu_1(duration_s: float) -> None:
    _hash_until(time.perf_counter() + duration_s)


def _cpu_all(duration_s: float) -> None:
    deadline = time.perf_counter() + duration_s
    threads = [threading.Thread(target=_hash_until, args=(deadline,), daemon=True) for _ in range(logical_cpus() - 1)]
    for t in threads:
        t.start()
    _hash_until(deadline)
    for t in threads:
        t.join()


class _GpuMatmul:
    def __init__(self) -> None:
        self._a: Any = None

    def __call__(self, duration_s: float) -> None:
        import torch

        if self._a is None:
            self._a = torch.randn(2048, 2048, device="cuda")
        deadline = time.perf_counter() + duration_s
        while time.perf_counter() < deadline:
            self._a @ self._a  # noqa: B018 - the product is the workload
            torch.cuda.synchronize()


def _has_cuda() -> bool:
    from paradox_gym.energy.placement import cuda_available

    return cuda_available()


@dataclass(frozen=True)
class Workload:
    """A calibrated workload: ``run(duration_s)`` keeps ``cores`` logical CPUs busy (0: idle) or the GPU."""

    name: str
    run: Callable[[float], None]
    cores: Callable[[], int]
    description: str
    needs_gpu: bool = False


#: The calibrated workloads, in the order they run.
WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("idle", _idle, lambda: 0, "the process sleeps"),
        Workload("cpu-1", _cpu_1, lambda: 1, "one thread of SHA-256 over a 1 MiB buffer"),
        Workload("cpu-all", _cpu_all, logical_cpus, "one SHA-256 thread per logical CPU"),
        Workload("gpu-matmul", _GpuMatmul(), lambda: 1, "2048x2048 float32 matrix products on CUDA",
                 needs_gpu=True),
    )
}


# -- reference instruments -----------------------------------------------------------------------
class NvmlPowerPoll(Meter):
    """Reference for the NVML counter: power of the same GPUs polled every ``poll_s`` s and integrated
    (trapezoid rule) by a thread that runs while the instrument is open. Method ``sampled``."""

    name = "nvml-poll"
    method = "sampled"

    def __init__(self, nvml: NvmlMeter, poll_s: float = POLL_S) -> None:
        super().__init__()
        self._meter = nvml
        self.poll_s = poll_s
        self.resolution_s = 2 * poll_s
        self._sampler: _PowerSampler | None = None

    def _probe(self) -> tuple[bool, str]:
        ok, reason = self._meter.availability()
        if not ok:
            return False, reason
        return True, f"NVML power polled every {self.poll_s} s"

    def _on_begin(self, key: str) -> None:
        if self._sampler is None:
            handles = {**self._meter._counter, **self._meter._power}
            self._sampler = _PowerSampler(self._meter._nvml, handles, self.poll_s)
            self._sampler.start()

    def _read(self) -> Any:
        assert self._sampler is not None
        return self._sampler.energy_now()

    def _reading(self, start: Any, stop: Any, wall_s: float, cpu_s: float) -> EnergyReading:
        (v0, e0, _), (v1, e1, err) = start, stop
        if e0 != e1:
            raise RuntimeError(f"power polling failed: {err}")
        parts = {f"gpu-{i}": v1[i] - v0[i] for i in sorted(v1)}
        return EnergyReading(self.name, self.method, sum(parts.values()), "ok", parts,
                             note=f"power polled every {self.poll_s} s")

    def close(self) -> None:
        super().close()
        if self._sampler is not None:
            self._sampler.stop()
            self._sampler = None


def _rapl_package_j(r: EnergyReading) -> float | None:
    if not r.has_figure:
        return None
    return float(sum(v for k, v in r.components.items()
                     if k not in ("machine", "process") and not k.startswith("dram")))


@dataclass(frozen=True)
class Reference:
    """One comparison: meter ``meter`` (its figure from ``ours``) against instrument ``reference``
    (its figure from ``theirs``), each with its source for the kind of comparison."""

    meter: str
    reference: str
    what: str
    ours: Callable[[EnergyReading], float | None]
    theirs: Callable[[EnergyReading], float | None]
    our_source: Callable[[EnergyReading], str]
    their_source: Callable[[EnergyReading], str]


def _energy(r: EnergyReading) -> float | None:
    return r.energy_j


def _cc_cpu(r: EnergyReading) -> float | None:
    return r.components.get("cpu") if r.has_figure else None


def _rapl_process(r: EnergyReading) -> float | None:
    return r.components.get("process") if r.has_figure else None


#: The comparisons, by meter.
REFERENCES: tuple[Reference, ...] = (
    Reference("nvml", "nvml-poll", "GPU energy: counter vs integrated power polling", _energy, _energy,
              lambda r: source_of(r, "gpu"), lambda r: NVML_POWER_SOURCE),
    Reference("cpu-model", "rapl", "process CPU energy: TDP model vs RAPL process share", _energy, _rapl_process,
              lambda r: TDP_SOURCE, lambda r: RAPL_SOURCE),
    Reference("rapl", "codecarbon-machine", "CPU package energy, machine-wide: RAPL vs CodeCarbon machine mode",
              _rapl_package_j, _cc_cpu, lambda r: RAPL_SOURCE, lambda r: source_of(r, "cpu")),
    Reference("cpu-model", "codecarbon", "process CPU energy: TDP model vs CodeCarbon process mode",
              _energy, _cc_cpu, lambda r: TDP_SOURCE, lambda r: source_of(r, "cpu")),
)


# -- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindowResult:
    """One comparison over one window (energies in J, durations in s).

    ``ratio = meter_j / reference_j``; None when the reference is below its resolution
    (``below_resolution``) or either figure is missing.
    """

    workload: str
    window_s: float
    wall_s: float
    cpu_busy: float | None
    meter: str
    meter_j: float | None
    reference: str
    reference_j: float | None
    ratio: float | None
    kind: str
    below_resolution: bool

    def agrees(self, tolerance: float, abs_tolerance_w: float = ABS_TOLERANCE_W) -> bool | None:
        """Within ``tolerance`` (relative) or ``abs_tolerance_w x window_s`` (absolute); None if not comparable."""
        if self.ratio is None or self.meter_j is None or self.reference_j is None:
            return None
        return (abs(self.ratio - 1.0) <= tolerance
                or abs(self.meter_j - self.reference_j) <= abs_tolerance_w * self.window_s)

    @property
    def agreement(self) -> str:
        """``x1.04``, ``n/a (below resolution)`` or ``n/a``."""
        if self.below_resolution:
            return "n/a (below resolution)"
        return "n/a" if self.ratio is None else f"x{self.ratio:.3g}"


@dataclass(frozen=True)
class MeterVerdict:
    """Per meter: the shortest trustworthy window (s) and what it rests on."""

    meter: str
    method: str
    trustworthy_window_s: float | None
    validated: bool
    basis: str


@dataclass
class ValidationReport:
    """Everything ``validate-meters`` measured."""

    machine: str
    windows_s: tuple[float, ...]
    tolerance: float
    results: list[WindowResult]
    verdicts: dict[str, MeterVerdict]
    meters: dict[str, str]
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine, "windows_s": list(self.windows_s), "tolerance": self.tolerance,
            "results": [{**asdict(r), "agreement": r.agreement} for r in self.results],
            "verdicts": {k: asdict(v) for k, v in self.verdicts.items()},
            "meters": dict(self.meters), "elapsed_s": self.elapsed_s, "notes": list(self.notes),
        }

    def table(self) -> str:
        """The agreement table and the per-meter trustworthy windows, as text."""
        head = f"{'workload':<11}{'window':>8}{'busy':>6}  {'meter':<10}{'J':>10}  {'reference':<19}{'J':>10}  " \
               f"{'agreement':<24}kind"
        lines = [f"meter validation on {self.machine} (tolerance {self.tolerance:.0%})", "", head, "-" * len(head)]
        for r in self.results:
            busy = "" if r.cpu_busy is None else f"{r.cpu_busy:.2f}"
            lines.append(
                f"{r.workload:<11}{r.window_s:>7.2f}s{busy:>6}  {r.meter:<10}{_j(r.meter_j):>10}  "
                f"{r.reference:<19}{_j(r.reference_j):>10}  {r.agreement:<24}{r.kind}"
            )
        if not self.results:
            lines.append("(no meter has a reference on this machine)")
        lines += ["", "shortest trustworthy window per meter:"]
        for v in self.verdicts.values():
            w = "not established" if v.trustworthy_window_s is None else f"{v.trustworthy_window_s:g} s"
            tag = "validated" if v.validated else "not validated"
            lines.append(f"  {v.meter:<11}{v.method:<10}{w:<17}({tag}: {v.basis})")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _j(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


# -- the run -------------------------------------------------------------------------------------
def _instruments(meter_names: Sequence[str] | None, codecarbon: bool, notes: list[str]) -> list[Meter]:
    """The available meters and their references; a reference whose set-up fails is left out, named in
    ``notes``."""
    names = list(meter_names) if meter_names is not None else [n for n, e in METERS.items() if e.role == "energy"]
    meters = [m for m in make_meters(names) if m.availability().available]
    by_name = {m.name: m for m in meters}
    extra: list[Meter] = []
    if "nvml" in by_name:
        extra.append(NvmlPowerPoll(by_name["nvml"]))  # type: ignore[arg-type]
    if codecarbon and "cpu-model" in by_name:
        extra.append(CodeCarbonMeter(tracking_mode="process"))
    if codecarbon and "rapl" in by_name:
        cc = CodeCarbonMeter(tracking_mode="machine")
        cc.name = "codecarbon-machine"
        extra.append(cc)
    for m in extra:
        if m.availability().available:
            prepare = getattr(m, "prepare", None)
            try:
                if callable(prepare):
                    prepare()
            except Exception as exc:  # noqa: BLE001 - CodeCarbon probes this machine: any fault is a note
                notes.append(f"reference {m.name} left out: its set-up failed ({type(exc).__name__}: {exc})")
                m.close()
                continue
            meters.append(m)
    return meters


def _check_windows(windows_s: Sequence[float]) -> tuple[float, ...]:
    out = []
    for w in windows_s:
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.001 <= w <= 60:
            raise UserInputError(f"window lengths must be seconds in [0.001, 60], got {w!r}")
        out.append(float(w))
    if not out:
        raise UserInputError("no window length given")
    return tuple(sorted(set(out)))


def _chosen_workloads(names: Sequence[str] | None) -> list[Workload]:
    """The workloads to run: ``names`` checked (one line naming an unknown one, or a GPU one without CUDA), or
    every workload that can run here."""
    cuda = _has_cuda()
    if names is None:
        return [w for w in WORKLOADS.values() if cuda or not w.needs_gpu]
    chosen = []
    for name in names:
        if name not in WORKLOADS:
            raise UserInputError(f"unknown workload {name!r}; valid: {', '.join(WORKLOADS)}")
        if WORKLOADS[name].needs_gpu and not cuda:
            raise UserInputError(f"workload {name!r} needs a CUDA GPU; none is available here")
        chosen.append(WORKLOADS[name])
    return chosen


def _window_results(workload: str, length: float, wall: float, busy: float | None, readings: Mapping[str, Any],
                    by_name: Mapping[str, Any]) -> list[WindowResult]:
    """One window's rows: each meter against each reference read over it (no ratio below the reference's
    resolution), and every energy meter that had no reference on its own."""
    results: list[WindowResult] = []
    compared: set[str] = set()
    for ref in REFERENCES:
        if ref.meter not in readings or ref.reference not in readings:
            continue
        compared.add(ref.meter)
        ours, theirs = readings[ref.meter], readings[ref.reference]
        mj, rj = ref.ours(ours), ref.theirs(theirs)
        kind = comparison_kind(ref.our_source(ours), ref.their_source(theirs))
        below = length < by_name[ref.reference].resolution_s
        ratio = mj / rj if not below and mj is not None and rj is not None and rj > 0 else None
        results.append(WindowResult(workload, length, wall, busy, ref.meter, mj, ref.reference, rj, ratio, kind, below))
    for name, reading in readings.items():
        if name in METERS and METERS[name].role == "energy" and name not in compared:
            results.append(WindowResult(workload, length, wall, busy, name, reading.energy_j, "(none)",
                                        None, None, NO_REFERENCE, False))
    return results


def validate_meters(
    windows_s: Sequence[float] = DEFAULT_WINDOWS_S,
    workloads: Sequence[str] | None = None,
    *,
    meters: Sequence[str] | None = None,
    codecarbon: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
    progress: Callable[[str], None] | None = None,
) -> ValidationReport:
    """Run the calibrated workloads at each window length through every available meter and reference.

    Args:
        windows_s: window lengths (s).
        workloads: names from :data:`WORKLOADS` (default: all that can run here; ``gpu-matmul`` needs CUDA).
        meters: energy meters to validate (default: every energy meter; unavailable ones are skipped).
        codecarbon: include CodeCarbon as a reference (about 1.5 s of set-up per tracker).
        tolerance: relative agreement required for a window to be trusted.

    Raises:
        UserInputError: an unknown workload, a bad window length or tolerance, ``gpu-matmul`` without CUDA.
    """
    started = time.perf_counter()
    windows = _check_windows(windows_s)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 < tolerance < 10:
        raise UserInputError(f"tolerance must be a number in (0, 10), got {tolerance!r}")
    chosen = _chosen_workloads(workloads)
    say = progress or (lambda _m: None)
    notes: list[str] = []
    instruments = _instruments(meters, codecarbon, notes)
    by_name = {m.name: m for m in instruments}
    results: list[WindowResult] = []
    try:
        for wl in chosen:
            for length in windows:
                say(f"{wl.name}: {length:g} s window")
                key = f"validate-{wl.name}-{length}-{time.perf_counter_ns()}"
                ordered = [m for m in instruments if not m.episode_windows] + \
                          [m for m in instruments if m.episode_windows]
                for m in ordered:
                    m.begin(key)
                c0, t0 = time.process_time(), time.perf_counter()
                wl.run(length)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                readings = {m.name: m.end(key) for m in reversed(ordered)}
                cores = wl.cores()
                busy = cpu / (wall * cores) if cores and wall > 0 else None
                results += _window_results(wl.name, length, wall, busy, readings, by_name)
    finally:
        for m in instruments:
            m.close()
    verdicts = judge(results, instruments, windows, tolerance)
    if any(r.kind != NO_REFERENCE and r.reference_j == 0 and not r.below_resolution for r in results):
        notes.append("windows where the reference read 0 J have no ratio")
    return ValidationReport(
        machine=f"{platform.node()} ({cpu_name()})", windows_s=windows, tolerance=float(tolerance),
        results=results, verdicts=verdicts,
        meters={m.name: f"{m.method}: {m.availability().reason}" for m in instruments},
        elapsed_s=time.perf_counter() - started, notes=notes,
    )


def judge(results: Sequence[WindowResult], instruments: Sequence[Meter], windows: Sequence[float],
          tolerance: float) -> dict[str, MeterVerdict]:
    """The shortest trustworthy window per validated meter (see the module docstring)."""
    verdicts: dict[str, MeterVerdict] = {}
    energy = [m for m in instruments if m.name in METERS and METERS[m.name].role == "energy"]
    for m in energy:
        mine = [r for r in results if r.meter == m.name and r.kind != NO_REFERENCE]
        comparable = [r for r in mine if r.ratio is not None]
        if not comparable:
            why = "no reference on this machine" if not mine else "every comparison below the reference's resolution"
            if mine and all(r.meter_j is None or r.reference_j is None for r in mine if not r.below_resolution):
                why = "no comparable figures"
            verdicts[m.name] = MeterVerdict(m.name, m.method, m.resolution_s, False,
                                            f"declared resolution; {why}")
            continue
        ok_from: float | None = None
        for length in sorted(windows, reverse=True):
            at = [r for r in comparable if r.window_s == length]
            if not at:
                continue  # not testable at this length (reference below resolution): does not break the run
            if all(r.agrees(tolerance) for r in at):
                ok_from = length
            else:
                break
        kinds = sorted({r.kind for r in comparable})
        refs = sorted({r.reference for r in comparable})
        basis = f"{' and '.join(kinds)} against {', '.join(refs)}"
        if ok_from is None:
            worst = max((r for r in comparable if not r.agrees(tolerance)),
                        key=lambda r: (r.window_s, abs((r.ratio or 1.0) - 1.0)))
            verdicts[m.name] = MeterVerdict(m.name, m.method, None, VALIDATION in kinds,
                                            f"{basis}; disagrees by {worst.agreement} at {worst.window_s:g} s")
        else:
            shortest_tested = min(r.window_s for r in comparable)
            if ok_from == shortest_tested and ok_from > min(windows):
                basis += f"; shorter windows not testable (reference resolution)"
            verdicts[m.name] = MeterVerdict(m.name, m.method, ok_from, VALIDATION in kinds, basis)
    return verdicts


# -- saved validations ---------------------------------------------------------------------------
def validation_file() -> Path:
    """Where ``validate-meters --save`` writes: ``$PARADOX_GYM_METER_VALIDATION``, else
    ``$XDG_DATA_HOME/paradox_gym/meter-validation.json`` (default ``~/.local/share/...``)."""
    env = os.environ.get("PARADOX_GYM_METER_VALIDATION")
    if env:
        return Path(env)
    return user_data_dir() / "meter-validation.json"


def save_validation(report: ValidationReport, path: Path | None = None) -> Path:
    """Write the report (with this host's name) to :func:`validation_file`; returns the path."""
    from paradox_gym._util.files import write_bytes_atomic

    target = path or validation_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    doc = {"host": platform.node(), "saved": time.strftime("%Y-%m-%dT%H:%M:%S"), **report.to_dict()}
    write_bytes_atomic(target, json.dumps(doc, indent=2, allow_nan=False, default=str).encode())
    return target


def trustworthy_window_s(meter: str, path: Path | None = None) -> tuple[float | None, str]:
    """``(window in s, basis)`` for ``meter``: this host's saved validation when there is one, else
    :data:`DEFAULT_TRUSTWORTHY_WINDOW_S`; ``(None, reason)`` for a meter with no figure."""
    target = path or validation_file()
    try:
        saved = json.loads(target.read_text())
        if saved.get("host") == platform.node() and meter in saved.get("verdicts", {}):
            v = saved["verdicts"][meter]
            basis = f"validate-meters on this machine ({saved.get('saved', '?')}): {v.get('basis', '')}"
            return v.get("trustworthy_window_s"), basis
    except (OSError, ValueError, AttributeError):
        pass
    if meter in DEFAULT_TRUSTWORTHY_WINDOW_S:
        return DEFAULT_TRUSTWORTHY_WINDOW_S[meter]
    return None, f"no trustworthy window known for {meter!r}"


__all__ = [
    "CONSISTENCY_CHECK",
    "DEFAULT_TOLERANCE",
    "DEFAULT_TRUSTWORTHY_WINDOW_S",
    "DEFAULT_WINDOWS_S",
    "REFERENCES",
    "VALIDATION",
    "WORKLOADS",
    "MeterVerdict",
    "NvmlPowerPoll",
    "ValidationReport",
    "WindowResult",
    "judge",
    "save_validation",
    "trustworthy_window_s",
    "validate_meters",
    "validation_file",
]
