"""A study's resolution rule: every cell's A/A MDE at most a target, or the cell measured again, once, at a
budget the grid declared before anything was measured.

    remeasure: {above_mde_pct: 10, replicates: 12}

After a sweep has measured every cell of its grid, each cell whose A/A control gave a minimum detectable
effect on energy per episode above ``above_mde_pct`` is measured again as a whole new run (its own job,
its own id, the grid's settings with ``replicates`` replaced). The report then takes that cell's row from
the second run, says so (``remeasured``, with the first run's MDE beside it) and whether the cell now meets
the target (``meets_mde_target``). A cell is measured again at most once and never by its result: the rule
reads only the A/A control (two copies of the float baseline), which says how far apart two identical
configurations came out, not how the compressed one did.

The rule is not part of the cells' identity or of the grid's fingerprint: adding it to a grid whose cells
are measured (or are being measured) keeps every job and measures only the cells it selects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from paradox_gym import limits
from paradox_gym._util.checks import check_int, shown
from paradox_gym.errors import UserInputError
from paradox_gym.study.jobs import Job, make_job
from paradox_gym.study.records import is_number


#: The grid key.
REMEASURE = "remeasure"
#: Its keys, with what each means (docs/study.md).
REMEASURE_KEYS: dict[str, str] = {
    "above_mde_pct": "a cell whose A/A MDE (energy per episode, %) is above this is measured again",
    "replicates": "the replicates of that second run (more than the grid's)",
}


@dataclass(frozen=True)
class Remeasure:
    """The rule: cells with an A/A MDE above ``above_mde_pct`` (%) are measured again at ``replicates``."""

    above_mde_pct: float
    replicates: int

    def to_dict(self) -> dict[str, Any]:
        return {"above_mde_pct": self.above_mde_pct, "replicates": self.replicates}

    def selects(self, mde_pct: Any) -> bool:
        """Whether a cell whose first run gave ``mde_pct`` is measured again (a cell without an A/A control
        has no MDE and is not)."""
        return _finite(mde_pct) and float(mde_pct) > self.above_mde_pct

    def meets(self, mde_pct: Any) -> bool | None:
        """Whether ``mde_pct`` meets the target (None: the run has no MDE)."""
        return float(mde_pct) <= self.above_mde_pct if _finite(mde_pct) else None


def _finite(x: Any) -> bool:
    return is_number(x) and math.isfinite(x)


def parse_remeasure(value: Any, replicates: int) -> Remeasure:
    """The grid's ``remeasure`` mapping, checked: ``above_mde_pct`` a number in (0, 100], ``replicates`` an
    integer above the grid's own ``replicates`` and at most ``MAX_REPLICATES``."""
    if not isinstance(value, Mapping):
        raise UserInputError(f"grid key {REMEASURE!r} must be a mapping such as {{above_mde_pct: 10, replicates: "
                             f"12}}, got {shown(value)}")
    for key in value:
        if key not in REMEASURE_KEYS:
            raise UserInputError(f"unknown {REMEASURE} key {shown(key)}; valid: {', '.join(REMEASURE_KEYS)}")
    missing = [k for k in REMEASURE_KEYS if k not in value]
    if missing:
        raise UserInputError(f"grid key {REMEASURE!r} needs {', '.join(missing)} (e.g. {{above_mde_pct: 10, "
                             "replicates: 12}})")
    target = value["above_mde_pct"]
    if not _finite(target) or not 0 < float(target) <= 100:
        raise UserInputError(f"{REMEASURE} above_mde_pct must be a number in (0, 100] (a percentage), got "
                             f"{shown(target)}")
    try:
        more = check_int(f"{REMEASURE} replicates", value["replicates"], replicates + 1, limits.MAX_REPLICATES)
    except UserInputError as exc:
        raise UserInputError(f"{exc} (a second run has more replicates than the grid's {replicates})") from None
    return Remeasure(float(target), more)


def remeasure_job(job: Job, rule: Remeasure, settings: Mapping[str, Any], extra: Mapping[str, Any],
                  measurement: str = "exclusive") -> Job:
    """The second run of ``job``'s cell: the grid's ``settings`` (and ``extra`` keys) with the rule's
    replicates, so its own id."""
    return make_job(job.agent, job.method, job.amount, {**settings, "replicates": rule.replicates}, dict(extra),
                    measurement, runtime=job.runtime)


