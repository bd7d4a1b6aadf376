"""sb3-contrib algorithms (TRPO, TQC, QR-DQN) and gSDE policies: loaded by the safe loader (no unpickling)
with the same deterministic actions as the libraries' own loaders, and compressed through the same paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sb3_contrib import QRDQN, TQC, TRPO
from stable_baselines3 import PPO, SAC

from paradox_gym.compression import compress
from paradox_gym.errors import UserInputError
from paradox_gym.sb3 import load_zip, normalize_algo
from paradox_gym.zoo import make_env

# (name, class, env, constructor kwargs, steps)
CASES: dict[str, tuple[Any, str, dict[str, Any], int]] = {
    "TRPO-box": (TRPO, "Pendulum-v1", {"n_steps": 64, "batch_size": 64, "policy_kwargs": {"net_arch": [16, 16]}}, 128),
    "TRPO-discrete": (TRPO, "CartPole-v1", {"n_steps": 64, "batch_size": 64, "policy_kwargs": {"net_arch": [16]}}, 128),
    "TQC": (TQC, "Pendulum-v1", {"learning_starts": 32, "batch_size": 16, "buffer_size": 500,
                                 "policy_kwargs": {"net_arch": [16, 16], "n_quantiles": 5, "n_critics": 3}}, 96),
    "QRDQN": (QRDQN, "CartPole-v1", {"learning_starts": 32, "batch_size": 16, "buffer_size": 500,
                                     "policy_kwargs": {"net_arch": [16, 16], "n_quantiles": 7}}, 96),
    "PPO-gSDE": (PPO, "Pendulum-v1", {"use_sde": True, "n_steps": 64, "batch_size": 32,
                                      "policy_kwargs": {"net_arch": [16, 16], "log_std_init": -1.0}}, 128),
    "PPO-gSDE-diagonal": (PPO, "Pendulum-v1", {"use_sde": True, "n_steps": 64, "batch_size": 32,
                                               "policy_kwargs": {"net_arch": [16], "full_std": False}}, 64),
    "SAC-gSDE": (SAC, "Pendulum-v1", {"use_sde": True, "learning_starts": 32, "batch_size": 16, "buffer_size": 500,
                                      "policy_kwargs": {"net_arch": [16, 16]}}, 96),
    "TQC-gSDE-noclip": (TQC, "Pendulum-v1", {"use_sde": True, "learning_starts": 32, "batch_size": 16,
                                             "buffer_size": 500,
                                             "policy_kwargs": {"net_arch": [16], "clip_mean": 0.0}}, 64),
}


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("contrib")
    paths = {}
    for name, (cls, env_id, kwargs, steps) in CASES.items():
        model = cls("MlpPolicy", env_id, seed=0, device="cpu", **kwargs)
        model.learn(steps)
        paths[name] = out / f"{name}.zip"
        model.save(paths[name])
    return paths


def _observations(env_id: str, n: int = 64) -> np.ndarray:
    env = make_env(env_id)
    env.observation_space.seed(0)
    obs = np.stack([env.observation_space.sample() for _ in range(n)])
    env.close()
    return obs


@pytest.mark.parametrize("name", list(CASES))
def test_safe_load_matches_library_loader(zips: dict[str, Path], name: str) -> None:
    cls, env_id, _, _ = CASES[name]
    ours = load_zip(zips[name], env_id)
    theirs = cls.load(zips[name], device="cpu")
    assert type(ours) is cls
    obs = _observations(env_id)
    a_ours, _ = ours.predict(obs, deterministic=True)
    a_theirs, _ = theirs.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a_ours, a_theirs)
    for single in obs[:5]:  # one observation at a time, as the rollout plays them
        np.testing.assert_array_equal(ours.predict(single, deterministic=True)[0],
                                      theirs.predict(single, deterministic=True)[0])
    assert ours.safe_load_info["use_sde"] == bool(getattr(theirs, "use_sde", False))


def test_gsde_deterministic_action_is_the_mean(zips: dict[str, Path]) -> None:
    """gSDE exploration noise is never part of a deterministic action: it is the distribution's mean."""
    model = load_zip(zips["PPO-gSDE"], "Pendulum-v1")
    obs = torch.as_tensor(_observations("Pendulum-v1", 8))
    with torch.no_grad():
        latent = model.policy.mlp_extractor.forward_actor(model.policy.extract_features(obs))
        mean = model.policy.action_net(latent).numpy()
    low, high = model.action_space.low, model.action_space.high
    np.testing.assert_allclose(model.predict(obs.numpy(), deterministic=True)[0], np.clip(mean, low, high))
    model.policy.reset_noise()  # a fresh noise matrix changes sampled actions, not deterministic ones
    np.testing.assert_allclose(model.predict(obs.numpy(), deterministic=True)[0], np.clip(mean, low, high))


