"""CodeCarbon meter: quiet, offline, no files, failures detected, and agreement with the CPU model."""

from __future__ import annotations

import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from paradox_gym._util.cpu import logical_cpus
from paradox_gym.energy import EnergyWrapper, cross_check
from paradox_gym.energy.meters import CodeCarbonMeter, CpuModelMeter


def _numpy_work(seconds: float) -> None:
    """CPU-bound, single-threaded, and releasing the GIL inside each ufunc (see methodology)."""
    a = np.random.default_rng(0).random(1_000_000)
    b = np.empty_like(a)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        np.exp(a, out=b)
        np.sqrt(b, out=b)


def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A fresh working directory and HOME, so that files written there can be detected."""
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    for name in list(__import__("os").environ):
        if name.startswith("CODECARBON_"):
            monkeypatch.delenv(name)
    return cwd, home


def test_agrees_with_cpu_model_given_the_same_tdp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from codecarbon.lock import LOCKFILE

    cwd, home = _isolate(tmp_path, monkeypatch)
    lock_existed = Path(LOCKFILE).exists()
    ours = CpuModelMeter(cpu_tdp_w=100.0)
    cc = CodeCarbonMeter(cpu_tdp_w=100.0)
    cc.prepare()  # hardware probing outside the window
    cc.begin("trial-0")
    ours.begin("trial-0")
    _numpy_work(2.5)
    r_ours = ours.end("trial-0")
    r_cc = cc.end("trial-0")
    cc.close()
    assert r_cc.status == "ok", r_cc.note
    assert r_cc.details["codecarbon_cpu_method"].startswith("TDP x load (process mode, TDP 100")
    assert r_cc.method == "modelled"
    # the process's CPU time in the same window x 100 W x packages / logical CPUs (not the 2.5 s of wall time
    # asked for: on a loaded machine the process gets less than one CPU, and both meters see that)
    expected = r_ours.details["cpu_time_s"] * 100.0 * ours.tdp.packages / logical_cpus()
    assert expected > 0
    assert 0.5 * expected < r_cc.components["cpu"] < 1.5 * expected
    assert r_ours.energy_j == pytest.approx(r_ours.details["cpu_time_s"] * ours.watts_per_cpu)
    check = cross_check(r_ours, r_cc)
    assert check.within_tolerance, check
    assert abs(check.rel_diff) <= 0.10
    assert check.warning == ""
    assert r_cc.energy_j == pytest.approx(sum(r_cc.components.values()))
    # quiet and file-less
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert list(cwd.iterdir()) == [] and list(home.iterdir()) == []  # no emissions.csv, no config
    assert Path(LOCKFILE).exists() == lock_existed  # no lock file


def test_user_codecarbon_config_cannot_send_data_or_change_the_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, home = _isolate(tmp_path, monkeypatch)
    (home / ".codecarbon.config").write_text(
        "[codecarbon]\nemissions_endpoint = http://127.0.0.1:9/emissions\npue = 3.0\n"
        "force_mode_cpu_load = True\nrapl_include_dram = True\nsave_to_file = True\n"
    )
    monkeypatch.setenv("CODECARBON_FORCE_CPU_POWER", "999")
    monkeypatch.setenv("CODECARBON_OUTPUT_METHODS", "csv,logger")
    cc = CodeCarbonMeter()  # no TDP given: CodeCarbon's own choice, but not the config's
    cc.prepare()
    tracker = cc._tracker
    assert tracker._pue == 1.0 and tracker._emissions_endpoint is None
    assert tracker._force_cpu_power is None and tracker._rapl_include_dram is False
    assert tracker._conf.get("force_mode_cpu_load") is False
    assert tracker._output_handlers == []
    cc.begin("t")
    r = cc.end("t")
    cc.close()
    assert r.status in ("ok", "too_short"), r.note
    assert not (cwd / "emissions.csv").exists() and list(cwd.iterdir()) == []


def test_failures_are_reported_never_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    cc = CodeCarbonMeter(cpu_tdp_w=50.0)
    cc.prepare()
    monkeypatch.setattr(cc._tracker, "stop_task", lambda *a, **k: None)
    cc.begin("t")
    r = cc.end("t")
    assert r.status == "failed" and r.energy_j is None and "returned nothing" in r.note
    cc = CodeCarbonMeter(cpu_tdp_w=50.0)
    cc.prepare()
    monkeypatch.setattr(cc._tracker, "start_task", lambda *a, **k: None)  # swallowed error
    cc.begin("t2")
    r2 = cc.end("t2")
    assert r2.status == "failed" and "did not start" in r2.note


def test_one_window_at_a_time_and_trial_only_in_wrapper() -> None:
    cc = CodeCarbonMeter(cpu_tdp_w=50.0)
    cc.prepare()
    cc.begin("a")
    cc.begin("b")
    rb = cc.end("b")
    assert rb.status == "failed" and "one window at a time" in rb.note
    ra = cc.end("a")
    assert ra.energy_j is not None
    cc.close()
    env = EnergyWrapper(gym.make("CartPole-v1"), meters=["cpu-model", "codecarbon"], cpu_tdp_w=50.0)
    env.begin_trial()
    env.reset(seed=0)
    info: dict = {}
    while "energy" not in info:
        *_, info = env.step(env.action_space.sample())
    assert "codecarbon" not in info["energy"].readings  # episode windows skip CodeCarbon
    trial = env.end_trial()
    assert trial.readings["codecarbon"].energy_j is not None
    env.close()
