"""THE predict -> step loop. Every place that plays episodes (evaluation trials, warm-up, the memory
probe, the zoo's post-training evaluation, PTSQ calibration, the benchmarks) calls :func:`play_episode`.

Times are in seconds (``_s``) or nanoseconds (``_ns``); returns are in the environment's reward units.

Timing is optional and pluggable: :class:`PolicyTimer` times each ``predict`` call with
``time.perf_counter_ns`` (and, when asked, per-thread CPU time with ``time.thread_time_ns``), hands the
pair to a recorder (``EnergyWrapper.record_policy_time``) and keeps the wall latencies (ns).

An environment that breaks the Gymnasium contract (a reward that is not a finite real number, an
observation of the wrong shape or with NaN, ``terminated`` / ``truncated`` that are not booleans, an
``info`` that is not a dict, a malformed ``step`` / ``reset`` result) stops the episode with
:class:`~paradox_gym.errors.EnvironmentFault` naming the environment, the step and the episode's seed.
The checks cost a few tens of nanoseconds a step: per step the reward, the flags, the ``info`` type and
(for a ``Box`` space) the observation's shape are checked; the observation's values are checked for NaN
at reset and at the end of the episode only (a per-step scan would cost about 1 us a step).
"""

from __future__ import annotations

import reprlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from gymnasium.spaces import Box, Discrete

from paradox_gym.errors import EnvironmentFault

#: ``predict(observation, deterministic=...) -> (action, state)``, as SB3's ``BaseAlgorithm.predict``.
Predict = Callable[..., tuple[Any, Any]]


@dataclass(frozen=True)
class EpisodeOutcome:
    """One played episode: its return, length (steps), wall time (s, reset included) and the last
    ``info`` dict the environment returned (an EnergyWrapper puts the episode's window under ``"energy"``)."""

    episode_return: float
    length_steps: int
    wall_s: float
    final_info: dict[str, Any] = field(default_factory=dict)


class PolicyTimer:
    """Times each ``predict`` call (wall ns, and thread CPU ns when ``cpu_clock``), passes the pair to
    ``record(wall_ns, cpu_ns)`` (``cpu_ns`` is 0 without ``cpu_clock``) and appends the wall time to
    ``latencies_ns``."""

    __slots__ = ("record", "cpu_clock", "latencies_ns", "synchronize")

    def __init__(self, record: Callable[[int, int], None] | None = None, *, cpu_clock: bool = False,
                 latencies_ns: list[int] | None = None, synchronize: Callable[[], None] | None = None) -> None:
        self.record = record
        self.cpu_clock = cpu_clock
        self.latencies_ns: list[int] = latencies_ns if latencies_ns is not None else []
        #: called after ``predict`` inside the timed span (``torch.cuda.synchronize`` for a policy on the
        #: GPU), so that asynchronous device work is charged to the policy, not to the next phase
        self.synchronize = synchronize

    def __call__(self, predict: Predict, obs: Any, deterministic: bool) -> Any:
        perf = time.perf_counter_ns
        if self.cpu_clock:
            thread = time.thread_time_ns
            w0 = perf()
            c0 = thread()
            action, _ = predict(obs, deterministic=deterministic)
            if self.synchronize is not None:
                self.synchronize()
            c1 = thread()
            w1 = perf()
            cpu = c1 - c0
        else:
            w0 = perf()
            action, _ = predict(obs, deterministic=deterministic)
            if self.synchronize is not None:
                self.synchronize()
            w1 = perf()
            cpu = 0
        if self.record is not None:
            self.record(w1 - w0, cpu)
        self.latencies_ns.append(w1 - w0)
        return action


def play_episode(
    predict: Predict,
    env: Any,
    seed: int | None,
    *,
    deterministic: bool = True,
    timer: PolicyTimer | None = None,
    observe: Callable[[Any], None] | None = None,
    max_steps: int | None = None,
) -> EpisodeOutcome:
    """Play one episode of ``predict`` in ``env`` (a ``gymnasium.Env``) reset with ``seed``.

    ``timer`` times every ``predict`` call; ``observe(obs)`` sees every observation the policy acts on;
    ``max_steps`` stops the episode early (the outcome then covers the steps played). Discrete actions
    are passed to ``env.step`` as ``int`` (SB3 returns 0-d arrays; table-based envs need an int).

    Raises:
        EnvironmentFault: the environment broke its contract (see the module docstring), e.g.
            ``"CartPole-v1 step returned reward None at step 17 of the episode with seed 3; a reward must
            be a finite real number"``. Steps are counted from 1; step 0 is the reset.
        Exception: an exception raised by the environment's own ``reset`` / ``step`` (or by ``predict``)
            propagates unchanged. An :class:`~paradox_gym.energy.EnergyWrapper` around the environment
            then drops the episode's window (``aborted_episodes``) and stays usable: ``end_trial()``,
            ``reset()`` and ``close()`` work as after a normal episode.
    """
    perf = time.perf_counter_ns
    step = env.step
    discrete = isinstance(env.action_space, Discrete)
    space = env.observation_space
    box_shape = space.shape if isinstance(space, Box) else None
    ndarray, real = np.ndarray, float  # locals: the per-step checks below are identity tests
    t0 = perf()
    result: Any = env.reset(seed=seed)
    try:
        obs, info = result
    except (TypeError, ValueError):
        raise _fault(env, 0, seed, _show(result), "reset must return (observation, info)") from None
    _check_observation(env, obs, box_shape, 0, seed)
    total = 0.0
    length = 0
    while max_steps is None or length < max_steps:
        if observe is not None:
            observe(obs)
        if timer is None:
            action, _ = predict(obs, deterministic=deterministic)
        else:
            action = timer(predict, obs, deterministic)
        result = step(int(action) if discrete else action)
        length += 1
        try:
            obs, reward, terminated, truncated, info = result
        except (TypeError, ValueError):
            raise _fault(env, length, seed, _show(result),
                         "step must return (observation, reward, terminated, truncated, info)") from None
        if reward.__class__ is real:
            r = reward
        else:  # numpy float64 (a float subclass) converts directly; anything else is checked
            r = float(reward) if isinstance(reward, real) else _as_reward(reward)
        if r - r != 0.0:  # NaN or +-inf (or not a number at all: _as_reward gave NaN)
            raise _fault(env, length, seed, f"reward {_show(reward)}", "a reward must be a finite real number")
        total += r
        if box_shape is not None and (obs.__class__ is not ndarray or obs.shape != box_shape):
            _check_shape(env, obs, box_shape, length, seed)
        if info.__class__ is not dict and not isinstance(info, dict):
            raise _fault(env, length, seed, f"info {_show(info)}", "info must be a dict")
        if terminated is True or truncated is True:
            break
        if terminated is not False or truncated is not False:  # not plain bools: numpy bools, 0/1, faults
            if _as_flag(env, "terminated", terminated, length, seed) | _as_flag(env, "truncated", truncated,
                                                                               length, seed):
                break
    if length:
        _check_observation(env, obs, None, length, seed)  # the last observation's values
    return EpisodeOutcome(total, length, (perf() - t0) / 1e9, info)