def record_mde(record: Mapping[str, Any]) -> float | None:
    """The A/A MDE (energy per episode, %) of a job record, or None where it has none."""
    result = record.get("result")
    control = result.get("control") if isinstance(result, Mapping) else None
    mde = control.get("min_detectable_effect_pct") if isinstance(control, Mapping) else None
    return float(mde) if _finite(mde) else None


def rule_of(grid_record: Mapping[str, Any] | None) -> Remeasure | None:
    """The rule a sweep recorded in ``grid.json`` (None: none, or not a rule this version can read)."""
    value = (grid_record or {}).get(REMEASURE)
    if not isinstance(value, Mapping):
        return None
    target, replicates = value.get("above_mde_pct"), value.get("replicates")
    if not _finite(target) or not isinstance(replicates, int) or isinstance(replicates, bool):
        return None
    return Remeasure(float(target), replicates)





#: A job record with its row and its study-code rows (as the report parses them).
Parsed = tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]


def choose_runs(parsed: list[Parsed], second_of: Mapping[str, str], rule: Remeasure | None,
                failed: frozenset[str] = frozenset()) -> tuple[list[Parsed], dict[str, Any] | None]:
    """Each cell's run for the report, in ``parsed``'s order of first runs: the second run where the rule
    selected the cell and its second run is done, else the first. Every row gets ``mde_target_pct``,
    ``meets_mde_target``, ``remeasured`` and ``first_energy_mde_pct`` (the first run's MDE where the row is a
    second run's). Also the report's ``remeasure`` summary (None without a rule); ``failed`` are the ids of
    second runs that failed (their cells keep the first run and are not counted as still to measure)."""
    by_id = {record["id"]: (record, row, code) for record, row, code in parsed}
    seconds = set(second_of.values())
    out: list[Parsed] = []
    selected = again = failures = 0
    for record, row, code in parsed:
        if record["id"] in seconds:
            continue  # a second run: it stands in for its cell below, or not at all
        first_mde = row.get("energy_mde_pct")
        chosen, remeasured = (record, row, code), False
        if rule is not None and rule.selects(first_mde):
            selected += 1
            second = by_id.get(second_of.get(record["id"], ""))
            if second is not None:
                again += 1
                chosen, remeasured = second, True
            elif second_of.get(record["id"]) in failed:
                failures += 1
        record_, row_, code_ = chosen
        row_ = {**row_, "mde_target_pct": rule.above_mde_pct if rule else None,
                "meets_mde_target": rule.meets(row_.get("energy_mde_pct")) if rule else None,
                "remeasured": remeasured, "first_energy_mde_pct": first_mde if remeasured else None}
        out.append((record_, row_, code_))
    if rule is None:
        return out, None
    rows = [row for _r, row, _c in out]
    return out, {**rule.to_dict(), "cells": len(rows), "above_at_first": selected, "remeasured": again,
                 "pending": selected - again - failures, "failed": failures,
                 "meets": sum(r["meets_mde_target"] is True for r in rows),
                 "still_above": sum(r["remeasured"] and r["meets_mde_target"] is False for r in rows)}


def remeasure_text(summary: Mapping[str, Any] | None) -> str | None:
    """The report's sentence on the rule (None without one)."""
    if not summary:
        return None
    text = (f"Resolution rule: A/A MDE at most {summary['above_mde_pct']:g}% per cell, else the cell is measured "
            f"again at {summary['replicates']} replicates. {summary['meets']} of {summary['cells']} cells meet it; "
            f"{summary['above_at_first']} were above it at the first run")
    if summary["above_at_first"]:
        text += f": {summary['remeasured']} measured again"
        if summary["remeasured"]:
            text += (f" (their rows are the second run's, `remeasured` in results.csv), {summary['still_above']} of "
                     "them still above it")
        if summary.get("failed"):
            text += (f", {summary['failed']} whose second run failed (their rows are the first run's; "
                     "`--retry-failed` measures them again)")
        if summary["pending"]:
            text += (f", {summary['pending']} still to measure again (the sweep does so once every cell has its "
                     "first run)")
    return text + "."
__all__ = ["REMEASURE", "REMEASURE_KEYS", "Parsed", "Remeasure", "choose_runs", "parse_remeasure", "record_mde",
           "remeasure_job", "remeasure_text", "rule_of"]
