"""Inference runtimes (sb3, torch, onnxruntime): the same actions as SB3's predict, ONNX Runtime's own
quantization, configuration names and settings, comparisons with each runtime's float baseline, and the
arithmetic floor."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

from paradox_gym import analysis as an
from paradox_gym.compression import Footprint, compress
from paradox_gym.compression.floor import inference_floor, measure_macs_per_s
from paradox_gym.compression.runtimes import (
    RUNTIMES,
    SB3,
    build_runtime_agent,
    check_runtime,
    config_name,
    split_config,
)
from paradox_gym.compression.runtimes import ort as ort_runtime
from paradox_gym.envs.rollout import collect_observations
from paradox_gym.errors import UserInputError
from paradox_gym.experiment.agents import build_agents
from paradox_gym.experiment.records import TrialRecord
from paradox_gym.experiment.settings import EvalSettings
from paradox_gym.zoo import load_agent

#: ONNX Runtime's float kernels differ from PyTorch's in the last bits: continuous actions agree within
#: this fraction of the action range (measured: 2.4e-7 of Pendulum's range of 4 for the shipped SAC agent).
CONTINUOUS_TOLERANCE = 1e-5

SHIPPED = {"PPO": ("CartPole-v1", "PPO"), "DQN": ("CartPole-v1", "DQN"), "SAC": ("Pendulum-v1", "SAC"),
           "TD3": ("Pendulum-v1", "TD3"), "A2C": ("CartPole-v1", "A2C")}


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    return {name: load_agent(env, algo) for name, (env, algo) in SHIPPED.items()}


def _observations(agent: Any, env_id: str, n: int = 200) -> np.ndarray:
    """States the float agent visits (rollouts) plus random samples of the observation space."""
    env = gym.make(env_id)
    try:
        visited = collect_observations(agent.predict, env, n, seed=7)
    finally:
        env.close()
    space = agent.observation_space
    space.seed(0)
    return np.concatenate([visited, np.stack([space.sample() for _ in range(n // 4)]).astype(visited.dtype)])


def _assert_same_actions(reference: Any, other: Any, obs: np.ndarray, action_space: Any, *, exact: bool) -> None:
    expected, _ = reference.predict(obs, deterministic=True)
    actual, state = other.predict(obs, deterministic=True)
    assert state is None
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    single_expected, _ = reference.predict(obs[0], deterministic=True)
    single, _ = other.predict(obs[0], deterministic=True)
    assert single.shape == single_expected.shape and single.dtype == single_expected.dtype
    if exact or isinstance(action_space, gym.spaces.Discrete):
        assert np.array_equal(actual, expected)
    else:
        span = float(np.max(action_space.high - action_space.low))
        np.testing.assert_allclose(actual, expected, rtol=0, atol=CONTINUOUS_TOLERANCE * span)


# ---------------------------------------------------------------- the float agent: same actions everywhere
@pytest.mark.parametrize("name", list(SHIPPED))
@pytest.mark.parametrize("runtime", ["torch", "onnxruntime"])
def test_float_agent_same_actions_as_sb3(shipped: dict[str, Any], name: str, runtime: str) -> None:
    model = shipped[name]
    env_id = SHIPPED[name][0]
    agent = compress(model, "none")
    other = build_runtime_agent(agent, runtime)
    obs = _observations(agent, env_id)
    # torch runs the very modules SB3 runs: bit-identical; ONNX Runtime: identical discrete actions,
    # continuous within CONTINUOUS_TOLERANCE of the action range
    _assert_same_actions(agent, other, obs, model.action_space, exact=runtime == "torch")
    assert other.method == "none" and other.recipe["runtime"] == runtime


def test_discrete_observations_and_continuous_ppo() -> None:
    """One-hot preprocessing (FrozenLake's Discrete observations) and PPO's clipped Box actions."""
    for env_id in ("FrozenLake-v1", "Pendulum-v1"):
        model = PPO("MlpPolicy", env_id, policy_kwargs=dict(net_arch=[16]), seed=0, device="cpu")
        agent = compress(model, "none")
        space = model.observation_space
        space.seed(1)
        obs = np.stack([space.sample() for _ in range(64)])
        for runtime in ("torch", "onnxruntime"):
            _assert_same_actions(agent, build_runtime_agent(agent, runtime), obs, model.action_space,
                                 exact=runtime == "torch")


@pytest.mark.parametrize("method", ["ptdq", "ptsq", "prune", "prune-structured", "qat"])
def test_torch_runtime_runs_the_compressed_modules(shipped: dict[str, Any], method: str) -> None:
    agent = compress(shipped["PPO"], method, env="CartPole-v1", calibration_steps=64, qat_steps=10, amount=0.3)
    torch_agent = build_runtime_agent(agent, "torch")
    _assert_same_actions(agent, torch_agent, _observations(agent, "CartPole-v1", 100), agent.action_space, exact=True)
    assert torch_agent.footprint == agent.footprint


def test_sb3_runtime_is_the_compressed_agent(shipped: dict[str, Any]) -> None:
    agent = compress(shipped["PPO"], "ptdq")
    assert build_runtime_agent(agent, SB3) is agent


def test_only_deterministic_actions(shipped: dict[str, Any]) -> None:
    agent = compress(shipped["PPO"], "none")
    for runtime in ("torch", "onnxruntime"):
        with pytest.raises(UserInputError, match="deterministic"):
            build_runtime_agent(agent, runtime).predict(np.zeros(4, dtype=np.float32), deterministic=False)


# ---------------------------------------------------------------- ONNX Runtime's own compression
def _ops(agent: Any) -> dict[str, int]:
    return agent.recipe["onnx_ops"]


def test_onnxruntime_methods_build_their_own_graphs(shipped: dict[str, Any]) -> None:
    model = shipped["PPO"]
    built = {m: build_runtime_agent(compress(model, m, env="CartPole-v1", calibration_steps=128, qat_steps=10,
                                             amount=0.5), "onnxruntime")
             for m in ("none", "ptdq", "ptsq", "prune", "prune-structured", "mixed", "qat")}
    assert set(_ops(built["none"])) <= {"Flatten", "Gemm", "Tanh"}
    assert _ops(built["ptdq"]).get("MatMulInteger") == 3 and built["ptdq"].recipe["onnx_quantization"] == "dynamic"
    assert _ops(built["mixed"]).get("MatMulInteger") == 3
    for m in ("ptsq", "qat"):  # QDQ: QuantizeLinear / DequantizeLinear around float ops, fused at session start
        assert _ops(built[m]).get("QuantizeLinear", 0) >= 3 and _ops(built[m]).get("DequantizeLinear", 0) >= 3
        assert built[m].recipe["onnx_quantization"] == "static"
    assert built["qat"].finetune is not None and built["qat"].finetune["steps"] == 10
    # int8 weights: the ONNX model is smaller than the float one
    for m in ("ptdq", "ptsq", "mixed", "qat"):
        assert built[m].footprint.serialized_bytes < 0.7 * built["none"].footprint.serialized_bytes
    # unstructured pruning is exported as is (dense, with zeros); structured pruning physically smaller
    assert built["prune"].footprint.serialized_bytes == pytest.approx(built["none"].footprint.serialized_bytes, rel=0.02)
    assert built["prune"].footprint.nonzero_parameters < 0.6 * built["prune"].footprint.parameters
    assert built["prune-structured"].footprint.macs < 0.6 * built["none"].footprint.macs
    assert built["prune-structured"].footprint.serialized_bytes < 0.6 * built["none"].footprint.serialized_bytes
    # the float pruned paths give the torch-pruned agent's actions
    obs = _observations(built["none"], "CartPole-v1", 100)
    for m in ("prune", "prune-structured"):
        _assert_same_actions(built[m].agent, built[m], obs, model.action_space, exact=False)
    for agent in built.values():
        actions, _ = agent.predict(obs)
        assert all(model.action_space.contains(int(a)) for a in actions)


def test_onnxruntime_continuous_quantized(shipped: dict[str, Any]) -> None:
    model = shipped["SAC"]
    for m in ("ptdq", "ptsq"):
        agent = build_runtime_agent(compress(model, m, env="Pendulum-v1", calibration_steps=128), "onnxruntime")
        actions, _ = agent.predict(_observations(agent.agent, "Pendulum-v1", 50))
        assert actions.dtype == np.float32 and np.all(np.abs(actions) <= 2.0)


def test_onnxruntime_session_threads_and_models_only_in_memory(shipped: dict[str, Any],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    seen: list[Any] = []
    real = onnxruntime.InferenceSession

    def spy(model: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(model)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", spy)
    agent = build_runtime_agent(compress(shipped["DQN"], "ptdq"), "onnxruntime", threads=2)
    assert seen and all(isinstance(m, bytes) for m in seen)  # built in memory, never read from a path
    assert agent.session.get_session_options().intra_op_num_threads == 2
    assert agent.recipe["intra_op_threads"] == 2


def test_onnxruntime_refuses_float16(shipped: dict[str, Any]) -> None:
    with pytest.raises(UserInputError, match="qint8"):
        build_runtime_agent(compress(shipped["PPO"], "ptdq", dtype="float16"), "onnxruntime")


def test_every_method_has_an_onnx_plan() -> None:
    from paradox_gym.compression import METHODS

    assert set(METHODS) == set(ort_runtime.ONNX_PLANS)


# ---------------------------------------------------------------- names, settings, agents
def test_config_names_and_runtime_table() -> None:
    assert RUNTIMES == ("sb3", "torch", "onnxruntime")
    assert config_name("sb3", "ptdq") == "ptdq" and config_name("onnxruntime", "ptdq") == "onnxruntime:ptdq"
    assert split_config("ptdq") == ("sb3", "ptdq") and split_config("torch:none") == ("torch", "none")
    with pytest.raises(UserInputError, match="unknown runtime 'tflite'; valid: sb3, torch, onnxruntime"):
        check_runtime("tflite")
    with pytest.raises(UserInputError, match="unknown runtime"):
        split_config("tflite:ptdq")


def test_settings_runtimes_configs_and_baselines() -> None:
    s = EvalSettings(methods="ptdq,qat", runtimes="onnxruntime,sb3", control=False)
    assert s.runtimes == ("sb3", "onnxruntime")
    assert s.configs == ("none", "ptdq", "qat", "onnxruntime:none", "onnxruntime:ptdq", "onnxruntime:qat")
    assert s.baselines == {"ptdq": "none", "qat": "none", "onnxruntime:ptdq": "onnxruntime:none",
                           "onnxruntime:qat": "onnxruntime:none", "onnxruntime:none": "none"}
    only = EvalSettings(methods="ptdq", runtimes=["torch"], control=False)
    assert only.configs == ("none", "torch:none", "torch:ptdq")  # the sb3 float baseline is always measured
    assert EvalSettings(methods="ptdq").runtimes == ("sb3",)
    assert EvalSettings.from_dict(s.to_dict()) == s  # the replicate processes rebuild settings from JSON
    with pytest.raises(UserInputError, match="unknown runtime"):
        EvalSettings(runtimes="sb3,tensorrt")
    with pytest.raises(UserInputError, match="runtimes is empty"):
        EvalSettings(runtimes="")


def test_cli_runtime_option() -> None:
    from paradox_gym.cli.evaluate import build_parser, settings_from_args

    args = build_parser().parse_args(["--compress", "ptdq", "--runtime", "sb3,onnxruntime", "--qat-steps", "5",
                                      "--out", "/tmp/unused"])
    settings = settings_from_args(args)
    assert settings.runtimes == ("sb3", "onnxruntime") and settings.qat_steps == 5


def test_build_agents_one_per_runtime_and_method(shipped: dict[str, Any]) -> None:
    agents = build_agents(shipped["PPO"], ["none", "ptdq", "torch:ptdq", "onnxruntime:none", "onnxruntime:ptdq"],
                          amount=0.5, env_id="CartPole-v1", seed=0, threads=1)
    assert list(agents) == ["none", "ptdq", "torch:ptdq", "onnxruntime:none", "onnxruntime:ptdq"]
    assert agents["torch:ptdq"].agent is agents["ptdq"]  # compressed once per method
    assert agents["onnxruntime:ptdq"].recipe["runtime"] == "onnxruntime"
    with pytest.raises(UserInputError, match="unknown compression method"):
        build_agents(shipped["PPO"], ["onnxruntime:zip"], amount=0.5, env_id="CartPole-v1", seed=0)


# ---------------------------------------------------------------- analysis: own baselines, floor
def _trial(config: str, trial: int, e_step: float, policy_s_per_step: float, jitter: float) -> TrialRecord:
    steps = 400
    energy = e_step * steps * (1 + jitter)
    policy_s = policy_s_per_step * steps * (1 + jitter)
    return TrialRecord(
        config=config, trial=trial, seeds=[trial * 2, trial * 2 + 1], returns=[500.0, 500.0], lengths=[200, 200],
        wall_s=1.0, cpu_s=1.0, energy_j={"cpu-model": energy}, energy_method={"cpu-model": "modelled"},
        energy_status={"cpu-model": "ok"},
        phase_energy_j={"cpu-model": {"policy": energy * 0.5, "env": energy * 0.4, "overhead": energy * 0.1}},
        phase_wall_s={"policy": policy_s, "env": 1e-5 * steps, "overhead": 1e-6 * steps},
        phase_cpu_s={"policy": policy_s, "env": 1e-5 * steps, "overhead": 1e-6 * steps},
        policy_ns=np.full(steps, int(policy_s_per_step * 1e9), dtype=np.int64),
    )


def test_analyse_compares_with_the_runtime_baseline_and_the_sb3_one() -> None:
    jitter = [0.0, 0.01, -0.01, 0.02, -0.02]
    spec = {"none": (1e-3, 1e-4), "ptdq": (1.5e-3, 1.6e-4), "onnxruntime:none": (2e-4, 1e-5),
            "onnxruntime:ptdq": (2.4e-4, 1.2e-5)}
    trials = {c: [_trial(c, t, e, p, j) for t, j in enumerate(jitter)] for c, (e, p) in spec.items()}
    fp = Footprint(parameters=4610, nonzero_parameters=4610, serialized_bytes=20000, macs=4480)
    settings = EvalSettings(methods="ptdq", runtimes="sb3,onnxruntime", control=False)
    res = an.analyse(trials, meter="cpu-model", footprints={c: fp for c in spec}, baselines=settings.baselines,
                     macs_per_s=4.48e10)
    assert res.comparisons["ptdq"].baseline == "none"
    assert res.comparisons["onnxruntime:ptdq"].baseline == "onnxruntime:none"
    assert res.comparisons["onnxruntime:none"].baseline == "none"
    assert an.energy_direction(res.comparisons["onnxruntime:ptdq"].energy_per_step) == "higher"  # vs its runtime
    assert set(res.reference_comparisons) == {"onnxruntime:ptdq"}
    ref = res.reference_comparisons["onnxruntime:ptdq"]
    assert ref.baseline == "none" and an.energy_direction(ref.energy_per_step) == "lower"  # vs sb3 float
    assert any("against the none (sb3 float) baseline: onnxruntime:ptdq" in n for n in res.notes)
    # a runtime's float baseline is not a compression: the study's checks leave it out
    assert all("onnxruntime:none" not in c.evidence for c in res.checks)
    floor = res.summaries["none"].inference_floor
    assert floor is not None and floor.floor_s == pytest.approx(1e-7)
    assert floor.multiple == pytest.approx(1000, rel=0.05) and floor.dispatch_fraction == pytest.approx(0.999, abs=1e-3)
    assert any(n.startswith("arithmetic floor") and "99.9" in n for n in res.notes)
    doc = res.to_dict()
    assert doc["summaries"]["none"]["inference_floor"]["macs"] == 4480
    assert "onnxruntime:ptdq" in doc["reference_comparisons"]


def test_inference_floor_and_matmul_rate() -> None:
    f = inference_floor(1000, 2e-6, 1e9)
    assert f.floor_s == pytest.approx(1e-6) and f.multiple == pytest.approx(2.0)
    assert f.dispatch_fraction == pytest.approx(0.5) and f.to_dict()["macs"] == 1000
    assert inference_floor(0, 1e-6, 1e9).multiple is None
    rate = measure_macs_per_s(1, n=128, repeats=2)
    assert rate > 1e7 and measure_macs_per_s(1, n=128, repeats=2) == rate  # measured once, cached


# ---------------------------------------------------------------- end to end
@pytest.mark.slow
def test_evaluate_with_runtimes_one_row_per_runtime_and_method(tmp_path: Any) -> None:
    """``evaluate --compress ptdq,qat --runtime sb3,onnxruntime`` (tiny): one row per (runtime, method), each
    verdict against its own runtime's float baseline."""
    from paradox_gym.pipeline import evaluate

    settings = EvalSettings(env_id="CartPole-v1", methods="ptdq,qat", runtimes="sb3,onnxruntime", episodes=1,
                            trials=2, warmup=0, replicates=1, control=False, memory=False, codecarbon=False,
                            qat_steps=5, out=str(tmp_path))
    result = evaluate(settings)
    expected = ["none", "ptdq", "qat", "onnxruntime:none", "onnxruntime:ptdq", "onnxruntime:qat"]
    assert list(result.analysis.summaries) == expected
    assert {c: comp.baseline for c, comp in result.analysis.comparisons.items()} == settings.baselines
    report = result.report()
    for config in expected:
        assert f"\n{config} " in report
    assert "onnxruntime:ptdq vs onnxruntime:none" in report and "arithmetic floor" in report
    doc = result.to_dict()
    assert doc["recipes"]["onnxruntime:qat"]["finetune"]["steps"] == 5
    assert doc["recipes"]["qat"]["finetune"]["steps"] == 5
    assert doc["summaries"]["onnxruntime:ptdq"]["inference_floor"]["multiple"] > 1
    assert set(doc["reference_comparisons"]) == {"onnxruntime:ptdq", "onnxruntime:qat"}


@pytest.mark.parametrize(("algo", "env_id"), [("TRPO", "CartPole-v1"), ("TRPO", "Pendulum-v1"),
                                              ("QRDQN", "CartPole-v1"), ("TQC", "Pendulum-v1")])
def test_sb3_contrib_float_agents_same_actions(algo: str, env_id: str) -> None:
    import sb3_contrib

    kwargs: dict[str, Any] = dict(net_arch=[16, 16])
    if algo == "QRDQN":
        kwargs["n_quantiles"] = 5
    model = getattr(sb3_contrib, algo)("MlpPolicy", env_id, policy_kwargs=kwargs, seed=0, device="cpu")
    agent = compress(model, "none")
    space = model.observation_space
    space.seed(2)
    obs = np.stack([space.sample() for _ in range(64)])
    for runtime in ("torch", "onnxruntime"):
        _assert_same_actions(agent, build_runtime_agent(agent, runtime), obs, model.action_space,
                             exact=runtime == "torch")
