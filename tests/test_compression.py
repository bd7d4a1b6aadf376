"""Tests of paradox_gym.compression on tiny real SB3 agents (trained briefly or untrained)."""

from __future__ import annotations

import json
import math
import warnings
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from torch import nn

import torch.ao.nn.intrinsic.quantized as nniq
import torch.ao.nn.quantized as nnq
import torch.ao.nn.quantized.dynamic as nnqd

from paradox_gym.compression import METHODS, CompressedAgent, Footprint, compress, load_compressed
from paradox_gym.errors import AgentNotFoundError, UnsafeAgentError, UserInputError, UserTypeError

def net() -> dict[str, Any]:
    """Fresh policy_kwargs (SB3 mutates the dict it is given)."""
    return dict(net_arch=[32, 32])


def _state(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.policy.state_dict().items()}


def _assert_unchanged(model: Any, before: dict[str, torch.Tensor]) -> None:
    after = model.policy.state_dict()
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert torch.equal(after[key], value), key
    for module in model.policy.modules():
        assert not isinstance(module, (nnq.Linear, nnqd.Linear))
        assert not any(name.endswith("_mask") for name, _ in module.named_buffers(recurse=False))


def _rollout_obs(model: Any, env_id: str, steps: int, seed: int = 1) -> np.ndarray:
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    out = []
    for _ in range(steps):
        out.append(obs)
        action, _ = model.predict(obs, deterministic=True)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    return np.stack(out)


@pytest.fixture(scope="module")
def ppo_cartpole() -> PPO:
    model = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=net(), n_steps=128, batch_size=64,
                n_epochs=2, seed=0, device="cpu")
    model.learn(256)
    return model


@pytest.fixture(scope="module")
def models(ppo_cartpole: PPO) -> dict[str, Any]:
    """One small agent per supported algorithm (off-policy ones untrained: structure is what counts)."""
    kw = dict(seed=0, device="cpu")
    return {
        "PPO": ppo_cartpole,
        "A2C": A2C("MlpPolicy", "CartPole-v1", policy_kwargs=net(), **kw),
        "DQN": DQN("MlpPolicy", "CartPole-v1", learning_starts=0, policy_kwargs=net(), **kw),
        "SAC": SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=net(), **kw),
        "TD3": TD3("MlpPolicy", "Pendulum-v1", policy_kwargs=net(), **kw),
        "DDPG": DDPG("MlpPolicy", "Pendulum-v1", policy_kwargs=net(), **kw),
        "PPO-box": PPO("MlpPolicy", "Pendulum-v1", policy_kwargs=net(), **kw),
    }


ENV_OF = {"PPO": "CartPole-v1", "A2C": "CartPole-v1", "DQN": "CartPole-v1", "SAC": "Pendulum-v1",
          "TD3": "Pendulum-v1", "DDPG": "Pendulum-v1", "PPO-box": "Pendulum-v1"}


def _linears(agent: CompressedAgent) -> list[nn.Module]:
    return [m for m in agent.policy_module.modules() if isinstance(m, (nn.Linear, nnq.Linear))]


# ---------------------------------------------------------------- every algorithm: ptdq and prune
@pytest.mark.parametrize("name", ["PPO", "A2C", "DQN", "SAC", "TD3", "DDPG", "PPO-box"])
def test_every_algorithm_ptdq_and_prune(models: dict[str, Any], name: str) -> None:
    model = models[name]
    before = _state(model)
    obs = np.stack([model.observation_space.sample() for _ in range(20)])
    expected_linears = {"PPO": 3, "A2C": 3, "DQN": 3, "SAC": 4, "TD3": 3, "DDPG": 3, "PPO-box": 3}[name]

    ptdq = compress(model, "ptdq")
    assert ptdq.algo == name.split("-")[0] and ptdq.method == "ptdq"
    linears = _linears(ptdq)
    assert len(linears) == expected_linears
    assert all(type(m) is nnqd.Linear for m in linears)  # every inference-path Linear quantized
    actions, state = ptdq.predict(obs)
    assert state is None and actions.shape[0] == 20
    assert all(model.action_space.contains(a) for a in actions)

    pruned = compress(model, "prune", amount=0.5)
    assert all(type(m) is nn.Linear for m in _linears(pruned))
    assert pruned.footprint.nonzero_parameters < 0.6 * pruned.baseline_footprint.parameters
    pruned.predict(obs)

    # critics / value nets / targets are not counted: the footprint is the actor path only
    assert ptdq.baseline_footprint.parameters < sum(p.numel() for p in model.policy.parameters()) / 1.5
    _assert_unchanged(model, before)


