"""What happens when things go wrong during a run (docs/evaluation.md): faults during the trials, signals,
disk full, concurrent runs, odd paths. Whole trials are never lost; result.json is written last and lists
only files that exist; every failure is one line on stderr and a non-zero exit status.

A faulty environment is registered in every process of the run (the replicates are fresh processes)
through a ``sitecustomize`` module on PYTHONPATH: ``FaultyCartPole-v1`` is CartPole whose ``step`` raises
(or returns reward None) once ``FAULT_AFTER_RESETS`` episodes have started in that process.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import paradox_gym
from paradox_gym._util.files import DeferredSignals, DirectoryLock, remove_stale_temporaries
from paradox_gym.cli import evaluate_main
from paradox_gym.errors import UserInputError
from paradox_gym.experiment.memory import _memory_command
from paradox_gym.experiment.settings import EvalSettings
from paradox_gym.report.result import FILE_NAMES

ROOT = Path(__file__).resolve().parents[1]
AGENT = Path(paradox_gym.__file__).parent / "zoo" / "shipped" / "ppo-cartpole-v1.zip"

SITECUSTOMIZE = '''
import os
import gymnasium
from gymnasium.envs.classic_control.cartpole import CartPoleEnv


class FaultyCartPole(CartPoleEnv):
    resets = 0

    def reset(self, **kwargs):
        type(self).resets += 1
        return super().reset(**kwargs)

    def step(self, action):
        mode = os.environ.get("FAULT_MODE", "raise")
        if mode == "print-records":  # an environment that prints what looks like our records, every step
            print('{"kind": "end", "elapsed_s": 0, "interrupted": false, "error": null}')
            print('{"kind": "trial", "trial": {}}')
        if type(self).resets > int(os.environ.get("FAULT_AFTER_RESETS", "1000000")):
            if mode == "reward-none":
                obs, _reward, terminated, truncated, info = super().step(action)
                return obs, None, terminated, truncated, info
            if mode == "sys-exit":
                raise SystemExit(0)
            if mode == "os-exit":
                os._exit(0)
            raise RuntimeError("simulated physics failure")
        return super().step(action)


    def close(self):
        super().close()
        if os.environ.get("FAULT_MODE") == "close-raises":
            raise RuntimeError("simulated close failure")


gymnasium.register(id="FaultyCartPole-v1", entry_point=FaultyCartPole, max_episode_steps=500)
'''


@pytest.fixture(scope="module")
def faulty_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("faulty_env")
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return str(folder)


def _env(faulty_path: str, **extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (faulty_path, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def _args(out: Path, *more: str) -> list[str]:
    return ["-m", "paradox_gym.cli", "evaluate", "--env", "FaultyCartPole-v1", "--algo", "PPO", "--agent",
            str(AGENT), "--episodes", "2", "--warmup", "1", "--no-control", "--no-memory", "--no-codecarbon",
            "--out", str(out), *more]


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def _check_listed_files(out: Path) -> dict[str, Any]:
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    for path in result["files"].values():
        assert Path(path).is_file(), path
    return result


def test_env_fault_after_a_round_keeps_its_trials_and_stops(faulty_path: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".result.json.abc_123.tmp").write_text("{")  # left by a killed writer of ours
    (out / ".write-test-xyz").write_text("")
    (out / ".notes.tmp").write_text("the user's")  # not ours: kept
    # warm-up: 1 episode per configuration (2 resets); round 0: 2 configurations x 2 episodes (4 resets)
    proc = subprocess.run([sys.executable, *_args(out, "--trials", "3", "--replicates", "2", "--quiet")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=_env(faulty_path, FAULT_AFTER_RESETS="6"))
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "RuntimeError: simulated physics failure" in line and "replicate 0 trial 1" in line
    assert "2 whole trial(s) written" in line
    result = _check_listed_files(out)
    assert result["status"] == "failed"
    assert "simulated physics failure" in result["error"]
    assert result["trials_completed"] == {"none": 1, "ptdq": 1}  # replicate 1 never started
    assert set(result["files"]) == set(FILE_NAMES)
    rows = (out / "episodes.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 4
    assert not (out / ".result.json.abc_123.tmp").exists() and not (out / ".write-test-xyz").exists()
    assert (out / ".notes.tmp").read_text() == "the user's"


def test_fault_in_the_warm_up_writes_a_header_only_episodes_file(faulty_path: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, *_args(out, "--trials", "1", "--replicates", "1", "--quiet")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=_env(faulty_path, FAULT_AFTER_RESETS="0"))
    assert proc.returncode == 2, proc.stderr
    assert "warm-up of" in _one_error_line(proc.stderr)
    result = _check_listed_files(out)
    assert result["status"] == "failed" and result["trials_completed"] == {"none": 0, "ptdq": 0}
    assert (out / "episodes.csv").read_text() == "config,replicate,trial,episode,seed,return,length,wall_s\n"
    assert (out / "summary.csv").read_text().startswith("config")


def test_reward_none_is_named(faulty_path: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, *_args(out, "--trials", "2", "--replicates", "1", "--quiet")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=_env(faulty_path, FAULT_AFTER_RESETS="6", FAULT_MODE="reward-none"))
    assert proc.returncode == 2, proc.stderr
    assert "reward" in _one_error_line(proc.stderr).lower()
    result = _check_listed_files(out)
    assert result["status"] == "failed" and result["trials_completed"] == {"none": 1, "ptdq": 1}


@pytest.mark.parametrize(("mode", "says"), [
    ("sys-exit", "SystemExit: 0"),
    ("os-exit", "before reporting its end: something in the environment or the agent exited the process"),
])
def test_an_env_that_exits_the_process_is_a_failure(faulty_path: str, tmp_path: Path, mode: str, says: str) -> None:
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, *_args(out, "--trials", "2", "--replicates", "2", "--quiet")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=_env(faulty_path, FAULT_AFTER_RESETS="6", FAULT_MODE=mode))
    assert proc.returncode == 2, proc.stderr
    assert says in _one_error_line(proc.stderr)
    result = _check_listed_files(out)
    assert result["status"] == "failed" and result["trials_completed"] == {"none": 1, "ptdq": 1}


def test_an_env_whose_close_raises_is_measured_all_the_same(faulty_path: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, *_args(out, "--trials", "1", "--replicates", "1", "--quiet")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=_env(faulty_path, FAULT_MODE="close-raises"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    result = _check_listed_files(out)
    assert result["status"] == "complete"
    assert any(n.startswith("replicate 0: closing the environment raised") for n in result["notes"]), result["notes"]


def test_a_calibration_that_cannot_play_is_one_line(faulty_path: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, *_args(out, "--compress", "ptsq", "--trials", "1", "--replicates", "1")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=_env(faulty_path, FAULT_AFTER_RESETS="0"))
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "calibration: playing the float agent in FaultyCartPole-v1 failed (RuntimeError: simulated" in line
    assert not out.exists()  # refused before anything was written: no trace of the run


def test_what_the_env_prints_is_never_read_as_a_record(faulty_path: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, *_args(out, "--trials", "2", "--replicates", "1", "--quiet")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=_env(faulty_path, FAULT_MODE="print-records"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == ""  # --quiet: nothing on stdout; the env's prints went to stderr
    result = _check_listed_files(out)
    assert result["status"] == "complete" and result["trials_completed"] == {"none": 2, "ptdq": 2}


@pytest.mark.parametrize("limit_bytes", [30_000, 15_000])
def test_disk_full_keeps_what_fits_and_says_so(tmp_path: Path, limit_bytes: int) -> None:
    """A real write failure: the process may not write files over ``limit_bytes`` (RLIMIT_FSIZE, as a
    full disk). The plots (~40 kB) never fit; result.json (~24 kB) fits under the first limit only."""
    out = tmp_path / "out"

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    proc = subprocess.run(
        [sys.executable, "-m", "paradox_gym.cli", "evaluate", "--env", "CartPole-v1", "--agent", str(AGENT),
         "--episodes", "1", "--trials", "1", "--warmup", "0", "--replicates", "1", "--no-control", "--no-memory",
         "--no-codecarbon", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, preexec_fn=limit)
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "could not write plots (File too large)" in line
    assert "episodes.csv" not in line.split("could not write")[1]
    assert (out / "episodes.csv").is_file()
    assert "energy/episode [CI]" in proc.stdout and "verdict" in proc.stdout  # the report was printed
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    if limit_bytes == 30_000:
        doc = _check_listed_files(out)
        assert doc["status"] == "failed" and doc["write_errors"] == {"plots": "File too large"}
        assert set(doc["files"]) == {"episodes_csv", "summary_csv", "report_txt", "result_json"}
        assert "2 whole trial(s) written" in line
    else:  # result.json could not be written: absent, rather than claiming files that are not there
        assert not (out / "result.json").exists()
        assert "result.json (File too large)" in line and "the report above is all that was kept" in line


@pytest.fixture(scope="module")
def small_result(tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = EvalSettings(env_id="CartPole-v1", agent_path=str(AGENT), methods=("ptdq",), episodes=1, trials=1,
                            warmup=0, replicates=1, control=False, memory=False, codecarbon=False)
    return paradox_gym.evaluate(settings)


def test_a_file_that_cannot_be_written_is_not_listed(small_result: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import paradox_gym.report.result as result_module

    def no_space(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(result_module, "write_plots", no_space)
    (tmp_path / "size_vs_energy.png").write_bytes(b"a previous run's plot")
    written = small_result.write(tmp_path)
    assert small_result.status == "failed"
    assert small_result.write_errors == {"plots": "No space left on device"}
    doc = _check_listed_files(tmp_path)
    assert set(doc["files"]) == set(written) == {"episodes_csv", "summary_csv", "report_txt", "result_json"}
    assert doc["status"] == "failed" and "No space left on device" in doc["error"]
    assert not (tmp_path / "size_vs_energy.png").exists()  # a previous run's file is never passed off as ours


def test_ctrl_c_while_writing_waits_for_the_files(small_result: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import paradox_gym.report.result as result_module

    real = result_module.write_plots

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(result_module, "write_plots", interrupted)
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with pytest.raises(KeyboardInterrupt):
            small_result.write(tmp_path)
    finally:
        signal.signal(signal.SIGTERM, previous)
    doc = _check_listed_files(tmp_path)
    assert doc["status"] == "complete" and set(doc["files"]) == set(FILE_NAMES)


def test_an_analysis_fault_still_writes_the_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import paradox_gym.pipeline as pipeline

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(pipeline, "_analyse", broken)
    settings = EvalSettings(env_id="CartPole-v1", agent_path=str(AGENT), methods=("ptdq",), episodes=1, trials=1,
                            warmup=0, replicates=1, control=False, memory=False, codecarbon=False,
                            out=str(tmp_path))
    result = paradox_gym.evaluate(settings)
    assert result.status == "failed" and result.error == "analysis: ValueError: boom"
    doc = _check_listed_files(tmp_path)
    assert doc["trials_completed"] == {"none": 1, "ptdq": 1}


def test_a_second_run_into_a_locked_out_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with DirectoryLock(tmp_path, "--out"):
        code = evaluate_main(["--env", "CartPole-v1", "--agent", str(AGENT), "--out", str(tmp_path)])
        err = capsys.readouterr().err
        assert code == 2
        line = _one_error_line(err)
        assert f"is in use by another run (pid {os.getpid()} on " in line
        with pytest.raises(UserInputError, match="in use by another run"):
            paradox_gym.evaluate(EvalSettings(env_id="CartPole-v1", agent_path=str(AGENT), out=str(tmp_path)))
    with DirectoryLock(tmp_path, "--out"):  # released: free again
        pass


def test_odd_out_paths_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate_main(["--out", ""]) == 2
    assert "--out must be a path (a non-empty string), got ''" in _one_error_line(capsys.readouterr().err)
    (tmp_path / "result.json").mkdir()
    assert evaluate_main(["--env", "CartPole-v1", "--agent", str(AGENT), "--out", str(tmp_path)]) == 2
    assert "result.json exists there and is a directory" in _one_error_line(capsys.readouterr().err)
    assert evaluate_main(["--env", "CartPole-v1", "--out", str(tmp_path / ("x" * 5000))]) == 2
    assert "cannot be used (File name too long)" in _one_error_line(capsys.readouterr().err)


def test_stale_temporaries_of_ours_only(tmp_path: Path) -> None:
    ours = [".episodes.csv.k2_j9.tmp", ".result.json.a.tmp", ".write-test-q1w2"]
    theirs = [".other.tmp", "result.json.tmp", ".result.json.tmp", "notes.txt"]
    for name in ours + theirs:
        (tmp_path / name).write_text("x")
    removed = remove_stale_temporaries(tmp_path, FILE_NAMES.values())
    assert sorted(p.name for p in removed) == sorted(ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(theirs)


def test_deferred_signals_arrive_after_the_block() -> None:
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with DeferredSignals():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
            steps.append("finished")
    assert steps == ["finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_memory_probe_reads_an_agent_named_like_a_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "-agent.zip").write_bytes(AGENT.read_bytes())
    monkeypatch.chdir(tmp_path)
    settings = EvalSettings(env_id="CartPole-v1", agent_path="-agent.zip", methods=())
    cmd = _memory_command(settings, "PPO", "none")
    assert "--agent=-agent.zip" in cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["status"] == "ok"
