"""VecNormalize statistics and rl-zoo3 run folders: read without executing anything, applied to the
baseline exactly as SB3 applies them, and found where rl-zoo3 writes them."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecNormalize

from paradox_gym.envs.rollout import play_episode
from paradox_gym.errors import AgentNotFoundError, UnsafeAgentError, UserInputError
from paradox_gym.experiment.agents import build_agents, load_model, make_eval_env
from paradox_gym.experiment.settings import EvalSettings
from paradox_gym.sb3.rlzoo import load_zoo_yaml, resolve_agent
from paradox_gym.sb3.vecnormalize import load_vecnormalize, trained_with_normalization

ENV = "Pendulum-v1"
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
SEEDS = (3, 4)



def _resolved(**values: object) -> EvalSettings:
    """Settings as ``evaluate`` uses them: checked, then resolved (run folder, normalisation statistics)."""
    return EvalSettings(**values).resolve()  # type: ignore[arg-type]

def _dump_ordered(path: Path, data: dict[str, Any]) -> None:
    """Write YAML the way rl-zoo3 does (yaml.dump of an OrderedDict -> the python/object/apply tag)."""
    path.write_text(yaml.dump(OrderedDict(sorted(data.items()))))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny PPO trained with VecNormalize and saved as rl-zoo3 saves a run: logs/ppo/Pendulum-v1_1/."""
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("logs") / "ppo" / f"{ENV}_1"
    params = run / ENV
    params.mkdir(parents=True)
    venv = VecNormalize(make_vec_env(ENV, n_envs=2, seed=0), gamma=0.9)
    model = PPO("MlpPolicy", venv, n_steps=256, batch_size=64, gamma=0.9, seed=0, device="cpu",
                policy_kwargs={"net_arch": [32, 32]})
    model.learn(2048)
    model.save(run / f"{ENV}.zip")
    model.save(run / "best_model.zip")
    venv.save(str(params / "vecnormalize.pkl"))
    _dump_ordered(params / "config.yml", {"normalize": True, "n_envs": 2, "policy": "MlpPolicy",
                                          "n_timesteps": 2048.0, "gamma": 0.9})
    _dump_ordered(params / "args.yml", {"algo": "ppo", "env": ENV, "env_kwargs": {"g": 9.81}, "seed": 0})
    return run


def _sb3_returns(run: Path) -> list[float]:
    """SB3's own evaluation: PPO.load + VecNormalize.load (unpickling: trusted test files) + evaluate_policy."""
    model = PPO.load(run / f"{ENV}.zip", device="cpu")
    returns = []
    for seed in SEEDS:
        # the run's env_kwargs (args.yml), as rl-zoo3's enjoy applies them; Monitor (under VecNormalize) sums
        # the raw rewards
        venv = VecNormalize.load(str(run / ENV / "vecnormalize.pkl"),
                                 make_vec_env(ENV, n_envs=1, env_kwargs={"g": 9.81}))
        venv.training = False
        venv.norm_reward = False
        venv.seed(seed)
        episode_returns, _ = evaluate_policy(model, venv, n_eval_episodes=1, deterministic=True,
                                             return_episode_rewards=True)
        returns.append(float(episode_returns[0]))
    return returns


def test_rlzoo_run_folder_baseline_matches_sb3_evaluate_policy(run_dir: Path) -> None:
    settings = _resolved(agent_path=str(run_dir), methods=(), memory=False, codecarbon=False)
    assert settings.env_id == ENV  # read from args.yml: no env given
    assert settings.agent_path == str(run_dir / f"{ENV}.zip")
    assert settings.vecnormalize_path == str(run_dir / ENV / "vecnormalize.pkl")
    assert settings.env_kwargs == {"g": 9.81}
    model = load_model(settings.env_id, settings.algo, settings.agent_path,
                       vecnormalize_path=settings.vecnormalize_path)
    baseline = build_agents(model, ["none"], amount=0.5, env_id=settings.env_id, seed=0)["none"]
    env = make_eval_env(settings.replace(algo="PPO"))
    ours = [play_episode(baseline.predict, env, seed).episode_return for seed in SEEDS]
    env.close()
    np.testing.assert_allclose(ours, _sb3_returns(run_dir), rtol=1e-6)
    # without the statistics the agent sees raw observations and plays differently
    raw = make_eval_env(settings.replace(algo="PPO", no_vecnormalize=True, vecnormalize_path=None))
    assert play_episode(baseline.predict, raw, SEEDS[0]).episode_return != pytest.approx(ours[0], rel=1e-6)
    raw.close()


