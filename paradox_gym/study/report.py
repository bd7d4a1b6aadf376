"""The study report: job files -> ``results.parquet``, ``results.csv``, ``study.md``, ``study.json``,
``study_code.csv``, ``claims.md`` (the 2024 study's claims against this one: :mod:`~paradox_gym.study.claims`)
and plots (``plots/<agent>.png``).

One row per job (cell): the compressed configuration against its own baseline, measured in the same run
(:mod:`~paradox_gym.study.rows`, which states the rules: return kept, best amount). Each job record is checked
by type and range first (:mod:`~paradox_gym.study.records`); ``study.md`` is :mod:`~paradox_gym.study.markdown`;
the plots are :func:`paradox_gym.report.plots.write_study_plots`.

- **Never across machines**: each cell compares configurations measured in one run on one host, so every
  ratio is within a host; absolute energies and latencies are shown with their host, and jobs run by the
  ``process`` executor (``shared`` measurement) show no energy or latency at all.
- **Nothing lost for one bad file**: a job file that cannot be read, fails the checks, or holds a value a
  parquet or CSV table cannot take is left out, with a ``warning:`` line and a line under "Files left out";
  the report is written from the others.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
import os
import re
import statistics
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from paradox_gym._util.checks import shown
from paradox_gym._util.cli import one_line
from paradox_gym._util.files import write_bytes_atomic
from paradox_gym.analysis import RETURN_MARGIN
from paradox_gym.errors import UserInputError
from paradox_gym.report.files import write_csv_atomic, write_json_atomic
from paradox_gym.report.plots import write_resolution_plot, write_study_plots
from paradox_gym.study.claims import ClaimRow, format_claims, judge_claims
from paradox_gym.study.jobs import JobStore
from paradox_gym.study.markdown import amount_text, format_study
from paradox_gym.study.drift import left_out_of_drift, resolution_drift
from paradox_gym.study.records import is_number, parse_record
from paradox_gym.study.remeasure import Parsed, Remeasure, choose_runs, record_mde, rule_of
from paradox_gym.study.rows import (STUDY_CODE_COLUMNS, best_amounts, cell_row, check_margin, config_label,
                                    study_code_rows, summary_counts)

#: The plots' writer under its former name here.
write_plots = write_study_plots

REPORT_SCHEMA = "paradox_gym.study.report/1"
FILES: dict[str, str] = {
    "results_parquet": "results.parquet", "results_csv": "results.csv", "study_md": "study.md",
    "study_json": "study.json", "study_code_csv": "study_code.csv", "claims_md": "claims.md",
}
#: Columns of ``study_code.csv``: the study code's row shape (amount, return mean/std, time mean/std,

_NUMBER = re.compile(r"[-+]?\d[\d.,]*")


def _note(group: Sequence[str]) -> str:
    """One line for the notes of one kind: the text once, with how many jobs gave it; when the jobs'
    figures differ, the first job's figures stand as an example."""
    jobs = f"{len(group)} job{'s' if len(group) > 1 else ''}"
    if len(set(group)) == 1:
        return f"{group[0]} ({jobs})"
    return f"{group[0]} ({jobs}; figures of the first shown, the others differ: see results or the job files)"



def _failure_entry(f: Mapping[str, Any]) -> dict[str, Any]:
    """One failed job for the report (every field a string or None, each one line and bounded)."""
    def text(value: Any, limit: int = 500) -> str | None:
        return None if value is None else one_line(value if isinstance(value, str) else shown(value))[:limit]

    agent = f.get("agent") if isinstance(f.get("agent"), Mapping) else {}
    amount = f.get("amount") if is_number(f.get("amount")) and math.isfinite(f["amount"]) else None
    method = text(f.get("method")) or "?"
    runtime = f.get("runtime") if isinstance(f.get("runtime"), str) else None
    label = method if runtime in (None, "sb3") else f"{text(runtime, 50)}:{method}"
    return {"id": text(f.get("id")),
            "cell": f"{text(agent.get('label')) or '?'} {label} {amount_text(amount)}".strip(),
            "host": text(f.get("host")), "error_type": text(f.get("error_type"), 100),
            "error": text(f.get("error"), 2000)}


