"""rl-zoo3 run folders everywhere: ``paradox_gym.load_agent`` and sweep grids read a run folder as
``evaluate`` reads it (env, algorithm, env_kwargs, normalisation), and name the algorithm they find."""

from __future__ import annotations

import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from sb3_contrib import QRDQN
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

import paradox_gym
from paradox_gym.cli import main as cli_main
from paradox_gym.errors import AgentNotFoundError, UserInputError
from paradox_gym.sb3.vecnormalize import NormalizeObservation
from paradox_gym.study.grid import parse_grid

ENV = "CartPole-v1"
SETTINGS = {"methods": ["ptdq"], "episodes": 1, "trials": 1, "warmup": 0, "replicates": 1, "memory": False,
            "codecarbon": False, "control": False}


def _dump_ordered(path: Path, data: dict[str, Any]) -> None:
    """YAML as rl-zoo3 writes it (yaml.dump of an OrderedDict: the python/object/apply tag)."""
    path.write_text(yaml.dump(OrderedDict(sorted(data.items()))))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny QR-DQN trained with VecNormalize, saved as rl-zoo3 saves a run: logs/qrdqn/CartPole-v1_1/."""
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("logs") / "qrdqn" / f"{ENV}_1"
    params = folder / ENV
    params.mkdir(parents=True)
    venv = VecNormalize(make_vec_env(ENV, n_envs=1, seed=0), norm_reward=False)
    model = QRDQN("MlpPolicy", venv, learning_starts=32, batch_size=16, buffer_size=500, seed=0, device="cpu",
                  policy_kwargs={"net_arch": [16, 16], "n_quantiles": 7})
    model.learn(96)
    model.save(folder / f"{ENV}.zip")
    venv.save(str(params / "vecnormalize.pkl"))
    _dump_ordered(params / "config.yml", {"normalize": "{'norm_obs': True, 'norm_reward': False}",
                                          "policy": "MlpPolicy", "n_timesteps": 96})
    _dump_ordered(params / "args.yml", {"algo": "qrdqn", "env": ENV, "env_kwargs": {}, "seed": 0})
    return folder


def test_load_agent_reads_a_run_folder_with_its_normaliser(run: Path) -> None:
    model = paradox_gym.load_agent(run)
    assert type(model).__name__ == "QRDQN" and model.agent_file.algo_source == "args.yml"
    assert model.agent_file.vecnormalize_path == run / ENV / "vecnormalize.pkl"
    stats = VecNormalize.load(str(run / ENV / "vecnormalize.pkl"), make_vec_env(ENV, n_envs=1))
    obs = np.array([0.1, -0.2, 0.03, 0.4], dtype=np.float32)
    np.testing.assert_allclose(model.obs_normalizer(obs), stats.normalize_obs(obs[None])[0], rtol=1e-6)
    env = NormalizeObservation(paradox_gym.envs.make_env(ENV), model.obs_normalizer)
    observation, _ = env.reset(seed=0)
    assert model.predict(observation, deterministic=True)[0] in (0, 1)
    env.close()
    assert type(paradox_gym.load_agent(str(run / f"{ENV}.zip"))).__name__ == "QRDQN"  # the zip inside the run


def test_load_agent_reads_a_bare_zip_and_names_its_algorithm(run: Path, tmp_path: Path) -> None:
    bare = tmp_path / "mine.zip"
    shutil.copy(run / f"{ENV}.zip", bare)
    model = paradox_gym.load_agent(bare, env_id=ENV, no_vecnormalize=True)  # off-policy: nothing says normalised
    assert type(model).__name__ == "QRDQN" and model.agent_file.algo_source == "zip" and model.obs_normalizer is None
    with pytest.raises(UserInputError, match="env_id is needed"):
        paradox_gym.load_agent(bare)
    with pytest.raises(AgentNotFoundError, match="does not exist"):
        paradox_gym.load_agent(tmp_path / "missing.zip", env_id=ENV)
    zoo = paradox_gym.load_agent(ENV)  # the env-id form still loads the zoo agent
    assert type(zoo).__name__ == "PPO" and zoo.obs_normalizer is None


def test_grid_reads_folders_and_zips_and_names_the_algorithm(run: Path, tmp_path: Path) -> None:
    bare = tmp_path / "mine.zip"
    shutil.copy(run / f"{ENV}.zip", bare)
    (folder,) = parse_grid({"agents": [{"folder": str(run)}], **SETTINGS}).agents
    (as_path,) = parse_grid({"agents": [{"path": str(run)}], **SETTINGS}).agents
    grid = parse_grid({"agents": [{"env": ENV, "path": "mine.zip"}], **SETTINGS}, base_dir=tmp_path)
    (zip_agent,) = grid.agents
    assert folder == as_path
    assert folder.algo == "QRDQN" and folder.env_id == ENV and folder.path == str(run / f"{ENV}.zip")
    assert folder.vecnormalize_sha256 is not None  # the run's statistics are part of the job's identity
    assert zip_agent.algo == "QRDQN" and zip_agent.label == "QRDQN CartPole-v1 (mine.zip)"
    assert all("?" not in job.describe() for job in grid.jobs())
    settings = parse_grid({"agents": [{"folder": str(run)}], **SETTINGS}).jobs()[0].eval_settings().resolve()
    assert settings.vecnormalize_path == str(run / ENV / "vecnormalize.pkl") and settings.algo == "QRDQN"


@pytest.mark.parametrize("entry, message", [
    ({"path": "/etc/passwd"}, "is neither an SB3 agent zip nor an rl-zoo3 run folder"),
    ({"folder": "/etc/passwd"}, "is not a directory"),
    ({"path": "/etc"}, "nor an rl-zoo3 run folder"),
    ({"path": "nowhere.zip", "env": ENV}, "does not exist"),
    ({"folder": "x", "path": "y"}, "names both a path and a folder"),
])
def test_grid_refuses_what_is_not_an_agent_when_read(tmp_path: Path, entry: dict, message: str) -> None:
    with pytest.raises((UserInputError, AgentNotFoundError), match=message):
        parse_grid({"agents": [entry], **SETTINGS}, base_dir=tmp_path)


def test_sweep_cli_refuses_a_text_file_agent_with_exit_2_and_measures_nothing(tmp_path: Path, capsys) -> None:
    grid = tmp_path / "grid.yml"
    grid.write_text("agents: [{path: /etc/passwd, env: CartPole-v1, algo: PPO}]\nmethods: [ptdq]\n")
    assert cli_main(["sweep", "--grid", str(grid), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "/etc/passwd" in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_a_run_folder_env_naming_a_module_is_not_imported(run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    _dump_ordered(copy / ENV / "args.yml", {"algo": "qrdqn", "env": f"antigravity:{ENV}"})
    with pytest.raises(UserInputError, match="never allowed to import code"):
        paradox_gym.load_agent(copy)
    assert "antigravity" not in __import__("sys").modules


def test_sweep_of_a_qrdqn_run_folder_completes_labelled_qrdqn(run: Path, tmp_path: Path) -> None:
    import pandas as pd

    summary = paradox_gym.sweep({"agents": [{"folder": str(run)}], **SETTINGS}, tmp_path / "study")
    assert summary.failed == 0 and summary.done == 1
    frame = paradox_gym.load_study(tmp_path / "study")
    assert list(frame.columns) == list(pd.read_parquet(tmp_path / "study" / "results.parquet").columns)
    assert list(frame["algo"]) == ["QRDQN"] and frame["agent"][0].startswith("QRDQN CartPole-v1")
    text = (tmp_path / "study" / "study.md").read_text()
    assert "QRDQN CartPole-v1" in text and "? CartPole-v1" not in text