def test_inference_path_parts(models: dict[str, Any]) -> None:
    assert set(compress(models["PPO"], "none").policy_module) == {"features_extractor", "policy_net", "action_net"}
    assert set(compress(models["DQN"], "none").policy_module) == {"features_extractor", "q_net"}
    assert set(compress(models["SAC"], "none").policy_module) == {"features_extractor", "latent_pi", "mu", "log_std"}
    assert set(compress(models["DDPG"], "none").policy_module) == {"features_extractor", "mu"}


def test_none_is_identical_to_float_model(ppo_cartpole: PPO) -> None:
    agent = compress(ppo_cartpole, "none")
    obs = _rollout_obs(ppo_cartpole, "CartPole-v1", 100)
    assert np.array_equal(agent.predict(obs)[0], ppo_cartpole.predict(obs, deterministic=True)[0])
    assert agent.footprint == agent.baseline_footprint
    # 4x32 + 32x32 + 32x2 multiply-accumulates, plus 32+32+2 biases
    assert agent.footprint.macs == 4 * 32 + 32 * 32 + 32 * 2
    assert agent.footprint.parameters == agent.footprint.macs + 32 + 32 + 2
    assert agent.footprint.sparse_bytes is None
    assert agent.recipe["backend"] is None and agent.recipe["torch_version"] == torch.__version__
    assert agent.policy_module.policy_net is not ppo_cartpole.policy.mlp_extractor.policy_net


# ---------------------------------------------------------------- quantization
def test_ptdq_actions_agree_with_float(ppo_cartpole: PPO, models: dict[str, Any]) -> None:
    agent = compress(ppo_cartpole, "ptdq")
    obs = _rollout_obs(ppo_cartpole, "CartPole-v1", 300)
    agree = np.mean(agent.predict(obs)[0] == ppo_cartpole.predict(obs, deterministic=True)[0])
    assert agree >= 0.9
    td3 = models["TD3"]
    obs = _rollout_obs(td3, "Pendulum-v1", 100)
    diff = np.abs(compress(td3, "ptdq").predict(obs)[0] - td3.predict(obs, deterministic=True)[0])
    assert diff.max() < 0.2  # action range is [-2, 2]
    assert agent.footprint.serialized_bytes < agent.baseline_footprint.serialized_bytes
    assert agent.recipe["backend"] in ("x86", "fbgemm", "qnnpack")


def test_ptdq_float16(ppo_cartpole: PPO) -> None:
    agent = compress(ppo_cartpole, "ptdq", dtype="float16")
    assert all(type(m) is nnqd.Linear for m in _linears(agent))
    obs = _rollout_obs(ppo_cartpole, "CartPole-v1", 100)
    assert np.mean(agent.predict(obs)[0] == ppo_cartpole.predict(obs, deterministic=True)[0]) >= 0.95
    assert agent.recipe["dtype"] == "float16"


