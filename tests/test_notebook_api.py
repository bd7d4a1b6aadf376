"""The Python and notebook surface: methods that cannot apply are skipped (``strict`` stops instead), a result as
a pandas DataFrame and as HTML, and the default progress display of ``paradox_gym.evaluate``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from stable_baselines3 import PPO

import paradox_gym
import paradox_gym.pipeline as pipeline
from paradox_gym.cli import main as cli_main
from paradox_gym.errors import MethodNotApplicable
from paradox_gym.report.progress import ProgressBar
from paradox_gym.report.result import FRAME_COLUMNS

SMALL = dict(episodes=1, trials=1, warmup=0, replicates=1, memory=False, codecarbon=False)
FLAGS = ["--episodes", "1", "--trials", "1", "--warmup", "0", "--replicates", "1", "--no-memory",
         "--no-codecarbon", "--no-control"]


@pytest.fixture(scope="module")
def gsde_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("gsde") / "ppo-gsde.zip"
    PPO("MlpPolicy", "Pendulum-v1", use_sde=True, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu",
        policy_kwargs={"net_arch": [16, 16], "log_std_init": -1.0}).learn(64).save(path)
    return path


def test_a_method_that_cannot_apply_is_skipped_and_the_others_measured(gsde_zip: Path, tmp_path: Path,
                                                                       capsys) -> None:
    out = tmp_path / "out"
    status = cli_main(["evaluate", "--env", "Pendulum-v1", "--agent", str(gsde_zip), "--compress",
                       "ptdq,prune-structured", *FLAGS, "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    doc = json.loads((out / "result.json").read_text())
    assert doc["status"] == "complete" and set(doc["comparisons"]) == {"ptdq"}
    assert list(doc["skipped"]) == ["prune-structured"] and "use_sde=True" in doc["skipped"]["prune-structured"]
    assert "Skipped" in printed and "prune-structured: method 'prune-structured' does not support use_sde" in printed


def test_strict_stops_at_a_method_that_cannot_apply(gsde_zip: Path, tmp_path: Path, capsys) -> None:
    settings = paradox_gym.EvalSettings(env_id="Pendulum-v1", agent_path=str(gsde_zip), strict=True,
                                        methods=("ptdq", "prune-structured"), **SMALL)
    events: list = []
    with pytest.raises(MethodNotApplicable, match="use_sde=True"):
        paradox_gym.evaluate(settings, progress=events.append)
    assert not any(e.stage == "trials" for e in events)  # refused before any trial
    status = cli_main(["evaluate", "--env", "Pendulum-v1", "--agent", str(gsde_zip), "--compress",
                       "ptdq,prune-structured", "--strict", *FLAGS, "--out", str(tmp_path / "strict")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and err[-1].startswith("error: method 'prune-structured' does not support use_sde=True")


def test_to_frame_html_and_progress_bar(monkeypatch, capsys) -> None:
    monkeypatch.setattr(pipeline, "attached", lambda: True)  # as in a terminal or a notebook
    settings = paradox_gym.EvalSettings(env_id="CartPole-v1", methods=("ptdq",), **SMALL)
    result = paradox_gym.evaluate(settings)
    err = capsys.readouterr().err
    assert "compressing" in err and "trials" in err  # the stage lines and the bar, on stderr
    frame = result.to_frame()
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert list(frame["config"]) == ["none", "none-copy", "ptdq"]
    doc = result.to_dict()
    ptdq = frame.set_index("config").loc["ptdq"]
    comp = doc["comparisons"]["ptdq"]
    assert ptdq["baseline"] == "none" and ptdq["energy_method"] == doc["energy_method"]
    assert ptdq["energy_per_episode_ratio"] == comp["energy_per_episode"]["ratio"]
    assert ptdq["energy_per_step_ratio_low"] == comp["energy_per_step"]["ratio_low"]
    assert ptdq["return_ratio_high"] == comp["ret"]["ratio_high"]
    assert ptdq["latency_ratio"] == comp["policy_time_per_step"]["ratio"]
    assert ptdq["energy_per_episode_j"] == doc["summaries"]["ptdq"]["energy_per_episode_j"]["mean"]
    assert ptdq["energy_per_step_j"] * ptdq["length_mean"] == pytest.approx(ptdq["energy_per_episode_j"])
    assert ptdq["size_bytes"] < frame.set_index("config").loc["none", "size_bytes"]
    assert ptdq["energy_verdict"] == comp["verdict"]["energy"] and ptdq["return_verdict"] == comp["verdict"]["return"]
    assert math.isnan(frame.set_index("config").loc["none", "energy_per_episode_ratio"])  # the baseline itself
    html = result._repr_html_()
    assert html.startswith("<pre>") and "ptdq" in html and "energy/episode" in html


def test_progress_choice(monkeypatch) -> None:
    chosen: list = []
    monkeypatch.setattr(pipeline, "_evaluate_into", lambda settings, progress: chosen.append(progress))
    settings = paradox_gym.EvalSettings(env_id="CartPole-v1", methods=("ptdq",), **SMALL)
    callback = chosen.append
    for attached, progress in ((True, True), (False, True), (True, False), (True, None), (True, callback)):
        monkeypatch.setattr(pipeline, "attached", lambda attached=attached: attached)
        pipeline.evaluate(settings, progress=progress)
    bar, unseen, silenced, none, given = chosen
    assert isinstance(bar, ProgressBar) and unseen is None and silenced is None and none is None
    assert given == callback
