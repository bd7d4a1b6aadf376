"""scripts/evaluate.py end to end (subprocess, tiny budgets) and its bad-input handling."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from paradox_gym.cli import evaluate_main

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "evaluate.py"
TOP_KEYS = {
    "schema", "status", "config", "seeds", "software", "machine", "meters", "footprints", "baseline_footprint",
    "recipes", "memory", "trials_completed", "trials", "evaluation_s", "elapsed_s", "energy_meter",
    "energy_method", "crosscheck_meter", "summaries", "comparisons", "verdicts", "decomposition", "checks",
    "notes", "timings_s", "files", "control", "multiplicity", "replicates", "reference_comparisons", "energy",
    "error", "write_errors", "design", "baseline_reference", "provisional", "skipped", "background",
}
CLAIMS = [
    "size reduction did not bring energy reduction",
    "energy fell only where return fell",
    "compression adds inference overhead",
]


def _train_tiny(env_id: str, path: Path) -> Path:
    """A real (barely trained) PPO agent: enough for the evaluation pipeline, which does not need skill."""
    import gymnasium
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", gymnasium.make(env_id), n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu",
                policy_kwargs={"net_arch": [32, 32]})
    model.learn(64)
    model.save(path)
    return path


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("agents")
    return {
        "CartPole-v1": _train_tiny("CartPole-v1", d / "ppo-cartpole.zip"),
        "paradox_gym/MockDRL-v0": _train_tiny("paradox_gym/MockDRL-v0", d / "ppo-mock.zip"),
    }


def _run(args: list[str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, check=False)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _check_decomposition(result: dict[str, Any]) -> None:
    """The effects sum to the change (log scale), the measured fixed costs are >= 0, intervals are ordered."""
    for cfg, d in result["decomposition"].items():
        assert d is not None, cfg
        total = sum(e["log_change"] for e in d["effects"].values())
        assert total == pytest.approx(d["total"]["log_change"], rel=1e-9, abs=1e-12)
        assert d["f0_j"] >= 0 and d["f1_j"] >= 0 and d["fixed_cost_measured"]
        assert d["mechanism"] in ("per-step", "episode-length", "fixed-cost", "mixed", "none")
        for effect in d["effects"].values():
            if effect["low"] is not None:
                assert effect["low"] <= effect["log_change"] <= effect["high"]


def test_cartpole_printed_report_files_and_memory(agents: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _run(["--env", "CartPole-v1", "--agent", str(agents["CartPole-v1"]), "--compress", "ptdq",
                 "--episodes", "2", "--trials", "2", "--replicates", "2", "--warmup", "1", "--out", str(out)])
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    # the first screen: one row per configuration, the summary sentence, the resolution, where the rest is
    screen = text.split("files written to")[0].splitlines()
    assert len(screen) <= 20, text
    assert "energy/episode [CI]" in text and "return kept" in text  # same seeds, same greedy actions
    assert "ptdq used " in text and " the modelled energy per episode of none" in text
    assert "resolution: changes below " in text and f"details: {out / 'report.txt'}" in text
    details = (out / "report.txt").read_text()
    assert details.startswith(text.split("details:")[0].rstrip().split("\n")[0])
    assert "ptdq vs none: size -" in details and "none-copy vs none: " in details
    assert "A/A control (none-copy): minimum detectable effect" in details
    for claim in CLAIMS:
        assert claim in details
    assert "Traceback" not in proc.stderr

    for name in ("report.txt", "episodes.csv", "summary.csv", "result.json", "ratios.png", "size_vs_energy.png",
                 "return_vs_energy.png", "length_vs_energy.png", "energy_phases.png"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".*.tmp"))  # no temporary file left behind

    episodes = _read_csv(out / "episodes.csv")
    assert len(episodes) == 3 * 2 * 2 * 2  # configs (baseline, control, ptdq) x replicates x trials x episodes
    for col in ("config", "trial", "episode", "seed", "return", "length", "wall_s", "cpu-model.energy_j",
                "cpu-model.method", "cpu-model.status", "policy_wall_s", "env_wall_s", "overhead_wall_s",
                "cpu-model.policy_j", "cpu-model.env_j", "cpu-model.overhead_j"):
        assert col in episodes[0], col
    # common random numbers: the same seeds for every configuration
    seeds = {c: sorted(int(r["seed"]) for r in episodes if r["config"] == c) for c in ("none", "none-copy", "ptdq")}
    assert seeds["none"] == seeds["none-copy"] == seeds["ptdq"] == list(range(8))  # each replicate its own seeds
    for row in episodes:
        assert float(row["cpu-model.energy_j"]) > 0
        assert int(row["length"]) > 0

    summary = _read_csv(out / "summary.csv")
    assert [r["config"] for r in summary] == ["none", "none-copy", "ptdq"]
    assert "energy_per_step_j.mean" in summary[0] and "vs_baseline.verdict" in summary[1]

    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "complete"
    assert set(result["memory"]) == {"none", "none-copy", "ptdq"}
    assert result["control"]["config"] == "none-copy" and isinstance(result["control"]["noisy"], bool)
    assert result["comparisons"]["ptdq"]["verdict"]["energy"] in ("lower", "higher", "equivalent",
                                                                  "no detectable change", "unresolved")
    assert set(result["control"]["mde"]) == {"per_episode", "per_step", "confidence", "power"}
    assert result["comparisons"]["ptdq"]["verdict"]["return"] == "kept"
    for mem in result["memory"].values():
        assert mem["status"] == "ok"
        assert mem["peak_rss_bytes"] >= mem["rss_after_load_bytes"] > 50e6  # a Python + torch process
    # CodeCarbon is the cross-check over the same trial windows (its figure may be missing: never 0 J)
    assert result["crosscheck_meter"] == "codecarbon"
    for trial in result["trials"]["ptdq"]:
        assert trial["crosscheck"]["our_j"] == pytest.approx(trial["energy_j"]["cpu-model"])
        assert trial["energy_status"]["codecarbon"] in ("ok", "too_short"), trial["energy_note"]["codecarbon"]
        assert trial["energy_j"]["codecarbon"] is not None
        assert trial["crosscheck"]["codecarbon_j"] is not None
    fp = result["footprints"]
    assert fp["ptdq"]["serialized_bytes"] < fp["none"]["serialized_bytes"]
    # a 64-step PPO agent against rl-zoo3's trained one (500): weak, and the result says so
    ref = result["baseline_reference"]
    assert ref["return"] == 500.0 and "rl-zoo3" in ref["source"]
    assert ref["ratio"] == pytest.approx(result["summaries"]["none"]["ret"]["mean"] / 500.0)
    assert ref["ratio"] < 0.5 and "may not carry over to trained agents" in ref["warning"]
    assert len(result["design"]["orders"]) == 2 and result["design"]["position_effect"]["units"] == 2
    _check_decomposition(result)


def test_bench_verdicts_reads_the_result_it_documents(agents: dict[str, Path]) -> None:
    """scripts/bench_verdicts.py end to end at the smallest budget: one A/A run and one repeat, each a real
    evaluate process; it reads the control's MDE and each comparison's verdict from the JSON result."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_verdicts.py"), "--aa-runs", "1", "--repeats", "1",
         "--compress", "ptdq", "--", "--agent", str(agents["CartPole-v1"]), "--episodes", "2", "--trials", "2",
         "--replicates", "2", "--warmup", "1"],
        capture_output=True, text=True, timeout=480, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^A/A  0 \(seed 0\): control/baseline energy per episode [\d.]+ \[[\d.]+, [\d.]+\]  "
                     r"MDE [\d.]+%  (ok|NOISY)$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^repeat 0: none-copy: energy .*; ptdq: energy \S.*, return (kept|lower|higher|not shown kept), "
                     r"saving (True|False), mechanism ", proc.stdout, re.M), proc.stdout
    assert re.search(r"^A/A false-positive rate: [01]/1 = .*; median MDE [\d.]+% per episode$", proc.stdout, re.M)
    assert "opposite directional verdicts between repeats: none" in proc.stdout