def test_ptsq_calibrated_quantized_linears(ppo_cartpole: PPO, models: dict[str, Any]) -> None:
    before = _state(ppo_cartpole)
    agent = compress(ppo_cartpole, "ptsq", env="CartPole-v1", calibration_steps=128)
    _assert_unchanged(ppo_cartpole, before)
    linears = _linears(agent)
    assert len(linears) == 3 and all(type(m) is nnq.Linear for m in linears)  # Tanh: nothing fused
    for layer in linears:  # calibrated output scales, not nnq.Linear's defaults (scale 1, zp 0)
        assert layer.scale != 1.0 and 0.0 < layer.scale < 1.0
    quant_stubs = [m for m in agent.policy_module.modules() if isinstance(m, nnq.Quantize)]
    assert len(quant_stubs) == 2 and all(float(q.scale) != 1.0 for q in quant_stubs)
    obs = _rollout_obs(ppo_cartpole, "CartPole-v1", 200)
    assert np.mean(agent.predict(obs)[0] == ppo_cartpole.predict(obs, deterministic=True)[0]) >= 0.85
    assert agent.recipe["calibration_env"] == "CartPole-v1" and agent.recipe["calibration_steps"] == 128

    # ReLU policies: Linear+ReLU fused into quantized LinearReLU; output layer plain
    dqn = compress(models["DQN"], "ptsq", env=gym.make("CartPole-v1"), calibration_steps=64)
    kinds = [type(m) for m in _linears(dqn)]
    assert kinds == [nniq.LinearReLU, nniq.LinearReLU, nnq.Linear]
    # same seed -> same calibration; an env instance works like an id
    again = compress(models["DQN"], "ptsq", env="CartPole-v1", calibration_steps=64)
    assert [m.scale for m in _linears(again)] == [m.scale for m in _linears(dqn)]


@pytest.mark.parametrize("name", ["SAC", "TD3"])
def test_ptsq_continuous(models: dict[str, Any], name: str) -> None:
    model = models[name]
    agent = compress(model, "ptsq", env="Pendulum-v1", calibration_steps=64)
    assert all(isinstance(m, nnq.Linear) and not isinstance(m, nnqd.Linear) for m in _linears(agent))
    obs = _rollout_obs(model, "Pendulum-v1", 64)
    actions = agent.predict(obs)[0]
    assert np.abs(actions - model.predict(obs, deterministic=True)[0]).max() < 0.5
    assert np.all(np.abs(actions) <= 2.0)


def test_no_torch_ao_warnings_escape(ppo_cartpole: PPO) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compress(ppo_cartpole, "ptdq")
        agent = compress(ppo_cartpole, "ptsq", env="CartPole-v1", calibration_steps=32)
        agent.predict(np.zeros(4, dtype=np.float32))
    assert not [w for w in caught if "quantiz" in str(w.message).lower()], [str(w.message) for w in caught]


# ---------------------------------------------------------------- pruning
@pytest.mark.parametrize("amount", [0.3, 0.7])
def test_prune_l1_per_layer(ppo_cartpole: PPO, amount: float) -> None:
    agent = compress(ppo_cartpole, "prune", amount=amount)
    for layer in _linears(agent):
        zero = float((layer.weight == 0).float().mean())
        assert zero == pytest.approx(round(amount * layer.weight.numel()) / layer.weight.numel(), abs=1e-6)
        assert not hasattr(layer, "weight_mask") and not hasattr(layer, "weight_orig")
    fp = agent.footprint
    assert fp.sparse_bytes is not None and fp.macs == agent.baseline_footprint.macs


def test_prune_global_and_sparse_bytes(ppo_cartpole: PPO) -> None:
    agent = compress(ppo_cartpole, "prune", amount=0.9, pruning="global")
    weights = [layer.weight for layer in _linears(agent)]
    total = sum(w.numel() for w in weights)
    zeros = sum(int((w == 0).sum()) for w in weights)
    assert zeros == round(0.9 * total)
    per_layer = [float((w == 0).float().mean()) for w in weights]
    assert max(per_layer) - min(per_layer) > 0.01  # global: layers are not pruned uniformly
    nnz = total - zeros
    rows = sum(w.shape[0] for w in weights)
    biases = 32 + 32 + 2
    assert agent.footprint.sparse_bytes == nnz * 8 + (rows + len(weights)) * 4 + biases * 4
    dense_bytes = 4 * agent.footprint.parameters
    assert agent.footprint.sparse_bytes < dense_bytes