def _grid_entry(grid: Mapping[str, Any]) -> dict[str, Any]:
    """The grid record's fields the report shows (a command that is not a list of strings is left out)."""
    out = {k: grid.get(k) for k in ("fingerprint", "common", "grid", "grid_file", "executor", "command")}
    command = out["command"]
    if not (isinstance(command, list) and all(isinstance(c, str) for c in command)):
        out["command"] = None
    return out




def _conversion_errors() -> tuple[type[BaseException], ...]:
    """What pandas and pyarrow raise for a value a parquet or CSV table cannot hold."""
    import pyarrow as pa

    return (pa.ArrowException, ValueError, TypeError, OverflowError, UnicodeError)


def _tables(rows: Sequence[Mapping[str, Any]], code: Sequence[Mapping[str, Any]]) -> None:
    """Convert ``rows`` to parquet and CSV and ``code`` to CSV in memory (raises what the conversion raises)."""
    pd.DataFrame.from_records(list(rows)).to_parquet(io.BytesIO(), index=False)
    for table in (rows, code):
        pd.DataFrame.from_records(list(table)).to_csv(io.StringIO(), index=False)


def _writable(parsed: list[Parsed], name: Callable[[Mapping[str, Any]], str], skipped: list[str]) -> list[Parsed]:
    """The records whose rows parquet and CSV can hold; each other one is named in ``skipped`` and left out.
    All rows are tried together first, one by one only when that fails."""
    errors = _conversion_errors()
    try:
        _tables([row for _r, row, _c in parsed], [c for _r, _row, code in parsed for c in code])
        return parsed
    except errors:
        pass
    kept: list[Parsed] = []
    for record, row, code in parsed:
        try:
            _tables([row], code)
        except errors as exc:
            reason = one_line(exc)[:300] or type(exc).__name__
            skipped.append(f"{name(record)} holds a value results.parquet or the CSV files cannot hold ({reason}); "
                           "left out: delete it to measure that job again")
            continue
        kept.append((record, row, code))
    return kept


def _read_parsed(store: JobStore, grid: Mapping[str, Any] | None, wanted: set[str] | None, margin: float,
                 skipped: list[str]) -> tuple[list[Parsed], list[dict[str, Any]]]:
    """The job records this report can read, parsed into rows (in the grid's order), and the failed jobs' records;
    every file left out is named in ``skipped``."""
    for path in store.irregular(wanted):
        skipped.append(f"{path} is not a regular file (a directory, FIFO, device or dangling link); left out: move "
                       "it away to measure that job again")
    records, problems = store.read_records(store.jobs_dir, wanted)
    skipped += problems
    failures, problems = store.read_records(store.failed_dir, wanted)
    skipped += problems
    order = {j["id"]: i for i, j in enumerate(grid["jobs"])} if grid else {}
    records.sort(key=lambda r: (order.get(r["id"], len(order)), r["id"]))
    parsed: list[Parsed] = []
    for r in records:
        try:
            row, code = parse_record(r, margin)
        except Exception as exc:  # noqa: BLE001 - a job file that is not a record of ours is named, not fatal
            reason = one_line(exc)[:300] or type(exc).__name__
            skipped.append(f"{store.job_path(r['id'])} is not a job record this report can read ({reason}); "
                           "left out: delete it to measure that job again")
            continue
        parsed.append((r, row, code))
    return _writable(parsed, lambda r: str(store.job_path(r["id"])), skipped), failures