@pytest.mark.parametrize("name", ["TRPO-box", "TRPO-discrete", "TQC", "QRDQN", "PPO-gSDE"])
@pytest.mark.parametrize("method", ["ptdq", "prune", "prune-structured"])
def test_contrib_agents_compress(zips: dict[str, Path], name: str, method: str) -> None:
    _, env_id, _, _ = CASES[name]
    if name == "PPO-gSDE" and method == "prune-structured":
        pytest.skip("prune-structured refuses gSDE (its noise depends on the latent width)")
    model = load_zip(zips[name], env_id)
    agent = compress(model, method, amount=0.25, env=env_id)
    assert agent.algo == normalize_algo(name.split("-")[0])
    obs = _observations(env_id, 16)
    actions, _ = agent.predict(obs, deterministic=True)
    assert actions.shape == model.predict(obs, deterministic=True)[0].shape
    if method == "prune":
        assert agent.footprint.nonzero_parameters < agent.baseline_footprint.nonzero_parameters


@pytest.mark.parametrize("name", ["SAC-gSDE", "TQC-gSDE-noclip"])
def test_gsde_sac_and_tqc_compress_and_keep_the_mean_action(zips: dict[str, Path], name: str) -> None:
    """A gSDE actor's log_std is a parameter, not a layer: it stays out of the inference path, and the
    float baseline acts exactly like the library's own agent (a deterministic action is tanh(mu))."""
    model = load_zip(zips[name], "Pendulum-v1")
    obs = _observations("Pendulum-v1", 16)
    expected, _ = model.predict(obs, deterministic=True)
    baseline = compress(model, "none")
    assert "log_std" not in baseline.policy_module
    np.testing.assert_array_equal(baseline.predict(obs, deterministic=True)[0], expected)
    ptdq = compress(model, "ptdq")
    np.testing.assert_allclose(ptdq.predict(obs, deterministic=True)[0], expected, atol=0.1)
    pruned = compress(model, "prune", amount=0.25)
    assert pruned.footprint.nonzero_parameters < pruned.baseline_footprint.nonzero_parameters


@pytest.mark.parametrize("name, reason", [("ARS", "random search"), ("RecurrentPPO", "LSTM")])
def test_unsupported_contrib_algorithms_are_refused_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(UserInputError, match=reason) as info:
        normalize_algo(name)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["TRPO-box", "TQC", "QRDQN"])
def test_contrib_compressed_agents_round_trip_through_their_file(zips: dict[str, Path], name: str,
                                                                tmp_path: Path) -> None:
    from paradox_gym.compression.agent import load_compressed

    _, env_id, _, _ = CASES[name]
    agent = compress(load_zip(zips[name], env_id), "ptsq", env=env_id)
    agent.save(tmp_path / "agent.zip")
    again = load_compressed(tmp_path / "agent.zip", env_id)
    obs = _observations(env_id, 16)
    np.testing.assert_array_equal(again.predict(obs)[0], agent.predict(obs)[0])
