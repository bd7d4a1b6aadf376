"""From the jobs' trial records to the map: one paired comparison per cell and method, Holm over the map,
the A/A control's resolution per runtime, the arithmetic floor, and the break-even frontier.

Every comparison is a method against its runtime's float baseline in the same cell (same replicate
processes, same observation batches, interleaved trials). Replicates are the independent units, as in
``evaluate``: per replicate, energy per decision = the energy of its trials / their decisions, and the ratio
is the geometric mean of the per-replicate ratios with the Student-t interval of the mean log ratio
(:func:`paradox_gym.stats.log_ratio_t`). The map's family is every (cell, method) comparison: each interval
is shown at its Holm-adjusted level (:func:`paradox_gym.stats.holm_levels`), so "pays" (interval below 1)
and "costs more" (above 1) hold family-wise at 95%. The A/A copy of the baseline gives each cell's minimum
detectable effect at the family's strictest level (Bonferroni, the level Holm starts from).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from statistics import median
from typing import Any, Iterable, Sequence

from paradox_gym.stats import CONFIDENCE, holm, holm_levels, log_ratio_t
from paradox_gym.vocab import BASELINE, CONTROL

#: Trial readings that carry a figure: ``too_short`` ones (shorter than the meter's resolution or minimum CPU time)
#: are kept and counted in ``short_trials``; ``failed`` / ``unavailable`` ones have none.
_WITH_FIGURE = ("ok", "too_short", None)
PAYS = "pays"
COSTS = "costs more"
UNRESOLVED = "no detectable change"
VERDICTS = (PAYS, COSTS, UNRESOLVED)


@dataclass(frozen=True)
class CellRow:
    """One method in one cell of the map (a row of the tidy table). Energies in J per decision, times in s
    per decision (``time_s``: wall; ``cpu_time_s``: process CPU time, which other processes' load does not
    inflate); ``ratio*`` are method / float baseline at ``confidence`` (Holm-adjusted); ``floor_s`` is the
    float policy's arithmetic floor per decision (dense float32 MACs at the float32 matmul rate measured in
    CPU time, per CPU-second; on cuda the GPU's rate) and ``multiple`` / ``baseline_multiple`` the CPU time
    per decision over it (int8 kernels can beat the float32 floor: a multiple below 1)."""

    width: int
    depth: int
    batch: int
    runtime: str
    method: str
    device: str
    verdict: str
    energy_ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    confidence: float | None
    p_value: float | None
    p_holm: float | None
    energy_j: float | None
    baseline_energy_j: float | None
    time_s: float | None
    baseline_time_s: float | None
    time_ratio: float | None
    cpu_time_s: float | None
    baseline_cpu_time_s: float | None
    floor_s: float | None
    multiple: float | None
    baseline_multiple: float | None
    macs: int | None
    macs_per_s: float | None
    aa_ratio: float | None
    aa_low: float | None
    aa_high: float | None
    mde_pct: float | None
    replicates: int
    trials: int
    short_trials: int
    energy_method: str
    meter: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FrontierPoint:
    """The break-even width of ``method`` on ``runtime`` at ``batch``: the smallest measured width from which
    the method pays at every larger measured width (None: it pays at none, or not up to the largest);
    ``isolated``: smaller widths where it pays although a larger one does not."""

    method: str
    runtime: str
    batch: int
    width: int | None
    energy_ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    isolated: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["isolated"] = list(self.isolated)
        return d


@dataclass(frozen=True)
class ControlSummary:
    """The A/A control on one runtime: the minimum detectable effect (%) over its cells (median, largest)."""

    runtime: str
    cells: int
    mde_median_pct: float | None
    mde_max_pct: float | None
    confidence: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mde(low: float | None, high: float | None) -> float | None:
    if low is None or high is None:
        return None
    return 100.0 * max(1.0 - low, high - 1.0)


def _per_replicate(trials: Iterable[dict[str, Any]], field: str) -> dict[tuple[int, str], float]:
    """(replicate, config) -> sum(field) / sum(decisions) over the trials with a value."""
    acc: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for t in trials:
        value = t.get(field)
        if value is None or not t.get("decisions") or t.get("status") not in _WITH_FIGURE:
            continue
        a = acc[(int(t["replicate"]), str(t["config"]))]
        a[0] += float(value)
        a[1] += float(t["decisions"])
    return {k: v[0] / v[1] for k, v in acc.items() if v[1] > 0}


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class _Cell:
    record: dict[str, Any]
    batch: int
    energy: dict[tuple[int, str], float]
    time: dict[tuple[int, str], float]
    cpu: dict[tuple[int, str], float]
    replicates: list[int]


def _cells(records: Sequence[dict[str, Any]]) -> list[_Cell]:
    cells = []
    for rec in records:
        by_batch: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for t in rec.get("trials", []):
            by_batch[int(t["batch"])].append(t)
        for batch in sorted(by_batch):
            trials = by_batch[batch]
            cells.append(_Cell(rec, batch, _per_replicate(trials, "energy_j"), _per_replicate(trials, "wall_s"),
                               _per_replicate(trials, "cpu_s"), sorted({int(t["replicate"]) for t in trials})))
    return cells


def _series(cell: _Cell, values: dict[tuple[int, str], float], config: str) -> tuple[list[float], list[float]]:
    reps = [r for r in cell.replicates if (r, config) in values and (r, BASELINE) in values]
    return [values[(r, config)] for r in reps], [values[(r, BASELINE)] for r in reps]


def analyse(records: Sequence[dict[str, Any]]) -> tuple[list[CellRow], list[ControlSummary]]:
    """The map's rows (one per cell and method, Holm over all of them) and the A/A control per runtime."""
    cells = _cells(records)
    tests: list[tuple[_Cell, str]] = [(c, m) for c in cells for m in c.record["identity"]["methods"]]
    p_values = [log_ratio_t(*_series(c, c.energy, m)).p_value for c, m in tests]
    levels = holm_levels(p_values)
    adjusted = holm(p_values)
    m = sum(p is not None for p in p_values)
    strictest = 1.0 - (1.0 - CONFIDENCE) / max(m, 1)
    rows: list[CellRow] = []
    aa_by_runtime: dict[str, list[float]] = defaultdict(list)
    for (cell, method), level, p, p_adj in zip(tests, levels, p_values, adjusted):
        rec, ident = cell.record, cell.record["identity"]
        e = log_ratio_t(*_series(cell, cell.energy, method), confidence=level or CONFIDENCE)
        aa = log_ratio_t(*_series(cell, cell.energy, CONTROL), confidence=strictest)
        mde = _mde(aa.ratio_low, aa.ratio_high)
        t_m, t_b = _series(cell, cell.time, method)
        c_m, c_b = _series(cell, cell.cpu, method)
        cm, cb = _mean(c_m), _mean(c_b)
        metas = rec.get("replicates", [])
        rate = median([float(x["macs_per_s"]) for x in metas if x.get("macs_per_s")] or [math.nan])
        macs = next((int(x["macs"][BASELINE]) for x in metas if x.get("macs")), None)
        floor_s = macs / rate if macs and rate and math.isfinite(rate) else None
        tm, tb = _mean(t_m), _mean(t_b)
        verdict = UNRESOLVED
        if e.ratio_high is not None and e.ratio_high < 1.0:
            verdict = PAYS
        elif e.ratio_low is not None and e.ratio_low > 1.0:
            verdict = COSTS
        meta = metas[0] if metas else {}
        rows.append(CellRow(
            width=int(rec["width"]), depth=int(ident["depth"]), batch=cell.batch, runtime=str(rec["runtime"]),
            method=method, device=str(ident["device"]), verdict=verdict, energy_ratio=e.ratio,
            ratio_low=e.ratio_low, ratio_high=e.ratio_high, confidence=level, p_value=p, p_holm=p_adj,
            energy_j=_mean(_series(cell, cell.energy, method)[0]), baseline_energy_j=e.baseline_mean,
            time_s=tm, baseline_time_s=tb, time_ratio=tm / tb if tm is not None and tb else None,
            cpu_time_s=cm, baseline_cpu_time_s=cb, floor_s=floor_s,
            multiple=cm / floor_s if cm is not None and floor_s else None,
            baseline_multiple=cb / floor_s if cb is not None and floor_s else None, macs=macs,
            macs_per_s=rate if math.isfinite(rate) else None, aa_ratio=aa.ratio, aa_low=aa.ratio_low,
            aa_high=aa.ratio_high, mde_pct=mde, replicates=e.n,
            trials=sum(1 for t in rec.get("trials", []) if int(t["batch"]) == cell.batch and t["config"] == method),
            short_trials=sum(1 for t in rec.get("trials", []) if int(t["batch"]) == cell.batch
                             and t["config"] in (method, BASELINE) and t.get("status") == "too_short"),
            energy_method=str(meta.get("energy_method", "")), meter=str(meta.get("meter", ""))))
        if mde is not None:
            aa_by_runtime[rows[-1].runtime].append(mde)
    controls = [ControlSummary(r, len(v), median(v), max(v), strictest) for r, v in sorted(aa_by_runtime.items())]
    return rows, controls


def frontier(rows: Sequence[CellRow]) -> list[FrontierPoint]:
    """The break-even width per (method, runtime, batch), see :class:`FrontierPoint`."""
    groups: dict[tuple[str, str, int], list[CellRow]] = defaultdict(list)
    for r in rows:
        groups[(r.method, r.runtime, r.batch)].append(r)
    points = []
    for (method, runtime, batch), group in sorted(groups.items()):
        group = sorted(group, key=lambda r: r.width)
        start = None
        for i in range(len(group) - 1, -1, -1):
            if group[i].verdict != PAYS:
                break
            start = i
        isolated = tuple(r.width for r in group[:start if start is not None else len(group)] if r.verdict == PAYS)
        at = group[start] if start is not None else None
        points.append(FrontierPoint(method, runtime, batch, at.width if at else None,
                                    at.energy_ratio if at else None, at.ratio_low if at else None,
                                    at.ratio_high if at else None, isolated))
    return points


__all__ = ["COSTS", "PAYS", "UNRESOLVED", "VERDICTS", "CellRow", "ControlSummary", "FrontierPoint", "analyse",
           "frontier"]