def _hosts(records: Sequence[Mapping[str, Any]], seconds: set[str], rule: Remeasure | None) -> list[dict[str, Any]]:
    """The machines the runs ran on (host and machine fingerprint), with their CPU and, for first and second
    runs apart (a second run has more replicates, so their MDEs are not alike), how many each measured and
    the median of their A/A MDEs; and how many of its second runs are still above the remeasure rule's target
    (None without a rule). ``records`` are every run read, first and second: a noisier machine shows here
    whichever runs it measured."""
    hosts: dict[tuple[Any, Any], dict[str, Any]] = {}
    mdes: dict[tuple[Any, Any, str], list[float]] = {}
    for r in records:
        key = (r.get("host"), r.get("machine_fingerprint"))
        machine = r["result"].get("machine") or {}
        h = hosts.setdefault(key, {"host": key[0], "machine_fingerprint": key[1], "cpu_model": machine.get("cpu_model"),
                                   "cpu_count": machine.get("cpu_count"), "first_runs": 0,
                                   "second_runs": 0, "median_mde_first_pct": None, "median_mde_second_pct": None,
                                   "second_above_mde_target": 0 if rule is not None else None})
        kind = "second" if r["id"] in seconds else "first"
        h[f"{kind}_runs"] += 1
        mde = record_mde(r)
        if mde is not None:
            mdes.setdefault((*key, kind), []).append(mde)
        if kind == "second" and rule is not None and rule.meets(mde) is False:
            h["second_above_mde_target"] += 1
    for (host, fingerprint, kind), values in mdes.items():
        hosts[host, fingerprint][f"median_mde_{kind}_pct"] = float(statistics.median(values))
    return list(hosts.values())


def _meters_and_notes(records: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]
                      ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The energy meters the jobs used (each described once) and their notes, grouped by kind (a note with
    its figures blanked)."""
    energy: dict[str, Any] = {}
    notes: dict[str, list[str]] = {}
    for r in records:
        for meter, info in (r["result"].get("meters") or {}).items():
            energy.setdefault(meter, info)
        for note in r["result"].get("notes") or []:
            notes.setdefault(_NUMBER.sub("#", note), []).append(note)
    shared = sum(1 for r in rows if r.get("measurement") == "shared")
    if shared:
        text = "jobs run by the process executor shared the machine: their energy and latency are not shown"
        notes[text] = [text] * shared
    return energy, [_note(group) for group in notes.values()]


def _build(directory: str | os.PathLike[str], margin: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The study document and the job records it was built from (those the report could read)."""
    store = JobStore(directory)
    if not store.jobs_dir.is_dir():
        raise UserInputError(f"{str(directory)!r} is not a sweep directory (it has no jobs/ folder)")
    skipped: list[str] = []
    try:
        grid = store.read_grid()
    except UserInputError as exc:
        skipped.append(f"{exc}; the report covers every job file")
        grid = None
    rule = rule_of(grid)
    second_of = {j["id"]: j["remeasure_id"] for j in grid["jobs"] if isinstance(j.get("remeasure_id"), str)} \
        if grid and rule else {}
    wanted = {j["id"] for j in grid["jobs"]} | set(second_of.values()) if grid else None
    left_out = len(store.done_ids() - wanted) if wanted is not None else 0  # other grids' jobs: not even read
    parsed, failures = _read_parsed(store, grid, wanted, margin, skipped)
    done_ids = {r["id"] for r, _row, _code in parsed}
    seconds = set(second_of.values())
    second_failures = [f for f in failures if f["id"] in seconds and f["id"] not in done_ids]
    failures = [f for f in failures if f["id"] not in done_ids and f["id"] not in seconds]
    every_run = [r for r, _row, _code in parsed]  # first and second runs, for the machines table
    # the drift reads first runs only: one replicate count, and no cell taken out of its period because its
    # MDE was high (the rule's second runs are chosen by their first run's MDE)
    first_rows = [row for r, row, _code in parsed if r["id"] not in seconds]
    parsed, remeasure = choose_runs(parsed, second_of, rule, frozenset(f["id"] for f in second_failures))
    records = [r for r, _row, _code in parsed]
    rows = [row for _r, row, _code in parsed]
    energy, notes = _meters_and_notes(records, rows)
    total = len(grid["jobs"]) if grid else len(records) + len(failures)
    doc: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "directory": str(directory),
        "written_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "return_margin": margin,
        "grid": _grid_entry(grid) if grid else None,
        "jobs": {"total": total, "done": len(records), "failed": len(failures),
                 "missing": max(0, total - len(records) - len(failures)), "left_out": left_out},
        "hosts": _hosts(every_run, seconds, rule),
        "energy": energy,
        "cells": rows,
        "best_amounts": best_amounts(rows),
        "summary": summary_counts(rows),
        "remeasure": remeasure,
        "drift": [d.to_dict() for d in resolution_drift(first_rows)],
        "drift_left_out": left_out_of_drift(first_rows),
        "claims": [],
        "failures": [_failure_entry(f) for f in failures + second_failures],
        "notes": notes,
        "skipped": skipped,
        "files": {},
    }
    doc["claims"] = [c.to_dict() for c in judge_claims(doc)]
    return doc, records


