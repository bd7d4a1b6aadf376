"""Energy by device as typed records: a fixed run (a CPU measured as this process's share, a GPU measured
whole; idle windows at 5 W and 100 W) gives checked gross, net, idle-share and CO2e figures; the records
cross the replicate's stream and the JSON edge as the same plain data, key for key; the report's section
reads them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paradox_gym.energy.devices import HEADLINE, HEADLINE_NET
from paradox_gym.energy.emissions import carbon_intensity
from paradox_gym.experiment.device_energy import (
    EMISSIONS_NOTE,
    DeviceSetup,
    IdleFigure,
    IdleRecord,
    MeasuredDevice,
    apply_idle,
    energy_section,
)
from paradox_gym.experiment.records import TrialRecord
import paradox_gym.report.format as fmt
from paradox_gym.report.text import format_devices

SETUP = DeviceSetup({"cpu": MeasuredDevice("rapl", "measured", True),
                     "gpu-0": MeasuredDevice("nvml", "measured", False)}, ("cpu", "gpu-0"), "measured", "cpu")
# idle: the CPU package draws 5 W, the GPU board 100 W (device-wide figures over 1 s and 2 s)
WINDOWS = (
    IdleRecord(0, 0, 0, 1.0, {"cpu": IdleFigure(1.0, 5.0, "ok", 5.0), "gpu-0": IdleFigure(100.0, 100.0, "ok", 100.0)}),
    IdleRecord(0, 1, 1, 2.0, {"cpu": IdleFigure(2.0, 10.0, "ok", 5.0), "gpu-0": IdleFigure(200.0, 200.0, "ok", 100.0)}),
)


def _trial(config: str, trial: int, cpu_j: float, cpu_machine_j: float, gpu_j: float) -> TrialRecord:
    """Two episodes of 10 steps in 2 s; the headline is the sum of both devices."""
    return TrialRecord(config=config, trial=trial, seeds=[0, 1], returns=[1.0, 1.0], lengths=[10, 10], wall_s=2.0,
                       cpu_s=2.0, energy_j={HEADLINE: cpu_j + gpu_j}, energy_method={HEADLINE: "measured"},
                       energy_status={HEADLINE: "ok"}, phase_energy_j={}, phase_wall_s={}, phase_cpu_s={},
                       policy_ns=np.zeros(0, dtype=np.int64),
                       device_energy_j={"cpu": cpu_j, "gpu-0": gpu_j},
                       device_machine_j={"cpu": cpu_machine_j, "gpu-0": gpu_j})


@pytest.fixture(scope="module")
def trials() -> dict[str, list[TrialRecord]]:
    # cpu net = (machine - 5 W x 2 s) x share: (20 - 10) x 8/20 = 4 J and (30 - 10) x 12/30 = 8 J;
    # gpu net = its figure - 100 W x 2 s: 30 J and 50 J
    plain = {"none": [_trial("none", 0, 8.0, 20.0, 230.0), _trial("none", 1, 12.0, 30.0, 250.0)]}
    return apply_idle(plain, WINDOWS, SETUP)


def test_gross_net_idle_share_and_emissions_are_the_checked_values(trials: dict[str, list[TrialRecord]]) -> None:
    assert [t.energy_j[HEADLINE_NET] for t in trials["none"]] == pytest.approx([34.0, 58.0])
    section = energy_section(trials, WINDOWS, SETUP, country="FRA")
    assert section.headline.scope == ("cpu", "gpu-0") and section.headline.basis == "gross"
    assert section.devices["gpu-0"].idle is not None and section.devices["gpu-0"].idle.mean_w == pytest.approx(100.0)
    assert section.devices["cpu"].idle is not None and section.devices["cpu"].idle.windows == 2
    assert section.devices["cpu"].device.label == "measured, attributed"
    cpu, gpu = section.by_device["none"]["cpu"], section.by_device["none"]["gpu-0"]
    assert cpu.gross_per_episode_j == pytest.approx(5.0) and cpu.net_per_episode_j == pytest.approx(3.0)
    assert cpu.idle_share == pytest.approx(1 - 3.0 / 5.0)
    assert gpu.gross_per_episode_j == pytest.approx(120.0) and gpu.net_per_episode_j == pytest.approx(20.0)
    em = section.emissions.per_config["none"]
    g_per_kwh = carbon_intensity("FRA").g_per_kwh
    assert em.gross_g_per_1000_episodes == pytest.approx(1000 * 125.0 / 3.6e6 * g_per_kwh)
    assert em.net_g_per_1000_episodes == pytest.approx(1000 * 23.0 / 3.6e6 * g_per_kwh)


def test_the_json_keeps_its_keys_in_order(trials: dict[str, list[TrialRecord]]) -> None:
    section = energy_section(trials, WINDOWS, SETUP, country="FRA")
    doc = json.loads(json.dumps(section.to_dict()))
    assert list(doc) == ["headline", "devices", "idle_windows", "emissions"]
    assert doc["headline"] == {"scope": ["cpu", "gpu-0"], "method": "measured", "basis": "gross",
                               "meter_key": "headline", "net_meter_key": "headline-net", "policy_device": "cpu"}
    assert list(doc["headline"]) == ["scope", "method", "basis", "meter_key", "net_meter_key", "policy_device"]
    assert list(doc["devices"]["cpu"]) == ["meter", "method", "attributed", "label", "idle_w", "idle_w_low",
                                           "idle_w_high", "idle_windows"]
    assert doc["devices"]["cpu"]["label"] == "measured, attributed" and doc["devices"]["cpu"]["idle_windows"] == 2
    assert doc["idle_windows"][1] == {"config": "idle", "replicate": 0, "after_trial": 1, "index": 1, "wall_s": 2.0,
                                      "devices": {"cpu": {"energy_j": 2.0, "machine_j": 10.0, "status": "ok",
                                                          "power_w": 5.0},
                                                  "gpu-0": {"energy_j": 200.0, "machine_j": 200.0, "status": "ok",
                                                            "power_w": 100.0}}}
    assert list(doc["emissions"]) == ["country", "country_name", "g_per_kwh", "source", "estimate", "data",
                                      "per_config", "note"]
    assert doc["emissions"]["note"] == EMISSIONS_NOTE
    assert list(doc["emissions"]["per_config"]["none"]) == ["gross_g_per_1000_episodes", "net_g_per_1000_episodes"]
    by_device = section.by_device_dict()["none"]["gpu-0"]
    assert by_device["device"] == "gpu-0" and by_device["label"] == "measured"
    assert by_device["net_per_episode_j"] == pytest.approx(20.0)


def test_setup_and_idle_windows_cross_the_stream_unchanged() -> None:
    assert DeviceSetup.from_dict(json.loads(json.dumps(SETUP.to_dict()))) == SETUP
    for window in WINDOWS:
        assert IdleRecord.from_dict(json.loads(json.dumps(window.to_dict()))) == window
    assert SETUP.to_dict()["devices"]["gpu-0"] == {"meter": "nvml", "method": "measured", "attributed": False,
                                                   "label": "measured"}


def test_the_report_section_reads_the_records(trials: dict[str, list[TrialRecord]]) -> None:
    section = energy_section(trials, WINDOWS, SETUP, country="FRA")
    text = format_devices(section)
    lines = text.splitlines()
    assert lines[0].startswith("Energy by device (headline = cpu + gpu-0, gross; ") and "policy on cpu" in lines[0]
    assert any(line.split()[:4] == ["cpu", "rapl", "measured,", "attributed"] and "(2 windows)" in line
               for line in lines)
    gpu_row = next(line for line in lines if line.startswith("none") and "gpu-0" in line)
    assert gpu_row.split()[2] == "120" and gpu_row.endswith("83%")  # idle share 1 - 20/120
    grams = section.emissions.per_config["none"].gross_g_per_1000_episodes
    assert "France" in text and f"none {fmt.number(grams)} g" in text
    assert format_devices(energy_section(trials, WINDOWS, SETUP), configs=["ptdq"]).count("\nnone ") == 0
