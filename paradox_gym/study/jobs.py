"""Jobs of a study: identity (a hash of everything that changes a result), the work of one job, and the
job store on disk.

A job is one cell of a grid (one agent, one method, one amount, one runtime), measured by
:func:`paradox_gym.evaluate` against its runtime's float baseline in the same run. Its id is the sha256 of :func:`job_identity` (the agent file's
sha256, env id, algorithm, method, amount, every EvalSettings field that changes a result -- episodes,
trials, warm-up, seed, meters, ... -- the package version and whether jobs share a machine).

The store (``DIR``):

- ``DIR/jobs/<id>.json``: a finished job (written atomically, once: its presence means it is complete);
- ``DIR/failed/<id>.json``: a failed job with its error (not counted done; removed when it later succeeds);
- ``DIR/grid.json``: the grid and its fingerprint (a changed grid that would mix incompatible results is
  refused unless forced);
- ``DIR/.sweep.lock``: held (``flock``) while a sweep writes; the kernel drops it when the process dies.

Only the sweep's driver process writes to the store; executors return :class:`JobOutcome` records.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import socket
import stat
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from paradox_gym import __version__
from paradox_gym import limits
from paradox_gym._util.checks import shown
from paradox_gym._util.cli import one_line
from paradox_gym._util.cpu import cpu_name
from paradox_gym._util.files import DirectoryLock, ensure_writable_dir, read_regular_file
from paradox_gym.compression.runtimes import SB3, config_name
from paradox_gym.errors import UserInputError
from paradox_gym.experiment.settings import DEFAULT_AMOUNT, EvalSettings
from paradox_gym.report.files import write_json_atomic

JOB_SCHEMA = "paradox_gym.study.job/1"
FAILURE_SCHEMA = "paradox_gym.study.failure/1"
GRID_SCHEMA = "paradox_gym.study.grid/1"
#: Characters of the sha256 hex digest used as a job id (64 bits).
ID_CHARS = 16
#: A grid's ``trials: square``: as many trials per replicate as the cell has configurations, so that each
#: replicate is a whole Latin square (every configuration first in its round once; docs/methodology.md). A
#: cell on another runtime has one configuration more (``<runtime>:none``) than an ``sb3`` cell.
SQUARE = "square"
#: ``exclusive``: measured jobs run one at a time per machine (serial, ray); ``shared``: jobs share a
#: machine (process executor), so their energy and latency are contaminated and never reported.
MEASUREMENTS: tuple[str, ...] = ("exclusive", "shared")

# EvalSettings fields that locate things but never change a result (the agent is identified by sha256).
_NOT_IDENTITY = ("out", "agents_dir", "agent_path", "train_missing")


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a grid: a zoo agent (``path`` None; ``file`` is the checkpoint found) or the user's
    zip (``path``), identified by the sha256 of its file."""

    env_id: str
    algo: str | None
    path: str | None
    file: str
    sha256: str
    #: sha256 of the observation-normalisation statistics loaded with the agent (None: none)
    vecnormalize_sha256: str | None = None

    @property
    def label(self) -> str:
        """Short name for tables: ``PPO CartPole-v1`` (a user's zip: ``PPO CartPole-v1 (my.zip)``)."""
        head = f"{self.algo or '?'} {self.env_id}"
        return head if self.path is None else f"{head} ({Path(self.path).name})"

    def to_dict(self) -> dict[str, Any]:
        return {"env_id": self.env_id, "algo": self.algo, "path": self.path, "file": self.file,
                "sha256": self.sha256, "vecnormalize_sha256": self.vecnormalize_sha256, "label": self.label}


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces: the bytes a hash is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def job_identity(agent: AgentSpec, method: str, amount: float | None, settings: EvalSettings,
                 extra: dict[str, Any], measurement: str) -> dict[str, Any]:
    """Everything that changes a job's result, as plain data (hashed into the job id).

    Every EvalSettings field is included except those that only locate files (``out``, ``agents_dir``,
    ``agent_path``, ``train_missing``: the agent is identified by ``agent_sha256``); ``amount`` is None
    for a method that does not use one; ``extra`` are grid keys this version's EvalSettings has no field
    for (they join the same flat mapping, so the id does not change when the field arrives with the same
    value); ``measurement`` says whether jobs shared a machine.
    """
    if measurement not in MEASUREMENTS:
        raise UserInputError(f"unknown measurement {measurement!r}; valid: {', '.join(MEASUREMENTS)}")
    identity = settings.to_dict()
    for key in _NOT_IDENTITY:
        identity.pop(key, None)
    identity.update(extra)
    identity.update({
        "method": method, "amount": amount, "agent_sha256": agent.sha256,
        "paradox_gym_version": __version__, "measurement": measurement,
    })
    if agent.vecnormalize_sha256 is not None:  # only when present: agents without keep their ids
        identity["vecnormalize_sha256"] = agent.vecnormalize_sha256
    return identity


