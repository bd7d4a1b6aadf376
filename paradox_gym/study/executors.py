"""Executors: how a sweep's jobs are run. One :class:`Executor` record each in :data:`EXECUTORS`.

- ``serial`` (default): measured jobs one at a time in this process. Concurrent jobs on one machine
  would share its power and CPUs and contaminate each other's energy and latency.
- ``process``: a pool of worker processes on this machine, for work whose energy is not reported
  (return-only checks); its jobs are marked ``shared`` and the report shows no energy or latency for them.
- ``ray``: a Ray cluster (``pip install 'paradox_gym[ray]'``). Each measured job requests the custom
  resource ``energy_meter: 1`` and all of its node's CPUs, and is pinned to that node, so at most one
  measured job runs per node. Nodes offer the resource with ``ray start --resources='{"energy_meter": 1}'``.

Every executor calls ``on_done(outcome)`` in the driver as each job finishes (the driver is the only
writer of results) and ``on_start(job)`` when it hands a job to a worker where it knows when (serial, ray).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from paradox_gym._util.cli import one_line
from paradox_gym._util.checks import check_int, check_seconds
from paradox_gym.errors import UserInputError
from paradox_gym.limits import MAX_RAY_TIMEOUT_S, MAX_WORKERS
from paradox_gym.study.jobs import Job, JobOutcome, failure_outcome, record_base, run_job

OnStart = Callable[[Job], None]
OnDone = Callable[[JobOutcome], None]

#: The custom Ray resource a node offers once (``ray start --resources='{"energy_meter": 1}'``).
RAY_RESOURCE = "energy_meter"


#: Seconds a sweep waits to join a Ray cluster (``--ray-timeout``) before it gives up with one line.
RAY_JOIN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ExecutorOptions:
    """``workers``: processes of the ``process`` executor (None: the CPU count); ``ray_address``: the Ray
    cluster to join (None: start a local one with one ``energy_meter``, on 127.0.0.1 only);
    ``ray_timeout_s``: the deadline of joining it."""

    workers: int | None = None
    ray_address: str | None = None
    ray_timeout_s: float = RAY_JOIN_TIMEOUT_S


Run = Callable[[Sequence[Job], OnStart, OnDone, ExecutorOptions], None]


@dataclass(frozen=True)
class Executor:
    """One way to run jobs. ``measurement`` is ``exclusive`` when measured jobs never share a machine
    (their energy and latency are reported) or ``shared`` (they do: energy and latency are not reported)."""

    name: str
    run: Run
    measurement: str
    summary: str


def _serial(jobs: Sequence[Job], on_start: OnStart, on_done: OnDone, options: ExecutorOptions) -> None:
    for job in jobs:
        on_start(job)
        outcome = run_job(job, "serial")
        on_done(outcome)
        if outcome.status == "interrupted":
            raise KeyboardInterrupt


def _run_shared(job: Job) -> JobOutcome:
    return run_job(job, "process")


def _process(jobs: Sequence[Job], on_start: OnStart, on_done: OnDone, options: ExecutorOptions) -> None:
    import concurrent.futures as cf
    import multiprocessing

    # never more processes than jobs, nor than MAX_WORKERS (each worker is a fresh interpreter)
    asked = check_int("workers", options.workers or min(os.cpu_count() or 1, MAX_WORKERS), 1, MAX_WORKERS)
    workers = min(asked, max(1, len(jobs)))
    # spawn: a fresh interpreter per worker (forking a process that has loaded torch is not safe)
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_run_shared, job) for job in jobs]  # on_start: not known when a worker takes it
        for future in cf.as_completed(futures):
            on_done(future.result())


#: Set before Ray is imported: a local cluster then binds and dials 127.0.0.1 only (Ray's own switch for
#: machines that are not cluster nodes), never the host's other addresses.
_RAY_LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def _import_ray(local: bool) -> Any:
    if local:
        for key, value in _RAY_LOOPBACK_ENV.items():
            os.environ.setdefault(key, value)
    try:
        import ray
    except ImportError:
        raise UserInputError("--executor ray needs Ray: pip install 'paradox_gym[ray]'") from None
    return ray


def check_ray_timeout(timeout_s: Any) -> float:
    """A join deadline in seconds: a finite number in (0, MAX_RAY_TIMEOUT_S]."""
    return check_seconds("--ray-timeout", timeout_s, MAX_RAY_TIMEOUT_S)


def check_ray_address(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a Ray address (``HOST:PORT``, ``ray://HOST:PORT``; None for ``auto``), or a
    UserInputError naming it."""
    if address == "auto":
        return None
    text = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536 \
            or any(c.isspace() or c in "/@\0" for c in host):
        raise UserInputError(f"--ray-address {address[:200]!r} is not HOST:PORT (e.g. 10.0.0.1:6379), "
                             "ray://HOST:PORT or auto")
    return host, int(port)


#: A fresh interpreter that joins the cluster and leaves: what answers at the address is known to be Ray
#: before this process joins it (Ray itself retries a silent or non-Ray listener for minutes).
_RAY_PROBE = "import sys, ray; ray.init(address=sys.argv[1], log_to_driver=False); ray.shutdown()"


