"""Put one of our figures beside CodeCarbon's over the same window, with their relative difference.

``rel_diff = (ours - codecarbon) / codecarbon``. The default tolerance is 10 %: when both sides are told
the same CPU power and model the same quantity (process CPU time x per-logical-CPU power), they agree
to about 1 % on a CPU-bound window of a few seconds; 10 % leaves room for CodeCarbon's 1 s power
samples and CPU-time tick granularity, while still catching a wrong TDP, a wrong core count or a
machine-wide vs process mix-up (each a factor, not a few percent). A larger difference is a warning,
not an error: it says the two tools measure different things or one of them is off.

What is compared: part ``"cpu"`` (default) compares our ``cpu-model`` figure, or the machine-wide
package energy of ``rapl`` (the sum of its package zones, without DRAM: CodeCarbon's RAPL mode reads
the package zones machine-wide and leaves DRAM out, and ``CodeCarbonMeter`` keeps it so), with
CodeCarbon's CPU energy;
part ``"gpu"`` compares ``nvml`` with CodeCarbon's GPU energy. RAM is a model on both sides and is not
compared; CodeCarbon's CPU, RAM and GPU parts are reported separately (``codecarbon_cpu_j``,
``codecarbon_ram_j``, ``codecarbon_gpu_j``), never a CPU figure beside a CPU+RAM total.

What the comparison is worth (``kind``): each side's **source** is named (:func:`source_of`): a RAPL
counter, a TDP model (CPU time or CPU load x a TDP from CodeCarbon's table: the ``cpu-model`` meter and
CodeCarbon's "TDP x load" and "constant" modes), or the NVML counter (our ``nvml`` meter and
CodeCarbon's GPU part alike). Two sides with the same source are a **consistency check** (they can
only disagree through bookkeeping: windows, tick granularity, core counts); only sides with different
sources are a **validation**. On the reference machine (no RAPL) the ``cpu-model`` vs CodeCarbon
comparison is therefore a consistency check, never a validation.

Windows shorter than CodeCarbon's resolution (its reading is ``too_short``: under 1 s) get no
percentage: ``rel_diff`` is None, ``below_resolution`` True and the display text
``n/a (below resolution)``.

A trial keeps its comparison as a :class:`TrialCrossCheck` (the flat fields the results JSON shows, with
each part compared when energy is measured by device); it becomes a dict only at the JSON edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from paradox_gym.energy.measurement import EnergyReading
from paradox_gym.errors import UserInputError, UserTypeError

#: Default relative tolerance of the cross-check.
DEFAULT_TOLERANCE = 0.10
PARTS: tuple[str, ...] = ("cpu", "gpu")
#: What a comparison is worth, from the sources of its two sides.
CONSISTENCY_CHECK = "consistency check"
VALIDATION = "validation"
KINDS: tuple[str, ...] = (CONSISTENCY_CHECK, VALIDATION)
BELOW_RESOLUTION = "n/a (below resolution)"

#: Source of an energy figure, per meter (CodeCarbon's depends on the CPU method it chose).
RAPL_SOURCE = "RAPL counter"
TDP_SOURCE = "TDP model"
NVML_SOURCE = "NVML counter"
NVML_POWER_SOURCE = "NVML power readings"
METER_SOURCES: dict[str, str] = {"rapl": RAPL_SOURCE, "cpu-model": TDP_SOURCE, "nvml": NVML_SOURCE}


def source_of(reading: EnergyReading, part: str = "cpu") -> str:
    """The source behind ``reading``'s figure for ``part`` (``cpu`` or ``gpu``)."""
    if reading.meter == "codecarbon":
        if part == "gpu":
            return NVML_SOURCE  # CodeCarbon reads the NVML energy counter too
        method = str(reading.details.get("codecarbon_cpu_method", ""))
        if method.startswith(("RAPL", "Windows EMI")):
            return RAPL_SOURCE
        if method.startswith(("TDP", "constant")):
            return TDP_SOURCE
        return method or "unknown"
    return METER_SOURCES.get(reading.meter, reading.meter)


