"""``EnergyWrapper``: a Gymnasium wrapper measuring episode and trial windows and their phase split.

Meters are read only at window edges (``reset`` and the step that ends an episode for episode windows;
``begin_trial`` / ``end_trial`` for trials). Per step the wrapper reads one clock before and one after
the inner ``env.step`` and adds integers: no meter read, no allocation.

Phases of a window (see :class:`PhaseTimes`): ``env`` = time inside the inner ``step``/``reset``;
``policy`` = what the rollout loop reports with :meth:`EnergyWrapper.record_policy_time` (the time
spent in ``predict`` before a step); ``overhead`` = the window's duration minus both (the loop, other
wrappers, the meters at the edges). The window's ``cpu_s`` is the whole process's CPU time.

``phase_clock`` chooses the per-step clock:

- ``"wall"`` (default): ``time.perf_counter_ns`` only (about 0.1 us a read, served without a system
  call). The calling thread's CPU time is read at the window edges and apportioned to the phases by
  their wall-clock share; each meter's figure is charged to the phases by that share.
- ``"cpu"``: ``time.perf_counter_ns`` and ``time.thread_time_ns`` around every step (a system call,
  about 0.6-1.5 us a read): per-phase CPU time of the calling thread, and energy charged by CPU-time
  share. Use it on a loaded machine, where preemption inflates wall-clock phases at random.

``scripts/bench_overhead.py`` measures what each costs in throughput.

Faults: no meter fault stops a rollout. A meter whose one-off ``prepare`` raises, whose window start or
end raises, or that returns a figure that is not a finite number of J >= 0 gets a ``failed`` reading
(``energy_j`` None) with the error as its note, for that window (or, after a failed ``prepare``, for every
window); the other meters and the rollout go on. A meter whose ``close`` raises is reported by a
``RuntimeWarning`` after every other meter and the environment are closed. An exception raised by the
wrapped environment's ``reset`` or ``step`` propagates unchanged; the episode's window is dropped first
(counted in ``aborted_episodes``), so that ``end_trial()``, ``reset()`` and ``close()`` still work.
``KeyboardInterrupt`` is never caught.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Sequence
from typing import Any

import gymnasium

from paradox_gym.energy.measurement import (
    METHODS,
    PHASES,
    EnergyReading,
    PhaseTimes,
    WindowMeasurement,
    split_by_cpu_share,
)
from paradox_gym.energy.meters import Meter, check_cpu_tdp, default_meter_names, make_meters
from paradox_gym.energy.meters.base import reading_problem
from paradox_gym.errors import UserInputError, UserTypeError

_perf = time.perf_counter_ns
_thread = time.thread_time_ns

#: valid values of ``EnergyWrapper(phase_clock=...)``
PHASE_CLOCKS: tuple[str, ...] = ("wall", "cpu")


class _WindowStart:
    __slots__ = ("kind", "index", "key", "meters", "wall", "thread", "process",
                 "env_wall", "env_cpu", "pol_wall", "pol_cpu", "reset_wall", "steps", "begin_errors")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _built_meters(meters: Sequence[str] | Sequence[Meter] | str | Meter | None, tdp: float | None) -> list[Meter]:
    """The wrapper's meters: built from names (None: the default ones), or the Meter objects given, checked
    (unique non-empty names, a known method); one line naming a bad value or a mix of names and objects."""
    if meters is None:
        return make_meters(default_meter_names(), cpu_tdp_w=tdp)
    if isinstance(meters, str):
        return make_meters([meters], cpu_tdp_w=tdp)
    if isinstance(meters, Meter):
        return [meters]
    try:
        items = list(meters)
    except TypeError:
        raise UserTypeError(
            f"meters must be a list of meter names or Meter objects, got {type(meters).__name__}"
        ) from None
    if all(isinstance(m, str) for m in items):
        return make_meters(items, cpu_tdp_w=tdp)
    if all(isinstance(m, Meter) for m in items):
        names = [m.name for m in items]
        if len(set(names)) != len(names):
            raise UserInputError(f"two meters share a name: {names}")
        for m in items:
            if not isinstance(m.name, str) or not m.name or m.method not in METHODS:
                raise UserInputError(f"meter {m!r} needs a non-empty name and a method in {', '.join(METHODS)}")
        return items
    if any(isinstance(m, (str, Meter)) for m in items):
        raise UserTypeError("meters must be meter names or Meter objects, not a mix")
    raise UserTypeError(f"meters must be meter names or Meter objects, got {items!r:.200}")


def _prepare(meters: Sequence[Meter]) -> None:
    """One-off set-up costs (CodeCarbon's hardware probing, about 1.5 s) happen here, not inside the first
    trial window; a meter whose set-up fails reports failed windows."""
    for meter in meters:
        prepare = getattr(meter, "prepare", None)
        if callable(prepare) and meter.availability()[0]:
            try:
                prepare()
            except Exception as exc:  # noqa: BLE001 - any meter's set-up fault: its recorded fault
                meter.fail(f"set-up (prepare) failed: {_describe(exc)}")


class EnergyWrapper(gymnasium.Wrapper, gymnasium.utils.RecordConstructorArgs):
    """Measure the energy, time and phase split of every episode and of user-defined trials.

    Args:
        env: the environment to wrap.
        meters: ``None`` (the defaults: ``cpu-model`` plus RAPL / NVML where available), a list of
            meter names (see ``METER_NAMES``) or a list of :class:`Meter` objects (names unique).
        cpu_tdp_w: CPU TDP in W per package for the ``cpu-model`` meter (ignored when meter objects
            are given).
        phase_clock: ``"wall"`` (default) or ``"cpu"``: the clock read per step for the phase split
            (see the module docstring).

    At the step that ends an episode, ``info["energy"]`` is the episode's :class:`WindowMeasurement`.
    An episode is over when the wrapped environment returns ``terminated`` or ``truncated``: a
    ``TimeLimit`` must therefore be inside the wrapper (as ``gymnasium.make`` puts it). An episode reset
    before it ended is not recorded (counted in ``discarded_episodes``); when no ``TimeLimit`` sits inside
    the wrapper, the first one warns (a ``TimeLimit`` outside it ends episodes it never sees end).

    A well-behaved Gymnasium wrapper: its constructor arguments are recorded
    (``gymnasium.utils.RecordConstructorArgs``), so ``gymnasium.make(env.spec)`` rebuilds it with fresh
    meters of the same names, and it can be passed to ``gymnasium.make_vec(..., wrappers=[EnergyWrapper])``
    or SB3's ``make_vec_env(..., wrapper_class=EnergyWrapper)``. Meter objects are recorded by name: the
    rebuilt wrapper makes new meters of those names (a meter outside ``METER_NAMES`` cannot be rebuilt).
    """

    def __init__(
        self,
        env: gymnasium.Env,
        meters: Sequence[str] | Sequence[Meter] | None = None,
        *,
        cpu_tdp_w: float | None = None,
        phase_clock: str = "wall",
    ) -> None:
        super().__init__(env)
        if not isinstance(phase_clock, str) or phase_clock not in PHASE_CLOCKS:
            raise UserInputError(
                f"unknown phase_clock {phase_clock!r}; valid: {', '.join(PHASE_CLOCKS)}"
            )
        self.phase_clock = phase_clock
        self._cpu_clock = phase_clock == "cpu"
        built = _built_meters(meters, check_cpu_tdp(cpu_tdp_w))
        self.meters: list[Meter] = built
        # recorded for gymnasium.make(env.spec): names only (JSON, and a rebuilt wrapper gets its own meters)
        gymnasium.utils.RecordConstructorArgs.__init__(
            self, meters=[m.name for m in built] if meters is not None else None, cpu_tdp_w=cpu_tdp_w,
            phase_clock=phase_clock)
        self._limit_inside = _time_limit_inside(env)
        _prepare(built)
        self.episodes: list[WindowMeasurement] = []
        self.trials: list[WindowMeasurement] = []
        # cumulative counters (ns / steps); windows subtract their start values
        self._env_wall = 0
        self._env_cpu = 0
        self._pol_wall = 0
        self._pol_cpu = 0
        self._reset_wall = 0
        self._steps = 0
        self._episode: _WindowStart | None = None
        self._trial: _WindowStart | None = None
        self._windows_opened = 0  # makes every meter window key unique, even if the lists are cleared
        #: episodes reset before they ended (not recorded); the first one raises a RuntimeWarning
        self.discarded_episodes = 0
        #: episodes whose environment ``reset`` / ``step`` raised, or whose ``step`` returned a malformed
        #: result (not recorded)
        self.aborted_episodes = 0

    # -- rollout-loop API -----------------------------------------------------------------------
    def record_policy_time(self, wall_ns: int, cpu_ns: int) -> None:
        """Report the time (ns) the rollout loop spent choosing the next action (``predict``).

        Call it once per step, before ``step``; the time is charged to the policy phase of the open
        windows, and the rest of the time between steps to overhead. With ``phase_clock="wall"``
        ``cpu_ns`` is ignored (pass 0 and skip the CPU-clock reads).

        Raises:
            UserInputError: a time that is not a finite real number >= 0 (NaN, inf, negative, None, text).
        """
        if wall_ns.__class__ is int and cpu_ns.__class__ is int and wall_ns >= 0 and cpu_ns >= 0:
            self._pol_wall += wall_ns
            self._pol_cpu += cpu_ns
            return
        wall, cpu = _check_ns(wall_ns, cpu_ns)
        self._pol_wall += wall
        self._pol_cpu += cpu

    # -- gymnasium API --------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        if self._episode is not None:
            # an episode abandoned before its end is not recorded
            if self._steps > self._episode.steps:
                self.discarded_episodes += 1
                if self.discarded_episodes == 1 and not self._limit_inside:
                    warnings.warn(
                        "EnergyWrapper: reset() before the episode ended; that episode is not recorded "
                        "(a TimeLimit or other wrapper that ends episodes must sit inside EnergyWrapper)",
                        RuntimeWarning,
                        stacklevel=2,
                    )
            self._discard(self._episode)
            self._episode = None
        self._episode = self._open("episode", len(self.episodes))
        t0c = _thread() if self._cpu_clock else 0
        t0w = _perf()
        try:
            result = self.env.reset(seed=seed, options=options)
        except Exception:
            self._abort_episode()
            raise
        reset_wall = _perf() - t0w
        self._env_wall += reset_wall
        self._reset_wall += reset_wall  # the episode's fixed work, timed apart (PhaseTimes.reset_wall_s)
        if self._cpu_clock:
            self._env_cpu += _thread() - t0c
        return result

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict]:
        try:
            if self._cpu_clock:
                t0w = _perf()
                t0c = _thread()
                result = self.env.step(action)
                t1c = _thread()
                t1w = _perf()
                self._env_cpu += t1c - t0c
                self._env_wall += t1w - t0w
            else:
                t0w = _perf()
                result = self.env.step(action)
                self._env_wall += _perf() - t0w
        except Exception:
            self._abort_episode()
            raise
        self._steps += 1
        try:
            done = result[2] or result[3]
        except (TypeError, LookupError, ValueError, RuntimeError):
            # not a 5-tuple (TypeError, IndexError, KeyError) or flags with no truth value (numpy: ValueError,
            # torch: RuntimeError): the episode is counted aborted and the result passed on for the caller to
            # diagnose
            self._abort_episode()
            return result
        if done and self._episode is not None:
            window = self._close(self._episode)
            self._episode = None
            self.episodes.append(window)
            try:
                result[4]["energy"] = window
            except (TypeError, LookupError):  # an info that is not a dict (or missing): the caller diagnoses it
                pass
        return result

    def close(self) -> None:
        if self._episode is not None:
            self._discard(self._episode)
            self._episode = None
        if self._trial is not None:
            self._discard(self._trial)
            self._trial = None
        errors = []
        for meter in self.meters:
            try:
                meter.close()
            except Exception as exc:  # noqa: BLE001 - any meter's fault: named in the RuntimeWarning
                errors.append(f"{meter.name}: {_describe(exc)}")
        try:
            super().close()
        finally:
            if errors:
                warnings.warn("EnergyWrapper.close: meter(s) failed to close: " + "; ".join(errors),
                              RuntimeWarning, stacklevel=2)

    def _abort_episode(self) -> None:
        """Drop the open episode window (its environment raised or returned a malformed step)."""
        if self._episode is not None:
            self._discard(self._episode)
            self._episode = None
            self.aborted_episodes += 1

    # -- trials ---------------------------------------------------------------------------------
    def begin_trial(self) -> None:
        """Open a trial window (several episodes); every meter, CodeCarbon included, measures it.

        Raises:
            UserInputError: a trial is already open.
        """
        if self._trial is not None:
            raise UserInputError(f"trial {self._trial.index} is already open; call end_trial() first")
        self._trial = self._open("trial", len(self.trials))

    def end_trial(self) -> WindowMeasurement:
        """Close the open trial window and return its measurement (also appended to ``trials``).

        Raises:
            UserInputError: no trial is open.
        """
        if self._trial is None:
            raise UserInputError("no trial is open; call begin_trial() first")
        window = self._close(self._trial)
        self._trial = None
        self.trials.append(window)
        return window

    # -- windows --------------------------------------------------------------------------------
    def _open(self, kind: str, index: int) -> _WindowStart:
        start = _WindowStart()
        start.kind = kind
        start.index = index
        start.key = f"{kind}-{index}-{self._windows_opened}"
        self._windows_opened += 1
        # coarse meters (CodeCarbon) open first and close last, so that their costlier edges fall
        # outside the windows of the other meters
        chosen = [m for m in self.meters if kind == "trial" or m.episode_windows]
        start.meters = [m for m in chosen if not m.episode_windows] + [m for m in chosen if m.episode_windows]
        start.begin_errors = {}
        for meter in start.meters:
            try:
                meter.begin(start.key)
            except Exception as exc:  # noqa: BLE001 - any meter's fault: the window's failed reading
                start.begin_errors[meter.name] = f"window start failed: {_describe(exc)}"
        start.env_wall = self._env_wall
        start.env_cpu = self._env_cpu
        start.pol_wall = self._pol_wall
        start.pol_cpu = self._pol_cpu
        start.reset_wall = self._reset_wall
        start.steps = self._steps
        start.process = time.process_time_ns()
        start.thread = _thread()
        start.wall = _perf()
        return start

    def _close(self, start: _WindowStart) -> WindowMeasurement:
        wall = _perf() - start.wall
        thread = _thread() - start.thread
        process = time.process_time_ns() - start.process
        env_wall = self._env_wall - start.env_wall
        env_cpu = self._env_cpu - start.env_cpu
        pol_wall = self._pol_wall - start.pol_wall
        pol_cpu = self._pol_cpu - start.pol_cpu
        steps = self._steps - start.steps
        ended = {m.name: self._end(m, start) for m in reversed(start.meters)}
        readings = {m.name: ended[m.name] for m in self.meters if m.name in ended}
        overhead_wall = max(wall - env_wall - pol_wall, 0)
        if not self._cpu_clock:
            # the thread's CPU time over the window, apportioned to the phases by wall-clock share
            per_wall = thread / wall if wall > 0 else 0.0
            env_cpu = int(env_wall * per_wall)
            pol_cpu = int(pol_wall * per_wall)
        phases = PhaseTimes(
            env_wall_s=env_wall / 1e9,
            env_cpu_s=env_cpu / 1e9,
            policy_wall_s=pol_wall / 1e9,
            policy_cpu_s=pol_cpu / 1e9,
            overhead_wall_s=overhead_wall / 1e9,
            overhead_cpu_s=max(thread - env_cpu - pol_cpu, 0) / 1e9,
            clock=self.phase_clock,
            reset_wall_s=(self._reset_wall - start.reset_wall) / 1e9,
        )
        phase_energy = {
            name: split_by_cpu_share(r.energy_j, phases)
            for name, r in readings.items()
            if r.energy_j is not None
        }
        return WindowMeasurement(
            kind=start.kind,
            index=start.index,
            steps=steps,
            wall_s=wall / 1e9,
            cpu_s=process / 1e9,
            readings=readings,
            phases=phases,
            phase_energy_j=phase_energy,
        )

    def _discard(self, start: _WindowStart) -> None:
        for meter in reversed(start.meters):
            self._end(meter, start)

    @staticmethod
    def _end(meter: Meter, start: _WindowStart) -> EnergyReading:
        """``meter.end(key)``; a raise or an unusable reading becomes a ``failed`` reading."""
        note = start.begin_errors.get(meter.name)
        if note is None:
            try:
                reading = meter.end(start.key)
                note = reading_problem(reading)
                if note is None:
                    return reading
            except Exception as exc:  # noqa: BLE001 - any meter's fault: the window's failed reading
                note = f"window end failed: {_describe(exc)}"
        return EnergyReading.failed(meter.name, meter.method, note)

    # -- summary --------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Totals over the recorded windows, per kind (``episodes``, ``trials``) and meter.

        For each kind: ``windows``, ``steps``, ``wall_s``, ``cpu_s``, phase times, and per meter
        ``method``, ``energy_j`` (sum over windows with a figure; None when none has one), ``windows_with_figure``,
        ``too_short``, ``failed``, ``unavailable`` (counts) and ``phase_energy_j``.
        """
        return {
            "meters": {m.name: {"method": m.method, "available": m.availability()[0],
                                "reason": m.availability()[1]} for m in self.meters},
            "episodes": _summarise(self.episodes),
            "trials": _summarise(self.trials),
        }


def _time_limit_inside(env: gymnasium.Env[Any, Any]) -> bool:
    """Whether a ``TimeLimit`` wraps the environment below this wrapper (then a reset before an episode's end
    is the caller's choice, not a sign of a ``TimeLimit`` outside the wrapper)."""
    from gymnasium.wrappers import TimeLimit

    while isinstance(env, gymnasium.Wrapper):
        if isinstance(env, TimeLimit):
            return True
        env = env.env
    return False


def _check_ns(wall_ns: Any, cpu_ns: Any) -> tuple[int, int]:
    """Policy times in ns as ints (each a finite real number >= 0), else UserInputError."""
    out = []
    for value in (wall_ns, cpu_ns):
        ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
        if ok:
            try:
                number = float(value)
            except (OverflowError, ValueError):
                number = math.nan
            ok = math.isfinite(number) and number >= 0.0
        if not ok:
            got = f"wall_ns={wall_ns!r} cpu_ns={cpu_ns!r}"
            raise UserInputError(
                f"record_policy_time: policy times must be finite numbers of nanoseconds >= 0, got {got:.200}"
            )
        out.append(int(value))
    return out[0], out[1]


def _summarise(windows: list[WindowMeasurement]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "windows": len(windows),
        "steps": sum(w.steps for w in windows),
        "wall_s": sum(w.wall_s for w in windows),
        "cpu_s": sum(w.cpu_s for w in windows),
    }
    for field_name in PhaseTimes.__dataclass_fields__:
        if field_name != "clock":
            out[field_name] = sum(getattr(w.phases, field_name) for w in windows)
    meters: dict[str, dict[str, Any]] = {}
    for w in windows:
        for name, r in w.readings.items():
            m = meters.setdefault(name, {
                "method": r.method, "energy_j": 0.0, "windows_with_figure": 0,
                "ok": 0, "too_short": 0, "failed": 0, "unavailable": 0,
                "phase_energy_j": {p: 0.0 for p in PHASES},
            })
            m[r.status] += 1
            if r.method != m["method"]:
                m["method"] = "mixed"
            if r.energy_j is not None:
                m["energy_j"] += r.energy_j
                m["windows_with_figure"] += 1
                for p, j in w.phase_energy_j.get(name, {}).items():
                    m["phase_energy_j"][p] += j
    for m in meters.values():
        if m["windows_with_figure"] == 0:  # no figure is not 0 J
            m["energy_j"] = None
            m["phase_energy_j"] = None
    out["meters"] = meters
    return out