@dataclass(frozen=True)
class Job:
    """One cell to measure: ``settings`` are the EvalSettings keyword arguments, ``id`` the hash of
    ``identity``."""

    id: str
    agent: AgentSpec
    method: str
    amount: float | None
    settings: dict[str, Any]
    identity: dict[str, Any]
    #: what measures the job: ``evaluate`` (:func:`run_job` itself) or a name in :data:`JOB_KINDS`
    kind: ClassVar[str] = "evaluate"

    def eval_settings(self) -> EvalSettings:
        return EvalSettings(**self.settings)

    @property
    def runtime(self) -> str:
        """The runtime the cell's method runs on: the one runtime its settings name besides ``sb3``, else
        ``sb3``."""
        others = [r for r in self.settings.get("runtimes") or () if r != SB3]
        return others[0] if others else SB3

    def describe(self) -> str:
        """``PPO CartPole-v1 prune-structured 0.3`` (another runtime: ``... onnxruntime:ptdq``)."""
        amount = "" if self.amount is None else f" {self.amount:g}"
        return f"{self.agent.label} {config_name(self.runtime, self.method)}{amount}"

    def cell(self) -> dict[str, Any]:
        return {"id": self.id, "agent": self.agent.label, "method": self.method, "amount": self.amount,
                "runtime": self.runtime}


def make_job(agent: AgentSpec, method: str, amount: float | None, common: dict[str, Any],
             extra: dict[str, Any], measurement: str = "exclusive", *, runtime: str = SB3) -> Job:
    """The job of one cell; ``common`` are EvalSettings keyword arguments shared by the grid. On a
    ``runtime`` other than ``sb3`` the job measures ``<runtime>:<method>`` against ``<runtime>:none`` (and
    that against the ``sb3`` baseline); an ``sb3`` job's settings and id are those it had before runtimes
    were a grid dimension. The settings are validated here (a bad value raises UserInputError before
    anything is measured). ``trials: "square"`` (:data:`SQUARE`) becomes the cell's number of
    configurations."""
    kwargs = dict(common)
    kwargs.update(env_id=agent.env_id, algo=agent.algo, agent_path=agent.path, methods=(method,),
                  amount=DEFAULT_AMOUNT if amount is None else amount)
    if runtime != SB3:
        kwargs["runtimes"] = (runtime,)
    if kwargs.get("trials") == SQUARE:  # one trial per configuration of this cell (a whole Latin square)
        kwargs["trials"] = len(EvalSettings(**{**kwargs, "trials": 1}).configs)
    settings = EvalSettings(**kwargs)
    kwargs["meters"] = settings.meters  # resolved here, so every host measures with the meters the id names
    identity = job_identity(agent, method, amount, settings, extra, measurement)
    return Job(sha256_of(identity)[:ID_CHARS], agent, method, amount, kwargs, identity)


def grid_fingerprint(common_identity: dict[str, Any]) -> str:
    """Hash of what every job of a grid shares (its settings, package version, measurement): two grids
    with the same fingerprint give results that may be put in one table."""
    return sha256_of(common_identity)


# ---------------------------------------------------------------------------------------------------
# the machine a job ran on
# ---------------------------------------------------------------------------------------------------
def machine_fingerprint() -> str:
    """sha256 (16 hex digits) of the hardware and OS facts that change energy and latency: CPU model,
    logical CPUs, total memory, architecture, OS and kernel. Jobs with different fingerprints (or host
    names) are never compared on energy or latency."""
    import psutil

    facts = {"cpu_model": cpu_name(), "cpu_count": os.cpu_count(), "memory_bytes": psutil.virtual_memory().total,
             "machine": platform.machine(), "system": platform.system(), "release": platform.release()}
    return sha256_of(facts)[:ID_CHARS]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------------
# the work of one job (runs wherever the executor puts it; returns data, writes nothing)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobOutcome:
    """What one job produced: ``status`` ``done`` (``record`` is the job file), ``failed`` (``record`` is
    the failure file) or ``interrupted`` (Ctrl-C; nothing is stored)."""

    job_id: str
    status: str
    record: dict[str, Any]
    elapsed_s: float