def test_mock_env_json_schema(agents: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "mock"
    proc = _run(["--env", "paradox_gym/MockDRL-v0", "--agent", str(agents["paradox_gym/MockDRL-v0"]),
                 "--compress", "ptdq,prune", "--amount", "0.3", "--episodes", "2", "--trials", "2",
                 "--replicates", "1", "--no-control",
                 "--warmup", "0", "--no-memory", "--no-codecarbon", "--json", "--out", str(out)])
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # nothing but JSON on stdout
    assert set(result) == TOP_KEYS
    assert result["schema"] == "paradox_gym.evaluation/1"
    timings = result["timings_s"]  # the replicates' wall time holds their start-up and their own time
    assert list(timings) == ["load_s", "compress_s", "memory_s", "replicates_s", "evaluation_s", "analysis_s", "total_s"]
    assert timings["evaluation_s"] < timings["replicates_s"] < timings["total_s"]
    assert result["config"]["methods"] == ["none", "ptdq", "prune"]
    assert result["config"]["env_id"] == "paradox_gym/MockDRL-v0"
    assert result["machine"]["gpu"] is None and result["machine"]["torch_threads"] == 1
    assert {"python", "torch", "stable-baselines3", "gymnasium", "numpy", "codecarbon", "paradox_gym"} <= set(
        result["software"])
    # the headline is the sum over the devices measured: here the CPU alone, by the CPU model
    assert result["energy_meter"] == "headline" and result["energy_method"] == "modelled"
    assert result["energy"]["headline"]["scope"] == ["cpu"]
    assert result["energy"]["devices"]["cpu"]["meter"] == "cpu-model"
    assert result["memory"] is None
    # the other processes' CPU time during the one replicate: read from the kernel's counters, never negative
    background = result["background"]
    assert [b["replicate"] for b in background["replicates"]] == [0]
    window = background["replicates"][0]
    assert window["own_cpu_s"] > 0.5 and window["wall_s"] > 0 and window["others_cpu_s"] >= 0
    assert background["others_cpus_mean"] == pytest.approx(window["others_cpu_s"] / window["wall_s"])
    assert set(result["summaries"]) == {"none", "ptdq", "prune"}
    assert set(result["verdicts"]) == {"ptdq", "prune"}
    assert [c["claim"] for c in result["checks"]] == CLAIMS
    assert all(c["status"] in ("holds", "does not hold", "inconclusive") for c in result["checks"])
    s = result["summaries"]["none"]
    for key in ("ret", "length", "energy_per_episode_j", "energy_per_step_j"):
        assert set(s[key]) >= {"mean", "low", "high", "n"}
    assert s["ret"]["n"] == 2
    assert result["seeds"]["trials"]["ptdq"] == {"0.0": [0, 1], "0.1": [2, 3]}  # "<replicate>.<trial>"
    design = result["design"]  # the orders played, drawn from a recorded order seed
    assert isinstance(design["order_seed"], int) and len(design["orders"]) == 1 and len(design["orders"][0]) == 2
    for k, order in enumerate(design["orders"][0]):
        assert sorted(order) == ["none", "prune", "ptdq"]
        assert [next(t["position"] for t in result["trials"][c] if t["trial"] == k) for c in order] == [0, 1, 2]
    assert design["rounds_played"] == 2 and sum(design["first_counts"].values()) == 2
    assert design["position_effect"]["word"] == "unresolved"  # one replicate: no interval
    assert result["baseline_reference"] is None  # no reference return for the mock environment
    assert result == json.loads((out / "result.json").read_text())
    _check_decomposition(result)
    # the paired comparison uses the same seeds: per-trial returns line up with episodes.csv
    episodes = _read_csv(out / "episodes.csv")
    assert len(episodes) == 3 * 2 * 2


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_writes_whole_trials(agents: dict[str, Path], tmp_path: Path, signum: int,
                                              status: int) -> None:
    """Ctrl-C (SIGINT) and SIGTERM alike: the trial in progress is dropped, every whole trial is written."""
    out = tmp_path / "interrupted"
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--env", "paradox_gym/MockDRL-v0", "--agent",
             str(agents["paradox_gym/MockDRL-v0"]), "--episodes", "3", "--trials", "500", "--warmup", "0",
             "--replicates", "1", "--no-control",
             "--no-memory", "--no-codecarbon", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
        )
        try:
            # wait for the progress bar (stderr) to show at least two finished trials, then press Ctrl-C
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                if re.search(r"\b([2-9]|\d\d+)/1000\b", err_path.read_text(encoding="utf-8")):
                    break
                time.sleep(0.2)
            assert proc.poll() is None, err_path.read_text(encoding="utf-8")
            proc.send_signal(signum)
            stdout, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    stderr = err_path.read_text(encoding="utf-8")
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "interrupted"
    done = result["trials_completed"]
    assert done["none"] >= 1
    episodes = _read_csv(out / "episodes.csv")
    # only whole trials: every (config, trial) has all its episodes
    counts: dict[tuple[str, str], int] = {}
    for row in episodes:
        counts[(row["config"], row["trial"])] = counts.get((row["config"], row["trial"]), 0) + 1
    assert counts and set(counts.values()) == {3}
    assert len(counts) == done["none"] + done["ptdq"]


