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