def _probe_ray(address: str, timeout_s: float) -> None:
    """Join the cluster at ``address`` from a child process that is killed (with its process group) at the
    deadline; a UserInputError naming the address when it does not join in time or fails."""
    import signal
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", _RAY_PROBE, address], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _out, err = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise UserInputError(f"--ray-address {address!r}: no Ray cluster answered within {timeout_s:g} s (something "
                             "listens there but does not speak Ray; check the address, or raise --ray-timeout)") from None
    except BaseException:  # Ctrl-C while waiting: the child goes too
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise
    if child.returncode != 0:
        lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
        reason = one_line(lines[-1] if lines else f"exit status {child.returncode}")[:300]
        raise UserInputError(f"--ray-address {address!r}: cannot join the Ray cluster ({reason})")


def _join_ray(ray: Any, address: str, timeout_s: float) -> None:
    """``ray.init(address=...)`` within ``timeout_s``: a quick TCP check (nothing listening), then a child
    process that joins first (a listener that is not Ray, or never answers); any failure is one
    UserInputError naming the address."""
    import socket

    where = check_ray_address(address)
    if where is not None:
        try:
            socket.create_connection(where, timeout=min(RAY_CONNECT_TIMEOUT_S, timeout_s)).close()
        except OSError as exc:
            raise UserInputError(f"--ray-address {address!r}: nothing answers there "
                                 f"({exc.strerror or exc or 'timed out'})") from None
    _probe_ray(address, timeout_s)
    try:
        ray.init(address=address, log_to_driver=False)
    except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; the user needs the address and the reason
        message = one_line(exc)[:300] or type(exc).__name__
        raise UserInputError(f"--ray-address {address!r}: cannot join the Ray cluster ({message})") from None


#: Seconds the TCP check waits for a Ray address to accept a connection (a refused or silent host).
RAY_CONNECT_TIMEOUT_S = 10.0


def _meter_nodes(ray: Any) -> dict[str, float]:
    """Alive nodes that offer the ``energy_meter`` resource: node id -> CPUs."""
    return {n["NodeID"]: float(n["Resources"].get("CPU", 1.0)) for n in ray.nodes()
            if n.get("Alive") and n.get("Resources", {}).get(RAY_RESOURCE, 0) >= 1}


def _ray(jobs: Sequence[Job], on_start: OnStart, on_done: OnDone, options: ExecutorOptions) -> None:
    ray = _import_ray(local=not options.ray_address)
    from ray.exceptions import RayError
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    started_here = False
    if not ray.is_initialized():
        if options.ray_address:
            _join_ray(ray, options.ray_address, check_ray_timeout(options.ray_timeout_s))
        else:
            ray.init(resources={RAY_RESOURCE: 1}, include_dashboard=False, log_to_driver=False)
        started_here = True
    try:
        remote = ray.remote(max_retries=0)(run_job)
        pending = list(jobs)
        in_flight: dict[Any, tuple[Job, str]] = {}
        while pending or in_flight:
            nodes = _meter_nodes(ray)
            if not nodes and not in_flight:
                raise UserInputError(
                    f"the Ray cluster has no node with the {RAY_RESOURCE!r} resource; start nodes with: "
                    f"ray start --resources='{{\"{RAY_RESOURCE}\": 1}}'")
            busy = {node for _, node in in_flight.values()}
            for node, cpus in nodes.items():
                if not pending:
                    break
                if node in busy:
                    continue
                job = pending.pop(0)
                on_start(job)
                ref = remote.options(
                    num_cpus=cpus, resources={RAY_RESOURCE: 1},
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False),
                ).remote(job, "ray")
                in_flight[ref] = (job, node)
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=10.0)
            for ref in ready:
                job, node = in_flight.pop(ref)
                try:
                    outcome = ray.get(ref)
                except RayError as exc:  # the job raised, or its worker or node died: it failed, the sweep goes on
                    outcome = failure_outcome(job, exc, {**record_base(job, "ray", here=False), "node": node})
                on_done(outcome)
    finally:
        if started_here:
            ray.shutdown()


EXECUTORS: dict[str, Executor] = {
    e.name: e
    for e in (
        Executor("serial", _serial, "exclusive", "measured jobs one at a time in this process (default)"),
        Executor("process", _process, "shared",
                 "worker processes on this machine; energy and latency are not reported"),
        Executor("ray", _ray, "exclusive",
                 "a Ray cluster, at most one measured job per node (energy_meter resource + all its CPUs)"),
    )
}


def get_executor(name: str) -> Executor:
    if name not in EXECUTORS:
        raise UserInputError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")
    return EXECUTORS[name]


__all__ = ["EXECUTORS", "RAY_CONNECT_TIMEOUT_S", "RAY_JOIN_TIMEOUT_S", "RAY_RESOURCE", "Executor", "ExecutorOptions",
           "check_ray_address", "check_ray_timeout", "get_executor"]
