"""Quantization-aware training (``--compress qat``): int8 after distillation, for every algorithm, its cost
recorded, options validated, and a saved agent rebuilt with identical actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.ao.nn.intrinsic.quantized as nniq
import torch.ao.nn.quantized as nnq
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3

from paradox_gym.compression import compress, load_compressed
from paradox_gym.compression.qat import DEFAULT_QAT_STEPS, finetune_float
from paradox_gym.compression.recipe import check_recipe
from paradox_gym.errors import UserInputError
from paradox_gym.experiment.settings import EvalSettings

ENV = {"PPO": "CartPole-v1", "A2C": "CartPole-v1", "DQN": "CartPole-v1", "SAC": "Pendulum-v1",
       "TD3": "Pendulum-v1"}
CLASSES = {"PPO": PPO, "A2C": A2C, "DQN": DQN, "SAC": SAC, "TD3": TD3}
STEPS = 20  # fine-tuning steps in tests (the default is DEFAULT_QAT_STEPS)


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    """One small untrained agent per algorithm (the structure and the pipeline are what is tested)."""
    return {name: cls("MlpPolicy", ENV[name], policy_kwargs=dict(net_arch=[32, 32]), seed=0, device="cpu")
            for name, cls in CLASSES.items()}


def _obs(model: Any, n: int = 40) -> np.ndarray:
    model.observation_space.seed(3)
    return np.stack([model.observation_space.sample() for _ in range(n)])


@pytest.mark.parametrize("name", list(CLASSES))
def test_qat_every_algorithm_is_int8_and_records_its_cost(models: dict[str, Any], name: str) -> None:
    model = models[name]
    agent = compress(model, "qat", env=ENV[name], calibration_steps=64, qat_steps=STEPS)
    linears = [m for m in agent.policy_module.modules() if isinstance(m, (nnq.Linear, nniq.LinearReLU))]
    expected = {"PPO": 3, "A2C": 3, "DQN": 3, "SAC": 4, "TD3": 3}[name]
    assert len(linears) == expected  # every inference-path Linear converted to int8
    assert agent.recipe["qat_steps"] == STEPS and agent.recipe["method"] == "qat"
    cost = agent.finetune
    assert cost is not None and cost["steps"] == STEPS and cost["seconds"] > 0 and cost["samples"] == 64
    assert np.isfinite(cost["loss_before"]) and np.isfinite(cost["loss_after"])
    actions, _ = agent.predict(_obs(model))
    assert all(model.action_space.contains(a) for a in actions)


@pytest.mark.parametrize("name", ["PPO", "SAC", "DQN"])
def test_qat_round_trip_identical_actions(models: dict[str, Any], tmp_path: Path, name: str) -> None:
    model = models[name]
    agent = compress(model, "qat", env=ENV[name], calibration_steps=64, qat_steps=STEPS, seed=2)
    agent.save(tmp_path / "qat.zip")
    loaded = load_compressed(tmp_path / "qat.zip", env=ENV[name])
    obs = _obs(model)
    assert np.array_equal(agent.predict(obs)[0], loaded.predict(obs)[0])
    assert loaded.recipe == agent.recipe and loaded.footprint == agent.footprint
    assert loaded.finetune is not None and loaded.finetune["steps"] == STEPS  # re-applied, cost measured again


def test_qat_is_deterministic_whatever_the_thread_count(models: dict[str, Any]) -> None:
    model = models["PPO"]
    a = compress(model, "qat", env="CartPole-v1", calibration_steps=64, qat_steps=STEPS)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        b = compress(model, "qat", env="CartPole-v1", calibration_steps=64, qat_steps=STEPS)
    finally:
        torch.set_num_threads(previous)
    assert torch.get_num_threads() == previous
    for (ka, va), (kb, vb) in zip(a.policy_module.state_dict().items(), b.policy_module.state_dict().items()):
        assert ka == kb
        if isinstance(va, torch.Tensor):
            assert torch.equal(va.dequantize() if va.is_quantized else va, vb.dequantize() if vb.is_quantized else vb)


def test_qat_fine_tuning_changes_only_a_copy_and_finetune_float_writes_back(models: dict[str, Any]) -> None:
    model = models["TD3"]
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    agent = compress(model, "qat", env="Pendulum-v1", calibration_steps=64, qat_steps=STEPS)
    for key, value in model.policy.state_dict().items():
        assert torch.equal(value, before[key]), key
    policy = agent.float_policy()
    weight = policy.actor.mu[0].weight.detach().clone()
    cost = finetune_float(policy, "TD3", agent.calibration, STEPS, 0, agent.recipe["backend"])
    assert cost["steps"] == STEPS
    assert type(policy.actor.mu[0]) is torch.nn.Linear  # still a float layer ...
    assert not torch.equal(policy.actor.mu[0].weight, weight)  # ... with fine-tuned weights


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(qat_steps=0), "qat_steps"),
    (dict(qat_steps="many"), "qat_steps"),
    (dict(dtype="float16"), "qint8"),
    (dict(env=None), "env="),
])
def test_qat_bad_options(models: dict[str, Any], kwargs: dict[str, Any], match: str) -> None:
    options = dict(env="CartPole-v1", calibration_steps=64, qat_steps=STEPS)
    options.update(kwargs)
    with pytest.raises(UserInputError, match=match):
        compress(models["PPO"], "qat", **options)


def test_recipe_without_qat_steps_gets_the_default() -> None:
    recipe = {"method": "ptdq", "amount": 0.5, "dtype": "qint8", "pruning": "l1", "calibration_steps": 8,
              "seed": 0, "backend": None}
    recipe["backend"] = check_recipe({**recipe, "method": "ptdq", "backend": "x86"})["backend"]
    assert check_recipe(recipe)["qat_steps"] == DEFAULT_QAT_STEPS
    with pytest.raises(UserInputError, match="qat_steps"):
        check_recipe({**recipe, "qat_steps": -1})


def test_settings_qat_steps() -> None:
    assert EvalSettings(methods="qat", qat_steps=7).qat_steps == 7
    with pytest.raises(UserInputError, match="qat_steps"):
        EvalSettings(methods="qat", qat_steps=0)


def test_qat_trpo() -> None:
    from sb3_contrib import TRPO

    model = TRPO("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16, 16]), seed=0, device="cpu")
    agent = compress(model, "qat", env="CartPole-v1", calibration_steps=64, qat_steps=STEPS)
    assert agent.finetune is not None and agent.finetune["steps"] == STEPS
    assert any(isinstance(m, nnq.Linear) for m in agent.policy_module.modules())


def test_fine_tuning_stops_at_its_wall_clock_guard(models: dict[str, Any], monkeypatch) -> None:
    """A fake clock that advances 30 s per reading: the guard (MAX_QAT_SECONDS) stops the fine-tuning with one
    error naming the steps done, at any machine speed."""
    from paradox_gym.compression import qat
    from paradox_gym.limits import MAX_QAT_SECONDS

    readings = iter(range(0, 10**6, 30))
    monkeypatch.setattr(qat, "_clock", lambda: float(next(readings)))
    with pytest.raises(UserInputError, match=rf"stopped after \d+ of {STEPS} steps: .*{MAX_QAT_SECONDS:g} s limit"):
        compress(models["PPO"], "qat", env=ENV["PPO"], calibration_steps=64, qat_steps=STEPS)


def test_recipe_seed_past_its_range_is_one_clear_error(models: dict[str, Any]) -> None:
    with pytest.raises(UserInputError, match=r"seed must be an integer >= 0 and <= 4294967295, got 10+"):
        compress(models["PPO"], "qat", env=ENV["PPO"], calibration_steps=64, qat_steps=STEPS, seed=10**30)


@pytest.mark.slow
def test_a_file_at_the_qat_caps_loads_within_the_guard(models: dict[str, Any], tmp_path: Path) -> None:
    """The most fine-tuning a saved agent may ask for (a 64x64 network at MAX_QAT_STEPS, within MAX_QAT_WORK)
    loads: the guard is far above the worst case (docs/evaluation.md, "Size limits"; timed by
    scripts/bench_qat_load.py)."""
    import json
    import zipfile

    from paradox_gym.compression.qat import qat_work
    from paradox_gym.limits import MAX_QAT_STEPS, MAX_QAT_WORK

    model = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[64, 64]), seed=0, device="cpu")
    agent = compress(model, "qat", env="CartPole-v1", calibration_steps=512, qat_steps=1)
    assert qat_work(MAX_QAT_STEPS, agent.footprint.parameters) <= MAX_QAT_WORK
    agent.save(tmp_path / "a.zip")
    with zipfile.ZipFile(tmp_path / "a.zip") as zin, zipfile.ZipFile(tmp_path / "worst.zip", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "agent.json":
                meta = json.loads(data)
                meta["recipe"]["qat_steps"] = MAX_QAT_STEPS
                data = json.dumps(meta).encode()
            zout.writestr(item, data)
    loaded = load_compressed(tmp_path / "worst.zip")
    assert loaded.recipe["qat_steps"] == MAX_QAT_STEPS
