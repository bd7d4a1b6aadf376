"""Run a grid: :func:`run_sweep` (resumable, crash-safe, one writer).

Re-running the same sweep skips every job whose file exists (``DIR/jobs/<id>.json``); failed jobs are
retried only with ``retry_failed``; a grid whose shared settings differ from the directory's
(``DIR/grid.json`` fingerprint) is refused unless ``force``. A job file is written atomically as the job
finishes, so killing the sweep at any moment loses at most the jobs in flight. A grid with a ``remeasure``
rule (:mod:`paradox_gym.study.remeasure`) then measures again, once, every cell whose A/A MDE is above
its target.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from paradox_gym._util.checks import check_int
from paradox_gym.errors import UserInputError
from paradox_gym.limits import MAX_WORKERS
from paradox_gym.study.executors import ExecutorOptions, check_ray_address, get_executor
from paradox_gym.study.grid import Grid
from paradox_gym.study.jobs import GRID_SCHEMA, Job, JobOutcome, JobStore, grid_fingerprint, machine_fingerprint
from paradox_gym.study.remeasure import Remeasure, record_mde, remeasure_job

if TYPE_CHECKING:
    import pandas as pd


#: The orders a sweep can measure its jobs in (``--order``); the first is the default.
ORDERS: dict[str, str] = {
    "shuffled": "by job id (a hash of the cell): agents, methods and amounts mixed, the same order on every "
                "resume; a noisy stretch of the machine then falls on many agents, not one",
    "grid": "the grid's order, agent after agent",
}
DEFAULT_ORDER = next(iter(ORDERS))


def order_jobs(jobs: Sequence[Job], order: str) -> list[Job]:
    """``jobs`` in the sweep ``order`` (a key of :data:`ORDERS`)."""
    if not isinstance(order, str) or order not in ORDERS:
        raise UserInputError(f"unknown sweep order {order!r}; valid: {', '.join(ORDERS)}")
    return sorted(jobs, key=lambda j: j.id) if order == "shuffled" else list(jobs)


@dataclass(frozen=True)
class SweepEvent:
    """One progress event: ``kind`` is ``plan``, ``start``, ``done``, ``failed`` or ``finish``;
    ``done`` / ``total`` count this grid's finished jobs, ``failed`` its failed ones; ``eta_s`` is the
    estimated time left (s; None until a job has finished in this run)."""

    kind: str
    message: str
    done: int
    total: int
    failed: int
    eta_s: float | None = None


ProgressCallback = Callable[[SweepEvent], None]


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did: ``total`` jobs in the grid, ``done`` finished (``done_before`` of them already
    before this run), ``failed`` with a failure record, ``skipped_failed`` failed jobs not retried,
    ``ran`` jobs run now, ``elapsed_s`` wall time of this run (s), ``report`` the report files."""

    out: str
    total: int
    done_before: int
    done: int
    failed: int
    skipped_failed: int
    ran: int
    elapsed_s: float
    report: dict[str, str] = field(default_factory=dict)


