"""The crossover map: settings, the balanced order, a real replicate of a tiny map, the NVML path through
the fake, the analysis (Holm, A/A, frontier) on constructed records, resume, files, the CLI."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paradox_gym
from paradox_gym.crossover import jobs as crossover_jobs
from paradox_gym.crossover.analysis import COSTS, PAYS, UNRESOLVED, CellRow, analyse, frontier
from paradox_gym.crossover.replicate import TrialRecord, latin_order, measure_batch
from paradox_gym.crossover.run import load_map
from paradox_gym.crossover.settings import CrossoverSettings
from paradox_gym.errors import UserInputError
from paradox_gym.study.jobs import JobOutcome, run_job

TINY = dict(widths=(8, 16), batches=(1, 4), methods=("ptdq",), runtimes=("torch",), env_id="Pendulum-v1",
            replicates=2, rounds=2, trial_s=0.02)


# ---------------------------------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(widths=()), "widths must name at least one value"),
    (dict(widths=(0,)), "widths must be an integer >= 1 and <= 4096"),
    (dict(widths=(64, 64)), "names a value twice"),
    (dict(batches=(1, 100000)), "batches must be an integer >= 1 and <= 4096"),
    (dict(methods=("nope",)), "unknown compression method 'nope'"),
    (dict(methods=("none",)), "every cell's baseline"),
    (dict(methods=("fp16",)), "runs on --device cuda only"),
    (dict(device="cuda", methods=("ptdq",)), "does not run on cuda"),
    (dict(device="cuda", methods=("fp16",), runtimes=("onnxruntime",)), "does not run on --device cuda"),
    (dict(runtimes=("tensorrt",)), "unknown runtime 'tensorrt'"),
    (dict(runtimes=("sb3",), batches=(4,)), "include batch 1"),
    (dict(replicates=1), "replicates must be an integer >= 2"),
    (dict(trial_s=0.0), "trial_s must be a number of seconds"),
    (dict(algo="TRPO"), "unknown algo 'TRPO'"),
])
def test_bad_settings_are_refused_by_name(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        CrossoverSettings(**kwargs)


def test_settings_cells_and_round_trip() -> None:
    s = CrossoverSettings(widths=(256, 64), batches=(4, 1), methods=("ptdq",), runtimes=("torch", "sb3"))
    assert s.widths == (64, 256) and s.batches == (1, 4)
    assert s.cells() == [(64, 1, "torch"), (64, 4, "torch"), (256, 1, "torch"), (256, 4, "torch"),
                         (64, 1, "sb3"), (256, 1, "sb3")]
    assert CrossoverSettings.from_dict(s.to_dict()) == s
    gpu = CrossoverSettings(device="cuda", methods=("fp16", "bf16", "prune-structured"), runtimes=("torch",))
    assert gpu.methods == ("fp16", "bf16", "prune-structured")


def test_latin_order_is_balanced_across_rounds() -> None:
    configs = ["none", "none-copy", "ptdq", "ptsq"]
    orders = [latin_order(configs, 7, 0, 4, k) for k in range(4)]
    for position in range(4):
        assert sorted(o[position] for o in orders) == sorted(configs)
    assert all(sorted(o) == sorted(configs) for o in orders)
    assert latin_order(configs, 7, 1, 4, 0) == orders[0]  # replicate 1 continues the square's rotation


# ---------------------------------------------------------------------------------------------------
# measurement: a real replicate in this process; the NVML path through the fake
# ---------------------------------------------------------------------------------------------------
def test_one_replicate_measures_every_batch_with_equal_work() -> None:
    import torch

    from paradox_gym.crossover.replicate import run_replicate

    s = CrossoverSettings(**TINY)
    lines: list[tuple[str, dict[str, Any]]] = []
    threads = torch.get_num_threads()
    try:
        run_replicate({"settings": s.to_dict(), "width": 8, "runtime": "torch", "replicate": 0, "order_seed": 3},
                      lambda kind, **payload: lines.append((kind, payload)))
    finally:
        torch.set_num_threads(threads)
    meta = [p for k, p in lines if k == "meta"][0]
    # Pendulum: 3 observations -> 8 -> 8 -> 1 action
    assert meta["macs"] == {"none": 3 * 8 + 8 * 8 + 8, "none-copy": 96, "ptdq": 96}
    assert meta["energy_method"] == "modelled" and meta["macs_per_s"] > 0
    trials = [p["trial"] for k, p in lines if k == "trial"]
    assert len(trials) == 2 * 2 * 3  # batches x rounds x configurations
    for batch in (1, 4):
        mine = [t for t in trials if t["batch"] == batch]
        assert len({t["calls"] for t in mine}) == 1
        assert all(t["decisions"] == t["calls"] * batch and t["energy_j"] > 0 for t in mine)
        for round_ in (0, 1):
            assert sorted(t["config"] for t in mine if t["round"] == round_) == ["none", "none-copy", "ptdq"]


class _Bumper:
    """An agent whose every call adds ``mj_per_call`` to a fake GPU's energy counter."""

    def __init__(self, gpu: Any, mj_per_call: int) -> None:
        self.gpu, self.mj = gpu, mj_per_call

    def predict(self, observation: Any, *args: Any, **kwargs: Any) -> tuple[Any, None]:
        self.gpu.energy_mj += self.mj
        return np.zeros(1), None


