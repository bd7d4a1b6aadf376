"""How a study's resolution moves with time.

Each cell's A/A control gives its minimum detectable effect (MDE) on energy per episode. On a shared or
virtual machine the MDE is not a property of the agent alone: the machine's speed changes over periods of
minutes to hours that the guest cannot see (no steal time, no other process), and a sweep that measures one
agent after another confounds the agent with the period. Per agent, runtime and machine (a cell's energy
per step is compared only with cells of its own machine), in the order the cells were measured,
:func:`resolution_drift` gives

- the lag-1 autocorrelation of log MDE, with a one-sided permutation p-value: how often the same cells in a
  random order have consecutive MDEs as alike (small p: the MDE follows the period);
- the correlation of log MDE with the machine's *slowdown*: the baseline's energy per step in that cell
  divided by its 10th percentile over the agent's cells (the same policy on the same episodes costing more
  per step means the machine ran it slower; with a CPU-time model the ratio is the CPU time per step's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

import paradox_gym.report.format as fmt
from paradox_gym.study.records import is_number

#: Cells an agent needs before its drift is computed.
MIN_CELLS = 5
#: Random orders drawn for the permutation p-value (seeded: the same rows give the same p).
PERMUTATIONS = 2000


@dataclass(frozen=True)
class AgentDrift:
    """One agent's (and runtime's) resolution over the time its cells were measured on one machine."""

    agent: str
    runtime: str
    cells: int
    first_started_at: str
    last_started_at: str
    mde_median_pct: float
    mde_min_pct: float
    mde_max_pct: float
    lag1_r: float | None
    lag1_p: float | None
    slowdown_r: float | None
    slowdown_max: float | None
    machine: str | None = None  # the machine fingerprint of its cells

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's r, or None where either side is constant."""
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _lag1(x: np.ndarray, rng: np.random.Generator) -> tuple[float | None, float | None]:
    """Lag-1 autocorrelation of ``x`` and its one-sided permutation p-value ((k + 1) / (N + 1))."""
    r = _corr(x[:-1], x[1:])
    if r is None:
        return None, None
    shuffled = (rng.permutation(x) for _ in range(PERMUTATIONS))
    as_alike = sum(1 for p in shuffled if (q := _corr(p[:-1], p[1:])) is not None and q >= r)
    return r, (as_alike + 1) / (PERMUTATIONS + 1)


def _per_step_energy(row: Mapping[str, Any]) -> float | None:
    energy, length = row.get("energy_per_episode_baseline_j"), row.get("length_baseline")
    return float(energy) / float(length) if is_number(energy) and is_number(length) and energy > 0 and length > 0 \
        else None


def _groups(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str, str | None], list[Mapping[str, Any]]]:
    """The cells with an A/A MDE and a start time, by agent, runtime and machine."""
    groups: dict[tuple[str, str, str | None], list[Mapping[str, Any]]] = {}
    for r in rows:
        mde, started = r.get("energy_mde_pct"), r.get("started_at")
        if is_number(mde) and mde > 0 and isinstance(started, str) and isinstance(r.get("agent"), str):
            machine = r.get("machine_fingerprint")
            groups.setdefault((r["agent"], str(r.get("runtime")), machine if isinstance(machine, str) else None),
                              []).append(r)
    return groups


def left_out_of_drift(rows: Sequence[Mapping[str, Any]]) -> int:
    """Cells with an A/A MDE and a start time that :func:`resolution_drift` leaves out: those of groups
    (agent, runtime, machine) of fewer than :data:`MIN_CELLS` cells."""
    return sum(len(cells) for cells in _groups(rows).values() if len(cells) < MIN_CELLS)


def resolution_drift(rows: Sequence[Mapping[str, Any]], *, seed: int = 0) -> list[AgentDrift]:
    """Per agent, runtime and machine with at least :data:`MIN_CELLS` cells that have an A/A MDE and a start
    time."""
    out: list[AgentDrift] = []
    rng = np.random.default_rng(seed)
    for (agent, runtime, machine), cells in _groups(rows).items():
        if len(cells) < MIN_CELLS:
            continue
        cells = sorted(cells, key=lambda r: r["started_at"])
        mde = np.array([float(r["energy_mde_pct"]) for r in cells])
        lag1_r, lag1_p = _lag1(np.log(mde), rng)
        per_step = [_per_step_energy(r) for r in cells]
        slowdown_r = slowdown_max = None
        if all(e is not None for e in per_step):
            steps = np.array(per_step, dtype=float)
            slowdown = steps / np.percentile(steps, 10)
            slowdown_r, slowdown_max = _corr(np.log(mde), np.log(slowdown)), float(slowdown.max())
        out.append(AgentDrift(agent, runtime, len(cells), cells[0]["started_at"], cells[-1]["started_at"],
                              float(np.median(mde)), float(mde.min()), float(mde.max()), lag1_r, lag1_p,
                              slowdown_r, slowdown_max, machine))
    return out


def drift_lines(drifts: Sequence[Mapping[str, Any]], left_out: int = 0) -> list[str]:
    """study.md's section: one sentence with the counts, then one row per agent; ``left_out`` cells (groups
    below :data:`MIN_CELLS`) are counted after the table."""
    left = ["", f"Left out: {left_out} {'cell' if left_out == 1 else 'cells'} with an A/A MDE in groups (agent, "
                f"runtime, machine) of fewer than {MIN_CELLS} cells."] if left_out else []
    if not drifts:
        return ["", "## Resolution over time", *left] if left else []
    follows = [d for d in drifts if d["lag1_p"] is not None and d["lag1_p"] < 0.05]
    slower = [d for d in drifts if d["slowdown_r"] is not None and d["slowdown_r"] > 0]

    machines = len({d.get("machine") for d in drifts}) > 1  # a machine column only where there are two

    def num(x: Any, spec: str) -> str:
        return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)

    return ["", "## Resolution over time", "",
            f"Over the cells' first runs, in {len(follows)} of {len(drifts)} agents (with at least {MIN_CELLS} cells "
            "on one runtime"
            + (" and one machine; an agent measured on two counts once per machine" if machines else "")
            + ") consecutive "
            "cells' A/A MDEs are more alike than the same cells' in a random order (lag-1 autocorrelation of log "
            "MDE, one-sided permutation p < 0.05): the MDE follows the period a cell ran in, and a sweep that "
            f"measures one agent after another confounds agent and period. In {len(slower)} of {len(drifts)} the "
            "MDE rises with the machine's slowdown (the baseline's energy per step against its 10th percentile "
            "over the agent's cells). plots/resolution.png draws each cell's MDE against the time it started.", "",
            fmt.markdown_table(
                ["agent", "runtime", *(["machine"] if machines else []), "cells", "measured (UTC)",
                 "A/A MDE median (range)", "lag-1 r (p)", "r with slowdown", "slowdown max"],
                [[d["agent"], d["runtime"], *([d.get("machine")] if machines else []), d["cells"],
                  f"{d['first_started_at'][:16]} to {d['last_started_at'][:16]}".replace("T", " "),
                  f"{d['mde_median_pct']:.1f}% ({d['mde_min_pct']:.1f}-{d['mde_max_pct']:.1f}%)",
                  f"{num(d['lag1_r'], '.2f')} ({num(d['lag1_p'], '.3f')})", num(d["slowdown_r"], ".2f"),
                  "n/a" if d["slowdown_max"] is None else f"{d['slowdown_max']:.2f}x"] for d in drifts])] + left


__all__ = ["MIN_CELLS", "PERMUTATIONS", "AgentDrift", "drift_lines", "left_out_of_drift", "resolution_drift"]
