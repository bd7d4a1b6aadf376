"""The CPU-time model: E = process CPU time x TDP x packages / logical CPUs."""

from __future__ import annotations

import time

import pytest

from paradox_gym._util.cpu import logical_cpus
from paradox_gym.energy.meters.cpu_model import CpuModelMeter
from paradox_gym.energy.meters.tdp import (
    FALLBACK_W_PER_LOGICAL_CPU,
    load_tdp_table,
    match_cpu,
    resolve_tdp,
)


def _busy_python(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


def test_cpu_bound_workload_matches_cpu_time_times_power() -> None:
    meter = CpuModelMeter(cpu_tdp_w=64.0)
    assert meter.availability()[0]
    c0 = time.process_time()
    meter.begin("w")
    _busy_python(0.3)
    r = meter.end("w")
    cpu = time.process_time() - c0
    per_cpu = 64.0 * meter.tdp.packages / logical_cpus()
    assert r.status == "ok" and r.method == "modelled"
    assert r.energy_j == pytest.approx(cpu * per_cpu, rel=0.05)
    assert r.energy_j == pytest.approx(r.details["cpu_time_s"] * per_cpu)
    assert r.components["cpu"] == r.energy_j
    assert r.details["tdp_source"] == "user" and "user" in r.note
    # a single busy thread cannot use more than one CPU's worth
    assert r.details["cpu_time_s"] <= 0.3 * 1.05 + 0.01


def test_sleep_costs_about_nothing_and_is_flagged() -> None:
    meter = CpuModelMeter(cpu_tdp_w=100.0)
    meter.begin("w")
    time.sleep(0.2)
    r = meter.end("w")
    assert r.energy_j is not None and r.energy_j < 0.01 * 100.0 / logical_cpus()
    assert r.status == "too_short" and "CPU time" in r.note


def test_nested_windows_add_up() -> None:
    meter = CpuModelMeter(cpu_tdp_w=10.0)
    meter.begin("trial")
    meter.begin("ep1")
    _busy_python(0.05)
    a = meter.end("ep1")
    meter.begin("ep2")
    _busy_python(0.05)
    b = meter.end("ep2")
    t = meter.end("trial")
    assert t.energy_j >= a.energy_j + b.energy_j
    assert t.energy_j == pytest.approx(a.energy_j + b.energy_j, rel=0.2)


def test_tdp_table_and_matching() -> None:
    table = load_tdp_table()
    assert len(table) > 1000
    name = "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"
    hit = match_cpu(name, table)
    assert hit is not None and table[hit] == 150.0
    assert match_cpu("Totally Unknown Processor 9000", table) is None
    info = resolve_tdp(None, cpuinfo=f"processor : 0\nmodel name : {name}\nphysical id : 0\n"
                                      f"processor : 1\nmodel name : {name}\nphysical id : 1\n")
    assert info.source == "table" and info.tdp_w == 150.0 and info.packages == 2
    assert info.machine_w == 300.0
    unknown = resolve_tdp(None, cpuinfo="model name : Mystery CPU\n")
    assert unknown.source == "fallback"
    assert unknown.machine_w == pytest.approx(FALLBACK_W_PER_LOGICAL_CPU * logical_cpus())
    assert resolve_tdp(42.0, cpuinfo="model name : Mystery CPU\n").source == "user"


def test_fallback_is_recorded_in_reading() -> None:
    meter = CpuModelMeter()
    meter.begin("w")
    _busy_python(0.02)
    r = meter.end("w")
    assert r.details["tdp_source"] in ("table", "fallback")
    assert f"{r.details['tdp_w']:g} W" in r.note