def comparison_kind(source_a: str, source_b: str) -> str:
    """``consistency check`` when both sides share a source or model, else ``validation``."""
    return CONSISTENCY_CHECK if source_a == source_b else VALIDATION


@dataclass(frozen=True)
class CrossCheck:
    """Our energy beside CodeCarbon's over one window.

    Attributes:
        our_j: our figure (J), or None when it has none.
        codecarbon_j: CodeCarbon's figure for the same part (J), or None.
        rel_diff: ``(our_j - codecarbon_j) / codecarbon_j``, or None when either is missing.
        within_tolerance: ``abs(rel_diff) <= tolerance`` (False when it cannot be computed).
        warning: one line when the figures disagree, differ in kind or are missing; else ``""``.
        methods: ``{"ours": ..., "codecarbon": ...}`` describing how each was obtained.
        part: ``"cpu"`` or ``"gpu"``.
        tolerance: the relative tolerance used.
        kind: ``"consistency check"`` (both sides share a source or model) or ``"validation"``.
        sources: ``{"ours": ..., "codecarbon": ...}``, the source of each side (see :func:`source_of`).
        below_resolution: the window is shorter than CodeCarbon's resolution (no percentage).
        codecarbon_parts_j: CodeCarbon's ``cpu``, ``ram`` and ``gpu`` energies (J), kept apart.
    """

    our_j: float | None
    codecarbon_j: float | None
    rel_diff: float | None
    within_tolerance: bool
    warning: str
    methods: dict[str, str]
    part: str = "cpu"
    tolerance: float = DEFAULT_TOLERANCE
    kind: str = CONSISTENCY_CHECK
    sources: dict[str, str] = field(default_factory=dict)
    below_resolution: bool = False
    codecarbon_parts_j: dict[str, float] = field(default_factory=dict)

    @property
    def display(self) -> str:
        """The relative difference as shown in a table: ``+3.2%``, ``n/a (below resolution)`` or ``n/a``."""
        return _display(self.below_resolution, self.rel_diff)

    def to_dict(self) -> dict[str, Any]:
        """Flat dict for reports (``codecarbon_j`` is CodeCarbon's figure for ``part`` only): the plain data
        of :class:`TrialCrossCheck`."""
        return TrialCrossCheck.of(self).to_dict()


def _display(below_resolution: bool, rel_diff: float | None) -> str:
    if below_resolution:
        return BELOW_RESOLUTION
    if rel_diff is None or not math.isfinite(rel_diff):
        return "n/a"
    return f"{rel_diff:+.1%}"


