"""The Ray executor on a local cluster: the same grid gives the same job set as the serial executor; each
measured job holds the node's ``energy_meter`` and all its CPUs; the driver is the only writer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from paradox_gym.errors import UserInputError
from paradox_gym.study.executors import ExecutorOptions
from paradox_gym.study.grid import load_grid
from paradox_gym.study.sweep import run_sweep

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # as the executor's local cluster: 127.0.0.1 only
ray = pytest.importorskip("ray")

from test_study_sweep import GRID  # noqa: E402  (the grid of the SIGKILL test)


@pytest.fixture(scope="module")
def local_cluster():
    ray.init(num_cpus=2, resources={"energy_meter": 1}, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.mark.slow  # ~90 s on 2 cores: a local Ray cluster runs a real sweep
def test_ray_executor_gives_the_same_job_set(tmp_path: Path, local_cluster) -> None:
    grid_file = tmp_path / "grid.yml"
    grid_file.write_text(GRID)
    grid = load_grid(grid_file)
    serial_ids = {j.id for j in grid.jobs("exclusive")}  # what --executor serial writes
    out = tmp_path / "ray"
    events = []
    summary = run_sweep(grid, str(out), executor="ray", progress=events.append)
    assert (summary.done, summary.failed) == (8, 0), [e.message for e in events if e.kind == "failed"]
    assert {p.stem for p in (out / "jobs").iterdir()} == serial_ids
    records = [json.loads(p.read_text()) for p in (out / "jobs").iterdir()]
    assert {r["executor"] for r in records} == {"ray"}
    assert all(r["pid"] != os.getpid() for r in records)  # measured in Ray workers, written by the driver
    assert all(r["host"] and r["machine_fingerprint"] for r in records)
    study = json.loads((out / "study.json").read_text())
    assert len(study["best_amounts"]) == 4
    # one energy_meter on the node: measured jobs never overlapped
    spans = sorted((r["started_at"], r["finished_at"]) for r in records)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_ray_cluster_without_energy_meter_is_refused(tmp_path: Path, local_cluster, monkeypatch) -> None:
    from paradox_gym.study import executors

    monkeypatch.setattr(executors, "_meter_nodes", lambda _ray: {})  # a cluster whose nodes offer no meter
    grid_file = tmp_path / "grid.yml"
    grid_file.write_text(GRID)
    with pytest.raises(UserInputError, match="energy_meter") as err:
        run_sweep(load_grid(grid_file), str(tmp_path / "o"), executor="ray", options=ExecutorOptions(), report=False)
    assert "ray start --resources" in str(err.value)
    assert ray.is_initialized()  # a cluster the sweep did not start is left running


@pytest.mark.parametrize("reply", [b"", b"\x00junk\xff" * 64])
def test_a_listener_that_is_not_ray_is_refused_by_its_deadline(tmp_path: Path, reply: bytes) -> None:
    """Something accepts at the address but never answers (or answers junk): exit 2, one line naming it."""
    import socket
    import subprocess
    import sys
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    held = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if reply:
                conn.sendall(reply)

    threading.Thread(target=accept, daemon=True).start()
    grid_file = tmp_path / "grid.yml"
    grid_file.write_text(GRID)
    try:  # a fresh process: this one may already be in the local test cluster
        done = subprocess.run(
            [sys.executable, "-m", "paradox_gym.cli", "sweep", "--grid", str(grid_file), "--out", str(tmp_path / "o"),
             "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", "--ray-timeout", "5", "--quiet"],
            capture_output=True, text=True, timeout=600)
    finally:
        server.close()
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and f"127.0.0.1:{port}" in lines[0] and "Ray" in lines[0], lines
    assert not list((tmp_path / "o").glob("jobs/*.json"))
