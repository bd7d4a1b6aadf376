"""--stochastic: seeded sampled actions through the evaluation's rollout; deterministic stays the default."""

from __future__ import annotations

from paradox_gym.energy import EnergyWrapper
from paradox_gym.experiment.agents import build_agents, load_model
from paradox_gym.experiment.runner import run_episode
from paradox_gym.experiment.settings import EvalSettings
from paradox_gym.zoo import make_env


def test_stochastic_episodes_are_seeded_and_differ_from_deterministic() -> None:
    assert EvalSettings().stochastic is False
    assert EvalSettings(stochastic=True).to_dict()["stochastic"] is True
    model = load_model("Pendulum-v1", "SAC")
    agent = build_agents(model, ["none"], amount=0.5, env_id="Pendulum-v1", seed=0)["none"]
    env = EnergyWrapper(make_env("Pendulum-v1"), ["cpu-model"])
    try:
        def play(stochastic: bool) -> float:
            env.begin_trial()
            ret = run_episode(agent, env, 7, [], stochastic=stochastic)[0]
            env.end_trial()
            return ret

        sampled = [play(True) for _ in range(2)]
        deterministic = [play(False) for _ in range(2)]
    finally:
        env.close()
    assert sampled[0] == sampled[1]  # the same seed samples the same actions
    assert deterministic[0] == deterministic[1]
    assert sampled[0] != deterministic[0]