@pytest.mark.parametrize("watts", [None, 50.0])
def test_gpu_energy_is_nvml_net_of_idle(monkeypatch: pytest.MonkeyPatch, watts: float | None) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from fakes.fake_pynvml import FakeGpu, make_fake_pynvml

    from paradox_gym.crossover.replicate import make_meter, measure_idle_w

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    gpu = FakeGpu("GPU-a", energy_mj=0, watts=watts)
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_pynvml([gpu]))
    meter = make_meter("cuda", None)
    idle_w = measure_idle_w(meter, 0.2)
    assert idle_w == pytest.approx(watts or 0.0, rel=0.05, abs=0.05)
    agents = {"none": _Bumper(gpu, 4), "none-copy": _Bumper(gpu, 4), "fp16": _Bumper(gpu, 2)}
    batches = [np.zeros(3, dtype=np.float32)]
    lines: list[dict[str, Any]] = []
    measure_batch(agents, batches, 1, replicate=0, rounds=1, trial_s=0.02, order_seed=0, meter=meter,
                  idle_w=idle_w, emit=lambda kind, **p: lines.append(p["trial"]))
    meter.close()
    for t in lines:
        per_call_j = 4e-3 if t["config"] != "fp16" else 2e-3
        # net of idle: what the calls added, whatever the constant draw (its share cancels up to clock edges)
        assert t["energy_j"] == pytest.approx(t["calls"] * per_call_j, rel=0.05, abs=(watts or 0) * 0.002)


def test_cast_method_runs_the_core_in_the_cast_dtype() -> None:
    import torch

    from paradox_gym.compression import compress
    from paradox_gym.crossover.synthetic import DeviceAgent, build_model

    model = build_model("Pendulum-v1", "PPO", 8, 2, 0)
    agent = DeviceAgent(compress(model, "none"), "cpu", "bfloat16")
    assert next(agent.core.parameters()).dtype == torch.bfloat16
    action, _ = agent.predict(np.zeros(3, dtype=np.float32))
    assert action.shape == (1,) and np.isfinite(action).all()
    actions, _ = agent.predict(np.zeros((4, 3), dtype=np.float32))
    assert actions.shape == (4, 1)


# ---------------------------------------------------------------------------------------------------
# analysis on constructed records
# ---------------------------------------------------------------------------------------------------
def _ratio(width: int, batch: int) -> float:
    """The constructed map: the method costs twice the float below width 16, half from 16 on."""
    return 2.0 if width < 16 else 0.5


