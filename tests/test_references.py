"""Reference returns (rl-zoo3's benchmark) and the weak-agent warning."""

from __future__ import annotations

import pytest

from paradox_gym.references import RL_ZOO3_BENCHMARK, WEAK_RATIO, baseline_reference, reference_return


def test_the_table_covers_the_study_agents_with_their_figures() -> None:
    figures = {("ppo", "Hopper-v5"): 2410, ("trpo", "Hopper-v5"): 3618, ("sac", "Hopper-v5"): 2326,
               ("td3", "Hopper-v5"): 3606, ("ppo", "HalfCheetah-v5"): 5819, ("trpo", "HalfCheetah-v5"): 1785,
               ("sac", "HalfCheetah-v5"): 9535, ("td3", "HalfCheetah-v5"): 9656}
    for (algo, env), value in figures.items():
        found = reference_return(algo.upper(), env)
        assert found is not None, (algo, env)
        assert found[0] == pytest.approx(value, abs=1.0)
        assert "rl-zoo3" in found[1] and f"measured on {env.replace('-v5', '-v3')}, this run uses {env}" in found[1]
    for algo in ("PPO", "A2C", "DQN", "QRDQN", "TRPO"):
        assert reference_return(algo, "CartPole-v1") == (500.0, reference_return(algo, "CartPole-v1")[1])
        assert "measured on" not in reference_return(algo, "CartPole-v1")[1]
    assert reference_return("DQN", "Hopper-v5") is None  # rl-zoo3 has no such agent
    assert reference_return("PPO", "paradox_gym/MockDRL-v0") is None
    assert reference_return(None, "CartPole-v1") is None
    assert all(algo == algo.lower() for algo, _ in RL_ZOO3_BENCHMARK)


def test_the_stand_still_hopper_gets_the_warning() -> None:
    ref = baseline_reference("PPO", "Hopper-v5", 1025.7)
    assert ref is not None and ref.ratio == pytest.approx(1025.7 / 2410.435)
    assert ref.weak and ref.ratio < WEAK_RATIO
    assert ref.warning == ("weak agent: its baseline return 1025.7 is 0.43x rl-zoo3's PPO on Hopper-v3 (2410.4); "
                           "findings for this agent may not carry over to trained agents")
    doc = ref.to_dict()
    assert doc["return"] == pytest.approx(2410.435) and doc["ratio"] == pytest.approx(0.4255, abs=1e-3)
    assert "Hopper-v3" in doc["source"] and doc["warning"] == ref.warning


def test_a_trained_agent_gets_no_warning_and_negative_returns_compare_the_right_way() -> None:
    trpo = baseline_reference("TRPO", "Hopper-v5", 3019.1)
    assert trpo is not None and not trpo.weak and trpo.warning is None
    good = baseline_reference("SAC", "Pendulum-v1", -160.0)  # close to the reference -157.0
    bad = baseline_reference("SAC", "Pendulum-v1", -1200.0)  # about what random actions get
    assert good is not None and bad is not None
    assert good.ratio == pytest.approx(-156.995 / -160.0) and good.warning is None
    assert bad.ratio == pytest.approx(156.995 / 1200.0) and bad.weak and "reference /" in bad.ratio_rule
    backwards = baseline_reference("PPO", "Hopper-v5", -3.0)
    assert backwards is not None and backwards.ratio is None and backwards.weak
    assert baseline_reference("PPO", "Hopper-v5", None) is None
    assert baseline_reference("PPO", "Hopper-v5", float("nan")) is None