def test_evaluate_baseline_matches_sb3_evaluate_policy(run_dir: Path) -> None:
    """The whole pipeline (replicate process, EnergyWrapper, the one rollout loop) on the run folder."""
    import paradox_gym

    settings = _resolved(agent_path=str(run_dir), methods=(), memory=False, codecarbon=False, control=False,
                            replicates=1, trials=1, episodes=len(SEEDS), warmup=0, seed=SEEDS[0],
                            meters=("cpu-model",))
    result = paradox_gym.evaluate(settings)
    episodes = sorted((e for e in result.run.episodes if e.config == "none"), key=lambda e: e.seed)
    assert [e.seed for e in episodes] == list(SEEDS)
    np.testing.assert_allclose([e.ret for e in episodes], _sb3_returns(run_dir), rtol=1e-6)


def test_vecnormalize_statistics_equal_sb3s(run_dir: Path) -> None:
    path = run_dir / ENV / "vecnormalize.pkl"
    normalizer = load_vecnormalize(path)
    with open(path, "rb") as fh:
        reference = pickle.load(fh)  # trusted test file
    obs = np.random.default_rng(0).normal(size=(50, 3)) * 5
    np.testing.assert_array_equal(normalizer(obs), reference.normalize_obs(obs))
    assert normalizer(obs).dtype == np.float32
    assert normalizer.clip_obs == reference.clip_obs and normalizer.epsilon == reference.epsilon


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _planted(run: Path, where: str, marker: Path) -> Path:
    """A copy of the run whose vecnormalize.pkl runs ``touch marker`` when unpickled."""
    import shutil

    copy = run.parent / f"planted-{where}"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(run, copy)
    target = copy / ENV / "vecnormalize.pkl"
    if where == "top":
        target.write_bytes(pickle.dumps(_Payload(marker)))
    else:  # hidden inside genuine-looking statistics
        stats = VecNormalize.load(str(run / ENV / "vecnormalize.pkl"), make_vec_env(ENV, n_envs=1))
        stats.obs_rms.mean = _Payload(marker)
        stats.save(str(target))
    return copy