def build_report(directory: str | os.PathLike[str], *, return_margin: float | None = None) -> dict[str, Any]:
    """The study document (``study.json``) of the jobs in ``directory`` (a sweep's ``--out``).

    A job file that cannot be read, or is not a job record this report can read (wrong types, another
    id inside, a directory or FIFO named like one), is left out and named in ``skipped`` (and in study.md);
    a ``grid.json`` that is not a grid record is named there too and the report covers every job file."""
    margin = check_margin(RETURN_MARGIN if return_margin is None else return_margin)
    return _build(directory, margin)[0]


def _write_parquet(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    buf = io.BytesIO()
    pd.DataFrame.from_records(list(rows)).to_parquet(buf, index=False)
    write_bytes_atomic(path, buf.getvalue())


def write_report(directory: str | os.PathLike[str], *, return_margin: float | None = None,
                 warn: Callable[[str], None] | None = None) -> dict[str, str]:
    """Write the report files into ``directory``; returns key -> path of each file written (a table whose rows
    cannot be converted together is not written, and named in ``warn``). ``study.json`` is written last.
    ``warn`` gets one line per job file left out (and per table that could not be converted). A file that cannot be written is a UserInputError
    naming it (the job files are never touched)."""
    out = Path(directory)
    margin = check_margin(RETURN_MARGIN if return_margin is None else return_margin)
    doc, records = _build(out, margin)
    target = out
    unwritten: set[str] = set()
    try:
        for name, write in ((FILES["results_parquet"], lambda path: _write_parquet(path, doc["cells"])),
                            (FILES["results_csv"], lambda path: write_csv_atomic(path, doc["cells"])),
                            (FILES["study_code_csv"], lambda path: write_csv_atomic(
                                path, study_code_rows(records), columns=STUDY_CODE_COLUMNS))):
            target = out / name
            try:
                write(target)
            except _conversion_errors() as exc:  # the rows passed one by one: never lose the rest of the report
                unwritten.add(name)
                doc["skipped"].append(f"{target} was not written: its rows together cannot be converted "
                                      f"({one_line(exc)[:300] or type(exc).__name__})")
        target = out / "plots"
        # one line per configuration: a method on another runtime is its own line (onnxruntime:prune)
        plots = write_study_plots(out, [{**r, "method": config_label(r)} for r in doc["cells"]], doc["return_margin"])
        resolution = write_resolution_plot(out, doc["cells"], (doc.get("remeasure") or {}).get("above_mde_pct"))
        plots += [resolution] if resolution is not None else []
        doc["files"] = {**FILES, "plots": plots}
        for line in doc["skipped"]:
            if warn is not None:
                warn(line)
        target = out / FILES["study_md"]
        write_bytes_atomic(target, format_study(doc).encode())
        target = out / FILES["claims_md"]
        write_bytes_atomic(target, format_claims(doc, [ClaimRow(**c) for c in doc["claims"]]).encode())
        target = out / FILES["study_json"]
        write_json_atomic(target, doc)
    except OSError as exc:
        raise UserInputError(f"the study report cannot be written: {target} ({exc.strerror or exc})") from None
    paths = {k: str(out / v) for k, v in FILES.items() if v not in unwritten}
    paths.update({f"plot_{i}": str(out / p) for i, p in enumerate(plots)})
    return paths


__all__ = ["FILES", "REPORT_SCHEMA", "STUDY_CODE_COLUMNS", "best_amounts", "build_report", "cell_row",
           "check_margin", "format_study", "study_code_rows", "summary_counts", "write_plots", "write_report"]