def _agent_check(job: Job) -> str | None:
    """Why this host cannot run ``job``'s agent (None when the file here has the job's sha256)."""
    from paradox_gym.zoo import file_sha256, find_checkpoint

    if job.identity.get("paradox_gym_version") != __version__:
        return (f"paradox_gym {__version__} on {socket.gethostname()} differs from the grid's "
                f"{job.identity.get('paradox_gym_version')}")
    agent = job.agent
    path = Path(agent.path) if agent.path else find_checkpoint(agent.algo or "", agent.env_id,
                                                               job.settings.get("agents_dir"))
    if path is None or not path.is_file():
        return f"agent {agent.label} not found on {socket.gethostname()}"
    sha = file_sha256(path)
    if sha != agent.sha256:
        return f"agent file {path} on {socket.gethostname()} has sha256 {sha}, the grid's has {agent.sha256}"
    stats = vecnormalize_file(agent, job.settings.get("agents_dir"), job.settings.get("vecnormalize_path"))
    stats_sha = file_sha256(stats) if stats is not None else None
    if stats_sha != agent.vecnormalize_sha256:
        return (f"normalisation statistics of {agent.label} on {socket.gethostname()} ({stats or 'none'}) "
                f"differ from the grid's (sha256 {agent.vecnormalize_sha256})")
    return None


def vecnormalize_file(agent: AgentSpec, agents_dir: str | None = None,
                      explicit: str | None = None) -> Path | None:
    """The observation-normalisation statistics evaluate loads with ``agent``: ``explicit`` when given,
    else the zoo manifest's (zoo agents) or the file found beside the zip (a user's agent); None: none."""
    if explicit is not None:
        return Path(explicit)
    if agent.path is None:
        from paradox_gym.zoo import find_vecnormalize

        return find_vecnormalize(agent.env_id, agent.algo, agents_dir)
    from paradox_gym.sb3.vecnormalize import find_vecnormalize as beside_zip

    return beside_zip(agent.path, agent.env_id)


def record_base(job: Job, executor: str, *, here: bool = True) -> dict[str, Any]:
    """The fields every job record starts with, done or failed, study or crossover job: the job, and the
    machine that ran it (this process's; ``here=False``: a worker elsewhere that did not report back, such as
    a Ray node that died, whose machine is not known)."""
    base = {"id": job.id, "identity": job.identity, "agent": job.agent.to_dict(), "method": job.method,
            "amount": job.amount, "runtime": job.runtime, "executor": executor}
    if not here:
        return {**base, "host": None, "machine_fingerprint": None, "cpu": None}
    return {**base, "host": socket.gethostname(), "machine_fingerprint": machine_fingerprint(), "cpu": cpu_name(),
            "pid": os.getpid()}


def failure_outcome(job: Job, exc: BaseException, base: dict[str, Any] | None = None,
                    elapsed_s: float = 0.0, executor: str = "serial") -> JobOutcome:
    """A ``failed`` outcome for ``job``: the error's type, one-line message and traceback tail."""
    base = base if base is not None else record_base(job, executor)
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=8))[-4000:]
    record = {"schema": FAILURE_SCHEMA, **base, "finished_at": _now(), "elapsed_s": elapsed_s,
              "error_type": type(exc).__name__, "error": one_line(exc)[:2000] or type(exc).__name__,
              "traceback": tb}
    return JobOutcome(job.id, "failed", record, elapsed_s)


#: Job kinds measured by other code than :func:`paradox_gym.evaluate`: kind -> ``"module:function"``, a
#: ``function(job, executor) -> JobOutcome`` imported where the job runs (a worker process or a Ray node
#: needs no registration; the study layer imports nothing above it).
JOB_KINDS: dict[str, str] = {"crossover": "paradox_gym.crossover.jobs:run_crossover_job"}