# ---------------------------------------------------------------------------------------------------
# bad input: one line "error: ..." on stderr, exit status 2, no traceback
# ---------------------------------------------------------------------------------------------------
def _bad(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    code = evaluate_main(args)
    captured = capsys.readouterr()
    assert code == 2, captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in captured.err
    assert captured.out == ""
    return lines[0]


def test_bad_env_suggests_close_matches(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    msg = _bad(capsys, ["--env", "CartPol-v1", "--out", str(tmp_path)])
    assert "CartPole-v1" in msg


def test_bad_algo_and_method_list_valid_choices(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "PPO" in _bad(capsys, ["--algo", "XYZ", "--out", str(tmp_path)])
    msg = _bad(capsys, ["--compress", "ptdq,zip", "--out", str(tmp_path)])
    assert "'zip'" in msg and "prune-structured" in msg
    assert "DQN" in _bad(capsys, ["--env", "Pendulum-v1", "--algo", "DQN", "--out", str(tmp_path)])


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--episodes", "0"], "--episodes"),
        (["--trials", "0"], "--trials"),
        (["--amount", "1.5"], "--amount"),
        (["--warmup", "-1"], "--warmup"),
        (["--threads", "0"], "--threads"),
        (["--cpu-tdp", "-5"], "--cpu-tdp"),
        (["--meters", "cpu-model,joulemeter"], "joulemeter"),
        (["--episodes", "ten"], "--episodes"),
        (["--no-such-option"], "unrecognized"),
    ],
)
def test_bad_numbers_and_options(capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str],
                                 needle: str) -> None:
    assert needle in _bad(capsys, [*args, "--out", str(tmp_path)])


