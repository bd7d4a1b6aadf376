"""Faults of environments and meters during a rollout: clear errors for a broken environment, labelled
``failed`` figures (never an aborted rollout) for a broken meter, and a wrapper that stays usable."""

from __future__ import annotations

import math
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from paradox_gym.energy import EnergyWrapper
from paradox_gym.energy.measurement import EnergyReading
from paradox_gym.energy.meters import Availability, CodeCarbonMeter, CpuModelMeter, Meter
from paradox_gym.envs.rollout import PolicyTimer, play_episode
from paradox_gym.errors import EnvironmentFault, ParadoxGymError, UserInputError, UserTypeError

FAULTY_ID = "paradox_gym_test/Faulty-v0"


class FaultyEnv(gymnasium.Env[np.ndarray, int]):
    """A 3-value Box observation, 2 actions; from step ``at`` on, ``step`` returns ``bad`` in place of the
    field ``field`` (or the whole result, or raises ``raises``). Episodes end at step ``length``."""

    def __init__(self, field: str = "", bad: Any = None, at: int = 1, length: int = 20,
                 raises: BaseException | None = None, reset_raises: BaseException | None = None,
                 reset_obs: Any = None) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.field, self.bad, self.at, self.length = field, bad, at, length
        self.raises, self.reset_raises, self.reset_obs = raises, reset_raises, reset_obs
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.t = 0
        if self.reset_raises is not None:
            raise self.reset_raises
        if self.field == "reset":
            return self.bad
        obs = np.zeros(3, np.float32) if self.reset_obs is None else self.reset_obs
        return obs, {}

    def step(self, action: int) -> Any:
        self.t += 1
        if self.raises is not None and self.t >= self.at:
            raise self.raises
        done = self.t >= self.length
        result = {"obs": np.full(3, 0.1, np.float32), "reward": 1.0, "terminated": done,
                  "truncated": False, "info": {}}
        if self.t >= self.at:
            if self.field == "result":
                return self.bad
            if self.field in result:
                result[self.field] = self.bad
        return tuple(result.values())


if FAULTY_ID not in gymnasium.registry:
    gymnasium.register(FAULTY_ID, entry_point=FaultyEnv, disable_env_checker=True)


def zero_policy(obs: Any, deterministic: bool = True) -> tuple[int, None]:
    return 0, None


def play(env: Any, seed: int = 3, **kwargs: Any) -> Any:
    return play_episode(zero_policy, env, seed, **kwargs)


# --- environment faults in the rollout loop ------------------------------------------------------


def test_reward_none_names_env_step_and_seed() -> None:
    env = gymnasium.make(FAULTY_ID, field="reward", bad=None, at=17)
    with pytest.raises(EnvironmentFault) as raised:
        play(env, seed=3)
    assert str(raised.value) == (f"{FAULTY_ID} step returned reward None at step 17 of the episode with "
                                 "seed 3; a reward must be a finite real number")
    assert isinstance(raised.value, ParadoxGymError) and isinstance(raised.value, RuntimeError)


