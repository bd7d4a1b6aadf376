"""EnergyWrapper as a Gymnasium citizen: env_checker, specs that rebuild it, vector environments (Gymnasium's
``make_vec`` and SB3's ``make_vec_env``)."""

from __future__ import annotations

import functools
import re
import warnings

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env

import paradox_gym  # noqa: F401
from paradox_gym.energy import EnergyWrapper


def _check_env_warnings(env: gym.Env) -> set[str]:
    """The warnings check_env gives, with the env's repr blanked (it names the wrapper stack)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)  # rendering needs pygame, which is not installed
    return {f"{w.category.__name__}: {re.sub(r'<[^ ]*>', '<env>', str(w.message))}" for w in caught}


def test_check_env_passes_with_no_warning_of_its_own() -> None:
    wrapped = _check_env_warnings(EnergyWrapper(gym.make("CartPole-v1"), meters=["cpu-model"]))
    bare = _check_env_warnings(gym.make("CartPole-v1"))
    assert wrapped == bare  # Gymnasium's own remarks on CartPole's spaces only: none about the wrapper
    assert not any("RuntimeWarning" in w or "EnergyWrapper" in w for w in wrapped)


def test_spec_records_every_argument_and_rebuilds_the_wrapper() -> None:
    env = EnergyWrapper(gym.make("CartPole-v1"), meters=["cpu-model"], cpu_tdp_w=50.0, phase_clock="cpu")
    (recorded,) = env.spec.additional_wrappers
    assert recorded.name == "EnergyWrapper"
    assert recorded.entry_point == "paradox_gym.energy.wrapper:EnergyWrapper"
    assert recorded.kwargs == {"meters": ["cpu-model"], "cpu_tdp_w": 50.0, "phase_clock": "cpu"}
    for spec in (env.spec, EnvSpec.from_json(env.spec.to_json())):
        rebuilt = gym.make(spec)
        assert isinstance(rebuilt, EnergyWrapper) and rebuilt is not env
        assert [m.name for m in rebuilt.meters] == ["cpu-model"] and rebuilt.meters[0] is not env.meters[0]
        assert rebuilt.phase_clock == "cpu" and rebuilt.meters[0].tdp.tdp_w == 50.0
        rebuilt.reset(seed=0)
        info: dict = {}
        done = False
        while not done:
            _, _, terminated, truncated, info = rebuilt.step(rebuilt.action_space.sample())
            done = terminated or truncated
        assert info["energy"].readings["cpu-model"].energy_j > 0 and len(rebuilt.episodes) == 1
        rebuilt.close()
    env.close()


def test_meter_objects_are_recorded_by_name() -> None:
    from paradox_gym.energy import make_meters

    env = EnergyWrapper(gym.make("CartPole-v1"), meters=make_meters(["cpu-model"], cpu_tdp_w=40.0))
    assert env.spec.additional_wrappers[0].kwargs["meters"] == ["cpu-model"]
    assert [m.name for m in gym.make(env.spec).meters] == ["cpu-model"]
    default = EnergyWrapper(gym.make("CartPole-v1"))
    assert default.spec.additional_wrappers[0].kwargs["meters"] is None  # the defaults of the machine it runs on


def _play(step, reset, n_envs: int, steps: int) -> None:
    reset(seed=0)
    for _ in range(steps):
        step([0] * n_envs)


def test_gymnasium_make_vec_wraps_each_env() -> None:
    wrapper = functools.partial(EnergyWrapper, meters=["cpu-model"])
    vec = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync", wrappers=[wrapper])
    _play(vec.step, vec.reset, 2, 60)  # always pushing left ends a CartPole episode in about 10 steps
    for env in vec.envs:
        assert isinstance(env, EnergyWrapper) and len(env.episodes) >= 3
        assert all(w.steps > 0 and w.readings["cpu-model"].energy_j > 0 for w in env.episodes)
    vec.close()


def test_sb3_make_vec_env_wrapper_class() -> None:
    from stable_baselines3.common.env_util import make_vec_env

    vec = make_vec_env("CartPole-v1", n_envs=2, seed=0, wrapper_class=EnergyWrapper,
                       wrapper_kwargs={"meters": ["cpu-model"]})
    vec.reset()
    for _ in range(60):
        _, _, dones, infos = vec.step([0, 0])
    for env in vec.envs:
        assert isinstance(env, EnergyWrapper) and len(env.episodes) >= 3 and env.discarded_episodes == 0
    vec.close()
