"""Energy by device as typed records: a fixed run (a CPU measured as this process's share, a GPU measured
whole; idle windows at 5 W and 100 W) gives checked gross, net, idle-share and CO2e figures; the records
cross the replicate's stream and the JSON edge as the same plain data, key for key; the report's section
reads them. A trial's CodeCarbon comparison likewise: typed in the record, the same keys in the same order
at the edge, read by the summary and the report through its fields."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from paradox_gym.analysis.summary import summarize_config
from paradox_gym.energy import EnergyReading, cross_check
from paradox_gym.energy.crosscheck import CONSISTENCY_CHECK, TrialCrossCheck
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
from paradox_gym.report.rows import trial_dict
from paradox_gym.report.text import format_codecarbon_parts, format_devices

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


# -- a trial's CodeCarbon comparison ----------------------------------------------------------------
#: The keys of a trial's comparison in the results JSON and the replicate stream, in this order.
CROSSCHECK_KEYS = ["kind", "display", "below_resolution", "our_source", "codecarbon_source", "codecarbon_cpu_j",
                   "codecarbon_ram_j", "codecarbon_gpu_j", "part", "our_j", "codecarbon_j", "rel_diff",
                   "within_tolerance", "tolerance", "warning", "our_method", "codecarbon_method"]
MODEL = EnergyReading("cpu-model", "modelled", 10.0, "ok")


def _codecarbon(cpu_j: float, *, gpu_j: float | None = 2.0, status: str = "ok") -> EnergyReading:
    """CodeCarbon's reading: its CPU part ``cpu_j``, RAM 1 J and (unless None) GPU ``gpu_j``."""
    parts = {"cpu": cpu_j, "ram": 1.0, **({} if gpu_j is None else {"gpu": gpu_j})}
    return EnergyReading("codecarbon", "modelled", sum(parts.values()), status, components=parts,
                         details={"codecarbon_cpu_method": "TDP x load (process mode, TDP 100 W)"})


def _stream(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _result(trials: dict[str, list[TrialRecord]]) -> Any:
    """What the report's sections read of a result: its run's trials."""
    return SimpleNamespace(run=SimpleNamespace(trials=trials))


def test_a_trials_comparison_crosses_the_stream_and_the_json_key_for_key() -> None:
    cc = _codecarbon(9.0, gpu_j=4.0)
    cpu = cross_check(MODEL, cc)
    gpu = cross_check(EnergyReading("nvml", "measured", 5.0, "ok", components={"gpu-0": 5.0}), cc, part="gpu")
    check = TrialCrossCheck.of(cpu, {"cpu": cpu, "gpu": gpu})
    doc = check.to_dict()
    assert list(doc) == [*CROSSCHECK_KEYS, "parts"] and list(doc["parts"]) == ["cpu", "gpu"]
    assert list(doc["parts"]["gpu"]) == CROSSCHECK_KEYS and doc["parts"]["cpu"] == cpu.to_dict()
    assert {k: v for k, v in doc.items() if k != "parts"} == {
        "kind": CONSISTENCY_CHECK, "display": "+11.1%", "below_resolution": False, "our_source": "TDP model",
        "codecarbon_source": "TDP model", "codecarbon_cpu_j": 9.0, "codecarbon_ram_j": 1.0, "codecarbon_gpu_j": 4.0,
        "part": "cpu", "our_j": 10.0, "codecarbon_j": 9.0, "rel_diff": pytest.approx(1 / 9),
        "within_tolerance": False, "tolerance": 0.1,
        "warning": "cpu-model (10 J) and CodeCarbon (9 J) differ by +11.1% (tolerance 10%)",
        "our_method": "modelled (cpu-model)", "codecarbon_method": "modelled (TDP x load (process mode, TDP 100 W))"}
    assert (doc["parts"]["gpu"]["our_j"], doc["parts"]["gpu"]["codecarbon_j"]) == (5.0, 4.0)
    assert doc["parts"]["gpu"]["display"] == "+25.0%"
    assert TrialCrossCheck.from_dict(_stream(doc)) == check
    # a CodeCarbon part it gave no figure for is no key, and comes back as None
    no_gpu = TrialCrossCheck.of(cross_check(MODEL, _codecarbon(9.0, gpu_j=None)))
    assert "codecarbon_gpu_j" not in no_gpu.to_dict() and "parts" not in no_gpu.to_dict()
    assert TrialCrossCheck.from_dict(_stream(no_gpu.to_dict())).codecarbon_gpu_j is None

    record = dataclasses.replace(_trial("none", 0, 8.0, 20.0, 230.0), crosscheck=check)
    streamed = TrialRecord.from_dict(_stream(record.to_dict()))
    assert streamed.crosscheck == check
    assert json.dumps(streamed.to_dict()) == json.dumps(record.to_dict())
    assert json.dumps(trial_dict(streamed)["crosscheck"]) == json.dumps(doc)
    plain = _trial("none", 0, 8.0, 20.0, 230.0)
    assert TrialRecord.from_dict(_stream(plain.to_dict())).crosscheck is None
    assert trial_dict(plain)["crosscheck"] is None


def test_a_malformed_comparison_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="must be a mapping, got list"):
        TrialCrossCheck.from_dict([1.0])  # type: ignore[arg-type]
    doc = TrialCrossCheck.of(cross_check(MODEL, _codecarbon(9.0))).to_dict()
    del doc["our_j"]
    with pytest.raises(KeyError, match="our_j"):
        TrialCrossCheck.from_dict(doc)