_NAN = float("nan")
_TEXT = (str, bytes, bytearray)


def _as_reward(reward: Any) -> float:
    """``float(reward)``, or NaN when it is not a real number (text, None, complex, a sized array)."""
    if isinstance(reward, _TEXT):
        return _NAN
    try:
        return float(reward)
    except (TypeError, ValueError, OverflowError):
        return _NAN


_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60


def _show(value: Any) -> str:
    """A short repr of ``value`` for an error message (never raises, never long)."""
    try:
        if isinstance(value, np.ndarray):
            text = np.array2string(value, threshold=6, edgeitems=2, max_line_width=10_000)
            return f"array {text} of shape {value.shape} and dtype {value.dtype}"
        return _REPR.repr(value)
    except Exception:  # noqa: BLE001 - the env's object: whatever its repr raises, its type is shown
        return f"<{type(value).__name__}>"


def _env_name(env: Any) -> str:
    try:
        spec = getattr(env, "spec", None)
        if spec is not None and getattr(spec, "id", None):
            return str(spec.id)
        return type(getattr(env, "unwrapped", env)).__name__
    except Exception:  # noqa: BLE001 - the user's env: whatever its spec property raises, its class names it
        return type(env).__name__


def _fault(env: Any, step: int, seed: int | None, returned: str, rule: str) -> EnvironmentFault:
    """``"<env> step returned <returned> at step <n> of the episode with seed <seed>; <rule>"`` (step 0:
    ``"<env> reset returned <returned> for the episode with seed <seed>; <rule>"``)."""
    call, where = ("reset", "for") if step == 0 else ("step", f"at step {step} of")
    return EnvironmentFault(f"{_env_name(env)} {call} returned {returned} {where} the episode with seed {seed}; "
                            f"{rule}")


def _check_shape(env: Any, obs: Any, box_shape: tuple[int, ...], step: int, seed: int | None) -> None:
    try:
        shape = np.shape(obs)
    except (TypeError, ValueError):  # ragged nesting (ValueError) or not an array: the fault below names it
        shape = None
    if shape != box_shape:
        raise _fault(env, step, seed, f"observation {_show(obs)} of shape {shape}",
                     f"the observation space has shape {box_shape}")


def _check_observation(env: Any, obs: Any, box_shape: tuple[int, ...] | None, step: int,
                       seed: int | None) -> None:
    """Shape (when ``box_shape``) and NaN check of one observation (per episode, not per step)."""
    if box_shape is not None:
        _check_shape(env, obs, box_shape, step, seed)
    if not isinstance(obs, dict):
        try:
            array = np.asarray(obs)
            bad = array.dtype.kind in "fc" and bool(np.isnan(array).any())
        except (TypeError, ValueError):  # ragged or not numeric: no NaN to find (the shape check names a shape)
            bad = False
        if bad:
            raise _fault(env, step, seed, f"observation {_show(obs)} containing NaN",
                         "an observation must not contain NaN")


def _as_flag(env: Any, name: str, value: Any, step: int, seed: int | None) -> bool:
    """``terminated`` / ``truncated`` as a bool: bools, numpy bools, the integers 0 and 1 and one-element
    arrays of those are accepted; anything else is a fault."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    array = value if isinstance(value, np.ndarray) else None
    if array is None and isinstance(value, (int, np.integer)):
        array = np.asarray(value)
    if array is not None and array.size == 1 and array.dtype.kind in "biu":
        flag = array.reshape(()).item()
        if flag in (0, 1):
            return bool(flag)
    raise _fault(env, step, seed, f"{name} {_show(value)}", f"{name} must be a bool")


def collect_observations(predict: Predict, env: Any, steps: int, seed: int) -> np.ndarray:
    """The first ``steps`` observations ``predict`` acts on (deterministically), over as many episodes as
    needed (episode ``i`` reset with ``seed + i``); shape ``(steps, *obs_shape)``."""
    collected: list[np.ndarray] = []
    episode = 0
    while len(collected) < steps:
        play_episode(predict, env, seed + episode, observe=lambda o: collected.append(np.asarray(o)),
                     max_steps=steps - len(collected))
        episode += 1
    return np.stack(collected[:steps])