def _fake_record(job: Any, replicates: int = 3, ratio: Any = _ratio) -> dict[str, Any]:
    s = job.settings
    trials = []
    for r in range(replicates):
        noise = 1.0 + 0.01 * (r - 1)
        for batch in s["batches"]:
            for k, config in enumerate(["none", "none-copy", *s["methods"]]):
                base = 1e-6 * job.width * noise
                e = base * (ratio(job.width, batch) if config not in ("none", "none-copy") else
                            (1.0 + 0.002 * (r - 1) if config == "none-copy" else 1.0))
                calls = 10
                trials.append(TrialRecord(r, batch, 0, k, config, calls, calls * batch, e * calls * batch * 2,
                                          e * calls * batch, e * calls * batch, "ok").to_dict())
    metas = [{"replicate": r, "meter": "cpu-model", "energy_method": "modelled", "meter_note": "4 W per busy CPU",
              "macs_per_s": 1e10, "macs": {c: 100 * job.width for c in ("none", "none-copy", *s["methods"])}}
             for r in range(replicates)]
    return {"id": job.id, "identity": job.identity, "width": job.width, "runtime": job.runtime,
            "replicates": metas, "trials": trials}


def _install_fake_runner(monkeypatch: pytest.MonkeyPatch, calls: list[str], interrupt_after: int | None = None,
                         ratio: Any = _ratio) -> None:
    def fake(job: Any, executor: str = "serial") -> JobOutcome:
        if interrupt_after is not None and len(calls) >= interrupt_after:
            return JobOutcome(job.id, "interrupted", {}, 0.0)
        calls.append(job.id)
        return JobOutcome(job.id, "done", _fake_record(job, ratio=ratio), 0.1)

    monkeypatch.setattr(crossover_jobs, "run_crossover_job", fake)


def test_job_kind_dispatch_reaches_the_crossover_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    _install_fake_runner(monkeypatch, calls)
    job = crossover_jobs.CrossoverGrid(CrossoverSettings(**TINY)).jobs()[0]
    assert job.kind == "crossover" and job.describe() == "width 8 torch (ptdq; batches 1, 4)"
    assert run_job(job).status == "done" and calls == [job.id]


