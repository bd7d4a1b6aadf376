"""The whole evaluation with a GPU present, through a fake pynvml (one GPU at a constant 100 W, counter =
100 W x time) that also reaches the replicate processes (a stand-in ``pynvml`` first on PYTHONPATH):
a CPU-policy run's headline includes the CPU, the GPU shows ~100 W idle and ~0 J net, and the JSON carries
the per-device keys; ``--device cuda`` without a GPU is a one-line error."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from fakes.fake_pynvml import constant_power_gpu, make_fake_pynvml

from paradox_gym import EvalSettings, evaluate
from paradox_gym.cli import main

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def fake_gpu_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_pynvml([constant_power_gpu(watts=100.0)]))
    path = os.pathsep.join([str(TESTS / "fakes" / "shadow"), str(TESTS), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("FAKE_NVML_WATTS", "100")


@pytest.fixture(scope="module")
def gpu_result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    mp = pytest.MonkeyPatch()
    try:
        mp.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        mp.setitem(sys.modules, "pynvml", make_fake_pynvml([constant_power_gpu(watts=100.0)]))
        mp.setenv("PYTHONPATH", os.pathsep.join([str(TESTS / "fakes" / "shadow"), str(TESTS),
                                                 os.environ.get("PYTHONPATH", "")]))
        settings = EvalSettings(env_id="CartPole-v1", methods=("prune",), episodes=3, trials=2, warmup=1,
                                replicates=1, control=False, memory=False, codecarbon=False, country="FRA",
                                out=str(tmp_path_factory.mktemp("gpu-run")))
        assert settings.meters == ("cpu-model", "nvml")
        result = evaluate(settings)
        return {"doc": result.to_dict(), "report": result.report()}
    finally:
        mp.undo()


def test_cpu_policy_headline_includes_the_cpu_and_the_gpu(gpu_result: dict) -> None:
    doc = gpu_result["doc"]
    head = doc["energy"]["headline"]
    assert head["scope"] == ["cpu", "gpu-0"] and head["policy_device"] == "cpu" and head["basis"] == "gross"
    assert doc["energy_meter"] == "headline"
    for trial in doc["trials"]["none"]:
        e = trial["energy_j"]
        assert e["headline"] == pytest.approx(e["cpu-model"] + e["nvml"])
        assert trial["device_energy_j"]["cpu"] == pytest.approx(e["cpu-model"])
        assert trial["device_energy_j"]["gpu-0"] == pytest.approx(e["nvml"])


def test_gpu_idles_at_100_w_and_nets_to_zero(gpu_result: dict) -> None:
    doc = gpu_result["doc"]
    devices = doc["energy"]["devices"]
    assert devices["gpu-0"]["meter"] == "nvml" and devices["gpu-0"]["method"] == "measured"
    assert devices["gpu-0"]["idle_w"] == pytest.approx(100.0, rel=0.02)
    assert devices["gpu-0"]["idle_windows"] == 2  # one per round, interleaved with the trials
    assert devices["cpu"]["meter"] == "cpu-model" and devices["cpu"]["method"] == "modelled"
    assert devices["cpu"]["idle_w"] < 1.0
    windows = doc["energy"]["idle_windows"]
    assert [w["after_trial"] for w in windows] == [0, 1] and all(w["config"] == "idle" for w in windows)
    for config in ("none", "prune"):
        by_device = doc["summaries"][config]["energy_by_device"]
        gpu = by_device["gpu-0"]
        assert gpu["gross_per_episode_j"] > 1.0
        assert abs(gpu["net_per_episode_j"]) < 0.02 * gpu["gross_per_episode_j"]
        cpu = by_device["cpu"]
        assert cpu["net_per_episode_j"] == pytest.approx(cpu["gross_per_episode_j"], rel=0.05)
        for trial in doc["trials"][config]:  # properties of the same measured window, at any machine speed
            e, wall_s = trial["energy_j"], trial["wall_s"]
            gpu_net = e["nvml"] - devices["gpu-0"]["idle_w"] * wall_s
            cpu_net = e["cpu-model"] - devices["cpu"]["idle_w"] * wall_s
            assert e["headline-net"] == pytest.approx(cpu_net + gpu_net, rel=1e-6, abs=1e-3)
            assert abs(gpu_net) < 0.02 * e["nvml"]  # the GPU only idled: its net is ~0 of its gross


def test_machine_record_emissions_and_report(gpu_result: dict) -> None:
    doc = gpu_result["doc"]
    gpu = doc["machine"]["gpu"][0]
    assert gpu["name"] == "NVIDIA Fake GPU" and gpu["energy_counter"] is True and gpu["power_limit_w"] == 700.0
    em = doc["energy"]["emissions"]
    assert em["country"] == "FRA" and em["estimate"] is True
    gross = doc["summaries"]["none"]["energy_by_device"]
    g = em["per_config"]["none"]["gross_g_per_1000_episodes"]
    total = gross["cpu"]["gross_per_episode_j"] + gross["gpu-0"]["gross_per_episode_j"]
    assert g == pytest.approx(1000 * total / 3.6e6 * em["g_per_kwh"], rel=1e-6)
    verdict = doc["verdicts"]["prune"]
    assert "[gross; net of idle power: " in verdict
    assert doc["comparisons"]["prune"]["verdict"]["energy_basis"] == "gross"
    assert doc["comparisons"]["prune"]["verdict"]["net_energy"] is not None
    text = gpu_result["report"]
    assert "Energy by device" in text and "gpu-0" in text and "net J/episode" in text and "France" in text


def test_cuda_without_a_gpu_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--device", "cuda", "--no-memory", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --device cuda: no CUDA GPU") and "\n" not in err


def test_a_gpu_only_headline_for_a_cpu_policy_is_refused(capsys: pytest.CaptureFixture[str],
                                                          fake_gpu_everywhere: None) -> None:
    assert main(["evaluate", "--energy-scope", "gpu", "--no-memory", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "leaves out the CPU, where the policy runs" in err and "\n" not in err
    assert main(["evaluate", "--country", "Narnia", "--no-memory", "--quiet"]) == 2
    assert "alpha-3" in capsys.readouterr().err