def test_prune_structured_shrinks_layers_and_macs(ppo_cartpole: PPO, models: dict[str, Any]) -> None:
    before = _state(ppo_cartpole)
    agent = compress(ppo_cartpole, "prune-structured", amount=0.5)
    _assert_unchanged(ppo_cartpole, before)
    widths = [m.out_features for m in agent.policy_module.policy_net if isinstance(m, nn.Linear)]
    assert widths == [16, 16]
    assert agent.policy_module.action_net.in_features == 16
    assert agent.policy_module.action_net.out_features == 2
    assert agent.footprint.macs == 4 * 16 + 16 * 16 + 16 * 2
    assert agent.footprint.parameters == agent.footprint.macs + 16 + 16 + 2
    assert agent.footprint.serialized_bytes < agent.baseline_footprint.serialized_bytes
    assert agent.predict(np.zeros((3, 4), dtype=np.float32))[0].shape == (3,)
    # SAC: both heads (mu and log_std) lose the pruned inputs; output sizes kept
    sac = compress(models["SAC"], "prune-structured", amount=0.25)
    assert [m.out_features for m in sac.policy_module.latent_pi if isinstance(m, nn.Linear)] == [24, 24]
    assert (sac.policy_module.mu.in_features, sac.policy_module.mu.out_features) == (24, 1)
    assert (sac.policy_module.log_std.in_features, sac.policy_module.log_std.out_features) == (24, 1)
    sac.predict(np.zeros(3, dtype=np.float32))


@pytest.mark.parametrize("name", ["PPO", "DQN", "TD3"])
def test_prune_structured_amount_zero_is_identity(models: dict[str, Any], name: str) -> None:
    model = models[name]
    agent = compress(model, "prune-structured", amount=0.0)
    obs = np.stack([model.observation_space.sample() for _ in range(50)])
    assert np.array_equal(agent.predict(obs)[0], model.predict(obs, deterministic=True)[0])
    assert agent.footprint.macs == agent.baseline_footprint.macs


def test_prune_structured_keeps_largest_neurons(models: dict[str, Any]) -> None:
    model = models["DQN"]
    first = model.policy.q_net.q_net[0]
    norms = first.weight.detach().norm(dim=1)
    agent = compress(model, "prune-structured", amount=0.5)
    kept = agent.policy_module.q_net[0].weight.detach().norm(dim=1)
    assert torch.allclose(kept.sort().values, norms.sort().values[16:])


def test_mixed_is_prune_then_ptdq(ppo_cartpole: PPO) -> None:
    agent = compress(ppo_cartpole, "prune+ptdq", amount=0.5)
    assert agent.method == "mixed"
    linears = _linears(agent)
    assert all(type(m) is nnqd.Linear for m in linears)
    assert agent.footprint.nonzero_parameters < 0.6 * agent.footprint.parameters
    assert agent.footprint.sparse_bytes is not None


# ---------------------------------------------------------------- save / load
@pytest.mark.parametrize("method", METHODS)
def test_round_trip_identical_actions(ppo_cartpole: PPO, tmp_path: Path, method: str) -> None:
    agent = compress(ppo_cartpole, method, amount=0.4, env="CartPole-v1", calibration_steps=64)
    path = tmp_path / f"{method}.zip"
    agent.save(path)
    loaded = load_compressed(path, env="CartPole-v1")
    obs = _rollout_obs(ppo_cartpole, "CartPole-v1", 100)
    assert np.array_equal(agent.predict(obs)[0], loaded.predict(obs)[0])
    assert loaded.recipe == agent.recipe and loaded.method == agent.method and loaded.algo == "PPO"
    assert loaded.footprint == agent.footprint
    assert loaded.baseline_footprint == agent.baseline_footprint
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("agent.json"))["recipe"]["method"] == agent.method


@pytest.mark.parametrize(("name", "method"), [("SAC", "ptsq"), ("TD3", "prune-structured"),
                                              ("DQN", "mixed"), ("PPO-box", "ptdq")])