@pytest.mark.parametrize(("field", "bad", "expected"), [
    ("reward", float("nan"), "reward nan at step 2 of the episode with seed 3; a reward must be a finite"),
    ("reward", float("-inf"), "reward -inf at step 2"),
    ("reward", np.float32("nan"), "reward np.float32(nan) at step 2"),
    ("reward", "1.5", "reward '1.5' at step 2"),
    ("reward", b"1", "reward b'1' at step 2"),
    ("reward", 1j, "reward 1j at step 2"),
    ("reward", [1.0], "reward [1.0] at step 2"),
    ("reward", np.array([1.0, 2.0]), "reward array [1. 2.] of shape (2,) and dtype float64 at step 2"),
    ("reward", 10**400, "reward 1000"),
    ("obs", np.zeros(4, np.float32), "observation array [0. 0. 0. 0.] of shape (4,) and dtype float32 of "
                                     "shape (4,) at step 2 of the episode with seed 3; the observation "
                                     "space has shape (3,)"),
    ("obs", None, "observation None of shape () at step 2"),
    ("obs", [0.0, 0.0], "of shape (2,) at step 2"),
    ("info", None, "info None at step 2 of the episode with seed 3; info must be a dict"),
    ("info", [("a", 1)], "info [('a', 1)] at step 2"),
    ("terminated", np.array([True, False]), "terminated array [ True False] of shape (2,) and dtype bool at "
                                            "step 2 of the episode with seed 3; terminated must be a bool"),
    ("terminated", None, "terminated None at step 2"),
    ("terminated", 2, "terminated 2 at step 2"),
    ("terminated", "yes", "terminated 'yes' at step 2"),
    ("truncated", np.float64("nan"), "truncated np.float64(nan) at step 2 of the episode with seed 3; truncated"),
    ("result", None, "step returned None at step 2 of the episode with seed 3; step must return "
                     "(observation, reward, terminated, truncated, info)"),
    ("result", (np.zeros(3, np.float32), 1.0, False, {}), "step must return (observation, reward"),
])
def test_broken_step_results_raise_environment_fault(field: str, bad: Any, expected: str) -> None:
    env = FaultyEnv(field=field, bad=bad, at=2)
    with pytest.raises(EnvironmentFault, match="^FaultyEnv step returned ") as raised:
        play(env)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 400


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"field": "reset", "bad": np.zeros(3)}, "reset returned array [0. 0. 0.] of shape (3,) and dtype "
                                             "float64 for the episode with seed 3; reset must return "
                                             "(observation, info)"),
    ({"field": "reset", "bad": None}, "reset returned None for the episode with seed 3"),
    ({"reset_obs": np.array([0.0, np.nan, 0.0], np.float32)},
     "reset returned observation array [ 0. nan  0.] of shape (3,) and dtype float32 containing NaN for the "
     "episode with seed 3; an observation must not contain NaN"),
    ({"reset_obs": np.zeros((3, 1), np.float32)}, "of shape (3, 1) for the episode with seed 3; the "
                                                  "observation space has shape (3,)"),
    ({"field": "obs", "bad": np.array([np.nan, 0, 0], np.float32), "at": 5, "length": 5},
     "step returned observation array [nan  0.  0.] of shape (3,) and dtype float32 containing NaN at step 5"),
])
def test_broken_reset_and_observations(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(EnvironmentFault) as raised:
        play(FaultyEnv(**kwargs))
    assert expected in str(raised.value)


@pytest.mark.parametrize(("field", "value"), [
    ("reward", np.float32(0.5)), ("reward", np.int64(2)), ("reward", 1), ("reward", True),
    ("reward", np.array(0.5)), ("terminated", np.bool_(False)), ("terminated", np.array(False)),
    ("terminated", 0), ("truncated", np.array([0])), ("obs", [0.1, 0.1, 0.1]),
])
def test_valid_variations_are_accepted(field: str, value: Any) -> None:
    outcome = play(FaultyEnv(field=field, bad=value, length=6), max_steps=6)  # falsy flags never end it
    assert outcome.length_steps == 6
    expected = 6 * float(np.asarray(value)) if field == "reward" else 6.0
    assert outcome.episode_return == pytest.approx(expected)


def test_truthy_integer_flags_end_the_episode() -> None:
    assert play(FaultyEnv(field="truncated", bad=np.int8(1), at=4)).length_steps == 4


def test_env_exception_propagates_unchanged_and_the_wrapper_stays_usable() -> None:
    boom = ZeroDivisionError("physics exploded")
    inner = FaultyEnv(raises=boom, at=5)
    env = EnergyWrapper(inner, meters=[CpuModelMeter(cpu_tdp_w=10.0)])
    timer = PolicyTimer(env.record_policy_time)
    env.begin_trial()
    with pytest.raises(ZeroDivisionError) as raised:
        play(env, timer=timer)
    assert raised.value is boom
    assert env.aborted_episodes == 1 and env.episodes == [] and env.discarded_episodes == 0
    assert env.meters[0].open_windows != ()  # only the trial window is left open
    trial = env.end_trial()
    assert trial.steps == 4 and trial.readings["cpu-model"].energy_j is not None
    assert env.meters[0].open_windows == ()
    inner.raises = None  # the environment recovers: the wrapper measures the next episode normally
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no "reset before the episode ended" warning
        outcome = play(env, timer=timer)
    assert outcome.length_steps == 20 and outcome.final_info["energy"].steps == 20
    assert len(env.episodes) == 1
    env.close()


def test_env_reset_exception_propagates_and_the_wrapper_stays_usable() -> None:
    boom = OSError("simulator died")
    env = EnergyWrapper(FaultyEnv(reset_raises=boom), meters=["cpu-model"])
    env.begin_trial()
    with pytest.raises(OSError) as raised:
        play(env)
    assert raised.value is boom and env.aborted_episodes == 1
    assert env.end_trial().steps == 0
    env.close()
    assert env.meters[0].open_windows == ()


@pytest.mark.parametrize(("field", "bad"), [("reward", None), ("terminated", np.array([True, True])),
                                            ("info", None), ("result", None)])
def test_environment_fault_through_the_wrapper_leaves_it_closable(field: str, bad: Any) -> None:
    env = EnergyWrapper(FaultyEnv(field=field, bad=bad, at=3, length=3), meters=["cpu-model"])
    env.begin_trial()
    with pytest.raises(EnvironmentFault, match="at step 3 of the episode with seed 3"):
        play(env, timer=PolicyTimer(env.record_policy_time))
    assert env.end_trial().steps == 3
    env.close()
    assert env.meters[0].open_windows == ()


# --- meter faults never abort a rollout -------------------------------------------------------------


class FakeMeter(Meter):
    """A meter whose every hook can be made to raise ``exc`` (``fail_in``) or whose reading can be bad."""

    name = "fake"
    method = "measured"
    resolution_s = 0.0

    def __init__(self, fail_in: str = "", exc: BaseException | None = None, energy: Any = 2.0,
                 components: dict[str, Any] | None = None, name: str = "fake") -> None:
        super().__init__()
        self.name = name
        self.fail_in = fail_in
        self.exc = exc if exc is not None else RuntimeError("sensor gone")
        self.energy = energy
        self.components = {"cpu": 2.0} if components is None else components
        self.reads = 0
        self.closed = False

    def _maybe_raise(self, where: str) -> None:
        if self.fail_in == where:
            raise self.exc

    def prepare(self) -> None:
        self._maybe_raise("prepare")

    def _probe(self) -> tuple[bool, str]:
        return True, "fake counter"

    def _on_begin(self, key: str) -> None:
        self._maybe_raise("on_begin")

    def _read(self) -> int:
        self.reads += 1
        self._maybe_raise("read")
        return self.reads

    def _on_end(self, key: str) -> None:
        self._maybe_raise("on_end")

    def _reading(self, start: Any, stop: Any, wall_s: float, cpu_s: float) -> EnergyReading:
        self._maybe_raise("reading")
        return EnergyReading(self.name, self.method, self.energy, "ok", dict(self.components))

    def begin(self, key: str) -> None:
        self._maybe_raise("begin")
        super().begin(key)

    def end(self, key: str) -> EnergyReading:
        self._maybe_raise("end")
        if self.fail_in == "end-returns-none":
            super().end(key)
            return None  # type: ignore[return-value]
        return super().end(key)

    def close(self) -> None:
        self.closed = True
        self._maybe_raise("close")
        super().close()


def _episode(env: EnergyWrapper) -> Any:
    return play(env, timer=PolicyTimer(env.record_policy_time)).final_info["energy"]


@pytest.mark.parametrize(("kwargs", "note"), [
    ({"fail_in": "on_begin"}, "reading at window start failed: RuntimeError: sensor gone"),
    ({"fail_in": "read"}, "reading at window start failed: RuntimeError: sensor gone"),
    ({"fail_in": "on_end"}, "end-of-window hook failed: RuntimeError: sensor gone"),
    ({"fail_in": "reading"}, "RuntimeError: sensor gone"),
    ({"fail_in": "begin"}, "window start failed: RuntimeError: sensor gone"),
    ({"fail_in": "end"}, "window end failed: RuntimeError: sensor gone"),
    ({"fail_in": "end-returns-none"}, "the meter returned NoneType, not an EnergyReading"),
    ({"energy": float("nan")}, "ValueError: a reading with status 'ok' needs a finite energy_j, got nan"),
    ({"energy": float("inf")}, "needs a finite energy_j, got inf"),
    ({"energy": -3.0}, "the meter returned energy_j=-3.0 J; an energy must be a finite number >= 0"),
    ({"components": {"cpu": float("nan")}}, "component 'cpu' = nan J; an energy must be a finite number"),
    ({"components": {"gpu-0": -1.0}}, "component 'gpu-0' = -1.0 J"),
    ({"components": {"cpu": None}}, "component 'cpu' = None J"),
])
def test_meter_fault_gives_a_labelled_failed_figure(kwargs: dict[str, Any], note: str) -> None:
    fake = FakeMeter(**kwargs)
    env = EnergyWrapper(FaultyEnv(length=5), meters=[CpuModelMeter(cpu_tdp_w=10.0), fake])
    env.begin_trial()
    window = _episode(env)
    trial = env.end_trial()
    for w in (window, trial):
        reading = w.readings["fake"]
        assert reading.status == "failed" and reading.energy_j is None and reading.method == "measured"
        assert reading.note.startswith(note) or note in reading.note, reading.note
        assert "fake" not in w.phase_energy_j
        assert w.readings["cpu-model"].energy_j is not None
    assert len(env.episodes) == 1
    assert env.summary()["episodes"]["meters"]["fake"]["failed"] == 1
    env.close()
    assert fake.open_windows == ()  # (an ``end`` that raised early left them open until close)


def test_a_healthy_fake_meter_reports_its_figure() -> None:
    env = EnergyWrapper(FaultyEnv(length=5), meters=[FakeMeter()])
    reading = _episode(env).readings["fake"]
    assert reading.status == "ok" and reading.energy_j == 2.0
    env.close()


def test_failed_prepare_makes_every_window_failed_not_the_run() -> None:
    fake = FakeMeter(fail_in="prepare", exc=PermissionError("no access to the counter"))
    env = EnergyWrapper(FaultyEnv(length=5), meters=[fake, CpuModelMeter(cpu_tdp_w=10.0)])
    assert fake.fault == "set-up (prepare) failed: PermissionError: no access to the counter"
    reads = fake.reads
    for _ in range(2):
        env.begin_trial()
        episode = _episode(env)
        trial = env.end_trial()
        for w in (episode, trial):
            assert w.readings["fake"].status == "failed"
            assert w.readings["fake"].note == fake.fault
            assert w.readings["cpu-model"].energy_j is not None
    assert fake.reads == reads  # a broken meter is not read again
    env.close()


def test_codecarbon_prepare_failure_in_the_wrapper(monkeypatch: pytest.MonkeyPatch) -> None:
    meter = CodeCarbonMeter(cpu_tdp_w=10.0)
    meter._availability = Availability(True, "pretend CodeCarbon can run")

    def broken_tracker() -> Any:
        raise RuntimeError("hardware probe crashed")

    monkeypatch.setattr(meter, "_get_tracker", broken_tracker)
    env = EnergyWrapper(FaultyEnv(length=5), meters=[CpuModelMeter(cpu_tdp_w=10.0), meter])
    env.begin_trial()
    _episode(env)
    reading = env.end_trial().readings["codecarbon"]
    assert reading.status == "failed"
    assert reading.note == "set-up (prepare) failed: RuntimeError: hardware probe crashed"
    env.close()


def test_meter_close_failure_warns_and_closes_the_rest() -> None:
    bad = FakeMeter(fail_in="close", name="bad")
    good = FakeMeter(name="good")
    inner = FaultyEnv(length=5)
    closed = []
    inner.close = lambda: closed.append(True)  # type: ignore[method-assign]
    env = EnergyWrapper(inner, meters=[bad, good])
    env.reset(seed=0)
    env.begin_trial()
    with pytest.warns(RuntimeWarning, match="meter\\(s\\) failed to close: bad: RuntimeError: sensor gone"):
        env.close()
    assert bad.closed and good.closed and closed == [True]
    assert good.open_windows == ()


def test_a_hook_that_raises_while_closing_does_not_stop_close() -> None:
    fake = FakeMeter(fail_in="on_end")
    fake.begin("a")
    fake.begin("b")
    fake.close()
    assert fake.open_windows == ()


@pytest.mark.parametrize("where", ["on_end", "read", "prepare", "begin", "end", "reading"])
def test_keyboard_interrupt_is_never_swallowed(where: str) -> None:
    fake = FakeMeter(fail_in=where, exc=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        env = EnergyWrapper(FaultyEnv(length=5), meters=[fake])
        env.begin_trial()
        _episode(env)
        env.end_trial()


# --- bad arguments of the wrapper ---------------------------------------------------------------------


@pytest.mark.parametrize(("wall", "cpu"), [
    (float("nan"), 0), (0, float("nan")), (float("inf"), 0), (-1, 0), (0, -5), (None, 0), ("5", 0),
    (True, 0), (1j, 0), (np.array([1, 2]), 0),
])
def test_record_policy_time_refuses_bad_times(wall: Any, cpu: Any) -> None:
    env = EnergyWrapper(FaultyEnv(), meters=["cpu-model"])
    with pytest.raises(UserInputError, match=r"^record_policy_time: policy times must be finite numbers of "
                                             r"nanoseconds >= 0, got wall_ns="):
        env.record_policy_time(wall, cpu)
    assert (env._pol_wall, env._pol_cpu) == (0, 0)  # nothing half-recorded
    env.record_policy_time(1500, 700)
    env.record_policy_time(np.int64(10), 2.9)  # numpy integers and floats are fine (whole ns kept)
    assert (env._pol_wall, env._pol_cpu) == (1510, 702)


@pytest.mark.parametrize("clock", [None, ["wall"], np.array(["wall"]), "WALL", 0])
def test_bad_phase_clock(clock: Any) -> None:
    with pytest.raises(UserInputError, match="unknown phase_clock .*; valid: wall, cpu"):
        EnergyWrapper(FaultyEnv(), meters=["cpu-model"], phase_clock=clock)


def test_meter_lists() -> None:
    meter = CpuModelMeter()
    with pytest.raises(UserInputError, match="two meters share a name"):
        EnergyWrapper(FaultyEnv(), meters=[meter, meter])
    with pytest.raises(UserInputError, match="two meters share a name"):
        EnergyWrapper(FaultyEnv(), meters=[CpuModelMeter(), CpuModelMeter()])
    with pytest.raises(UserInputError, match="listed twice"):
        EnergyWrapper(FaultyEnv(), meters=["cpu-model", "cpu-model"])
    with pytest.raises(UserTypeError, match="got int"):
        EnergyWrapper(FaultyEnv(), meters=5)  # type: ignore[arg-type]
    with pytest.raises(UserTypeError, match=r"got \[None\]"):
        EnergyWrapper(FaultyEnv(), meters=[None])  # type: ignore[list-item]
    odd = FakeMeter()
    odd.method = "guessed"
    with pytest.raises(UserInputError, match="needs a non-empty name and a method"):
        EnergyWrapper(FaultyEnv(), meters=[odd])
    env = EnergyWrapper(FaultyEnv(length=3), meters=meter)  # a single Meter object
    assert env.meters == [meter]
    assert math.isfinite(_episode(env).readings["cpu-model"].energy_j)
    env.close()
