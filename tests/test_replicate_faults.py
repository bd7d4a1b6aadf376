"""Faults where the measurement happens: inside the replicate processes, injected through the
``PARADOX_GYM_FAULT`` test hook (paradox_gym.experiment.replicate). Each keeps the other replicates' whole
trials, names what failed, and ends as docs/evaluation.md ("What happens when things go wrong") says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from paradox_gym import EvalSettings, evaluate
from paradox_gym.cli import main
from paradox_gym.experiment.replicate import FAULT_ENV, parse_faults


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str) -> dict[str, Any]:
    monkeypatch.setenv(FAULT_ENV, fault)  # the replicate processes inherit it
    settings = EvalSettings(env_id="CartPole-v1", methods=("prune",), episodes=1, trials=2, warmup=0, replicates=2,
                            control=False, memory=False, codecarbon=False, out=str(tmp_path / "out"))
    return evaluate(settings).to_dict()


def _trials(doc: dict[str, Any], replicate: int) -> list[dict[str, Any]]:
    return [t for trials in doc["trials"].values() for t in trials if t["replicate"] == replicate]


def test_the_hook_reads_kind_count_and_replicate() -> None:
    assert parse_faults("meter-read:1, kill:2@1", 0) == {"meter-read": 1}
    assert parse_faults("meter-read:1, kill:2@1", 1) == {"meter-read": 1, "kill": 2}
    assert parse_faults("", 0) == {}
    with pytest.raises(ValueError, match="KIND:N"):
        parse_faults("explode:1", 0)


def test_a_meter_failing_on_its_first_read_keeps_every_trial(tmp_path: Path, monkeypatch) -> None:
    """The run completes with every trial kept and measured."""
    doc = _run(tmp_path, monkeypatch, "meter-read:1@1")
    assert doc["status"] == "complete"
    assert len(_trials(doc, 0)) == 4 and len(_trials(doc, 1)) == 4
    assert all(t["energy_status"]["cpu-model"] == "ok" for t in _trials(doc, 1))


@pytest.mark.parametrize("read", [3])
def test_a_meter_failing_on_its_nth_read_fails_that_window_only(tmp_path: Path, monkeypatch, read: int) -> None:
    doc = _run(tmp_path, monkeypatch, f"meter-read:{read}@1")
    assert doc["status"] == "complete"
    assert len(_trials(doc, 0)) == 4 and len(_trials(doc, 1)) == 4  # every trial kept
    assert all(t["energy_status"]["cpu-model"] == "ok" for t in _trials(doc, 0))
    failed = [t for t in _trials(doc, 1) if t["energy_status"]["cpu-model"] == "failed"]
    assert len(failed) == 1 and f"cpu-model meter read {read} failed" in failed[0]["energy_note"]["cpu-model"]
    assert any("cpu-model: 1 failed of 8 trial windows" in note for note in doc["notes"])


def test_an_env_raising_at_step_n_stops_the_run_with_exit_2_keeping_earlier_trials(tmp_path: Path, monkeypatch,
                                                                                 capsys) -> None:
    monkeypatch.setenv(FAULT_ENV, "env-step:5@1")
    status = main(["evaluate", "--env", "CartPole-v1", "--compress", "prune", "--episodes", "1", "--trials", "2",
                   "--warmup", "0", "--replicates", "2", "--no-control", "--no-memory", "--no-codecarbon",
                   "--quiet", "--out", str(tmp_path / "out")])
    assert status == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "replicate 1" in last and "environment step 5 failed" in last
    assert "status failed" in last
    doc = json.loads((tmp_path / "out" / "result.json").read_text())
    assert doc["status"] == "failed" and len(_trials(doc, 0)) == 4 and not _trials(doc, 1)


@pytest.mark.parametrize("fault, named", [("kill:1@1", "killed by SIGKILL"), ("close-stdout:1@1", "process failed")])
def test_a_replicate_killed_or_cut_off_mid_run_keeps_every_whole_trial(tmp_path: Path, monkeypatch, fault: str,
                                                                       named: str) -> None:
    doc = _run(tmp_path, monkeypatch, fault)
    assert doc["status"] == "failed" and "replicate 1" in doc["error"] and named in doc["error"]
    assert len(_trials(doc, 0)) == 4  # the other replicate's trials
    assert len(_trials(doc, 1)) == 1  # and the one trial it reported before the fault
    assert any(note.startswith("failed: replicate 1") for note in doc["notes"])