def test_unwritable_out_is_refused_up_front(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    msg = _bad(capsys, ["--out", str(blocker / "sub")])
    assert "--out" in msg and "writable" in msg


def test_missing_agent_for_pair_says_how_to_train(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARADOX_GYM_AGENTS", str(tmp_path / "empty-zoo"))
    msg = _bad(capsys, ["--env", "Acrobot-v1", "--algo", "A2C", "--no-memory", "--out", str(tmp_path / "o")])
    assert "paradox-gym train --algo A2C --env Acrobot-v1" in msg


def test_train_missing_trains_the_zoo_agent_then_evaluates(tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    (zoo / "hyperparams").mkdir(parents=True)
    (zoo / "hyperparams" / "a2c.yml").write_text(
        "Acrobot-v1:\n  n_envs: 1\n  n_timesteps: 64\n  policy: MlpPolicy\n"
        "  policy_kwargs:\n    net_arch: [16, 16]\n"
    )
    args = ["--env", "Acrobot-v1", "--algo", "A2C", "--episodes", "1", "--trials", "1", "--warmup", "0",
            "--replicates", "1",
            "--no-memory", "--no-codecarbon", "--json"]
    env = {**os.environ, "PARADOX_GYM_AGENTS": str(zoo)}
    run = lambda extra: subprocess.run(  # noqa: E731
        [sys.executable, str(SCRIPT), *args, *extra], capture_output=True, text=True, timeout=240, cwd=ROOT,
        env=env, check=False)
    missing = run(["--out", str(tmp_path / "o1")])
    assert missing.returncode == 2 and "--train-missing" in missing.stderr
    trained = run(["--train-missing", "--out", str(tmp_path / "o2")])
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["config"]["algo"] == "A2C"
    manifest = json.loads((zoo / "manifest.json").read_text())
    assert manifest["agents"]["a2c-acrobot-v1.zip"]["steps"] == 64
    assert (zoo / "a2c-acrobot-v1.zip").is_file()


def test_bad_agent_files(capsys: pytest.CaptureFixture[str], tmp_path: Path, agents: dict[str, Path]) -> None:
    out = ["--no-memory", "--out", str(tmp_path / "o")]
    assert "does not exist" in _bad(capsys, ["--agent", str(tmp_path / "nope.zip"), *out])
    text = tmp_path / "notzip.zip"
    text.write_text("hello")
    _bad(capsys, ["--agent", str(text), *out])
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(agents["CartPole-v1"].read_bytes()[:300])
    _bad(capsys, ["--agent", str(corrupt), *out])
    # a PPO zip declared as DQN, and a CartPole agent for the mock env (other spaces)
    _bad(capsys, ["--agent", str(agents["CartPole-v1"]), "--algo", "A2C", *out])
    _bad(capsys, ["--env", "paradox_gym/MockDRL-v0", "--agent", str(agents["CartPole-v1"]), *out])
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as zf:
        zf.writestr("readme.txt", "no agent here")
    _bad(capsys, ["--agent", str(tmp_path / "empty.zip"), *out])


def test_subprocess_error_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = _run(["--env", "NoSuchEnv-v9", "--out", str(tmp_path)])
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error: ")
    assert proc.stdout == ""


def test_run_cli_guard() -> None:
    from paradox_gym._util.cli import run_cli
    from paradox_gym.errors import UserInputError

    def bad() -> int:
        raise UserInputError("bad value 'x'; valid: a, b")

    def interrupted() -> int:
        raise KeyboardInterrupt

    assert run_cli(bad) == 2
    assert run_cli(interrupted) == 130
    assert run_cli(lambda: None) == 0
    with pytest.raises(RuntimeError):
        run_cli(lambda: (_ for _ in ()).throw(RuntimeError("a bug propagates")))
    assert os.path.exists(SCRIPT)


# ---------------------------------------------------------------------------------------------------
# the printed report and the files, on synthetic trial records (fast)
# ---------------------------------------------------------------------------------------------------
def _synthetic_analysis(ret: float, configs: tuple[str, ...]) -> Any:
    import numpy as np

    from paradox_gym import analysis as an
    from paradox_gym.experiment.records import TrialRecord

    def trial(cfg: str, t: int, scale: float) -> TrialRecord:
        steps, energy = 4 * 200, 0.8 * scale * (1 + 0.01 * t)
        return TrialRecord(
            config=cfg, trial=t, seeds=[4 * t + i for i in range(4)], returns=[ret * (1 + 0.001 * t)] * 4,
            lengths=[200] * 4, wall_s=1.0, cpu_s=1.0, energy_j={"cpu-model": energy},
            energy_method={"cpu-model": "modelled"}, energy_status={"cpu-model": "ok"},
            phase_energy_j={"cpu-model": {"policy": 0.8 * energy, "env": 0.15 * energy, "overhead": 0.05 * energy}},
            phase_wall_s={"policy": 0.8, "env": 0.15, "overhead": 0.05},
            phase_cpu_s={"policy": 0.8, "env": 0.15, "overhead": 0.05}, policy_ns=np.full(steps, 123456),
        )

    trials = {cfg: [trial(cfg, t, 1.0 + 0.3 * i) for t in range(5)] for i, cfg in enumerate(configs)}
    from paradox_gym.compression import Footprint
    from paradox_gym.experiment.records import MemoryProbe

    memory = {cfg: MemoryProbe(status="ok", peak_rss_bytes=330_000_000, uss_delta_bytes=1_000_000, episodes=3)
              for cfg in configs}
    footprints = {cfg: Footprint(parameters=4610, nonzero_parameters=4000, serialized_bytes=21000 - 2000 * i,
                                 macs=4500) for i, cfg in enumerate(configs)}
    return an.analyse(trials, meter="cpu-model", crosscheck_meter="codecarbon", footprints=footprints,
                      memory=memory)


def test_details_table_fits_a_terminal_and_labels_every_energy_column() -> None:
    from paradox_gym.report.text import format_table

    configs = ("none", "ptdq", "ptsq", "prune", "prune-structured", "mixed")
    text = format_table(_synthetic_analysis(-1234.5678, configs))
    widths = [len(line.rstrip()) for line in text.splitlines()]
    assert max(widths) <= 140, max(widths)
    for header in ("return [95% CI]", "length", "model bytes", "params (non-zero)", "infer us p50/p95",
                   "env us/step", "peak RSS", "USS delta", "method", "E/episode [95% CI]", "E/step [95% CI]",
                   "J/return", "CodeCarbon diff"):
        assert header in text, header
    # J per unit of a negative return is not a number to print
    energy_block = text.split("Energy (cpu-model")[1]
    rows = [line.split() for line in energy_block.splitlines()[3:]]
    assert len(rows) == len(configs) and all("n/a" in row and "modelled" in row for row in rows)
    assert "+976.6 KiB" in text  # USS delta of the memory probe


GOLDEN = Path(__file__).parent / "golden"


def _golden(name: str, text: str) -> None:
    """``text`` must equal tests/golden/<name>; PARADOX_GYM_UPDATE_GOLDEN=1 rewrites the file."""
    path = GOLDEN / name
    if os.environ.get("PARADOX_GYM_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def _synthetic_result(analysis: Any) -> Any:
    from types import SimpleNamespace

    from paradox_gym.compression import Footprint
    from paradox_gym.experiment.settings import EvalSettings

    settings = EvalSettings(env_id="CartPole-v1", algo="PPO", methods=("ptdq", "prune"), replicates=5)
    run = SimpleNamespace(interrupted=False, error=None, devices={}, trials={})
    return SimpleNamespace(settings=settings, run=run, analysis=analysis, baseline_reference=None,
                           baseline_footprint=Footprint(parameters=4610, nonzero_parameters=4610,
                                                        serialized_bytes=21000, macs=4500),
                           to_dict=lambda: {})


def test_report_golden() -> None:
    """The first screen and the details of a fixed synthetic analysis, character for character."""
    from paradox_gym.report.text import format_report, format_summary

    result = _synthetic_result(_synthetic_analysis(480.0, ("none", "ptdq", "prune")))
    summary = format_summary(result, details_hint="details: report.txt (or --details)")
    assert len(summary.splitlines()) <= 20
    _golden("report_summary.txt", summary + "\n")
    _golden("report_details.txt", format_report(result, details=True) + "\n")


def test_written_files_are_readable_like_any_user_file(tmp_path: Path) -> None:
    from paradox_gym import report

    path = report.write_json_atomic(tmp_path / "r.json", {"a": 1.0, "b": float("nan")})
    mask = os.umask(0)
    os.umask(mask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~mask)
    assert json.loads(path.read_text()) == {"a": 1.0, "b": None}
    assert not list(tmp_path.glob(".*.tmp"))


def test_plots_have_one_legend_entry_per_configuration(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from paradox_gym import report

    analysis = _synthetic_analysis(480.0, ("none", "ptdq", "prune"))
    written = report.write_plots(tmp_path, analysis, title="PPO on CartPole-v1")
    assert set(written) == {"ratios_png", "size_vs_energy_png", "return_vs_energy_png", "length_vs_energy_png",
                            "energy_phases_png"}
    for path in written.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_meter_list_needs_an_energy_meter_and_agent_must_be_a_file(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = ["--no-memory", "--out", str(tmp_path / "o")]
    msg = _bad(capsys, ["--meters", "codecarbon", *out])
    assert "cross-check" in msg and "cpu-model" in msg
    assert "is not a file" in _bad(capsys, ["--agent", str(tmp_path), *out])


def test_discrete_tabular_env_and_method_alias(tmp_path: Path) -> None:
    """FrozenLake indexes tables with the action (SB3 gives a 0-d array); `prune+ptdq` means `mixed`."""
    import gymnasium
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", gymnasium.make("FrozenLake-v1"), n_steps=64, batch_size=32, n_epochs=1, seed=0,
                device="cpu", policy_kwargs={"net_arch": [16]})
    model.learn(64)
    model.save(tmp_path / "fl.zip")
    proc = _run(["--env", "FrozenLake-v1", "--agent", str(tmp_path / "fl.zip"), "--compress", "prune+ptdq",
                 "--episodes", "2", "--trials", "2", "--warmup", "0", "--no-memory", "--no-codecarbon",
                 "--replicates", "1", "--no-control", "--json", "--out", str(tmp_path / "out")])
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["config"]["methods"] == ["none", "mixed"]
    assert result["summaries"]["mixed"]["episodes"] == 4
    assert any("only 2 trials" in note for note in result["notes"])
    for summary in result["summaries"].values():
        assert summary["energy_per_episode_j"]["low"] >= 0.0