def run_job(job: Job, executor: str = "serial") -> JobOutcome:
    """Measure one job with :func:`paradox_gym.evaluate` (nothing is written; the driver stores the
    outcome), or with its kind's function (:data:`JOB_KINDS`). Any exception becomes a ``failed`` outcome
    with its message; Ctrl-C during the trials gives ``interrupted`` (the partial result is discarded: a
    job is whole or absent)."""
    if job.kind != "evaluate":
        import importlib

        module, _, function = JOB_KINDS[job.kind].partition(":")
        return getattr(importlib.import_module(module), function)(job, executor)
    from paradox_gym.pipeline import evaluate

    started = time.perf_counter()
    base = record_base(job, executor)
    base["started_at"] = _now()
    try:
        problem = _agent_check(job)
        if problem is not None:
            raise UserInputError(problem)
        result = evaluate(job.eval_settings(), progress=False)
        if job.method in result.skipped:  # the cell's one method cannot apply to this agent
            raise UserInputError(f"{job.method} skipped: {result.skipped[job.method]}")
    except Exception as exc:  # noqa: BLE001 - the user's env, agent or files: any fault is the job's failed record
        return failure_outcome(job, exc, base, time.perf_counter() - started)
    elapsed = time.perf_counter() - started
    if result.status == "failed":  # the environment, the agent or a meter failed during the trials
        return failure_outcome(job, RuntimeError(result.error), base, elapsed)
    if result.status != "complete":
        return JobOutcome(job.id, "interrupted", {}, elapsed)
    doc = result.to_dict()
    doc["files"] = {}
    complete = {(cfg, t.trial) for cfg, trials in result.run.trials.items() for t in trials}
    episodes = [{"config": e.config, "trial": e.trial, "episode": e.episode, "seed": e.seed, "return": e.ret,
                 "length": e.length, "wall_s": e.wall_s}
                for e in result.run.episodes if (e.config, e.trial) in complete]
    record = {"schema": JOB_SCHEMA, **base, "finished_at": _now(), "elapsed_s": elapsed, "result": doc,
              "episodes": episodes}
    return JobOutcome(job.id, "done", record, elapsed)


