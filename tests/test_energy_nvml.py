"""NVML meter against a fake pynvml module (this machine has no GPU and no NVIDIA driver)."""

from __future__ import annotations

import importlib.util
import inspect
import sys
import threading
import time
from pathlib import Path

import pytest
from fakes.fake_pynvml import ERROR_CODES, FakeGpu, make_fake_pynvml

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
    assert meter._sampler is None  # counter GPUs need no polling thread
    assert not any(t.name == "paradox-gym-nvml-sampler" for t in threading.enumerate())
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
    t0 = time.perf_counter()
    meter.begin("w")
    sampler = meter._sampler
    assert sampler is not None and sampler.is_alive()
    time.sleep(0.3)
    r = meter.end("w")
    elapsed = time.perf_counter() - t0
    assert r.method == "sampled" and r.status == "ok"
    # 50 W integrated over a window of at least 0.3 s and at most ``elapsed``, however loaded the machine
    assert 50.0 * 0.3 * 0.98 <= r.energy_j <= 50.0 * elapsed * 1.02
    assert meter._sampler is None and not sampler.is_alive()  # stopped and joined
    meter.begin("w2")
    sampler2 = meter._sampler
    assert sampler2 is not None and sampler2.is_alive()
    meter.close()  # close stops and joins a running sampler too
    assert not sampler2.is_alive()


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
    assert "NVMLError_LibraryNotFound" in reason
    _install(monkeypatch, [FakeGpu("GPU-a")], init_error=ERROR_CODES["NVML_ERROR_DRIVER_NOT_LOADED"])
    ok, reason = NvmlMeter().availability()
    assert not ok and "Driver Not Loaded" in reason


def test_only_not_supported_falls_back_to_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    denied = FakeGpu("GPU-a", energy_error=ERROR_CODES["NVML_ERROR_NO_PERMISSION"])
    fake = _install(monkeypatch, [denied])
    meter = NvmlMeter()
    ok, reason = meter.availability()
    assert not ok and "Insufficient Permissions" in reason and "gpu-0" in reason
    assert fake.refcount == 0  # shut down again
    _install(monkeypatch, [FakeGpu("GPU-a", energy_error=ERROR_CODES["NVML_ERROR_FUNCTION_NOT_FOUND"])])
    meter = NvmlMeter()
    assert meter.availability()[0] and meter.method == "sampled"
    _install(monkeypatch, [FakeGpu("GPU-a", energy_mj=None, power_mw=None)])  # neither
    ok, reason = NvmlMeter().availability()
    assert not ok and "Not Supported" in reason