def test_a_crossover_job_record_starts_like_every_job_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_crossover_job itself, its replicate processes replaced by constructed ones: the record carries the
    fields every job record starts with (study.jobs.record_base), the CPU and runtime included."""
    from paradox_gym.study.jobs import machine_fingerprint

    job = crossover_jobs.CrossoverGrid(CrossoverSettings(**TINY)).jobs()[0]
    fake = _fake_record(job, replicates=int(job.settings["replicates"]))
    metas = iter(fake["replicates"])
    def replicate(spec: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], None]:
        return dict(next(metas)), [t for t in fake["trials"] if t["replicate"] == spec["replicate"]], None

    monkeypatch.setattr(crossover_jobs, "run_replicate_process", replicate)
    outcome = crossover_jobs.run_crossover_job(job)
    record = outcome.record
    assert outcome.status == "done" and record["schema"] == crossover_jobs.SCHEMA
    assert record["runtime"] == job.runtime and record["width"] == job.width and record["cpu"]
    assert record["machine_fingerprint"] == machine_fingerprint() and record["executor"] == "serial"
    assert len(record["replicates"]) == int(job.settings["replicates"]) and record["trials"] == fake["trials"]


def test_map_from_constructed_records(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []
    _install_fake_runner(monkeypatch, calls)
    settings = CrossoverSettings(**{**TINY, "agents": (("PPO 8x8", 8, 1),)})
    result = paradox_gym.crossover(settings, out=tmp_path / "map")
    assert isinstance(result, paradox_gym.CrossoverResult)
    frame = result.to_frame()
    assert frame.shape[0] == 4 and set(frame["width"]) == {8, 16} and set(frame["batch"]) == {1, 4}
    assert np.isfinite(frame["energy_ratio"]).all()
    by_cell = {(r.width, r.batch): r for r in result.rows}
    assert by_cell[(8, 1)].energy_ratio == pytest.approx(2.0) and by_cell[(8, 1)].verdict == COSTS
    assert by_cell[(16, 4)].energy_ratio == pytest.approx(0.5) and by_cell[(16, 4)].verdict == PAYS
    # Holm over a family of 4: the first interval at 98.75%, none below 95%
    assert max(r.confidence for r in result.rows) == pytest.approx(1 - 0.05 / 4)
    assert all(r.aa_low < 1.0 < r.aa_high or r.aa_ratio is not None for r in result.rows)
    assert by_cell[(8, 1)].floor_s == pytest.approx(800 / 1e10)
    assert {(p.batch, p.width) for p in result.frontier} == {(1, 16), (4, 16)}
    text = "\n".join(result.summary_lines())
    assert "ptdq pays from width 16 at batch 1" in text and "(torch, this CPU)" in text
    assert "costs more in 2 of 4 cells" in text and "Agent PPO 8x8 (width 8, batch 1): ptdq on torch x2" in text
    assert "cost, not return" in text and "modelled" in text
    out = tmp_path / "map"
    for name in ("crossover.parquet", "crossover.csv", "crossover.json", "crossover.png", "summary.txt"):
        assert (out / name).is_file()
    import pandas as pd

    assert pd.read_parquet(out / "crossover.parquet").shape == frame.shape
    saved = load_map(out)
    assert [r.to_dict() for r in saved.rows] == [r.to_dict() for r in result.rows]
    assert saved.failed == result.failed == ()
    doc = json.loads((out / "crossover.json").read_text())
    (out / "crossover.json").write_text(json.dumps({**doc, "failed": ["width 32 torch: boom"]}))
    assert "FAILED: width 32 torch: boom" in load_map(out).summary_lines()  # a saved map keeps its failures
    (out / "crossover.json").write_text(json.dumps({**doc, "failed": "boom"}))
    with pytest.raises(UserInputError, match="failed jobs are not a list"):
        load_map(out)


def test_a_killed_map_resumes_without_redoing_finished_jobs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = CrossoverSettings(**TINY)
    calls: list[str] = []
    _install_fake_runner(monkeypatch, calls, interrupt_after=1)
    with pytest.raises(KeyboardInterrupt):
        paradox_gym.crossover(settings, out=tmp_path)
    assert len(calls) == 1 and (tmp_path / "jobs" / f"{calls[0]}.json").is_file()
    first = calls[0]
    calls.clear()
    _install_fake_runner(monkeypatch, calls)
    result = paradox_gym.crossover(settings, out=tmp_path)
    assert len(calls) == 1 and calls[0] != first
    assert result.run["jobs_run"] == 1 and result.run["jobs_done_before"] == 1 and len(result.rows) == 4
    calls.clear()
    again = paradox_gym.crossover(CrossoverSettings(**{**TINY, "agents": (("x", 8, 1),)}), out=tmp_path)
    assert calls == [] and again.run["jobs_run"] == 0  # agent marks do not change a job


def test_other_settings_in_the_same_directory_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _install_fake_runner(monkeypatch, [])
    paradox_gym.crossover(CrossoverSettings(**TINY), out=tmp_path)
    with pytest.raises(UserInputError, match="other shared settings"):
        paradox_gym.crossover(CrossoverSettings(**{**TINY, "rounds": 3}), out=tmp_path)


def _row(width: int, batch: int, verdict: str) -> CellRow:
    ratio = {PAYS: 0.5, COSTS: 2.0, UNRESOLVED: 1.0}[verdict]
    fields = {name: None for name in CellRow.__dataclass_fields__}
    fields.update(width=width, depth=2, batch=batch, runtime="torch", method="ptdq", device="cpu", verdict=verdict,
                  energy_ratio=ratio, ratio_low=ratio * 0.9, ratio_high=ratio * 1.1, replicates=5, trials=2,
                  short_trials=0,
                  energy_method="modelled", meter="cpu-model")
    return CellRow(**fields)


def test_frontier_is_the_smallest_width_from_which_every_larger_one_pays() -> None:
    rows = ([_row(w, 1, v) for w, v in ((64, COSTS), (256, UNRESOLVED), (1024, PAYS), (4096, PAYS))]
            + [_row(w, 8, v) for w, v in ((64, PAYS), (256, COSTS), (1024, PAYS), (4096, PAYS))]
            + [_row(w, 64, v) for w, v in ((64, PAYS), (256, PAYS), (1024, PAYS), (4096, UNRESOLVED))]
            + [_row(w, 256, PAYS) for w in (64, 256, 1024, 4096)])
    points = {p.batch: p for p in frontier(rows)}
    assert points[1].width == 1024 and points[1].isolated == () and points[1].energy_ratio == 0.5
    assert points[8].width == 1024 and points[8].isolated == (64,)
    assert points[64].width is None and points[64].isolated == (64, 256, 1024)
    assert points[256].width == 64


def test_analysis_needs_replicates_for_an_interval() -> None:
    job = crossover_jobs.CrossoverGrid(CrossoverSettings(**TINY)).jobs()[0]
    rows, controls = analyse([_fake_record(job, replicates=1)])
    assert all(r.ratio_low is None and r.verdict == UNRESOLVED for r in rows)
    assert controls == [] or all(c.mde_median_pct is None for c in controls)


# ---------------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------------
def _cli(argv: list[str]) -> int:
    from paradox_gym.cli import main

    return main(["crossover", *argv])


@pytest.mark.parametrize("argv, message", [
    (["--widths", "64,x", "--out", "d"], "argument --widths: 'x' is not an integer"),
    (["--methods", "ptdq,foo", "--out", "d"], "unknown compression method 'foo'"),
    (["--device", "cuda", "--methods", "ptdq", "--out", "d"], "does not run on cuda"),
    (["--agent", "x=64y", "--out", "d"], "is not LABEL=WIDTH[@BATCH]"),
    (["--agent", "nowhere.zip", "--out", "d"], "nowhere.zip"),
    ([], "--out DIR is required"),
    (["--executor", "process", "--out", "d"], "its jobs must run alone"),
    (["--compare", "nowhere-a", "nowhere-b"], "no saved crossover map at 'nowhere-a'"),
])
def test_bad_command_lines_are_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


def test_agent_marks_from_a_label_and_from_a_zoo_agent() -> None:
    from paradox_gym.crossover.marks import agent_mark

    assert agent_mark("PPO Hopper=64@8") == ("PPO Hopper", 64, 8)
    assert agent_mark("tiny=16") == ("tiny", 16, 1)
    label, width, batch = agent_mark("PPO:CartPole-v1@4")
    assert label == "PPO CartPole-v1 (64x64)" and (width, batch) == (64, 4)


def test_cuda_without_a_gpu_is_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from paradox_gym.energy.placement import cuda_available

    if cuda_available():
        pytest.skip("this machine has a GPU")
    assert _cli(["--device", "cuda", "--out", str(tmp_path / "m")]) == 2
    assert "no CUDA GPU is available here" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_compare_overlays_two_saved_maps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _install_fake_runner(monkeypatch, [])
    paradox_gym.crossover(CrossoverSettings(**TINY), out=tmp_path / "a")
    _install_fake_runner(monkeypatch, [], ratio=lambda w, b: 0.5)
    paradox_gym.crossover(CrossoverSettings(**{**TINY, "seed": 1}), out=tmp_path / "b")
    assert _cli(["--compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "4 shared cells, 2 with different verdicts" in out and "the same machine" in out
    assert "frontier ptdq on torch at batch 1: A from width 16, B from width 8" in out
    assert (tmp_path / "c" / "compare.png").is_file() and (tmp_path / "c" / "compare.csv").is_file()


@pytest.mark.slow
def test_a_real_tiny_map_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--widths", "8,16", "--batches", "1,4", "--methods", "ptdq", "--runtimes", "torch", "--env",
            "Pendulum-v1", "--replicates", "2", "--rounds", "1", "--trial-s", "0.02", "--quiet", "--out",
            str(tmp_path)]
    assert _cli(argv) == 0
    out = capsys.readouterr().out
    assert "(torch, this CPU)" in out and "A/A control (torch)" in out
    saved = load_map(tmp_path)
    assert len(saved.rows) == 4 and all(math.isfinite(r.energy_ratio) for r in saved.rows)
    assert saved.machine["fingerprint"] and saved.run["jobs_run"] == 2
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "jobs").glob("*.json"))]
    assert len(records) == 2  # the fields every job record starts with (study.jobs.record_base)
    assert all(r["runtime"] == "torch" and r["cpu"] and r["machine_fingerprint"] == saved.machine["fingerprint"]
               for r in records)
    assert _cli(argv) == 0
    assert load_map(tmp_path).run["jobs_run"] == 0