@pytest.mark.parametrize("where", ["top", "nested"])
def test_planted_payload_does_not_run(run_dir: Path, tmp_path: Path, where: str) -> None:
    marker = tmp_path / "pwned"
    copy = _planted(run_dir, where, marker)
    with pytest.raises(UnsafeAgentError, match=r"refusing to unpickle global (posix|os)\.system") as info:
        load_vecnormalize(copy / ENV / "vecnormalize.pkl")
    assert "\n" not in str(info.value)
    with pytest.raises(UnsafeAgentError):  # the evaluation refuses it too (statistics read when loading)
        load_model(ENV, None, str(copy / f"{ENV}.zip"), vecnormalize_path=str(copy / ENV / "vecnormalize.pkl"))
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "evaluate.py"), "--agent", str(copy), "--compress", "none",
         "--episodes", "1", "--trials", "1", "--replicates", "1", "--no-memory", "--no-codecarbon",
         "--out", str(tmp_path / "out"), "--quiet"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    b"cbuiltins\neval\n(S'1'\ntR.",
    b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04exec\x93.",
])
def test_other_globals_are_refused(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "vecnormalize.pkl"
    path.write_bytes(payload)
    with pytest.raises(UnsafeAgentError, match="refusing to unpickle global builtins"):
        load_vecnormalize(path)


def test_not_vecnormalize_statistics_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "vecnormalize.pkl"
    path.write_bytes(pickle.dumps({"mean": np.zeros(3)}))
    with pytest.raises(UserInputError, match="not a VecNormalize statistics file"):
        load_vecnormalize(path)
    path.write_bytes(b"not a pickle")
    with pytest.raises(UserInputError, match="not a VecNormalize statistics file"):
        load_vecnormalize(path)


def test_statistics_of_the_wrong_shape_are_refused(run_dir: Path) -> None:
    import gymnasium

    with pytest.raises(UserInputError, match="do not fit"):
        load_vecnormalize(run_dir / ENV / "vecnormalize.pkl", gymnasium.spaces.Box(-1, 1, (4,)))


def test_missing_statistics_are_refused_naming_the_file(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    lone = tmp_path / "agent.zip"
    shutil.copy(run_dir / f"{ENV}.zip", lone)
    assert trained_with_normalization(lone)
    with pytest.raises(UserInputError, match=r"trained with VecNormalize .*_last_original_obs.* no .*agent\.vecnormalize\.pkl"):
        _resolved(agent_path=str(lone), env_id=ENV)
    settings = _resolved(agent_path=str(lone), env_id=ENV, no_vecnormalize=True)
    assert settings.vecnormalize_path is None
    shutil.copy(run_dir / ENV / "vecnormalize.pkl", tmp_path / "agent.vecnormalize.pkl")  # beside the zip
    assert _resolved(agent_path=str(lone), env_id=ENV).vecnormalize_path == str(tmp_path / "agent.vecnormalize.pkl")
    with pytest.raises(UserInputError, match="contradict"):
        _resolved(agent_path=str(lone), env_id=ENV, no_vecnormalize=True,
                     vecnormalize_path=str(tmp_path / "agent.vecnormalize.pkl"))


def test_cli_refuses_missing_statistics_with_one_line(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    lone = tmp_path / "agent.zip"
    shutil.copy(run_dir / f"{ENV}.zip", lone)
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "evaluate.py"), "--agent", str(lone), "--env", ENV,
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "agent.vecnormalize.pkl" in proc.stderr and "--no-vecnormalize" in proc.stderr


# --------------------------------------------------------------------------------------------------
# rl-zoo3 run folders


def test_run_folder_env_best_and_disagreement(run_dir: Path) -> None:
    source = resolve_agent(run_dir)
    assert source.env_id == ENV and source.normalize is True and source.algo == "ppo"
    assert source.zip_path == run_dir / f"{ENV}.zip"
    assert resolve_agent(run_dir / f"{ENV}.zip") == source  # the zip inside the folder says the same
    assert _resolved(agent_path=str(run_dir), best=True).agent_path == str(run_dir / "best_model.zip")
    with pytest.raises(UserInputError, match=r"--env 'CartPole-v1' disagrees .*'Pendulum-v1'|env_id 'CartPole-v1' disagrees"):
        _resolved(agent_path=str(run_dir), env_id="CartPole-v1")
    assert _resolved(agent_path=str(run_dir), env_id=ENV).env_id == ENV


def test_best_without_best_model_names_the_file(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "best_model.zip").unlink()
    with pytest.raises(AgentNotFoundError, match="best_model.zip does not exist"):
        _resolved(agent_path=str(copy), best=True)
    with pytest.raises(UserInputError, match="best needs an agent"):
        _resolved(best=True)


def test_zoo_yaml_accepts_only_the_ordered_dict_tag(tmp_path: Path) -> None:
    good = tmp_path / "config.yml"
    good.write_text(yaml.dump(OrderedDict([("normalize", "{'norm_obs': True}"), ("n_envs", 1)])))
    assert "python/object/apply:collections.OrderedDict" in good.read_text()
    assert load_zoo_yaml(good) == {"normalize": "{'norm_obs': True}", "n_envs": 1}
    for text in ("!!python/object/apply:os.system ['touch x']\n", "a: !!python/name:os.system ''\n",
                 "!!python/object/new:collections.OrderedDict [[]]\n", "a: !custom 1\n"):
        bad = tmp_path / "bad.yml"
        bad.write_text(text)
        with pytest.raises(UnsafeAgentError, match="YAML tag .* is refused") as info:
            load_zoo_yaml(bad)
        assert "\n" not in str(info.value)


def test_off_policy_zip_without_statistics_is_not_refused(tmp_path: Path) -> None:
    """Off-policy algorithms set _last_original_obs on every step: it is no sign of VecNormalize for them."""
    from stable_baselines3 import SAC

    model = SAC("MlpPolicy", ENV, learning_starts=10, buffer_size=100, seed=0, device="cpu",
                policy_kwargs={"net_arch": [8]})
    model.learn(20)
    model.save(tmp_path / "sac.zip")
    assert not trained_with_normalization(tmp_path / "sac.zip")
    assert _resolved(agent_path=str(tmp_path / "sac.zip"), env_id=ENV).vecnormalize_path is None


def test_run_folder_with_an_env_wrapper_is_refused(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    config = load_zoo_yaml(copy / ENV / "config.yml")
    _dump_ordered(copy / ENV / "config.yml", {**config, "env_wrapper": "sb3_contrib.common.wrappers.TimeFeatureWrapper"})
    with pytest.raises(UserInputError, match="sets env_wrapper: .*TimeFeatureWrapper.* does not apply"):
        _resolved(agent_path=str(copy))
