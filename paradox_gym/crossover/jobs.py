"""Crossover jobs in the study machinery: one job per policy width and runtime, run by the study's
executors (serial, process, ray) and stored, resumably, in its job store.

A job measures every batch size and every method of the map at one width on one runtime: its replicate
processes build and compress the policy once and measure all the batch sizes (building and compressing a
4096-wide policy costs more than measuring it). Its id is the sha256 of what changes its result (the
map's settings except the agent marks, the width, the runtime, the package version, the measurement), so
a killed map resumes where it stopped: finished jobs are read back, never measured again.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from paradox_gym import __version__
from paradox_gym.crossover.settings import CrossoverSettings
from paradox_gym.study.jobs import (ID_CHARS, MEASUREMENTS, AgentSpec, Job, JobOutcome, failure_outcome,
                                    record_base, sha256_of)

SCHEMA = "paradox_gym.crossover.job/1"
#: Settings that only mark the map (never change a measurement).
_NOT_IDENTITY = ("agents",)


@dataclass(frozen=True)
class CrossoverJob(Job):
    """One width on one runtime of a crossover map (``settings`` is the map's CrossoverSettings dict)."""

    kind: ClassVar[str] = "crossover"

    @property
    def width(self) -> int:
        return int(self.identity["width"])

    @property
    def runtime(self) -> str:
        return str(self.identity["runtime"])

    def describe(self) -> str:
        """``width 1024 torch (ptdq, ptsq; batches 1, 8, 64, 256)``."""
        s = self.settings
        return (f"width {self.width} {self.runtime} ({', '.join(s['methods'])}; batches "
                f"{', '.join(str(b) for b in s['batches'])})")

    def cell(self) -> dict[str, Any]:
        return {"id": self.id, "width": self.width, "runtime": self.runtime, "methods": list(self.settings["methods"])}


def make_crossover_job(settings: CrossoverSettings, width: int, runtime: str,
                       measurement: str = "exclusive") -> CrossoverJob:
    """The job of ``width`` on ``runtime``."""
    if measurement not in MEASUREMENTS:
        raise ValueError(f"unknown measurement {measurement!r}")
    identity = {k: v for k, v in settings.to_dict().items() if k not in _NOT_IDENTITY}
    identity.update(kind=CrossoverJob.kind, width=int(width), runtime=runtime, paradox_gym_version=__version__,
                    measurement=measurement)
    policy = {k: identity[k] for k in ("env_id", "algo", "depth", "width", "seed")}
    agent = AgentSpec(settings.env_id, settings.algo, None,
                      f"synthetic {settings.algo} MLP {settings.depth}x{width}", sha256_of(policy))
    return CrossoverJob(sha256_of(identity)[:ID_CHARS], agent, runtime, None, settings.to_dict(), identity)


@dataclass(frozen=True)
class CrossoverGrid:
    """A map as the study's sweep sees a grid: its jobs, what they share, its source."""

    settings: CrossoverSettings

    @property
    def source(self) -> dict[str, Any]:
        return {"crossover": self.settings.to_dict()}

    @property
    def remeasure(self) -> None:
        """A map has no resolution rule (:mod:`paradox_gym.study.remeasure`): its jobs are not evaluations
        with an A/A control."""
        return None

    def jobs(self, measurement: str = "exclusive") -> list[Job]:
        runtimes_widths = [(r, w) for r in self.settings.runtimes for w in self.settings.widths]
        return [make_crossover_job(self.settings, w, r, measurement) for r, w in runtimes_widths]

    def common_identity(self, measurement: str = "exclusive", jobs: list[Job] | None = None) -> dict[str, Any]:
        jobs = jobs if jobs is not None else self.jobs(measurement)
        if not jobs:
            return {}
        first = jobs[0].identity
        return {k: v for k, v in first.items() if k not in ("width", "runtime")
                and all(j.identity.get(k) == v for j in jobs[1:])}


# ---------------------------------------------------------------------------------------------------
# the work of one job: its replicates, each in a fresh process
# ---------------------------------------------------------------------------------------------------
def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _tail(stderr: str, returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return (stderr.strip().splitlines() or [f"exit status {returncode}"])[-1].removeprefix("error: ")


def run_replicate_process(spec: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    """Run one replicate in a fresh ``python -m paradox_gym.crossover.replicate`` process (which dies with
    this one); returns its ``meta``, its trial records and its error (None: it ended normally).
    ``KeyboardInterrupt`` stops the process and propagates."""
    from paradox_gym.experiment.replicate import _die_with_parent, _lines

    meta: dict[str, Any] = {}
    trials: list[dict[str, Any]] = []
    error: str | None = None
    ended = False
    with tempfile.TemporaryFile(mode="w+") as errors:
        proc = subprocess.Popen([sys.executable, "-m", "paradox_gym.crossover.replicate"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=errors, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
                                preexec_fn=_die_with_parent(os.getpid()))
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(spec))
        proc.stdin.close()
        try:
            for message in _lines(proc):
                kind = message.get("kind")
                if kind == "meta":
                    meta = {k: v for k, v in message.items() if k != "kind"}
                elif kind == "trial" and isinstance(message.get("trial"), dict):
                    trials.append(message["trial"])
                elif kind == "error":
                    ended, error = True, str(message.get("message") or "failed")
                elif kind == "end":
                    ended = True
                    meta["elapsed_s"] = message.get("elapsed_s")
                    if message.get("interrupted"):
                        raise KeyboardInterrupt
            proc.wait()
        except KeyboardInterrupt:
            proc.kill()
            proc.wait()
            raise
        errors.seek(0)
        stderr = errors.read()
    if error is None and (proc.returncode != 0 or not ended):
        error = (f"crossover replicate {spec['replicate']} process failed: {_tail(stderr, proc.returncode)}"
                 if proc.returncode != 0 else
                 f"crossover replicate {spec['replicate']} process ended before reporting its end")
    return meta, trials, error


def run_crossover_job(job: Job, executor: str = "serial") -> JobOutcome:
    """Measure ``job`` (a :class:`CrossoverJob`): its replicates one after another, each in a fresh process.
    A failure is a ``failed`` outcome; Ctrl-C gives ``interrupted`` (nothing of the job is kept)."""
    assert isinstance(job, CrossoverJob)
    started = time.perf_counter()
    order_seed = secrets.randbits(32)  # drawn per run and recorded; the seed fixes weights and observations
    base = {**record_base(job, executor), "started_at": _now()}
    replicates: list[dict[str, Any]] = []
    trials: list[dict[str, Any]] = []
    try:
        for r in range(int(job.settings["replicates"])):
            spec = {"settings": job.settings, "width": job.width, "runtime": job.runtime, "replicate": r,
                    "order_seed": order_seed}
            t0 = time.perf_counter()
            meta, got, error = run_replicate_process(spec)
            meta["process_s"] = time.perf_counter() - t0
            if error is not None:
                return failure_outcome(job, RuntimeError(error), base, time.perf_counter() - started, executor)
            replicates.append(meta)
            trials.extend(got)
    except KeyboardInterrupt:
        return JobOutcome(job.id, "interrupted", {}, time.perf_counter() - started)
    elapsed = time.perf_counter() - started
    record = {"schema": SCHEMA, **base, "width": job.width, "order_seed": order_seed,
              "finished_at": _now(), "elapsed_s": elapsed, "replicates": replicates, "trials": trials}
    return JobOutcome(job.id, "done", record, elapsed)


__all__ = ["SCHEMA", "CrossoverGrid", "CrossoverJob", "make_crossover_job", "run_crossover_job",
           "run_replicate_process"]