def test_round_trip_other_algorithms(models: dict[str, Any], tmp_path: Path, name: str, method: str) -> None:
    model = models[name]
    agent = compress(model, method, env=ENV_OF[name], calibration_steps=64)
    agent.save(tmp_path / "a.zip")
    loaded = load_compressed(tmp_path / "a.zip")
    obs = np.stack([model.observation_space.sample() for _ in range(50)])
    assert np.array_equal(agent.predict(obs)[0], loaded.predict(obs)[0])
    assert loaded.footprint == agent.footprint


def test_load_errors(ppo_cartpole: PPO, tmp_path: Path) -> None:
    with pytest.raises(AgentNotFoundError):
        load_compressed(tmp_path / "missing.zip")
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(UserInputError, match="not a zip"):
        load_compressed(tmp_path / "junk.zip")
    path = tmp_path / "a.zip"
    compress(ppo_cartpole, "ptdq").save(path)
    with pytest.raises(UserInputError, match="do not match"):
        load_compressed(path, env="Pendulum-v1")
    # a file naming a class outside torch.nn activations is refused, nothing is imported
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("agent.json"))
        weights = archive.read("weights.pt")
    meta["policy_kwargs"]["activation_fn"] = "Module"
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("agent.json", json.dumps(meta))
        archive.writestr("weights.pt", weights)
    with pytest.raises(UnsafeAgentError, match="activation_fn"):
        load_compressed(bad)


# ---------------------------------------------------------------- integration with SB3
def test_evaluate_policy_accepts_compressed_agent(ppo_cartpole: PPO) -> None:
    agent = compress(ppo_cartpole, "ptdq")
    env = gym.make("CartPole-v1")
    mean, std = evaluate_policy(agent, Monitor(env), n_eval_episodes=2)
    assert mean > 0 and math.isfinite(std)
    env.close()


def test_footprint_to_dict() -> None:
    fp = Footprint(parameters=10, nonzero_parameters=5, serialized_bytes=100, macs=8, sparse_bytes=None)
    assert fp.to_dict() == {"parameters": 10, "nonzero_parameters": 5, "serialized_bytes": 100,
                            "macs": 8, "sparse_bytes": None}


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(method="quantize"), "unknown compression method 'quantize'; valid: none, ptdq"),
        (dict(method="prune", amount=1.0), "amount must be in"),
        (dict(method="prune", amount=-0.1), "amount must be in"),
        (dict(method="prune", amount=float("nan")), "amount must be in"),
        (dict(method="prune", amount="0.5"), "amount must be a number"),
        (dict(method="prune", amount=True), "amount must be a number"),
        (dict(method="ptdq", dtype="int4"), "unknown dtype 'int4'; valid: qint8, float16"),
        (dict(method="ptsq", dtype="float16", env="CartPole-v1"), "supports dtype 'qint8' only"),
        (dict(method="prune", pruning="l2"), "unknown pruning 'l2'; valid: l1, global"),
        (dict(method="ptdq", backend="tpu"), "unknown backend 'tpu'"),
        (dict(method="ptsq"), "needs env="),
        (dict(method="ptsq", env="CartPole-v1", calibration_steps=0), "calibration_steps must be"),
        (dict(method="ptsq", env="Pendulum-v1"), "observation space"),
        (dict(method="ptsq", env="NoSuchEnv-v0"), "cannot make calibration env"),
    ],
)
def test_bad_options(ppo_cartpole: PPO, kwargs: dict[str, Any], match: str) -> None:
    before = _state(ppo_cartpole)
    method = kwargs.pop("method")
    with pytest.raises(UserInputError, match=match):
        compress(ppo_cartpole, method, **kwargs)
    _assert_unchanged(ppo_cartpole, before)


def test_not_an_sb3_model() -> None:
    with pytest.raises(UserTypeError, match="expected a Stable-Baselines3 model"):
        compress(nn.Sequential(nn.Linear(4, 2)), "ptdq")
    with pytest.raises(TypeError):
        compress("ppo.zip", "ptdq")


