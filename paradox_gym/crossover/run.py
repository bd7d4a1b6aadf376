""":func:`crossover`: measure a map through the study's sweep (jobs, store, executors), then analyse it;
:func:`load_map` and :func:`compare_maps` for saved maps.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Sequence

from paradox_gym._util.checks import shown
from paradox_gym.crossover.analysis import CellRow, ControlSummary, FrontierPoint, analyse, frontier
from paradox_gym.crossover.jobs import CrossoverGrid
from paradox_gym.crossover.result import SCHEMA, CrossoverResult, _f
from paradox_gym.crossover.settings import CrossoverSettings
from paradox_gym.errors import UserInputError
from paradox_gym.study.executors import ExecutorOptions
from paradox_gym.study.jobs import JobStore, machine_fingerprint, read_json_record
from paradox_gym.study.sweep import ProgressCallback, run_sweep


def check_can_run(settings: CrossoverSettings) -> None:
    """Refuse, before anything is measured, what this machine cannot run: a runtime whose package is
    missing, cuda without a GPU, an environment that is unknown or that the algorithm cannot act in."""
    from paradox_gym.compression.runtimes import check_runtime
    from paradox_gym.energy.placement import check_device
    from paradox_gym.sb3.algorithms import check_algo_env

    for runtime in settings.runtimes:
        check_runtime(runtime)
    check_device(settings.device)
    check_algo_env(settings.algo, settings.env_id)


def machine_record(threads: int) -> dict[str, Any]:
    """The machine fingerprint (the study's: CPU, memory, OS) with the machine and software facts."""
    from paradox_gym.report.machine import machine_info, software_versions

    return {"fingerprint": machine_fingerprint(), "host": socket.gethostname(), **machine_info(threads),
            "software": software_versions()}


def crossover(
    settings: CrossoverSettings | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    executor: str = "serial",
    options: ExecutorOptions = ExecutorOptions(),
    retry_failed: bool = False,
    force: bool = False,
    progress: ProgressCallback | None = None,
    command: Sequence[str] | None = None,
) -> CrossoverResult:
    """Measure the crossover map of ``settings`` (default: 4 widths x 4 batches x ptdq, ptsq x torch,
    onnxruntime on HalfCheetah-v5's spaces) and return it.

    Jobs (one per width and runtime) run with the study's ``executor`` and are stored under ``out``
    (``out/jobs/<id>.json``): a killed run started again with the same settings and ``out`` reads back
    the finished jobs and measures only the others. The map's files (table, heatmap, summary) are written
    to ``out``; with ``out`` None everything goes to a temporary directory that is removed.

    Raises UserInputError before any measurement for settings this machine cannot run, or an ``out`` that
    holds another map's jobs (unless ``force``).
    """
    settings = settings if settings is not None else CrossoverSettings()
    if not isinstance(settings, CrossoverSettings):
        raise UserInputError(f"settings must be a CrossoverSettings, got {type(settings).__name__}")
    check_can_run(settings)
    from paradox_gym.study.executors import get_executor

    if get_executor(executor).measurement != "exclusive":
        raise UserInputError(f"--executor {executor} runs jobs side by side on this machine: a map measures cost, "
                             "so its jobs must run alone (serial, or ray with one job per node)")
    if out is None:
        with tempfile.TemporaryDirectory(prefix="paradox_gym-crossover-") as tmp:
            return _measure(settings, Path(tmp), executor, options, retry_failed, force, progress, command,
                            write=False)
    return _measure(settings, Path(out), executor, options, retry_failed, force, progress, command, write=True)


def _measure(settings: CrossoverSettings, out: Path, executor: str, options: ExecutorOptions, retry_failed: bool,
             force: bool, progress: ProgressCallback | None, command: Sequence[str] | None,
             write: bool) -> CrossoverResult:
    grid = CrossoverGrid(settings)
    load_before = os.getloadavg()
    started = time.perf_counter()
    summary = run_sweep(grid, str(out), executor=executor, options=options, retry_failed=retry_failed, force=force,
                        progress=progress, command=command, report=False)
    wall = time.perf_counter() - started
    store = JobStore(out)
    ids = {j.id for j in grid.jobs()}
    records, problems = store.read_records(store.jobs_dir, ids)
    failures, _ = store.read_records(store.failed_dir, ids - {r["id"] for r in records})
    failed = [f"width {f.get('identity', {}).get('width')} {f.get('identity', {}).get('runtime')}: {f.get('error')}"
              for f in failures] + problems
    rows, controls = analyse(records)
    meta = next((m for r in records for m in r.get("replicates", []) if m), {})
    run = {"wall_s": wall, "load_before": list(load_before), "load_after": list(os.getloadavg()),
           "jobs": len(ids), "jobs_run": summary.ran, "jobs_done_before": summary.done_before,
           "executor": executor, "command": list(command) if command is not None else None,
           "meter_note": meta.get("meter_note"), "idle_w": meta.get("idle_w"),
           "elapsed_s_per_job": {r["id"]: r.get("elapsed_s") for r in records},
           "jobs_elapsed_s": sum(float(r.get("elapsed_s") or 0.0) for r in records)}
    result = CrossoverResult(settings.to_dict(), tuple(rows), tuple(frontier(rows)), tuple(controls),
                             machine_record(settings.threads), run, tuple(failed))
    if write:
        files = result.write(out)
        result.run["files"] = files
    return result


# ---------------------------------------------------------------------------------------------------
# saved maps
# ---------------------------------------------------------------------------------------------------
def _records(items: Any, cls: type, what: str, path: Path) -> tuple[Any, ...]:
    names = {f.name for f in fields(cls)}
    if not isinstance(items, list):
        raise UserInputError(f"{path}: its {what} are not a list")
    out = []
    for item in items:
        if not isinstance(item, dict) or not names.issubset(item):
            raise UserInputError(f"{path}: a {what} entry lacks fields ({shown(item)})")
        values = {k: item[k] for k in names}
        if "isolated" in values:
            values["isolated"] = tuple(values["isolated"] or ())
        try:
            out.append(cls(**values))
        except TypeError as exc:
            raise UserInputError(f"{path}: a {what} entry is malformed ({exc})") from None
    return tuple(out)


def load_map(path: str | os.PathLike[str]) -> CrossoverResult:
    """A saved map: ``crossover.json`` or the directory holding it; UserInputError naming the file when it is
    not a map this package wrote."""
    p = Path(path)
    if p.is_dir():
        p = p / "crossover.json"
    if not p.exists():
        raise UserInputError(f"no saved crossover map at {str(path)!r} (expected a directory with crossover.json)")
    doc = read_json_record(p, "crossover map")
    if doc.get("schema") != SCHEMA or not isinstance(doc.get("settings"), dict):
        raise UserInputError(f"{p} is not a crossover map (schema {shown(doc.get('schema'))}, expected {SCHEMA})")
    settings = doc["settings"]
    for key in ("widths", "batches", "methods", "runtimes"):
        if not isinstance(settings.get(key), list):
            raise UserInputError(f"{p}: its settings lack {key}")
    failed = doc.get("failed", [])
    if not isinstance(failed, list) or not all(isinstance(f, str) for f in failed):
        raise UserInputError(f"{p}: its failed jobs are not a list of lines ({shown(failed)})")
    return CrossoverResult(settings, _records(doc.get("rows"), CellRow, "rows", p),
                           _records(doc.get("frontier"), FrontierPoint, "frontier", p),
                           _records(doc.get("controls", []), ControlSummary, "controls", p),
                           doc.get("machine") if isinstance(doc.get("machine"), dict) else {},
                           doc.get("run") if isinstance(doc.get("run"), dict) else {}, tuple(failed))


def compare_maps(a: str | os.PathLike[str], b: str | os.PathLike[str],
                 out: str | os.PathLike[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """Overlay map ``b`` on map ``a``: one line per cell whose verdict differs, the frontiers side by side,
    whether the machines differ; with ``out``, ``compare.png`` (a's heatmap, b's frontier dashed) and
    ``compare.csv`` (both ratios per shared cell)."""
    ma, mb = load_map(a), load_map(b)
    la, lb = str(a), str(b)
    fa, fb = ma.machine.get("fingerprint"), mb.machine.get("fingerprint")
    lines = [f"A = {la} (machine {fa}, {ma.machine.get('cpu_model')}); B = {lb} (machine {fb}, "
             f"{mb.machine.get('cpu_model')})" + ("; the same machine" if fa == fb else "; different machines")]
    key = lambda r: (r.width, r.batch, r.runtime, r.method)  # noqa: E731
    rows_b = {key(r): r for r in mb.rows}
    shared = []
    for r in sorted(ma.rows, key=key):
        other = rows_b.get(key(r))
        if other is None:
            continue
        shared.append({"width": r.width, "batch": r.batch, "runtime": r.runtime, "method": r.method,
                       "ratio_a": r.energy_ratio, "low_a": r.ratio_low, "high_a": r.ratio_high, "verdict_a": r.verdict,
                       "ratio_b": other.energy_ratio, "low_b": other.ratio_low, "high_b": other.ratio_high,
                       "verdict_b": other.verdict})
        if other.verdict != r.verdict:
            lines.append(f"  {r.method} on {r.runtime}, width {r.width}, batch {r.batch}: A {r.verdict} "
                         f"(x{_f(r.energy_ratio)}), B {other.verdict} (x{_f(other.energy_ratio)})")
    lines.append(f"{len(shared)} shared cells, {sum(1 for s in shared if s['verdict_a'] != s['verdict_b'])} with "
                 "different verdicts")
    front_b = {(p.method, p.runtime, p.batch): p.width for p in mb.frontier}
    for p in ma.frontier:
        if (p.method, p.runtime, p.batch) in front_b:
            lines.append(f"  frontier {p.method} on {p.runtime} at batch {p.batch}: A from width {p.width or 'none'}, "
                         f"B from width {front_b[(p.method, p.runtime, p.batch)] or 'none'}")
    files: dict[str, str] = {}
    if out is not None:
        from paradox_gym._util.files import ensure_writable_dir
        from paradox_gym.crossover.plots import write_overlay
        from paradox_gym.report.files import write_csv_atomic

        folder = ensure_writable_dir(out, "--out")
        files["overlay"] = str(write_overlay(folder / "compare.png", ma, mb, ("A", "B")))
        files["table_csv"] = str(write_csv_atomic(folder / "compare.csv", shared))
    return lines, files


__all__ = ["check_can_run", "compare_maps", "crossover", "load_map", "machine_record"]