@dataclass(frozen=True)
class TrialCrossCheck:
    """One trial's CodeCarbon comparison as the trial keeps it: the flat fields of a :class:`CrossCheck`.

    The fields describe the comparison of ``part`` (the CPU); ``parts`` holds every part compared
    (``cpu`` and, with a GPU, ``gpu``) when the run measured energy by device, and is empty otherwise.
    ``codecarbon_cpu_j`` / ``codecarbon_ram_j`` / ``codecarbon_gpu_j`` are CodeCarbon's own parts (J),
    None when it gave no figure for that part. ``rel_diff`` and ``tolerance`` are fractions (0.1 = 10 %).
    """

    kind: str
    below_resolution: bool
    our_source: str
    codecarbon_source: str
    part: str
    our_j: float | None
    codecarbon_j: float | None
    rel_diff: float | None
    within_tolerance: bool
    tolerance: float
    warning: str
    our_method: str
    codecarbon_method: str
    codecarbon_cpu_j: float | None = None
    codecarbon_ram_j: float | None = None
    codecarbon_gpu_j: float | None = None
    parts: dict[str, TrialCrossCheck] = field(default_factory=dict)

    @classmethod
    def of(cls, check: CrossCheck, parts: Mapping[str, CrossCheck] | None = None) -> TrialCrossCheck:
        """``check`` as a trial keeps it, with ``parts`` (part -> its comparison) when there are several."""
        cc = check.codecarbon_parts_j
        return cls(
            kind=check.kind, below_resolution=check.below_resolution,
            our_source=check.sources.get("ours", ""), codecarbon_source=check.sources.get("codecarbon", ""),
            part=check.part, our_j=check.our_j, codecarbon_j=check.codecarbon_j, rel_diff=check.rel_diff,
            within_tolerance=check.within_tolerance, tolerance=check.tolerance, warning=check.warning,
            our_method=check.methods.get("ours", ""), codecarbon_method=check.methods.get("codecarbon", ""),
            codecarbon_cpu_j=cc.get("cpu"), codecarbon_ram_j=cc.get("ram"), codecarbon_gpu_j=cc.get("gpu"),
            parts={p: cls.of(c) for p, c in (parts or {}).items()},
        )

    @property
    def display(self) -> str:
        """The relative difference as shown in a table (see :attr:`CrossCheck.display`)."""
        return _display(self.below_resolution, self.rel_diff)

    @property
    def codecarbon_parts_j(self) -> dict[str, float]:
        """CodeCarbon's parts it gave a figure for (J), in the order cpu, ram, gpu."""
        parts = {"cpu": self.codecarbon_cpu_j, "ram": self.codecarbon_ram_j, "gpu": self.codecarbon_gpu_j}
        return {p: v for p, v in parts.items() if v is not None}

    @property
    def compared_j(self) -> tuple[float, float] | None:
        """(ours, CodeCarbon's) in J when both exist over a window CodeCarbon resolves; else None."""
        if self.our_j is None or self.codecarbon_j is None or self.below_resolution:
            return None
        return self.our_j, self.codecarbon_j

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the results JSON and the replicate stream, keys in this order (``display``
        derived; CodeCarbon's parts only those it gave; ``parts`` only when there are parts)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "display": self.display,
            "below_resolution": self.below_resolution,
            "our_source": self.our_source,
            "codecarbon_source": self.codecarbon_source,
            **{f"codecarbon_{p}_j": v for p, v in self.codecarbon_parts_j.items()},
            "part": self.part,
            "our_j": self.our_j,
            "codecarbon_j": self.codecarbon_j,
            "rel_diff": self.rel_diff,
            "within_tolerance": self.within_tolerance,
            "tolerance": self.tolerance,
            "warning": self.warning,
            "our_method": self.our_method,
            "codecarbon_method": self.codecarbon_method,
        }
        if self.parts:
            out["parts"] = {p: c.to_dict() for p, c in self.parts.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialCrossCheck:
        """The record :meth:`to_dict` wrote (``display`` is derived again, not read).

        Raises:
            KeyError: a field is missing.
            TypeError: ``data`` or its ``parts`` is not a mapping.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"a trial's cross-check must be a mapping, got {type(data).__name__}")
        parts = data.get("parts", {})
        if not isinstance(parts, Mapping):
            raise TypeError(f"a cross-check's parts must be a mapping, got {type(parts).__name__}")
        return cls(
            kind=data["kind"], below_resolution=data["below_resolution"], our_source=data["our_source"],
            codecarbon_source=data["codecarbon_source"], part=data["part"], our_j=data["our_j"],
            codecarbon_j=data["codecarbon_j"], rel_diff=data["rel_diff"], within_tolerance=data["within_tolerance"],
            tolerance=data["tolerance"], warning=data["warning"], our_method=data["our_method"],
            codecarbon_method=data["codecarbon_method"], codecarbon_cpu_j=data.get("codecarbon_cpu_j"),
            codecarbon_ram_j=data.get("codecarbon_ram_j"), codecarbon_gpu_j=data.get("codecarbon_gpu_j"),
            parts={str(p): cls.from_dict(c) for p, c in parts.items()},
        )


def _our_figure(ours: EnergyReading, part: str) -> float | None:
    if ours.energy_j is None:
        return None
    if ours.meter == "rapl":
        # package zones machine-wide: not the process share, not DRAM (CodeCarbon leaves it out)
        packages = [
            joules for label, joules in ours.components.items()
            if label not in ("machine", "process") and not label.startswith("dram")
        ]
        if packages:
            return float(sum(packages))
        return ours.components.get("machine", ours.energy_j)
    return ours.energy_j


def cross_check(
    ours: EnergyReading,
    codecarbon: EnergyReading,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    part: str = "cpu",
) -> CrossCheck:
    """Compare ``ours`` (a ``cpu-model``, ``rapl`` or ``nvml`` reading) with a ``codecarbon`` reading.

    Raises:
        UserTypeError: either argument is not an :class:`EnergyReading`.
        UserInputError: ``part`` is not ``"cpu"``/``"gpu"``, or ``tolerance`` is not a number >= 0,
            or ``codecarbon`` is not a CodeCarbon reading.
    """
    if not isinstance(ours, EnergyReading) or not isinstance(codecarbon, EnergyReading):
        raise UserTypeError("cross_check needs two EnergyReading objects")
    if part not in PARTS:
        raise UserInputError(f"unknown part {part!r}; valid parts: {', '.join(PARTS)}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not (
        math.isfinite(tolerance) and tolerance >= 0
    ):
        raise UserInputError(f"tolerance must be a number >= 0, got {tolerance!r}")
    if codecarbon.meter != "codecarbon":
        raise UserInputError(f"the second reading must come from 'codecarbon', got {codecarbon.meter!r}")
    cc_method = str(codecarbon.details.get("codecarbon_cpu_method", codecarbon.method))
    methods = {
        "ours": f"{ours.method} ({ours.meter})",
        "codecarbon": f"{codecarbon.method} ({cc_method})" if part == "cpu" else codecarbon.method,
    }
    our_j = _our_figure(ours, part)
    cc_j = codecarbon.components.get(part) if codecarbon.energy_j is not None else None
    sources = {"ours": source_of(ours, part), "codecarbon": source_of(codecarbon, part)}
    kind = comparison_kind(sources["ours"], sources["codecarbon"])
    parts = ({k: float(codecarbon.components[k]) for k in ("cpu", "ram", "gpu") if k in codecarbon.components}
             if codecarbon.energy_j is not None else {})
    extra = {"kind": kind, "sources": sources, "codecarbon_parts_j": parts}
    if our_j is None or cc_j is None:
        missing = []
        if our_j is None:
            missing.append(f"{ours.meter} is {ours.status}: {ours.note}")
        if cc_j is None:
            missing.append(f"codecarbon is {codecarbon.status}: {codecarbon.note}")
        return CrossCheck(our_j, cc_j, None, False, "nothing to compare: " + "; ".join(missing),
                          methods, part, float(tolerance), **extra)
    if codecarbon.status == "too_short":
        return CrossCheck(our_j, cc_j, None, False,
                          f"window below CodeCarbon's resolution ({codecarbon.note}): no percentage",
                          methods, part, float(tolerance), below_resolution=True, **extra)
    if cc_j == 0.0:
        rel = 0.0 if our_j == 0.0 else math.inf
    else:
        rel = (our_j - cc_j) / cc_j
    within = abs(rel) <= tolerance
    warnings = []
    if not within:
        warnings.append(
            f"{ours.meter} ({our_j:.4g} J) and CodeCarbon ({cc_j:.4g} J) differ by "
            f"{rel:+.1%} (tolerance {tolerance:.0%})"
        )
    if part == "cpu":
        cc_rapl = cc_method.startswith(("RAPL", "Windows EMI"))
        if ours.meter == "rapl" and not cc_rapl:
            warnings.append(f"ours is a RAPL counter, CodeCarbon used {cc_method}: not the same quantity")
        if ours.meter == "cpu-model" and cc_rapl:
            warnings.append("ours is a CPU-time model, CodeCarbon read RAPL machine-wide: not the same quantity")
    for reading in (ours, codecarbon):
        if reading.status == "too_short":
            warnings.append(f"{reading.meter} window is too short: {reading.note}")
    return CrossCheck(our_j, cc_j, rel, within, "; ".join(warnings), methods, part, float(tolerance), **extra)
