"""EnergyWrapper: episode and trial windows, phase split, info["energy"], faults, bad inputs."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import gymnasium as gym
import pytest
from fakes.powercap import add_energy, build_tree, remove_zone
from gymnasium.wrappers import RecordEpisodeStatistics

import paradox_gym  # noqa: F401
from paradox_gym.energy import EnergyWrapper, WindowMeasurement, make_meters
from paradox_gym.energy.meters import CpuModelMeter, RaplMeter
from paradox_gym.errors import UserInputError, UserTypeError
from paradox_gym.experiment.records import CONTENTION_SHARE


def _run_episode(env: gym.Env, seed: int, policy=None) -> dict:
    obs, _ = env.reset(seed=seed)
    inner = env.unwrapped
    while True:
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        action = policy(inner) if policy else env.action_space.sample()
        wrapper = env if isinstance(env, EnergyWrapper) else _find(env)
        wrapper.record_policy_time(time.perf_counter_ns() - w0, time.thread_time_ns() - c0)
        obs, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return info


def _find(env: gym.Env) -> EnergyWrapper:
    while not isinstance(env, EnergyWrapper):
        env = env.env
    return env


def _mock(complexity: int, steps: int = 60) -> gym.Env:
    return gym.make("paradox_gym/MockDRL-v0", complexity=complexity, hazard=0.0,
                    max_episode_steps=steps)


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_episode_windows_and_phase_split_env_dominates(clock: str) -> None:
    env = EnergyWrapper(_mock(complexity=300), meters=["cpu-model"], cpu_tdp_w=50.0, phase_clock=clock)
    env.begin_trial()
    infos = [_run_episode(env, seed, policy=lambda e: e.target_action()) for seed in range(3)]
    trial = env.end_trial()
    assert len(env.episodes) == 3 and len(env.trials) == 1
    for info, ep in zip(infos, env.episodes):
        m = info["energy"]
        assert m is ep and isinstance(m, WindowMeasurement) and m.kind == "episode"
        assert m.steps == 60
        r = m.readings["cpu-model"]
        assert r.status == "ok" and r.energy_j > 0
        ph = m.phases
        assert ph.clock == clock and m.to_dict()["phase_clock"] == clock
        # phases sum to the window
        assert ph.total_wall_s == pytest.approx(m.wall_s, rel=1e-6)
        assert sum(m.phase_energy_j["cpu-model"].values()) == pytest.approx(r.energy_j)
        # heavy physics: the environment dominates time and energy (the wall clock's split holds only
        # while this thread has the CPU: under contention it is flagged unreliable, as the runner does)
        if clock == "cpu" or ph.total_cpu_s >= CONTENTION_SHARE * ph.total_wall_s:
            assert ph.env_cpu_s > 0.8 * ph.total_cpu_s
            assert m.phase_energy_j["cpu-model"]["env"] > 0.8 * r.energy_j
        assert ph.policy_wall_s > 0
    assert trial.steps == 180
    assert trial.wall_s >= sum(e.wall_s for e in env.episodes)
    assert [e.index for e in env.episodes] == [0, 1, 2]
    s = env.summary()
    assert s["episodes"]["windows"] == 3 and s["episodes"]["steps"] == 180
    cm = s["episodes"]["meters"]["cpu-model"]
    assert cm["method"] == "modelled" and cm["ok"] == 3
    assert cm["energy_j"] == pytest.approx(sum(e.energy_j("cpu-model") for e in env.episodes))
    env.close()


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_cheap_env_policy_share_grows(clock: str) -> None:
    def slow_policy(e):
        end = time.perf_counter() + 0.0005
        while time.perf_counter() < end:
            pass
        return e.target_action()

    env = EnergyWrapper(_mock(complexity=0, steps=40), meters=["cpu-model"], phase_clock=clock)
    info = _run_episode(env, 0, policy=slow_policy)
    ph = info["energy"].phases
    assert ph.policy_cpu_s > ph.env_cpu_s


def test_row_flattening() -> None:
    env = EnergyWrapper(gym.make("CartPole-v1"), meters=["cpu-model"], cpu_tdp_w=10.0)
    info = _run_episode(env, 0)
    row = info["energy"].to_dict()
    for key in ("kind", "steps", "wall_s", "env_cpu_s", "cpu-model.energy_j", "cpu-model.method",
                "cpu-model.status", "cpu-model.env_j", "cpu-model.cpu_j", "cpu-model.tdp_w"):
        assert key in row
    assert row["cpu-model.status"] == "too_short"  # a CartPole episode is far below 10 ms of CPU


@pytest.mark.parametrize("outside", [True, False])
def test_no_clash_with_episode_statistics(outside: bool) -> None:
    base = gym.make("CartPole-v1")
    env = RecordEpisodeStatistics(EnergyWrapper(base, meters=["cpu-model"])) if outside else \
        EnergyWrapper(RecordEpisodeStatistics(base), meters=["cpu-model"])
    info = _run_episode(env, 1)
    assert "episode" in info and "r" in info["episode"]
    assert isinstance(info["energy"], WindowMeasurement)
    assert info["energy"].steps == info["episode"]["l"]


@pytest.mark.parametrize("outside", [True, False])
def test_no_clash_with_sb3_monitor(outside: bool) -> None:
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    base = gym.make("CartPole-v1")
    env = Monitor(EnergyWrapper(base, meters=["cpu-model"])) if outside else \
        EnergyWrapper(Monitor(base), meters=["cpu-model"])
    info = _run_episode(env, 2)
    assert set(info["episode"]) == {"r", "l", "t"}
    assert isinstance(info["energy"], WindowMeasurement)
    assert info["energy"].steps == info["episode"]["l"]
    # SB3's vectorised auto-reset: every episode gets its own window, next to Monitor's record
    venv = DummyVecEnv([lambda: Monitor(EnergyWrapper(gym.make("CartPole-v1"), meters=["cpu-model"]))])
    venv.seed(0)
    venv.reset()
    done_infos = []
    while len(done_infos) < 2:
        _, _, dones, infos = venv.step([venv.action_space.sample()])
        done_infos += [i for d, i in zip(dones, infos) if d]
    for i, done_info in enumerate(done_infos):
        assert done_info["energy"].index == i
        assert done_info["energy"].steps == done_info["episode"]["l"]
        assert "terminal_observation" in done_info
    venv.close()


def test_meter_failure_mid_run_does_not_stop_rollout(tmp_path: Path) -> None:
    build_tree(tmp_path, dram=False)
    env = EnergyWrapper(_mock(5, steps=30), meters=[CpuModelMeter(), RaplMeter(root=tmp_path)])
    env.reset(seed=0)
    remove_zone(tmp_path, "intel-rapl:0")
    for _ in range(30):
        *_, info = env.step(env.action_space.sample())
        if "energy" in info:
            break
    m = info["energy"]
    assert m.readings["rapl"].status == "failed" and m.readings["rapl"].energy_j is None
    assert m.readings["cpu-model"].energy_j is not None
    assert "rapl" not in m.phase_energy_j
    build_tree(tmp_path, dram=False)
    env.reset(seed=1)
    add_energy(tmp_path, "intel-rapl:0", 2_000_000)
    time.sleep(0.02)
    for _ in range(30):
        *_, info = env.step(env.action_space.sample())
        if "energy" in info:
            break
    assert info["energy"].readings["rapl"].components["machine"] == pytest.approx(2.0)
    assert env.summary()["episodes"]["meters"]["rapl"]["failed"] == 1


def test_unavailable_meter_requested_explicitly_reports_reason() -> None:
    env = EnergyWrapper(gym.make("CartPole-v1"), meters=["cpu-model", "rapl", "nvml"])
    info = _run_episode(env, 0)
    for name in ("rapl", "nvml"):
        r = info["energy"].readings[name]
        if r.status == "unavailable":
            assert r.energy_j is None and r.note
            assert env.summary()["episodes"]["meters"][name]["energy_j"] is None


def test_reset_mid_episode_discards_window() -> None:
    env = EnergyWrapper(gym.make("CartPole-v1"), meters=["cpu-model"])
    env.reset(seed=0)
    env.reset(seed=0)  # no step taken yet: nothing lost, no warning
    assert env.discarded_episodes == 0
    env.step(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a TimeLimit sits inside: the reset is the caller's choice, no warning
        _run_episode(env, 1)
    assert len(env.episodes) == 1 and env.meters[0].open_windows == ()
    assert env.discarded_episodes == 1


def test_time_limit_outside_the_wrapper_is_reported() -> None:
    from gymnasium.wrappers import TimeLimit

    inner = EnergyWrapper(_mock(0, steps=1000).unwrapped, meters=["cpu-model"])
    env = TimeLimit(inner, max_episode_steps=3)  # ends episodes the EnergyWrapper never sees end
    env.reset(seed=0)
    for _ in range(3):
        *_, info = env.step(env.action_space.sample())
    assert "energy" not in info
    with pytest.warns(RuntimeWarning, match="TimeLimit"):
        env.reset(seed=1)
    assert inner.episodes == [] and inner.discarded_episodes == 1


def test_bad_inputs() -> None:
    with pytest.raises(UserInputError, match="unknown meter 'joulemeter'; valid meters: cpu-model"):
        make_meters(["joulemeter"])
    with pytest.raises(UserInputError, match="twice"):
        make_meters(["cpu-model", "cpu-model"])
    with pytest.raises(UserTypeError):
        make_meters([3])
    with pytest.raises(UserInputError, match="cpu_tdp_w"):
        make_meters(["cpu-model"], cpu_tdp_w=-5)
    with pytest.raises(UserTypeError):
        make_meters(["cpu-model"], cpu_tdp_w="85")
    with pytest.raises(UserInputError, match="unknown meter"):
        EnergyWrapper(gym.make("CartPole-v1"), meters=["cpu-model", "bogus"])
    with pytest.raises(UserTypeError):
        EnergyWrapper(gym.make("CartPole-v1"), meters=["cpu-model", CpuModelMeter()])
    with pytest.raises(UserInputError, match="unknown phase_clock 'tsc'; valid: wall, cpu"):
        EnergyWrapper(gym.make("CartPole-v1"), meters=["cpu-model"], phase_clock="tsc")
    env = EnergyWrapper(gym.make("CartPole-v1"), meters=["cpu-model"])
    with pytest.raises(UserInputError, match="no trial is open"):
        env.end_trial()
    env.begin_trial()
    with pytest.raises(UserInputError, match="already open"):
        env.begin_trial()
    with pytest.raises(UserInputError):
        env.record_policy_time(-1, 0)
    from paradox_gym.energy.meters import CodeCarbonMeter, NvmlMeter

    with pytest.raises(UserInputError, match="cpu_tdp_w"):
        CpuModelMeter(cpu_tdp_w=-5.0)  # built directly, not through make_meters
    with pytest.raises(UserInputError, match="n_cpus"):
        CpuModelMeter(n_cpus=0)
    with pytest.raises(UserInputError, match="cpu_tdp_w"):
        CodeCarbonMeter(cpu_tdp_w=0.0)
    with pytest.raises(UserInputError, match="unknown tracking_mode 'proc'; valid: process, machine"):
        CodeCarbonMeter(tracking_mode="proc")
    with pytest.raises(UserInputError, match="poll_s"):
        NvmlMeter(poll_s=0.0)
    meter = CpuModelMeter()
    with pytest.raises(UserInputError, match="no open window"):
        meter.end("nothing")
    meter.begin("a")
    with pytest.raises(UserInputError, match="already open"):
        meter.begin("a")


def test_window_keys_stay_unique_when_lists_are_cleared() -> None:
    from paradox_gym.energy.meters import CodeCarbonMeter

    meter = CodeCarbonMeter()
    env = EnergyWrapper(gym.make("CartPole-v1"), meters=[CpuModelMeter(), meter])
    for _ in range(2):
        env.begin_trial()
        _run_episode(env, 0)
        assert env.end_trial().readings["codecarbon"].status in ("ok", "too_short")
        env.trials.clear()
        env.episodes.clear()
    env.close()


def test_default_meters_include_cpu_model_never_codecarbon() -> None:
    from paradox_gym.energy import default_meter_names

    names = default_meter_names()
    assert names[0] == "cpu-model" and "codecarbon" not in names
    env = EnergyWrapper(gym.make("CartPole-v1"))
    assert [m.name for m in env.meters] == names