def test_unsupported_algorithm_subclass() -> None:
    class MyPPO(PPO):
        pass

    model = MyPPO("MlpPolicy", "CartPole-v1", policy_kwargs=net(), device="cpu")
    with pytest.raises(UserInputError, match="unsupported algorithm 'MyPPO'"):
        compress(model, "ptdq")


class _ImageEnv(gym.Env):
    observation_space = spaces.Box(0, 255, (36, 36, 1), dtype=np.uint8)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None):  # type: ignore[override]
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):  # type: ignore[override]
        return self.observation_space.sample(), 0.0, False, False, {}


class _DictEnv(_ImageEnv):
    observation_space = spaces.Dict({"a": spaces.Box(-1, 1, (2,)), "b": spaces.Box(-1, 1, (3,))})


class _Swish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


def test_unsupported_policies() -> None:
    with pytest.raises(UserInputError, match="unsupported policy 'ActorCriticCnnPolicy'"):
        compress(PPO("CnnPolicy", _ImageEnv(), n_steps=8, batch_size=8, device="cpu"), "ptdq")
    with pytest.raises(UserInputError, match="MultiInputActorCriticPolicy"):
        compress(PPO("MultiInputPolicy", _DictEnv(), n_steps=8, batch_size=8, device="cpu"), "prune")
    custom = PPO("MlpPolicy", "CartPole-v1", device="cpu",
                 policy_kwargs=dict(net_arch=[8], activation_fn=_Swish))
    with pytest.raises(UserInputError, match="_Swish"):
        compress(custom, "ptdq")
    elu = DQN("MlpPolicy", "CartPole-v1", device="cpu", policy_kwargs=dict(net_arch=[8], activation_fn=nn.ELU))
    compress(elu, "ptdq")  # dynamic quantization only touches Linear layers
    with pytest.raises(UserInputError, match="'ptsq' does not support activation ELU"):
        compress(elu, "ptsq", env="CartPole-v1")
    with pytest.raises(UserInputError, match="'qat' does not support activation ELU"):  # named as asked for
        compress(elu, "qat", env="CartPole-v1")
    sde = SAC("MlpPolicy", "Pendulum-v1", use_sde=True, device="cpu", policy_kwargs=net())
    with pytest.raises(UserInputError, match="use_sde"):
        compress(sde, "prune-structured")  # gSDE noise depends on the latent width


def test_ptsq_env_kinds_and_architectures(tmp_path: Path) -> None:
    from stable_baselines3.common.env_util import make_vec_env

    # separate pi/vf sizes, unshared extractors, ReLU; calibration from a VecEnv
    model = PPO("MlpPolicy", "Pendulum-v1", device="cpu",
                policy_kwargs=dict(net_arch=dict(pi=[16, 8], vf=[4]), share_features_extractor=False,
                                   activation_fn=nn.ReLU))
    agent = compress(model, "ptsq", env=make_vec_env("Pendulum-v1", n_envs=2), calibration_steps=33)
    assert [type(m) for m in _linears(agent)] == [nniq.LinearReLU, nniq.LinearReLU, nnq.Linear]
    agent.save(tmp_path / "p.zip")
    obs = np.stack([model.observation_space.sample() for _ in range(10)])
    assert np.array_equal(load_compressed(tmp_path / "p.zip").predict(obs)[0], agent.predict(obs)[0])
    structured = compress(model, "prune-structured", amount=0.5)
    assert structured.footprint.macs == 3 * 8 + 8 * 4 + 4 * 1
    # Discrete observations (one-hot preprocessing) and a toy-text env
    dqn = DQN("MlpPolicy", "FrozenLake-v1", device="cpu", policy_kwargs=dict(net_arch=[8]))
    lake = compress(dqn, "ptsq", env="FrozenLake-v1", calibration_steps=20)
    assert lake.predict(np.array([0, 5, 15]))[0].shape == (3,)
    with pytest.raises(UserTypeError, match="env must be"):
        compress(dqn, "ptsq", env=123)
