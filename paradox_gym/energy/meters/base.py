"""The interface every energy meter implements: named windows opened by ``begin`` and closed by ``end``.

A meter reads a cumulative quantity (a hardware energy counter, an integrated power, the process CPU
time) at the two edges of a window and turns the difference into an :class:`EnergyReading`. Windows
are named by a key and may nest (an episode window inside a trial window): each key keeps its own
start snapshot. No meter reads anything between the edges, except a power-polling thread for a GPU
that lacks an energy counter.

Faults never stop a rollout: a meter that cannot run returns ``unavailable`` readings with the reason,
and a meter whose source breaks during a window returns a ``failed`` reading for that window, with the
error as its note. That covers an exception in any hook or read (:meth:`Meter._on_begin`,
:meth:`Meter._read`, :meth:`Meter._on_end`, :meth:`Meter._reading`), a figure that is not a finite
number >= 0 (``energy_j`` or a component: NaN, inf, negative), and a meter marked broken with
:meth:`Meter.fail` (e.g. its one-off ``prepare`` failed). A meter may be a user's own subclass reading
any source through any library, so these edges catch every ``Exception`` and name it (type and message) in
the reading's note; ``KeyboardInterrupt`` is never caught.
"""

from __future__ import annotations

import math
import numbers
import time
from abc import ABC, abstractmethod
from typing import Any, NamedTuple

from paradox_gym.energy.measurement import EnergyReading
from paradox_gym.errors import UserInputError


class Snapshot:
    """State read at one window edge: wall clock (s), process CPU time (s) and the meter's own value."""

    __slots__ = ("wall_s", "cpu_s", "value", "error")

    def __init__(self, wall_s: float, cpu_s: float, value: Any = None, error: str | None = None):
        self.wall_s = wall_s
        self.cpu_s = cpu_s
        self.value = value
        self.error = error


class Availability(NamedTuple):
    """Whether a meter can run on this machine, and why (a description when it can, the reason when not)."""

    available: bool
    reason: str


