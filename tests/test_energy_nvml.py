"""NVML meter against a fake pynvml module (this machine has no GPU and no NVIDIA driver)."""

from __future__ import annotations

import sys
import time

import pytest
from fakes.fake_pynvml import FakeGpu, make_fake_pynvml

from paradox_gym.energy.meters.nvml import NvmlMeter


@pytest.fixture(autouse=True)
def _no_cuda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def _install(monkeypatch: pytest.MonkeyPatch, gpus: list[FakeGpu], **kw) -> object:
    fake = make_fake_pynvml(gpus, **kw)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    return fake


def test_energy_counter_gpu_is_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [FakeGpu("GPU-aaa", energy_mj=1_000), FakeGpu("GPU-bbb", energy_mj=50_000)]
    _install(monkeypatch, gpus)
    meter = NvmlMeter()
    assert meter.availability()[0]
    meter.begin("w")
    time.sleep(0.12)
    gpus[0].energy_mj += 2_500  # 2.5 J
    gpus[1].energy_mj += 500  # 0.5 J
    r = meter.end("w")
    assert r.status == "ok" and r.method == "measured"
    assert r.components == {"gpu-0": pytest.approx(2.5), "gpu-1": pytest.approx(0.5)}
    assert r.energy_j == pytest.approx(3.0)
    meter.close()


def test_power_only_gpu_is_sampled(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [FakeGpu("GPU-old", energy_mj=None, power_mw=50_000)]  # 50 W, no counter
    _install(monkeypatch, gpus)
    meter = NvmlMeter(poll_s=0.02)
    assert meter.availability()[0]
    assert meter.method == "sampled"
    meter.begin("w")
    t0 = time.perf_counter()
    time.sleep(0.3)
    r = meter.end("w")
    elapsed = time.perf_counter() - t0
    assert r.method == "sampled" and r.status == "ok"
    assert r.energy_j == pytest.approx(50.0 * elapsed, rel=0.1)
    assert meter._sampler is None  # the polling thread stops when no window is open
    meter.close()


def test_short_window_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, [FakeGpu("GPU-a", energy_mj=0)])
    meter = NvmlMeter()
    meter.begin("w")
    r = meter.end("w")
    assert r.status == "too_short" and r.energy_j == 0.0


def test_missing_library_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import raises ImportError
    meter = NvmlMeter()
    ok, reason = meter.availability()
    assert not ok and "not installed" in reason
    meter.begin("w")
    r = meter.end("w")
    assert r.status == "unavailable" and r.energy_j is None


def test_init_error_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, [FakeGpu("GPU-a")], init_error=True)
    ok, reason = NvmlMeter().availability()
    assert not ok and "NVML cannot start" in reason and "Library Not Found" in reason


def test_no_gpu_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _install(monkeypatch, [])
    ok, reason = NvmlMeter().availability()
    assert not ok and "no GPU" in reason
    assert fake.calls["shutdown"] == 1


def test_error_mid_run_fails_that_window(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [FakeGpu("GPU-a", energy_mj=0)]
    _install(monkeypatch, gpus)
    meter = NvmlMeter()
    meter.begin("w1")
    gpus[0].broken = True
    r = meter.end("w1")
    assert r.status == "failed" and r.energy_j is None and "GPU is lost" in r.note
    gpus[0].broken = False
    meter.begin("w2")
    time.sleep(0.11)
    gpus[0].energy_mj += 1000
    assert meter.end("w2").energy_j == pytest.approx(1.0)


def test_sampler_error_mid_run_fails_window(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [FakeGpu("GPU-old", energy_mj=None)]
    _install(monkeypatch, gpus)
    meter = NvmlMeter(poll_s=0.01)
    meter.begin("w")
    gpus[0].broken = True
    time.sleep(0.05)
    r = meter.end("w")
    assert r.status == "failed" and "nvmlDeviceGetPowerUsage" in r.note
    meter.close()


def test_cuda_visible_devices_integer_form(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [FakeGpu("GPU-0", energy_mj=0), FakeGpu("GPU-1", energy_mj=0), FakeGpu("GPU-2", energy_mj=0)]
    _install(monkeypatch, gpus)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,0")
    meter = NvmlMeter()
    assert meter.availability()[0]
    meter.begin("w")
    time.sleep(0.11)
    gpus[2].energy_mj += 3000
    gpus[1].energy_mj += 7000  # invisible: not counted
    gpus[0].energy_mj += 1000
    r = meter.end("w")
    assert r.components == {"gpu-0": pytest.approx(3.0), "gpu-1": pytest.approx(1.0)}


def test_cuda_visible_devices_uuid_form_and_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [FakeGpu("GPU-8a3c-0000", energy_mj=0), FakeGpu("GPU-77ff-1111", energy_mj=0)]
    _install(monkeypatch, gpus)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-77ff")
    meter = NvmlMeter()
    assert meter.availability()[0]
    meter.begin("w")
    time.sleep(0.11)
    gpus[1].energy_mj += 2000
    gpus[0].energy_mj += 9000
    assert meter.end("w").components == {"gpu-0": pytest.approx(2.0)}
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    ok, reason = NvmlMeter().availability()
    assert not ok and "empty" in reason
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    ok, reason = NvmlMeter().availability()
    assert not ok and "selects no GPU" in reason