def test_the_summary_and_the_codecarbon_parts_read_the_typed_comparison() -> None:
    checks = [TrialCrossCheck.of(cross_check(MODEL, _codecarbon(8.0))),  # 10 J vs 8 J: +25 %
              TrialCrossCheck.of(cross_check(MODEL, _codecarbon(12.0, status="too_short")))]  # no percentage
    assert checks[0].compared_j == (10.0, 8.0) and checks[1].compared_j is None
    trials = [dataclasses.replace(_trial("none", t, 8.0, 20.0, 230.0), crosscheck=c) for t, c in enumerate(checks)]
    summary = summarize_config("none", trials, meter=HEADLINE, crosscheck_meter="codecarbon")
    assert summary.crosscheck_kind == CONSISTENCY_CHECK and not summary.crosscheck_below_resolution
    assert summary.crosscheck_rel_diff == pytest.approx(0.25)
    assert summary.crosscheck_energy_per_episode_j == pytest.approx(8.0 / 2)  # the resolved trial's 2 episodes
    short = summarize_config("none", trials[1:], meter=HEADLINE, crosscheck_meter="codecarbon")
    assert short.crosscheck_below_resolution and short.crosscheck_rel_diff is None

    # CodeCarbon's parts over all 4 episodes: cpu (8 + 12) / 4, ram 2 / 4, gpu 4 / 4 J per episode
    text = format_codecarbon_parts(_result({"none": trials}))
    row = ["none", *(fmt.quantity(v, unit="J") for v in (5.0, 0.5, 1.0))]
    assert text is not None and fmt.table(["config", "cpu", "ram", "gpu"], [row]) in text
    no_gpu = [dataclasses.replace(t, crosscheck=TrialCrossCheck.of(cross_check(MODEL, _codecarbon(8.0, gpu_j=None))))
              for t in trials]
    text = format_codecarbon_parts(_result({"none": no_gpu}))
    row = ["none", *(fmt.quantity(v, unit="J") for v in (4.0, 0.5)), fmt.NA]
    assert text is not None and fmt.table(["config", "cpu", "ram", "gpu"], [row]) in text
    plain = {"none": [_trial("none", 0, 8.0, 20.0, 230.0)]}
    assert format_codecarbon_parts(_result(plain)) is None