class Meter(ABC):
    """Base class of the energy meters.

    Subclasses set ``name``, ``method`` and ``resolution_s`` and implement :meth:`_probe` (is the
    source usable here?), :meth:`_read` (read the cumulative value at a window edge; may raise) and
    :meth:`_reading` (turn two values into a reading).

    Attributes:
        name: meter name as accepted by ``make_meters``.
        method: ``"measured"``, ``"sampled"`` or ``"modelled"``.
        resolution_s: shortest window (s) whose figure is trustworthy; shorter windows are flagged
            ``too_short`` (the figure is still reported).
        episode_windows: whether the meter measures episode windows (False for meters too costly to
            open and close every episode: they measure trial windows only).
    """

    name: str = "meter"
    method: str = "modelled"
    resolution_s: float = 0.01
    episode_windows: bool = True
    #: windows whose process CPU time is below this (s) are also flagged too_short (0 disables).
    min_cpu_s: float = 0.0
    #: set by :meth:`fail`: why the meter is broken (every window begun since is ``failed`` with this note)
    fault: str | None = None

    def __init__(self) -> None:
        self._availability: Availability | None = None
        self._open: dict[str, Snapshot] = {}

    # -- availability ---------------------------------------------------------------------------
    def availability(self) -> Availability:
        """``Availability(True, description)`` when the meter can run here, else ``(False, reason)``. Cached."""
        if self._availability is None:
            try:
                self._availability = Availability(*self._probe())
            except Exception as exc:  # noqa: BLE001 - a probe of this machine: any fault is the reason
                self._availability = Availability(False, f"{type(exc).__name__}: {exc}")
        return self._availability

    @abstractmethod
    def _probe(self) -> tuple[bool, str]:
        """Check the source once; return ``(available, description or reason)``."""

    def fail(self, reason: str) -> None:
        """Mark the meter broken: every window begun from now on gets a ``failed`` reading with ``reason``
        as its note, and the source is no longer read (used when a one-off ``prepare`` fails)."""
        self.fault = str(reason)

    # -- windows --------------------------------------------------------------------------------
    @property
    def open_windows(self) -> tuple[str, ...]:
        """Keys of the windows begun and not yet ended."""
        return tuple(self._open)

    def begin(self, key: str) -> None:
        """Open the window ``key`` (read the source's start value).

        Raises:
            UserInputError: a window with this key is already open.
        """
        if key in self._open:
            raise UserInputError(f"meter {self.name!r}: window {key!r} is already open")
        available, _ = self.availability()
        snap = Snapshot(time.perf_counter(), time.process_time())
        if available and self.fault is not None:
            snap.error = self.fault
        elif available:
            try:
                self._on_begin(key)
                snap.value = self._read()
            except Exception as exc:  # noqa: BLE001 - any source fault: the window's failed reading
                snap.error = f"reading at window start failed: {type(exc).__name__}: {exc}"
            # clocks again after the read so that the window excludes the meter's own cost
            snap.wall_s = time.perf_counter()
            snap.cpu_s = time.process_time()
        self._open[key] = snap

    def end(self, key: str) -> EnergyReading:
        """Close the window ``key`` and return its reading (never raises for a source fault).

        Raises:
            UserInputError: no window with this key is open.
        """
        start = self._open.pop(key, None)
        if start is None:
            valid = ", ".join(repr(k) for k in self._open) or "none"
            raise UserInputError(f"meter {self.name!r}: no open window {key!r}; open windows: {valid}")
        wall_end = time.perf_counter()
        cpu_end = time.process_time()
        available, reason = self.availability()
        if not available:
            return EnergyReading.unavailable(self.name, self.method, reason)
        if start.error is not None:
            self._end_hook(key)
            return EnergyReading.failed(self.name, self.method, start.error)
        try:
            value = self._read()
        except Exception as exc:  # noqa: BLE001 - any source fault: the window's failed reading
            self._end_hook(key)
            return EnergyReading.failed(
                self.name, self.method, f"reading at window end failed: {type(exc).__name__}: {exc}"
            )
        hook_error = self._end_hook(key)
        if hook_error is not None:
            return EnergyReading.failed(self.name, self.method, hook_error)
        wall_s = max(wall_end - start.wall_s, 0.0)
        cpu_s = max(cpu_end - start.cpu_s, 0.0)
        try:
            reading = self._reading(start.value, value, wall_s, cpu_s)
            problem = reading_problem(reading)
            if problem is not None:
                return EnergyReading.failed(self.name, self.method, problem)
            return self._flag_short(reading, wall_s, cpu_s)
        except Exception as exc:  # noqa: BLE001 - any fault of the arithmetic: the window's failed reading
            return EnergyReading.failed(self.name, self.method, f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        """Release the meter's resources (threads, library handles). Open windows are dropped; a hook
        that raises while they are dropped does not stop the others."""
        for key in list(self._open):
            self._open.pop(key)
            self._end_hook(key)

    def _end_hook(self, key: str) -> str | None:
        """Run :meth:`_on_end`; return the note of a failed reading if it raised, else None."""
        try:
            self._on_end(key)
        except Exception as exc:  # noqa: BLE001 - any hook fault: the window's failed reading
            return f"end-of-window hook failed: {type(exc).__name__}: {exc}"
        return None

    # -- hooks ----------------------------------------------------------------------------------
    def _on_begin(self, key: str) -> None:  # noqa: B027 - optional hook
        """Called before the start value of a window is read (start a sampler, sync a device)."""

    def _on_end(self, key: str) -> None:  # noqa: B027 - optional hook
        """Called once a window's end value has been read (or its reading failed)."""

    @abstractmethod
    def _read(self) -> Any:
        """Read the cumulative value at a window edge (may raise: the window then fails)."""

    @abstractmethod
    def _reading(self, start: Any, stop: Any, wall_s: float, cpu_s: float) -> EnergyReading:
        """Turn the values read at the two edges into a reading with status ``ok``."""

    def _flag_short(self, reading: EnergyReading, wall_s: float, cpu_s: float) -> EnergyReading:
        if reading.status != "ok":
            return reading
        reasons = []
        if wall_s < self.resolution_s:
            reasons.append(f"window {wall_s:.4f} s < resolution {self.resolution_s} s")
        if self.min_cpu_s > 0.0 and cpu_s < self.min_cpu_s:
            reasons.append(f"process CPU time {cpu_s:.4f} s < {self.min_cpu_s} s")
        if not reasons:
            return reading
        note = "; ".join(reasons) + ("; " + reading.note if reading.note else "")
        return EnergyReading(
            meter=reading.meter,
            method=reading.method,
            energy_j=reading.energy_j,
            status="too_short",
            components=reading.components,
            note=note,
            details=reading.details,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, method={self.method!r})"


def _bad_joules(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return True
    number = float(value)
    return not (math.isfinite(number) and number >= 0.0)


def reading_problem(reading: Any) -> str | None:
    """Why ``reading`` cannot be reported (not an :class:`EnergyReading`; an ``energy_j`` or a component
    that is not a finite number of J >= 0), or None when it can."""
    if not isinstance(reading, EnergyReading):
        return f"the meter returned {type(reading).__name__}, not an EnergyReading"
    if reading.energy_j is not None and _bad_joules(reading.energy_j):
        return f"the meter returned energy_j={reading.energy_j!r} J; an energy must be a finite number >= 0"
    if not isinstance(reading.components, dict):
        return f"the meter returned components {type(reading.components).__name__}, not a dict"
    for part, joules in reading.components.items():
        if _bad_joules(joules):
            return (f"the meter returned component {part!r} = {joules!r} J; an energy must be a finite "
                    "number >= 0")
    return None
