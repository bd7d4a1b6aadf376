"""``validate-meters``: calibrated workloads through every meter and its references; the agreement table and
the shortest trustworthy window per meter (the GPU through a fake pynvml at a constant 100 W)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.fake_pynvml import constant_power_gpu, make_fake_pynvml

from paradox_gym.cli import main
from paradox_gym.energy.meters import CpuModelMeter, NvmlMeter
from paradox_gym.energy.validation import (
    DEFAULT_TOLERANCE,
    DEFAULT_TRUSTWORTHY_WINDOW_S,
    NO_REFERENCE,
    WindowResult,
    judge,
    save_validation,
    trustworthy_window_s,
    validate_meters,
)
from paradox_gym.errors import UserInputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_pynvml([constant_power_gpu(watts=100.0)]))


def test_nvml_counter_against_power_polling_through_the_fake(gpu: None) -> None:
    report = validate_meters((0.05, 0.2), ["idle", "cpu-1"], codecarbon=False)
    rows = [r for r in report.results if r.meter == "nvml"]
    assert {(r.workload, r.window_s) for r in rows} == {("idle", 0.05), ("idle", 0.2), ("cpu-1", 0.05),
                                                        ("cpu-1", 0.2)}
    for r in rows:
        assert r.reference == "nvml-poll" and r.kind == "validation"
        # the counter's window (begin .. end) holds the workload's (wall_s) and a little bookkeeping, more
        # when the process waits for the CPU between the two (a loaded machine): 100 W over at least the
        # workload and at most 50 ms more
        assert 0.9 * 100.0 * r.wall_s <= r.meter_j <= 100.0 * (r.wall_s + 0.05)
        # the counter's window holds the poll's (read in between), so the same 50 ms of waiting bound the ratio
        assert 0.9 <= r.ratio <= 1.0 + 0.05 / r.wall_s
    v = report.verdicts["nvml"]
    # 0.05 s where its rows agree, as on an idle machine; a loaded one can stretch a 0.05 s window's reads by a
    # scheduling slice, and the shortest trustworthy window is then the next one
    short = [r for r in rows if r.window_s == 0.05]
    expected = 0.05 if all(r.agrees(DEFAULT_TOLERANCE) for r in short) else 0.2
    assert v.validated and v.trustworthy_window_s == expected
    cpu = report.verdicts["cpu-model"]
    assert not cpu.validated and "no reference" in cpu.basis
    assert any(r.meter == "cpu-model" and r.kind == NO_REFERENCE for r in report.results)
    text = report.table()
    assert "nvml-poll" in text and "shortest trustworthy window per meter" in text
    verdict = json.loads(json.dumps(report.to_dict()))["verdicts"]["nvml"]
    assert verdict["trustworthy_window_s"] == v.trustworthy_window_s


def test_judge_finds_the_shortest_window_from_which_all_agree() -> None:
    def row(w: float, ratio: float | None, below: bool = False) -> WindowResult:
        return WindowResult("cpu-1", w, w, 1.0, "nvml", None if ratio is None else 100.0 * w * ratio,
                            "nvml-poll", 100.0 * w, ratio, "validation", below)

    # the H200 pattern: 3.2x at 0.3 s, 2.5x at 0.05 s, within 15% at 3 s
    rows = [row(0.05, 2.5), row(0.3, 3.2), row(1.0, 1.15), row(3.0, 1.04)]
    nvml = NvmlMeter.__new__(NvmlMeter)
    nvml.method = "measured"
    nvml.resolution_s = 0.1
    v = judge(rows, [nvml], [0.05, 0.3, 1.0, 3.0], 0.2)["nvml"]
    assert v.trustworthy_window_s == 1.0 and v.validated
    v = judge(rows, [nvml], [0.05, 0.3, 1.0, 3.0], 0.1)["nvml"]
    assert v.trustworthy_window_s == 3.0
    v = judge([row(3.0, 2.0)], [nvml], [3.0], 0.1)["nvml"]
    assert v.trustworthy_window_s is None and "disagrees" in v.basis
    # every comparison below the reference's resolution: declared resolution, not validated
    v = judge([row(0.05, None, below=True)], [nvml], [0.05], 0.2)["nvml"]
    assert v.trustworthy_window_s == 0.1 and not v.validated


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(UserInputError, match="unknown workload 'spin'"):
        validate_meters((0.05,), ["spin"])
    with pytest.raises(UserInputError, match="window lengths"):
        validate_meters((0.0,), ["idle"])
    with pytest.raises(UserInputError, match="needs a CUDA GPU"):
        validate_meters((0.05,), ["gpu-matmul"])


def test_saved_validation_sets_the_trustworthy_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "validation.json"
    monkeypatch.setenv("PARADOX_GYM_METER_VALIDATION", str(path))
    assert trustworthy_window_s("nvml") == DEFAULT_TRUSTWORTHY_WINDOW_S["nvml"]
    report = validate_meters((0.05,), ["idle"], meters=["cpu-model"], codecarbon=False)
    assert save_validation(report) == path
    window, basis = trustworthy_window_s("cpu-model")
    assert window == CpuModelMeter.resolution_s and "this machine" in basis
    assert trustworthy_window_s("nvml")[0] == 3.0  # not in the saved file: the default
    assert trustworthy_window_s("nope")[0] is None


def test_cli_prints_the_table_and_refuses_bad_input(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARADOX_GYM_METER_VALIDATION", str(tmp_path / "v.json"))
    assert main(["validate-meters", "--windows", "0.05,0.1", "--workloads", "idle,cpu-1", "--no-codecarbon",
                 "--quiet", "--save"]) == 0
    out = capsys.readouterr()
    assert "agreement" in out.out and "cpu-model" in out.out and "trustworthy window" in out.out
    assert (tmp_path / "v.json").exists()
    assert main(["validate-meters", "--windows", "a,b"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --windows") and "\n" not in err


@pytest.mark.slow
def test_default_run_finishes_in_under_a_minute() -> None:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "validate_meters.py"), "--quiet"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    assert "shortest trustworthy window per meter" in proc.stdout
    assert "codecarbon" in proc.stdout and "0.05" in proc.stdout and "5.00" in proc.stdout
    assert elapsed < 60