# ---------------------------------------------------------------------------------------------------
# the store
# ---------------------------------------------------------------------------------------------------
def read_json_record(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path`` (:func:`read_regular_file` with ``MAX_JOB_FILE_BYTES``); UserInputError
    naming the file and what is wrong with it otherwise (never a traceback: not UTF-8, not JSON, nested too
    deeply, not an object)."""
    data = read_regular_file(path, limits.MAX_JOB_FILE_BYTES, what, "MAX_JOB_FILE_BYTES")
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserInputError(f"{what} {str(path)!r} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{what} {str(path)!r} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise UserInputError(f"{what} {str(path)!r} is nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise UserInputError(f"{what} {str(path)!r} holds a value JSON cannot read ({one_line(exc)[:200]})") from None
    if not isinstance(doc, dict):
        raise UserInputError(f"{what} {str(path)!r} is not a JSON object (it holds a {type(doc).__name__})")
    return doc


def check_grid_record(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    """``doc`` when it has the shape of a ``grid.json`` this package writes (a fingerprint, the shared
    settings, a job list of ``{id, ...}``); UserInputError naming the file otherwise."""
    problem = None
    if not isinstance(doc.get("fingerprint"), str):
        problem = "its 'fingerprint' is not a string"
    elif not isinstance(doc.get("common", {}), dict):
        problem = "its 'common' settings are not a mapping"
    elif not isinstance(doc.get("jobs"), list) or not all(isinstance(j, dict) and isinstance(j.get("id"), str)
                                                          for j in doc["jobs"]):
        problem = "its 'jobs' are not a list of {id: ...} records"
    if problem is not None:
        raise UserInputError(f"{path} is not a grid record ({problem})")
    return doc


class JobStore:
    """The files of one study directory (see the module docstring). Only the sweep's driver writes."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.jobs_dir = self.root / "jobs"
        self.failed_dir = self.root / "failed"
        self.grid_path = self.root / "grid.json"
        self.lock_path = self.root / ".sweep.lock"

    def create(self) -> None:
        ensure_writable_dir(self.root, "--out")
        for folder in (self.jobs_dir, self.failed_dir):
            try:
                folder.mkdir(exist_ok=True)
            except OSError as exc:  # a file (or a dangling link) where the folder belongs
                raise UserInputError(f"--out {str(self.root)!r}: {folder.name}/ cannot be created "
                                     f"({exc.strerror or exc}); move away what is there") from None
            if not folder.is_dir():
                raise UserInputError(f"--out {str(self.root)!r}: {folder.name} is not a directory; move it away")

    def lock(self) -> DirectoryLock:
        """The directory's sweep lock (``with store.lock():``; non-blocking: a second sweep on the same
        directory is refused, naming the holder's pid, host, start time and command)."""
        return DirectoryLock(self.root, "--out", name=self.lock_path.name)

    def clean_temporary(self) -> int:
        """Remove temporary files a killed writer left behind; returns how many (call under the lock)."""
        removed = 0
        for folder in (self.jobs_dir, self.failed_dir, self.root):
            for tmp in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()
                    removed += 1
        return removed

    @staticmethod
    def _ids(folder: Path) -> set[str]:
        """Ids of the regular files ``<id>.json`` in ``folder`` (a directory, FIFO or dangling link named
        like a job file is not a job)."""
        if not folder.is_dir():
            return set()
        ids = set()
        for p in folder.glob("*.json"):
            if p.name.startswith("."):
                continue
            try:
                if stat.S_ISREG(os.stat(p).st_mode):
                    ids.add(p.stem)
            except OSError:
                continue
        return ids

    def irregular(self, wanted: set[str] | None = None) -> list[Path]:
        """Entries of ``jobs/`` and ``failed/`` named like a job file (of ``wanted`` when given) that are not
        regular files (a directory, a FIFO, a device, a dangling link): no job is read from them, and a job
        finished here could not be stored over them."""
        out = []
        for folder in (self.jobs_dir, self.failed_dir):
            if not folder.is_dir():
                continue
            for p in sorted(folder.glob("*.json")):
                if p.name.startswith(".") or (wanted is not None and p.stem not in wanted):
                    continue
                try:
                    regular = stat.S_ISREG(os.stat(p).st_mode)
                except OSError:
                    regular = False
                if not regular:
                    out.append(p)
        return out

    def done_ids(self) -> set[str]:
        return self._ids(self.jobs_dir)

    def failed_ids(self) -> set[str]:
        return self._ids(self.failed_dir)

    def job_path(self, job_id: str) -> Path:
        return self.jobs_dir / f"{job_id}.json"

    def write_outcome(self, outcome: JobOutcome) -> Path | None:
        """Store a finished or failed job atomically (an interrupted one is not stored). A file that cannot
        be written is a UserInputError naming it."""
        if outcome.status not in ("done", "failed"):
            return None
        folder = self.jobs_dir if outcome.status == "done" else self.failed_dir
        path = folder / f"{outcome.job_id}.json"
        try:
            written = write_json_atomic(path, outcome.record)
            if outcome.status == "done":
                with contextlib.suppress(FileNotFoundError):
                    (self.failed_dir / f"{outcome.job_id}.json").unlink()
        except (OSError, ValueError) as exc:
            raise UserInputError(f"the record of job {outcome.job_id} cannot be written to {path} "
                                 f"({getattr(exc, 'strerror', None) or one_line(exc)[:200]})") from None
        return written

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        try:
            return read_json_record(path, "job record")
        except UserInputError as exc:
            raise UserInputError(f"{exc}; delete it to measure that job again") from None

    def read_records(self, folder: Path, ids: set[str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
        """The records in ``folder`` (only those of ``ids`` when given), each whose file name matches its
        ``id``; and one line per file left out (unreadable, not JSON, not an object, another id inside)."""
        records: list[dict[str, Any]] = []
        problems: list[str] = []
        for job_id in sorted(self._ids(folder) if ids is None else self._ids(folder) & ids):
            path = folder / f"{job_id}.json"
            try:
                doc = self._read(path)
            except UserInputError as exc:
                problems.append(str(exc))
                continue
            if doc.get("id") != job_id:
                problems.append(f"{path} holds the record of job {shown(doc.get('id'))}, not {job_id}; "
                                "delete it to measure that job again")
                continue
            records.append(doc)
        return records, problems

    def read_done(self) -> list[dict[str, Any]]:
        return [self._read(self.job_path(i)) for i in sorted(self.done_ids())]

    def read_failed(self) -> list[dict[str, Any]]:
        return [self._read(self.failed_dir / f"{i}.json") for i in sorted(self.failed_ids())]

    def read_grid(self) -> dict[str, Any] | None:
        """``grid.json`` (None when there is none); UserInputError when it is there but not a grid record."""
        if not os.path.lexists(self.grid_path):
            return None
        return check_grid_record(read_json_record(self.grid_path, "grid record"), self.grid_path)

    def write_grid(self, doc: dict[str, Any]) -> Path:
        return write_json_atomic(self.grid_path, doc)


__all__ = ["FAILURE_SCHEMA", "GRID_SCHEMA", "JOB_SCHEMA", "MEASUREMENTS", "AgentSpec", "Job", "JobOutcome",
           "JobStore", "JOB_KINDS", "check_grid_record", "failure_outcome", "grid_fingerprint", "job_identity",
           "machine_fingerprint", "make_job", "read_json_record", "record_base", "run_job", "vecnormalize_file",
           "sha256_of"]