def _changes(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    diffs = [f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]
    return ", ".join(diffs) or "fingerprint differs"


def check_grid(store: JobStore, doc: dict[str, Any], force: bool) -> None:
    """Refuse (UserInputError) a grid whose shared settings differ from those ``store`` was filled with,
    unless ``force``."""
    try:
        old = store.read_grid()
    except UserInputError as exc:
        if force:
            return  # replaced by this grid's record
        raise UserInputError(f"{exc}; --force replaces it with this grid's (the job files are kept)") from None
    if old is None or force:
        return
    if old.get("fingerprint") == doc["fingerprint"]:
        _check_rule(store, old, doc)
        return
    raise UserInputError(
        f"{store.root} holds jobs of a grid with other shared settings ({_changes(old.get('common') or {}, doc['common'])}); "
        "their results would not be comparable: use another --out, or --force to measure this grid there "
        "(the report then covers only this grid's jobs)")


def _check_rule(store: JobStore, old: Mapping[str, Any], doc: Mapping[str, Any]) -> None:
    """Refuse a changed ``remeasure`` rule once the old rule's second runs are stored: under the new rule a
    cell would be measured a third time (and its second run silently dropped)."""
    before, now = old.get("remeasure"), doc.get("remeasure")
    if not before or before == now:
        return
    second = {j.get("remeasure_id") for j in old.get("jobs") or [] if isinstance(j, Mapping)} - {None}
    measured = second & (store.done_ids() | store.failed_ids())
    if measured:
        raise UserInputError(
            f"{store.root} holds {len(measured)} second runs made under the remeasure rule {before}, and this grid's "
            f"rule is {now}: a cell would be measured a third time. Keep the rule, or use another --out, or "
            "--force (the report then uses only the new rule's second runs)")


def _prepare_store(store: JobStore, doc: dict[str, Any], force: bool, wanted: set[str]) -> None:
    """Check the study folder against the grid and record the grid, before anything is measured."""
    store.clean_temporary()
    check_grid(store, doc, force)
    strays = store.irregular(wanted)
    if strays:  # a job finished here could not be stored over them: refuse before measuring anything
        raise UserInputError(f"{strays[0]} is not a regular file (a directory, FIFO, device or dangling link)"
                             + (f", nor are {len(strays) - 1} more entries named like job files" if len(strays) > 1
                                else "") + "; a job's record could not be stored there: move them away")
    try:
        store.write_grid(doc)
    except OSError as exc:
        raise UserInputError(f"{store.grid_path} cannot be written ({exc.strerror or exc})") from None


def _due_again(store: JobStore, jobs: Sequence[Job], again: Mapping[str, Job], rule: Remeasure,
               retry_failed: bool) -> list[Job]:
    """The second runs still to measure: cells done whose A/A MDE is above the rule's target, whose second run
    is neither done nor (unless ``retry_failed``) failed."""
    done, failed = store.done_ids(), store.failed_ids()
    candidates = {job.id for job in jobs if job.id in done and again[job.id].id not in done
                  and (retry_failed or again[job.id].id not in failed)}
    records, _problems = store.read_records(store.jobs_dir, candidates)  # one listing, each file read once
    selected = {r["id"] for r in records if rule.selects(record_mde(r))}
    return [again[job.id] for job in jobs if job.id in selected]


def _second_runs(store: JobStore, jobs: Sequence[Job], again: Mapping[str, Job], rule: Remeasure,
                 retry_failed: bool, stored: set[str], tally: _Tally, run: Callable[[list[Job]], None],
                 due: list[Job] | None = None) -> None:
    """After the first runs: measure the second runs the rule calls for (``due``, read again with
    :func:`_due_again` when None: first runs finished since), counting them in ``tally`` (a stored second run
    that failed and is retried is already counted)."""
    if due is None:
        due = _due_again(store, jobs, again, rule, retry_failed)
    if not due:
        return
    tally.planned += len(due)
    tally.total += sum(j.id not in stored for j in due)
    tally.tell("plan", f"{len(due)} cells have an A/A MDE above {rule.above_mde_pct:g}%: measuring them "
                       f"again at {rule.replicates} replicates", eta=False)
    run(due)


def machine_note(store: JobStore, ids: set[str]) -> str | None:
    """A line saying that this machine did not measure jobs of ``ids`` stored in ``store`` (None when it
    measured all of them, or none are stored): a resumed sweep on other hardware makes a study of two
    machines, each cell compared within its own run, and the user should know before it measures. A record
    without a fingerprint counts as another machine's."""
    from paradox_gym._util.cpu import cpu_name

    records, _problems = store.read_records(store.jobs_dir, store.done_ids() & ids)
    here = machine_fingerprint()
    counts: Counter[str] = Counter()
    cpus: dict[str, str] = {}
    for r in records:
        fp = r.get("machine_fingerprint")
        fp = fp if isinstance(fp, str) else "not recorded"
        if fp != here:
            counts[fp] += 1
            machine = (r.get("result") or {}).get("machine") or {}  # where records before "cpu" kept it
            cpus.setdefault(fp, str(r.get("cpu") or machine.get("cpu_model") or "CPU not recorded"))
    if not counts:
        return None
    where = ", ".join(f"{cpus[fp]}, fingerprint {fp}: {n}" for fp, n in counts.most_common())
    return (f"this machine ({cpu_name()}, fingerprint {here}) did not measure {sum(counts.values())} of the "
            f"{len(records)} jobs stored here ({where}): the results will span machines; each job is still compared "
            "within its own run (a study's study.md gives each machine's A/A MDEs in its Machines table)")


@dataclass
class _Tally:
    """A sweep's running counts, and the progress events and job files they come from: ``on_start`` and
    ``on_done`` are the executor's callbacks (``on_done`` writes the job's file first)."""

    store: JobStore
    by_id: Mapping[str, Job]
    failed_ids: set[str]
    say: ProgressCallback
    done: int
    total: int
    planned: int
    ran: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def failed(self) -> int:
        return len(self.failed_ids)

    def eta(self) -> float | None:
        """Seconds left at this run's mean time per job so far (None before the first job finishes)."""
        if not self.ran:
            return None
        return max(0.0, (time.perf_counter() - self.started) / self.ran * (self.planned - self.ran))

    def tell(self, kind: str, message: str, *, eta: bool = True) -> None:
        self.say(SweepEvent(kind, message, self.done, self.total, self.failed, self.eta() if eta else None))

    def on_start(self, job: Job) -> None:
        self.tell("start", f"{job.id} {job.describe()}")

    def on_done(self, outcome: JobOutcome) -> None:
        if outcome.status == "interrupted":
            return
        self.store.write_outcome(outcome)
        self.ran += 1
        job = self.by_id[outcome.job_id]
        if outcome.status == "done":
            self.done += 1
            self.failed_ids.discard(outcome.job_id)
            self.tell("done", f"{job.id} {job.describe()} ({outcome.elapsed_s:.1f} s)")
        else:
            self.failed_ids.add(outcome.job_id)
            self.tell("failed", f"{job.id} {job.describe()}: {outcome.record.get('error')}")


def _grid_record(grid: Grid, jobs: Sequence[Job], again: Mapping[str, Job], common: dict[str, Any], executor: str,
                 measurement: str, grid_file: str | None, command: Sequence[str] | None,
                 order: str = DEFAULT_ORDER) -> dict[str, Any]:
    """``grid.json``: the grid, what its cells share (and its fingerprint), how it was run, its cells (with
    each cell's second-run id under a ``remeasure`` rule) and the rule."""
    rule = grid.remeasure
    return {
        "schema": GRID_SCHEMA, "fingerprint": grid_fingerprint(common), "common": common,
        "grid": grid.source, "grid_file": grid_file, "executor": executor, "order": order,
        "measurement": measurement, "command": list(command) if command is not None else None,
        "written_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "jobs": [{**j.cell(), **({"remeasure_id": again[j.id].id} if again else {})} for j in jobs],
        "remeasure": rule.to_dict() if rule is not None else None,
    }


def _plan_text(jobs: int, second_runs: int, done: int, todo: int, executor: str, skipped_failed: int,
               rule: Remeasure | None, due_so_far: int = 0) -> str:
    """The sweep's first progress line: what the grid holds, what is done and what it will run (with the second
    runs already due among the cells measured, so the scale of the second phase is known from the start)."""
    return (f"{jobs} jobs in the grid" + (f" and {second_runs} second runs" if second_runs else "")
            + f": {done} already done, {todo} to run with {executor}"
            + (f", {skipped_failed} failed before and not retried (use --retry-failed)" if skipped_failed else "")
            + (f"; then every cell whose A/A MDE is above {rule.above_mde_pct:g}% is measured again at "
               f"{rule.replicates} replicates" + (f" ({due_so_far} due so far)" if due_so_far else "")
               if rule is not None else ""))


def run_sweep(
    grid: Grid,
    out: str,
    *,
    executor: str = "serial",
    order: str = DEFAULT_ORDER,
    options: ExecutorOptions = ExecutorOptions(),
    retry_failed: bool = False,
    force: bool = False,
    progress: ProgressCallback | None = None,
    grid_file: str | None = None,
    command: Sequence[str] | None = None,
    report: bool = True,
    return_margin: float | None = None,
    warn: Callable[[str], None] | None = None,
) -> SweepSummary:
    """Run every job of ``grid`` not yet finished in ``out`` with ``executor``, in ``order`` (:data:`ORDERS`),
    then write the report.

    Raises UserInputError before any measurement for a bad grid, a changed grid (without ``force``) or a
    directory another sweep is writing to. KeyboardInterrupt stops the sweep; finished jobs stay. ``warn`` gets
    one line per job file the report leaves out (see :func:`~paradox_gym.study.report.build_report`).
    """
    say: ProgressCallback = progress or (lambda _e: None)
    chosen = get_executor(executor)
    order_jobs([], order)  # a bad order is refused before anything is read or written
    if report and return_margin is not None:  # a bad margin is refused now, not after the measurements
        from paradox_gym.study.report import check_margin

        check_margin(return_margin)
    jobs: list[Job] = grid.jobs(chosen.measurement)
    ids = [j.id for j in jobs]
    by_id = {j.id: j for j in jobs}
    if len(set(ids)) != len(ids):
        raise UserInputError("grid has two cells with the same identity (the same agent, method and amount)")
    common = grid.common_identity(chosen.measurement, jobs)
    rule = grid.remeasure
    again = {j.id: remeasure_job(j, rule, grid.settings, grid.extra, chosen.measurement) for j in jobs} \
        if rule is not None else {}
    seconds = {j.id for j in again.values()}
    by_id.update({j.id: j for j in again.values()})
    doc = _grid_record(grid, jobs, again, common, chosen.name, chosen.measurement, grid_file, command, order)
    store = JobStore(out)
    store.create()
    started = time.perf_counter()
    with store.lock():
        wanted = set(ids) | seconds
        _prepare_store(store, doc, force, wanted)
        # second runs already stored count among the jobs; those still due are planned after the first runs
        stored = (store.done_ids() | store.failed_ids()) & seconds
        done_ids = store.done_ids() & wanted
        failed_ids = (store.failed_ids() & wanted) - done_ids
        todo = [j for j in jobs if j.id not in done_ids and (retry_failed or j.id not in failed_ids)]
        skipped_failed = 0 if retry_failed else len(failed_ids)
        done_before = len(done_ids)
        tally = _Tally(store, by_id, set(failed_ids), say, done=done_before, total=len(jobs) + len(stored),
                       planned=len(todo))
        how = chosen.name + (" in shuffled order" if order == "shuffled" else "")
        due = _due_again(store, jobs, again, rule, retry_failed) if rule is not None else []
        tally.tell("plan", _plan_text(len(jobs), len(stored), done_before, len(todo), how, skipped_failed,
                                      rule, len(due) if todo else 0), eta=False)
        # jobs measured here (not on Ray's worker nodes) beside stored ones another machine measured: say so first
        if done_before and (todo or due) and chosen.name != "ray" and (note := machine_note(store, wanted)):
            tally.tell("plan", note, eta=False)
        if todo:
            chosen.run(order_jobs(todo, order), tally.on_start, tally.on_done, options)
        if rule is not None:
            _second_runs(store, jobs, again, rule, retry_failed, stored, tally,
                         lambda due: chosen.run(order_jobs(due, order), tally.on_start, tally.on_done, options),
                         None if todo else due)
        files: dict[str, str] = {}
        if report:
            from paradox_gym.study.report import write_report

            files = write_report(out, return_margin=return_margin, warn=warn)
    elapsed = time.perf_counter() - started
    total = tally.total
    summary = SweepSummary(str(out), total, done_before, tally.done, tally.failed, skipped_failed, tally.ran,
                           elapsed, files)
    say(SweepEvent("finish", f"{summary.done}/{total} jobs done, {summary.failed} failed, {summary.ran} run now "
                             f"in {elapsed:.0f} s", summary.done, total, summary.failed, 0.0))
    return summary


def sweep(grid: Grid | Mapping[str, Any] | str | os.PathLike[str], out: str | os.PathLike[str], *,
          executor: str = "serial", order: str = DEFAULT_ORDER, workers: int | None = None,
          ray_address: str | None = None, retry_failed: bool = False, force: bool = False, agents_dir: str | None = None,
          progress: ProgressCallback | None = None, report: bool = True,
          return_margin: float | None = None, warn: Callable[[str], None] | None = None) -> SweepSummary:
    """The library form of ``paradox-gym sweep``: measure every cell of ``grid`` not yet done in ``out``, then
    write the study report (read it with :func:`load_study`).

    ``grid`` is a grid file (YAML; agent paths relative to its folder), a grid document (a mapping, as the
    file would hold; paths relative to the working directory) or a :class:`Grid`. ``executor``
    (``serial``, ``process``, ``ray``), ``order`` (``shuffled``, ``grid``), ``workers``, ``ray_address``,
    ``retry_failed``, ``force``,
    ``agents_dir`` and ``return_margin`` are the command's options; ``progress`` gets a :class:`SweepEvent`
    per plan, start, finish and failure of a job. Raises UserInputError before anything is measured for a
    bad grid or option (see :func:`run_sweep`).
    """
    from paradox_gym.study.grid import load_grid, parse_grid

    grid_file = None
    if isinstance(grid, (str, os.PathLike)):
        grid_file = os.fspath(grid)
        grid = load_grid(grid_file, agents_dir=agents_dir)
    elif isinstance(grid, Mapping):
        grid = parse_grid(dict(grid), agents_dir=agents_dir)
    elif not isinstance(grid, Grid):
        raise UserInputError(f"grid must be a grid file, a grid mapping or a Grid, got {type(grid).__name__}")
    if workers is not None:
        check_int("workers", workers, 1, MAX_WORKERS)
    if ray_address is not None:
        if executor != "ray":
            raise UserInputError(f"ray_address is for executor 'ray', not {executor!r}")
        check_ray_address(ray_address)
    return run_sweep(grid, os.fspath(out), executor=executor, order=order,
                     options=ExecutorOptions(workers=workers, ray_address=ray_address), retry_failed=retry_failed,
                     force=force, progress=progress, grid_file=grid_file, report=report,
                     return_margin=return_margin, warn=warn)


def load_study(directory: str | os.PathLike[str], *, return_margin: float | None = None) -> "pd.DataFrame":
    """A study's cells (the jobs of a sweep's ``out`` folder) as a pandas DataFrame, one row per cell, with the
    columns of its ``results.parquet`` (docs/study.md); built from the job files, so it needs no report.
    Job files the report would leave out are left out here too (``build_report(...)["skipped"]`` names them)."""
    import pandas as pd

    from paradox_gym.study.report import build_report

    cells = build_report(directory, return_margin=return_margin)["cells"]
    return pd.DataFrame.from_records(list(cells))


__all__ = ["DEFAULT_ORDER", "ORDERS", "SweepEvent", "SweepSummary", "order_jobs", "check_grid", "load_study",
           "machine_note", "run_sweep", "sweep"]
