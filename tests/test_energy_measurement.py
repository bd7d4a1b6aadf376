"""Dataclasses, phase split and the cross-check's arithmetic and bad inputs."""

from __future__ import annotations

import math

import pytest

from paradox_gym.energy import (
    CrossCheck,
    EnergyReading,
    PhaseTimes,
    WindowMeasurement,
    cross_check,
    split_by_cpu_share,
)
from paradox_gym.errors import UserInputError, UserTypeError


def _cc(cpu: float, method: str = "TDP x load (process mode, TDP 100.0 W)") -> EnergyReading:
    return EnergyReading("codecarbon", "modelled", cpu + 1.0, "ok", {"cpu": cpu, "gpu": 0.0, "ram": 1.0},
                         details={"codecarbon_cpu_method": method})


def test_reading_invariants() -> None:
    with pytest.raises(ValueError):
        EnergyReading("x", "guessed", 1.0, "ok")
    with pytest.raises(ValueError):
        EnergyReading("x", "measured", 1.0, "broken")
    with pytest.raises(ValueError):
        EnergyReading("x", "measured", 0.0, "failed")  # a failed figure is never 0 J
    with pytest.raises(ValueError):
        EnergyReading("x", "measured", None, "ok")
    r = EnergyReading.failed("rapl", "measured", "gone")
    assert r.energy_j is None and not r.has_figure


def test_phase_split_sums_to_total() -> None:
    ph = PhaseTimes(1.0, 3.0, 1.0, 1.0, 0.5, 0.0)
    shares = split_by_cpu_share(8.0, ph)
    assert shares == {"policy": 2.0, "env": 6.0, "overhead": pytest.approx(0.0)}
    assert sum(split_by_cpu_share(1.234, PhaseTimes(0.1, 0.3, 0.2, 0.1, 0.05, 0.07)).values()) == \
        pytest.approx(1.234)
    # no CPU recorded: wall shares
    assert split_by_cpu_share(4.0, PhaseTimes(1.0, 0.0, 1.0, 0.0, 2.0, 0.0))["overhead"] == 2.0


def test_window_to_dict_flattens() -> None:
    r = EnergyReading("cpu-model", "modelled", 2.0, "ok", {"cpu": 2.0}, "n", {"tdp_w": 85.0})
    w = WindowMeasurement("episode", 0, 10, 1.0, 1.0, {"cpu-model": r}, PhaseTimes(),
                          {"cpu-model": {"policy": 0.5, "env": 1.0, "overhead": 0.5}})
    d = w.to_dict()
    assert d["cpu-model.energy_j"] == 2.0 and d["cpu-model.cpu_j"] == 2.0
    assert d["cpu-model.tdp_w"] == 85.0 and d["cpu-model.env_j"] == 1.0 and d["steps"] == 10


def test_cross_check_within_and_outside_tolerance() -> None:
    ours = EnergyReading("cpu-model", "modelled", 104.0, "ok", {"cpu": 104.0})
    c = cross_check(ours, _cc(100.0))
    assert isinstance(c, CrossCheck)
    assert c.rel_diff == pytest.approx(0.04) and c.within_tolerance and c.warning == ""
    assert c.methods["ours"] == "modelled (cpu-model)" and "TDP x load" in c.methods["codecarbon"]
    far = cross_check(EnergyReading("cpu-model", "modelled", 150.0, "ok"), _cc(100.0))
    assert not far.within_tolerance and "+50.0%" in far.warning
    assert cross_check(EnergyReading("cpu-model", "modelled", 150.0, "ok"), _cc(100.0),
                       tolerance=0.6).within_tolerance


def test_cross_check_rapl_uses_machine_total_and_flags_kind_mismatch() -> None:
    rapl = EnergyReading("rapl", "measured", 30.0, "ok",
                         {"package-0": 100.0, "machine": 100.0, "process": 30.0})
    c = cross_check(rapl, _cc(100.0, method="RAPL"))
    assert c.our_j == 100.0 and c.within_tolerance and c.warning == ""
    c2 = cross_check(rapl, _cc(100.0))
    assert "not the same quantity" in c2.warning
    # DRAM is not part of CodeCarbon's RAPL CPU energy: only the package zones are compared
    with_dram = EnergyReading("rapl", "measured", 33.0, "ok",
                              {"package-0": 60.0, "dram-0": 8.0, "package-1": 40.0, "dram-1": 2.0,
                               "machine": 110.0, "process": 33.0})
    c3 = cross_check(with_dram, _cc(100.0, method="RAPL"))
    assert c3.our_j == 100.0 and c3.rel_diff == 0.0 and c3.warning == ""


def test_cross_check_missing_figures_and_gpu() -> None:
    failed = EnergyReading.failed("cpu-model", "modelled", "oops")
    c = cross_check(failed, _cc(1.0))
    assert c.rel_diff is None and not c.within_tolerance and "oops" in c.warning
    gpu = EnergyReading("nvml", "measured", 0.0, "ok", {"gpu-0": 0.0})
    g = cross_check(gpu, _cc(5.0), part="gpu")
    assert g.rel_diff == 0.0 and g.within_tolerance
    zero_vs_some = cross_check(EnergyReading("nvml", "measured", 1.0, "ok"), _cc(5.0), part="gpu")
    assert math.isinf(zero_vs_some.rel_diff)


def test_cross_check_bad_inputs() -> None:
    ours = EnergyReading("cpu-model", "modelled", 1.0, "ok")
    with pytest.raises(UserTypeError):
        cross_check(1.0, _cc(1.0))  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match="unknown part 'ram'"):
        cross_check(ours, _cc(1.0), part="ram")
    with pytest.raises(UserInputError, match="tolerance"):
        cross_check(ours, _cc(1.0), tolerance=-0.1)
    with pytest.raises(UserInputError, match="codecarbon"):
        cross_check(ours, ours)
