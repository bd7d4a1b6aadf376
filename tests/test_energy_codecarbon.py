"""CodeCarbon meter: quiet, offline, no files, failures detected, and agreement with the CPU model."""

from __future__ import annotations

import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

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


def test_agrees_with_cpu_model_given_the_same_tdp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
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
    assert r_cc.components["cpu"] > 50.0  # ~2.5 s x 100 W / n_cpus
    check = cross_check(r_ours, r_cc)
    assert check.within_tolerance, check
    assert abs(check.rel_diff) <= 0.10
    assert check.warning == ""
    assert r_cc.energy_j == pytest.approx(sum(r_cc.components.values()))
    # quiet and file-less
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert list(tmp_path.iterdir()) == []


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