def test_mixed_gpus_sample_only_the_old_one(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [FakeGpu("GPU-new", energy_mj=0), FakeGpu("GPU-old", energy_mj=None, power_mw=20_000)]
    _install(monkeypatch, gpus)
    meter = NvmlMeter(poll_s=0.02)
    ok, reason = meter.availability()
    assert ok and "gpu-0 energy counter" in reason and "gpu-1 sampled power" in reason
    assert meter.method == "sampled" and set(meter._power) == {1}
    t0 = time.perf_counter()
    meter.begin("w")
    time.sleep(0.2)
    gpus[0].energy_mj += 4_000
    r = meter.end("w")
    elapsed = time.perf_counter() - t0
    assert r.components["gpu-0"] == pytest.approx(4.0)
    assert 20.0 * 0.2 * 0.98 <= r.components["gpu-1"] <= 20.0 * elapsed * 1.02
    meter.close()


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
    assert r.status == "failed" and "nvmlDeviceGetPowerUsage" in r.note and "GPU is lost" in r.note
    meter.close()


def test_transient_sampler_error_fails_only_the_windows_it_falls_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gpus = [FakeGpu("GPU-old", energy_mj=None, power_mw=10_000)]
    _install(monkeypatch, gpus)
    meter = NvmlMeter(poll_s=0.01)
    meter.begin("trial")  # keeps the sampler alive across the episodes
    meter.begin("ep1")
    gpus[0].broken = True
    time.sleep(0.05)
    gpus[0].broken = False
    assert meter.end("ep1").status == "failed"
    meter.begin("ep2")
    time.sleep(0.15)
    r2 = meter.end("ep2")
    assert r2.status == "ok" and r2.energy_j == pytest.approx(10.0 * 0.15, rel=0.2)
    assert meter.end("trial").status == "failed"
    meter.close()


def test_counter_going_backwards_fails_never_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [FakeGpu("GPU-a", energy_mj=5_000_000)]
    _install(monkeypatch, gpus)
    meter = NvmlMeter()
    meter.begin("w")
    time.sleep(0.11)
    gpus[0].energy_mj = 1_000  # driver reloaded: the counter restarts from 0
    r = meter.end("w")
    assert r.status == "failed" and r.energy_j is None and "backwards" in r.note


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
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", ",")  # empty entries select nothing
    ok, reason = NvmlMeter().availability()
    assert not ok and "selects no GPU" in reason
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,,0")  # CUDA stops at the empty entry
    meter = NvmlMeter()
    assert meter.availability()[0] and set(meter._counter) == {0}
    assert meter._counter[0] is gpus[1]


def test_cuda_device_order_caveat(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, [FakeGpu("GPU-0"), FakeGpu("GPU-1")])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    ok, reason = NvmlMeter().availability()
    assert ok and "CUDA_DEVICE_ORDER=PCI_BUS_ID" in reason
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    ok, reason = NvmlMeter().availability()
    assert ok and "CUDA_DEVICE_ORDER" not in reason


def test_close_shuts_nvml_down_and_reopens(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _install(monkeypatch, [FakeGpu("GPU-a", energy_mj=0)])
    meter = NvmlMeter()
    assert meter.availability()[0] and fake.refcount == 1
    meter.close()
    assert fake.refcount == 0
    meter.begin("w")  # used again after close: probes (and initialises) again
    assert fake.refcount == 1 and meter.end("w").energy_j == 0.0
    meter.close()
    assert fake.refcount == 0


def _real_pynvml():
    spec = importlib.util.find_spec("pynvml")
    if spec is None or spec.origin is None:
        pytest.skip("nvidia-ml-py is not installed")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a private copy: never initialised, sys.modules untouched
    return module


def test_fake_pynvml_matches_the_real_module() -> None:
    real = _real_pynvml()
    fake = make_fake_pynvml([])
    assert Path(real.__file__).name == "pynvml.py"
    for name in fake.FAKED_FUNCTIONS:
        assert hasattr(real, name), name
        real_params = list(inspect.signature(getattr(real, name)).parameters)
        fake_params = list(inspect.signature(getattr(fake, name)).parameters)
        assert fake_params == real_params, name
    for const, code in ERROR_CODES.items():
        assert getattr(real, const) == code, const
        real_cls = real.nvmlExceptionClass(code)
        fake_cls = fake.nvmlExceptionClass(code)
        assert fake_cls.__name__ == real_cls.__name__
        assert getattr(fake, real_cls.__name__) is fake_cls
        real_err, fake_err = real.NVMLError(code), fake.NVMLError(code)
        assert type(fake_err).__name__ == type(real_err).__name__
        assert fake_err.value == real_err.value == code
        if code != ERROR_CODES["NVML_ERROR_UNKNOWN"] and code in real.NVMLError._errcode_to_string:
            assert str(fake_err) == str(real_err)
        assert isinstance(fake_cls(), fake.NVMLError) and fake_cls().value == code
    # calls before nvmlInit fail the same way
    with pytest.raises(real.NVMLError) as real_exc:
        real.nvmlDeviceGetCount()
    with pytest.raises(fake.NVMLError) as fake_exc:
        fake.nvmlDeviceGetCount()
    assert fake_exc.value.value == real_exc.value.value == real.NVML_ERROR_UNINITIALIZED


def test_cuda_is_synchronised_before_each_edge_read(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    gpus = [FakeGpu("GPU-a", energy_mj=0)]
    _install(monkeypatch, gpus)
    pending = {"mj": 1_000}  # kernels queued before the window opens

    def synchronize() -> None:  # queued work finishes: the board's counter advances
        gpus[0].energy_mj += pending["mj"]
        pending["mj"] = 0

    cuda = types.SimpleNamespace(is_initialized=lambda: True, synchronize=synchronize)
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    meter = NvmlMeter()
    meter.begin("w")
    assert pending["mj"] == 0  # the earlier work was flushed before the start reading
    time.sleep(0.11)
    pending["mj"] = 2_000  # kernels launched in the window, still queued at its end
    r = meter.end("w")
    assert r.energy_j == pytest.approx(2.0)
    meter.close()


def test_a_cuda_error_at_an_edge_fails_the_gpu_window(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    _install(monkeypatch, [FakeGpu("GPU-a", energy_mj=0)])
    state = {"broken": False}

    def synchronize() -> None:  # torch raises a RuntimeError for a CUDA error
        if state["broken"]:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")

    cuda = types.SimpleNamespace(is_initialized=lambda: True, synchronize=synchronize)
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    meter = NvmlMeter()
    meter.begin("w")
    state["broken"] = True  # the queued work it would charge to the window is unknown
    r = meter.end("w")
    assert r.status == "failed" and r.energy_j is None
    assert "RuntimeError: CUDA error: an illegal memory access" in r.note
    meter.close()
