"""Sweeps that really measure (tiny budgets): SIGKILL and resume, failed jobs, a changed grid, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import paradox_gym.pipeline
from paradox_gym.cli import main as cli_main
from paradox_gym.errors import UserInputError
from paradox_gym.study.grid import load_grid, parse_grid
from paradox_gym.study.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]

#: 2 agents x 2 methods x 2 amounts, the smallest budgets that still give intervals.
GRID = """\
agents:
  - {env: CartPole-v1, algo: PPO}
  - {env: CartPole-v1, algo: DQN}
methods: [prune, prune-structured]
amounts: [0.3, 0.6]
episodes: 2
trials: 2
warmup: 0
replicates: 1
memory: false
codecarbon: false
"""


def _small(**changes):
    doc = {"agents": [{"env": "CartPole-v1", "algo": "PPO"}], "methods": ["prune-structured"], "amounts": [0.3, 0.6],
           "episodes": 2, "trials": 2, "warmup": 0, "replicates": 1, "memory": False, "codecarbon": False}
    doc.update(changes)
    return parse_grid(doc)


def _job_files(out: Path) -> set[str]:
    return {p.name for p in (out / "jobs").iterdir()}


#: 1 agent x 1 method x 2 amounts: the same kill and resume in a quarter of the time (default suite).
SMALL_GRID = GRID.replace("  - {env: CartPole-v1, algo: DQN}\n", "").replace("[prune, prune-structured]",
                                                                               "[prune-structured]")


@pytest.mark.parametrize("grid_text, jobs, agents, methods", [
    pytest.param(SMALL_GRID, 2, ("PPO CartPole-v1",), ("prune-structured",), id="1x1x2"),
    pytest.param(GRID, 8, ("PPO CartPole-v1", "DQN CartPole-v1"), ("prune", "prune-structured"), id="2x2x2",
                 marks=pytest.mark.slow),
])
def test_sigkill_after_the_first_job_then_resume(tmp_path: Path, grid_text, jobs, agents, methods) -> None:
    grid_file = tmp_path / "grid.yml"
    grid_file.write_text(grid_text)
    out = tmp_path / "study"
    expected = {f"{j.id}.json" for j in load_grid(grid_file).jobs()}
    assert len(expected) == jobs
    cmd = [sys.executable, str(ROOT / "scripts" / "sweep.py"), "--grid", str(grid_file), "--out", str(out)]

    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = None
    deadline = time.monotonic() + 300
    try:
        while first is None:
            assert proc.poll() is None, f"sweep ended before it was killed: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "no job finished within 300 s"
            done = [p for p in (out / "jobs").glob("*.json")] if (out / "jobs").is_dir() else []
            if done:
                first = done[0]
            else:
                time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    survived = {p.name for p in (out / "jobs").glob("*.json")}
    assert survived < expected, "every job had finished before the kill: nothing left to resume"
    before = {name: ((out / "jobs" / name).read_bytes(), (out / "jobs" / name).stat().st_mtime_ns) for name in survived}

    rerun = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(survived)} already done, {jobs - len(survived)} to run" in rerun.stderr
    assert "ETA" in rerun.stderr
    assert _job_files(out) == expected  # exactly the expected files, no temporary ones
    for name, (data, mtime) in before.items():
        assert (out / "jobs" / name).read_bytes() == data
        assert (out / "jobs" / name).stat().st_mtime_ns == mtime
    assert first.name in before

    study = json.loads((out / "study.json").read_text())
    assert study["jobs"]["done"] == jobs and study["jobs"]["failed"] == 0
    best = [(b["agent"], b["method"]) for b in study["best_amounts"]]
    assert sorted(best) == sorted((a, m) for a in agents for m in methods)  # one row per agent and method
    assert "## Best pruning amount" in (out / "study.md").read_text()
    for name in ("results.parquet", "results.csv", "study_code.csv", "plots/ppo_cartpole-v1.png"):
        assert (out / name).is_file(), name
    import pandas as pd

    assert len(pd.read_parquet(out / "results.parquet")) == jobs
    code = pd.read_csv(out / "study_code.csv")
    assert list(code.columns[:5]) == ["algo", "env_id", "method", "amount", "return_mean"]
    assert len(code) == len(agents) * len(methods) * 3  # per agent and method: baseline (amount 0), two amounts

    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and f"{jobs} already done, 0 to run" in again.stderr


def test_failed_jobs_are_recorded_and_retried_only_on_request(tmp_path: Path, monkeypatch) -> None:
    real = paradox_gym.pipeline.evaluate

    def flaky(settings, **kwargs):
        if settings.amount == 0.6:
            raise RuntimeError("simulated crash in the 0.6 cell")
        return real(settings, **kwargs)

    monkeypatch.setattr(paradox_gym.pipeline, "evaluate", flaky)
    grid = _small()
    bad = next(j for j in grid.jobs() if j.amount == 0.6)
    events = []
    summary = run_sweep(grid, str(tmp_path), progress=events.append)
    assert (summary.done, summary.failed, summary.ran) == (1, 1, 2)
    failure = json.loads((tmp_path / "failed" / f"{bad.id}.json").read_text())
    assert failure["error"] == "simulated crash in the 0.6 cell" and failure["error_type"] == "RuntimeError"
    assert "host" in failure and "traceback" in failure
    assert f"{bad.id}.json" not in _job_files(tmp_path)
    assert any(e.kind == "failed" for e in events)
    report = json.loads((tmp_path / "study.json").read_text())
    assert report["jobs"]["failed"] == 1 and report["failures"][0]["id"] == bad.id

    monkeypatch.setattr(paradox_gym.pipeline, "evaluate", real)
    skipped = run_sweep(grid, str(tmp_path), report=False)
    assert (skipped.ran, skipped.skipped_failed, skipped.failed) == (0, 1, 1)
    retried = run_sweep(grid, str(tmp_path), retry_failed=True, report=False)
    assert (retried.ran, retried.done, retried.failed) == (1, 2, 0)
    assert not (tmp_path / "failed" / f"{bad.id}.json").exists()
    record = json.loads((tmp_path / "jobs" / f"{bad.id}.json").read_text())
    assert record["host"] and record["machine_fingerprint"] and record["result"]["status"] == "complete"


def test_changed_grid_is_refused_unless_forced(tmp_path: Path) -> None:
    first = run_sweep(_small(amounts=[0.3]), str(tmp_path), report=False)
    assert first.done == 1
    grown = run_sweep(_small(amounts=[0.3, 0.6]), str(tmp_path), report=False)  # same shared settings
    assert (grown.done_before, grown.ran) == (1, 1)
    with pytest.raises(UserInputError) as err:
        run_sweep(_small(amounts=[0.3], episodes=3), str(tmp_path))
    assert "episodes 2 -> 3" in str(err.value) and "--force" in str(err.value)
    forced = run_sweep(_small(amounts=[0.3], episodes=3), str(tmp_path), force=True)
    assert (forced.total, forced.done, forced.ran) == (1, 1, 1)
    study = json.loads((tmp_path / "study.json").read_text())
    assert study["jobs"]["done"] == 1 and study["jobs"]["left_out"] == 2
    assert study["cells"][0]["episodes_per_trial"] == 3


def test_cli_errors_are_one_line(tmp_path: Path, capsys) -> None:
    grid = tmp_path / "g.yml"
    grid.write_text("agents: [{env: CartPole-v1}]\nmethods: [ptdq]\nepsiodes: 2\n")
    assert cli_main(["sweep", "--grid", str(grid), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown grid key 'epsiodes'") and "\n" not in err
    assert cli_main(["report", str(tmp_path / "nowhere")]) == 2
    assert "not a sweep directory" in capsys.readouterr().err


def test_report_command_rewrites_the_report(tmp_path: Path, capsys) -> None:
    run_sweep(_small(amounts=[0.3]), str(tmp_path), report=False)
    assert cli_main(["report", str(tmp_path), "--return-margin", "0.2"]) == 0
    printed = capsys.readouterr().out  # the lead, then where the whole report is
    assert "# Study report" in printed and "**Answer.**" in printed and "## " not in printed
    assert f"the whole report: {tmp_path / 'study.md'}" in printed
    assert "above -20%" in (tmp_path / "study.md").read_text()
    assert json.loads((tmp_path / "study.json").read_text())["return_margin"] == 0.2


@pytest.mark.slow
def test_process_executor_runs_jobs_in_parallel_and_reports_no_energy(tmp_path: Path) -> None:
    from paradox_gym.study.executors import ExecutorOptions

    grid = _small()
    summary = run_sweep(grid, str(tmp_path), executor="process", options=ExecutorOptions(workers=2))
    assert (summary.done, summary.failed) == (2, 0), [p.read_text()[:2000] for p in (tmp_path / "failed").iterdir()]
    assert {p.stem for p in (tmp_path / "jobs").iterdir()} == {j.id for j in grid.jobs("shared")}
    assert not {j.id for j in grid.jobs("exclusive")} & {p.stem for p in (tmp_path / "jobs").iterdir()}
    study = json.loads((tmp_path / "study.json").read_text())
    assert all(c["energy_per_episode_ratio"] is None and c["measurement"] == "shared" for c in study["cells"])
    assert all(c["return_mean"] is not None for c in study["cells"])
    assert any("shared the machine" in n for n in study["notes"])


def test_a_resumed_sweep_names_the_other_machine_before_it_measures(tmp_path: Path) -> None:
    # the first cell measured "elsewhere" (its record's fingerprint rewritten), the second left to measure here
    out = tmp_path / "study"
    run_sweep(_small(amounts=[0.3]), str(out), report=False)
    (path,) = (out / "jobs").iterdir()
    record = json.loads(path.read_text())
    record["machine_fingerprint"] = "elsewhere0000000"
    path.write_text(json.dumps(record))
    events: list[tuple[str, str]] = []
    summary = run_sweep(_small(), str(out), report=False, progress=lambda e: events.append((e.kind, e.message)))
    assert (summary.ran, summary.done) == (1, 2)
    notes = [i for i, (kind, message) in enumerate(events) if "did not measure" in message]
    assert len(notes) == 1 and events[notes[0]][0] == "plan"
    assert "did not measure 1 of the 1 jobs stored here" in events[notes[0]][1]
    assert "fingerprint elsewhere0000000: 1" in events[notes[0]][1]
    assert notes[0] < [kind for kind, _m in events].index("start")  # said before it measures
    # nothing left to measure: no note (the study is what it is)
    events.clear()
    run_sweep(_small(), str(out), report=False, progress=lambda e: events.append((e.kind, e.message)))
    assert not any("did not measure" in message for _k, message in events)
