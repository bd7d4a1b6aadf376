"""What else ran on the machine while a replicate measured: the CPU time of every other process.

Energy on a machine without a per-process meter is modelled from the measured process's CPU time, and
even a measured meter's figure moves when other work shares the caches, memory bandwidth and power budget.
The rollout thread's CPU share (``TrialRecord.rollout_cpu_share``) catches other work that takes the
measured CPU away; it does not see work on the *other* CPUs, which changes the measured process's CPU time
per step without preempting it. This module records that work, per replicate:

- ``machine_busy_s``: the CPU time every CPU spent running anything (``/proc/stat`` via
  :func:`psutil.cpu_times`: user, nice, system, irq and softirq; guest time is inside user);
- ``own_cpu_s``: the CPU time of this process and of the replicate process it waited for
  (:func:`resource.getrusage`, ``RUSAGE_SELF`` and ``RUSAGE_CHILDREN``);
- ``others_cpu_s`` = machine - own (never below 0): the other processes' CPU time; ``others_cpus`` =
  others / wall time, the average number of CPUs they kept busy;
- ``steal_s``: the time a virtual machine's CPUs were ready to run but the hypervisor ran something else
  (None where the kernel does not report it).

It is a record of the conditions, read from the kernel's counters, not an energy figure: no energy is
subtracted or corrected with it. Where the counters are not available (not Linux, no ``resource``
module) the probe records nothing.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Mapping, NamedTuple, Sequence

#: Other processes keeping at least this many CPUs busy on average during a replicate make a note.
BUSY_OTHERS_CPUS = 0.1


class CpuCounters(NamedTuple):
    """One reading: seconds since boot (machine, all CPUs) and since start (this process and its children)."""

    wall_s: float
    machine_busy_s: float
    steal_s: float | None
    own_cpu_s: float


def _machine_cpu() -> tuple[float, float | None]:
    import psutil

    t = psutil.cpu_times()
    busy = t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
    return float(busy), (float(t.steal) if hasattr(t, "steal") else None)


def _own_cpu() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def read_counters() -> CpuCounters | None:
    """The counters now, or None where this platform has none."""
    try:
        busy, steal = _machine_cpu()
        own = _own_cpu()
    except (ImportError, AttributeError, OSError):
        return None
    return CpuCounters(time.perf_counter(), busy, steal, own)


@dataclass(frozen=True)
class BackgroundLoad:
    """The other processes' CPU time during one replicate (seconds; ``cpus`` = logical CPUs)."""

    replicate: int
    wall_s: float
    machine_busy_s: float
    own_cpu_s: float
    steal_s: float | None
    cpus: int

    @property
    def others_cpu_s(self) -> float:
        return max(0.0, self.machine_busy_s - self.own_cpu_s)

    @property
    def others_cpus(self) -> float:
        """The average number of CPUs other processes kept busy."""
        return self.others_cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "others_cpu_s": self.others_cpu_s, "others_cpus": self.others_cpus}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "BackgroundLoad":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})

    @classmethod
    def between(cls, replicate: int, before: CpuCounters, after: CpuCounters,
                cpus: int | None = None) -> "BackgroundLoad":
        """The load between two readings of :func:`read_counters`."""
        steal = None if before.steal_s is None or after.steal_s is None else max(0.0, after.steal_s - before.steal_s)
        return cls(replicate, max(0.0, after.wall_s - before.wall_s),
                   max(0.0, after.machine_busy_s - before.machine_busy_s),
                   max(0.0, after.own_cpu_s - before.own_cpu_s), steal, cpus or os.cpu_count() or 1)


def probe(replicate: int, read: Callable[[], CpuCounters | None] = read_counters) -> Callable[[], BackgroundLoad | None]:
    """Start a window now; the returned function closes it and gives its :class:`BackgroundLoad` (None where
    the platform has no counters)."""
    before = read()

    def stop() -> BackgroundLoad | None:
        after = read()
        return None if before is None or after is None else BackgroundLoad.between(replicate, before, after)

    return stop


def background_section(loads: Sequence[BackgroundLoad]) -> dict[str, Any] | None:
    """The result's ``background`` block: each replicate's window and the mean and largest ``others_cpus``
    (None when no replicate recorded one)."""
    if not loads:
        return None
    shares = [b.others_cpus for b in loads]
    steal = [b.steal_s for b in loads if b.steal_s is not None]
    return {"others_cpus_mean": sum(shares) / len(shares), "others_cpus_max": max(shares),
            "steal_s": sum(steal) if steal else None, "cpus": loads[0].cpus,
            "rule": "others = all CPUs' busy time (/proc/stat) - this process and its replicate process "
                    "(getrusage); others_cpus = others / wall time; a record of the conditions, never "
                    "subtracted from an energy figure",
            "replicates": [b.to_dict() for b in loads]}


def background_note(loads: Sequence[BackgroundLoad]) -> str | None:
    """One sentence when other processes kept at least :data:`BUSY_OTHERS_CPUS` CPUs busy on average in some
    replicate (None otherwise)."""
    busy = [b for b in loads if b.others_cpus >= BUSY_OTHERS_CPUS]
    if not busy:
        return None
    worst = max(busy, key=lambda b: b.others_cpus)
    mean = sum(b.others_cpus for b in loads) / len(loads)
    return (f"background load: other processes kept {mean:.2f} of {worst.cpus} CPUs busy on average while the "
            f"replicates measured ({len(busy)} of {len(loads)} replicates at >= {BUSY_OTHERS_CPUS:g}; most "
            f"{worst.others_cpus:.2f} in replicate {worst.replicate}); work beside the measurement changes "
            "its CPU time and energy per step, and the A/A control's MDE shows how much it widened the run's "
            "resolution")
