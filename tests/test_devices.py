"""Energy per device, the headline scope, idle power and net energy, the policy device, the machine's
energy hardware, emission estimates and the honest CodeCarbon comparison -- the GPU through a fake
pynvml (one GPU at a constant 100 W: counter = 100 W x time), RAPL through a fake powercap tree."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from fakes.fake_pynvml import FakeGpu, constant_power_gpu, make_fake_pynvml
from fakes.powercap import add_energy, build_tree

from paradox_gym.energy import EnergyReading, cross_check
from paradox_gym.energy.crosscheck import BELOW_RESOLUTION, CONSISTENCY_CHECK, VALIDATION
from paradox_gym.energy.device_summary import DeviceTrial, summarize_devices
from paradox_gym.energy.devices import (
    DeviceReading,
    headline_j,
    headline_net_j,
    headline_scope,
    plan_devices,
)
from paradox_gym.energy.emissions import carbon_intensity, grams_per_1000_episodes
from paradox_gym.energy.hardware import hardware_info
from paradox_gym.energy.idle import idle_duration_s, mean_interval, measure_idle, summarize_idle
from paradox_gym.energy.meters import CpuModelMeter, NvmlMeter, RaplMeter
from paradox_gym.energy.placement import check_device, methods_on
from paradox_gym.errors import UserInputError


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> FakeGpu:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    g = constant_power_gpu(watts=100.0)
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_pynvml([g]))
    return g


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


# -- devices and the headline -------------------------------------------------------------------
def test_cpu_stays_beside_the_gpu_and_the_total_sums_both(gpu: FakeGpu) -> None:
    meters = [CpuModelMeter(cpu_tdp_w=100.0), NvmlMeter()]
    plan = plan_devices(meters)
    assert plan.devices == ("cpu", "gpu-0")
    assert plan.sources == {"cpu": "cpu-model", "gpu-0": "nvml"}
    t0 = time.perf_counter()
    for m in meters:
        m.begin("w")
    _busy(0.3)
    readings = {m.name: m.end("w") for m in meters}
    outer = time.perf_counter() - t0
    dev = plan.readings(readings)
    # 100 W over the window, which lasted at least 0.3 s and at most ``outer`` (any machine load)
    assert 100.0 * 0.3 * 0.99 <= dev["gpu-0"].energy_j <= 100.0 * outer * 1.01
    assert dev["cpu"].energy_j > 0 and dev["cpu"].method == "modelled" and not dev["cpu"].attributed
    scope = headline_scope("total", plan.devices, "cpu")
    assert scope == ("cpu", "gpu-0")
    assert headline_j(dev, scope) == pytest.approx(dev["cpu"].energy_j + dev["gpu-0"].energy_j)
    for m in meters:
        m.close()


def test_a_cpu_policy_never_gets_a_gpu_only_headline() -> None:
    with pytest.raises(UserInputError, match="leaves out the CPU, where the policy runs"):
        headline_scope("gpu", ("cpu", "gpu-0"), "cpu")
    with pytest.raises(UserInputError, match="leaves out the GPU"):
        headline_scope("cpu", ("cpu", "gpu-0"), "cuda")
    assert headline_scope("cpu", ("cpu", "gpu-0"), "cpu") == ("cpu",)
    assert headline_scope("gpu", ("cpu", "gpu-0", "gpu-1"), "cuda") == ("gpu-0", "gpu-1")
    with pytest.raises(UserInputError, match="valid: total, cpu, gpu"):
        headline_scope("board", ("cpu",), "cpu")
    with pytest.raises(UserInputError, match="no measured device"):
        headline_scope("gpu", ("cpu",), "cuda")


def test_rapl_and_nvml_together_give_cpu_and_gpu(gpu: FakeGpu, tmp_path: Path) -> None:
    root = build_tree(tmp_path / "powercap")
    rapl = RaplMeter(root)
    meters = [CpuModelMeter(), rapl, NvmlMeter()]
    plan = plan_devices(meters)
    assert plan.sources == {"cpu": "rapl", "gpu-0": "nvml"}  # the counter wins over the model
    assert plan.attributed == {"cpu": True, "gpu-0": False}
    for m in meters:
        m.begin("w")
    _busy(0.2)
    add_energy(root, "intel-rapl:0", 5_000_000)  # 5 J package
    add_energy(root, "intel-rapl:0/intel-rapl:0:1", 1_000_000)  # 1 J DRAM
    readings = {m.name: m.end("w") for m in meters}
    cpu = plan.readings(readings)["cpu"]
    assert cpu.label == "measured, attributed"
    assert cpu.machine_j == pytest.approx(6.0)  # machine-wide figure kept beside the share
    assert cpu.components_j == {"package-0": pytest.approx(5.0), "dram": pytest.approx(1.0)}
    assert 0.0 <= cpu.energy_j <= cpu.machine_j
    assert cpu.to_dict()["label"] == "measured, attributed"
    for m in meters:
        m.close()


def test_a_failed_meter_leaves_its_device_without_a_figure() -> None:
    plan = plan_devices([CpuModelMeter()])
    dev = plan.readings({"cpu-model": EnergyReading.failed("cpu-model", "modelled", "broke")})
    assert dev["cpu"].energy_j is None and dev["cpu"].status == "failed"
    assert headline_j(dev, ("cpu",)) is None
    assert plan.readings({})["cpu"].status == "failed"


# -- idle and net --------------------------------------------------------------------------------
def test_idle_gpu_shows_its_constant_draw_and_nets_to_zero(gpu: FakeGpu) -> None:
    meters = [CpuModelMeter(cpu_tdp_w=100.0), NvmlMeter()]
    plan = plan_devices(meters)
    windows = [measure_idle(meters, 0.15, plan, index=i) for i in range(3)]
    idle = summarize_idle(windows, plan.devices)
    assert idle["gpu-0"].mean_w == pytest.approx(100.0, rel=0.02)
    assert idle["gpu-0"].low_w <= idle["gpu-0"].mean_w <= idle["gpu-0"].high_w
    assert idle["gpu-0"].windows == 3
    assert idle["cpu"].mean_w < 5.0  # a sleeping process's own CPU time
    # a busy trial window: the GPU's gross is 100 W x wall, its net ~0 J; the CPU's net ~ its gross
    t_outer = time.perf_counter()
    for m in meters:
        m.begin("t")
    t0 = time.perf_counter()
    _busy(0.4)
    t1 = time.perf_counter()
    readings = {m.name: m.end("t") for m in meters}
    wall, skew = t1 - t0, (time.perf_counter() - t_outer) - (t1 - t0)
    dev = plan.readings(readings)
    idle_w = {d: p.mean_w for d, p in idle.items()}
    # the GPU draws its idle power only: its net is 0 up to the idle estimate's error (2% of 100 W) over the
    # window and the time the window ran outside [t0, t1] (load can stretch that, never the other way)
    assert abs(dev["gpu-0"].net_j(idle_w["gpu-0"], wall)) <= 0.02 * 100.0 * wall + 100.5 * skew + 1e-6
    assert dev["cpu"].net_j(idle_w["cpu"], wall) == pytest.approx(dev["cpu"].energy_j - idle_w["cpu"] * wall)
    net = headline_net_j(dev, ("cpu", "gpu-0"), idle_w, wall)
    assert net == pytest.approx(sum(dev[d].net_j(idle_w[d], wall) for d in ("cpu", "gpu-0")))
    summary = summarize_devices([DeviceTrial(2, 100, wall, dev)], idle, plan.devices)
    assert summary["gpu-0"].gross_per_episode_j == pytest.approx(dev["gpu-0"].energy_j / 2)
    assert summary["gpu-0"].net_per_episode_j == pytest.approx(0.0, abs=0.5)
    assert summary["gpu-0"].idle_w == pytest.approx(100.0, rel=0.02)
    assert summary["gpu-0"].idle_share == pytest.approx(1.0, abs=0.05)
    assert summary["cpu"].to_dict()["label"] == "modelled"
    for m in meters:
        m.close()


def test_attributed_net_subtracts_machine_idle_then_applies_the_share() -> None:
    r = DeviceReading("cpu", "rapl", "measured", True, energy_j=3.0, machine_j=12.0, status="ok")
    # machine 12 J over 2 s, idle 4 W: 4 J net machine-wide; share 0.25 -> 1 J
    assert r.net_j(4.0, 2.0) == pytest.approx(1.0)
    assert r.net_j(None, 2.0) is None
    plain = DeviceReading("gpu-0", "nvml", "measured", False, 20.0, 20.0, "ok")
    assert plain.net_j(100.0, 0.2) == pytest.approx(0.0)


def test_idle_duration_and_interval_helpers() -> None:
    assert idle_duration_s([]) == 0.25
    assert idle_duration_s([0.01, 0.02]) == 0.25
    assert idle_duration_s([2.0, 4.0]) == 3.0
    assert idle_duration_s([60.0]) == 5.0
    mean, low, high = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and low < 2.0 < high
    assert mean_interval([1.0]) == (1.0, None, None)
    with pytest.raises(UserInputError, match="idle duration"):
        measure_idle([], 0, plan_devices([CpuModelMeter()]))


# -- where the policy runs -----------------------------------------------------------------------
def test_cuda_without_a_gpu_is_one_line_error() -> None:
    with pytest.raises(UserInputError) as exc:
        check_device("cuda", ["none"], cuda=False)
    assert "no CUDA GPU" in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(UserInputError, match="valid: cpu, cuda"):
        check_device("tpu", [])


def test_int8_methods_are_refused_on_cuda_naming_what_runs_there() -> None:
    on_cuda = methods_on("cuda")
    assert {"none", "prune", "prune-structured"} <= set(on_cuda)
    assert "ptdq" not in on_cuda
    with pytest.raises(UserInputError) as exc:
        check_device("cuda", ["none", "ptdq"], cuda=True)
    msg = str(exc.value)
    assert "'ptdq' does not run on cuda" in msg and "prune-structured" in msg and "\n" not in msg
    assert check_device("cuda", ["none", "prune"], cuda=True) == "cuda"
    assert check_device("cpu", ["ptdq", "prune+ptdq"]) == "cpu"


# -- machine record ------------------------------------------------------------------------------
def test_hardware_record_through_the_fakes(gpu: FakeGpu, tmp_path: Path) -> None:
    info = hardware_info(build_tree(tmp_path / "powercap"))
    assert info.rapl_domains == ["package-0", "dram"]
    assert len(info.gpus) == 1
    g = info.gpus[0]
    assert (g.name, g.driver, g.power_limit_w, g.energy_counter) == ("NVIDIA Fake GPU", "550.54.15", 700.0, True)
    d = info.to_dict()
    assert d["gpus"][0]["power_limit_w"] == 700.0 and d["cpu_model"] == info.cpu_model


def test_hardware_record_without_gpu_or_rapl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_pynvml([FakeGpu("GPU-a")], init_error=True))
    info = hardware_info(tmp_path / "missing")
    assert info.gpus == [] and "NVML cannot start" in info.nvml_note
    assert info.rapl_domains == [] and "does not exist" in info.rapl_note
    old = make_fake_pynvml([FakeGpu("GPU-old", energy_mj=None, power_limit_mw=None)])
    monkeypatch.setitem(sys.modules, "pynvml", old)
    g = hardware_info(tmp_path / "missing").gpus[0]
    assert g.energy_counter is False and g.power_limit_w is None


# -- emissions -----------------------------------------------------------------------------------
def test_emissions_from_codecarbon_offline_data() -> None:
    fra = carbon_intensity("fra")
    assert fra.country == "FRA" and fra.country_name == "France" and 0 < fra.g_per_kwh < 200
    world = carbon_intensity(None)
    assert world.country == "WORLD" and world.g_per_kwh == 475.0
    # 3.6 J per episode -> 3600 J per 1000 episodes = 1 Wh = 0.001 kWh
    assert grams_per_1000_episodes(3.6, world) == pytest.approx(0.475)
    assert grams_per_1000_episodes(None, world) is None
    assert fra.to_dict()["estimate"] is True
    with pytest.raises(UserInputError, match="no carbon-intensity data for country 'XYZ'"):
        carbon_intensity("XYZ")
    with pytest.raises(UserInputError, match="alpha-3"):
        carbon_intensity("FR")


def test_country_without_intensity_uses_its_mix(monkeypatch: pytest.MonkeyPatch) -> None:
    from paradox_gym.energy import emissions

    mix = {"AAA": {"country_name": "Mixland", "coal_TWh": 1.0, "nuclear_TWh": 1.0, "total_TWh": 2.0}}
    monkeypatch.setattr(emissions, "energy_mix", lambda: mix)
    ci = emissions.carbon_intensity("AAA")
    per = emissions.source_intensity()
    assert ci.g_per_kwh == pytest.approx((per["coal"] + per["nuclear"]) / 2)


# -- honest CodeCarbon comparison ----------------------------------------------------------------
def _cc(cpu: float, *, method: str = "TDP x load (process mode, TDP 100 W)", status: str = "ok",
        gpu: float = 0.0, ram: float = 0.5) -> EnergyReading:
    return EnergyReading("codecarbon", "modelled", cpu + gpu + ram, status,
                         components={"cpu": cpu, "gpu": gpu, "ram": ram},
                         details={"codecarbon_cpu_method": method})


def test_same_model_is_a_consistency_check_and_independent_sources_a_validation() -> None:
    model = EnergyReading("cpu-model", "modelled", 10.0, "ok")
    c = cross_check(model, _cc(10.0))
    assert c.kind == CONSISTENCY_CHECK
    rapl = EnergyReading("rapl", "measured", 2.0, "ok", components={"package-0": 10.0, "machine": 10.0,
                                                                    "process": 2.0})
    assert cross_check(rapl, _cc(10.0, method="RAPL")).kind == CONSISTENCY_CHECK
    assert cross_check(rapl, _cc(10.0)).kind == VALIDATION
    assert cross_check(model, _cc(10.0, method="RAPL")).kind == VALIDATION
    gpu = EnergyReading("nvml", "measured", 5.0, "ok", components={"gpu-0": 5.0})
    assert cross_check(gpu, _cc(1.0, gpu=5.0), part="gpu").kind == CONSISTENCY_CHECK


def test_codecarbon_parts_are_kept_apart_and_short_windows_get_no_percentage() -> None:
    model = EnergyReading("cpu-model", "modelled", 10.0, "ok")
    d = cross_check(model, _cc(9.0, gpu=2.0, ram=1.0)).to_dict()
    assert d["codecarbon_j"] == 9.0  # the CPU part, not CPU + RAM + GPU
    assert (d["codecarbon_cpu_j"], d["codecarbon_ram_j"], d["codecarbon_gpu_j"]) == (9.0, 1.0, 2.0)
    assert d["kind"] == CONSISTENCY_CHECK and d["display"].startswith("+11")
    short = cross_check(model, _cc(9.0, status="too_short"))
    assert short.rel_diff is None and short.below_resolution
    assert short.display == BELOW_RESOLUTION == "n/a (below resolution)"
