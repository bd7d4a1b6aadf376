"""THE predict -> step loop. Every place that plays episodes (evaluation trials, warm-up, the memory
probe, the zoo's post-training evaluation, PTSQ calibration, the benchmarks) calls :func:`play_episode`.

Times are in seconds (``_s``) or nanoseconds (``_ns``); returns are in the environment's reward units.

Timing is optional and pluggable: :class:`PolicyTimer` times each ``predict`` call with
``time.perf_counter_ns`` (and, when asked, per-thread CPU time with ``time.thread_time_ns``), hands the
pair to a recorder (``EnergyWrapper.record_policy_time``) and keeps the wall latencies (ns).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from gymnasium.spaces import Discrete

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
    """
    perf = time.perf_counter_ns
    step = env.step
    discrete = isinstance(env.action_space, Discrete)
    t0 = perf()
    obs, info = env.reset(seed=seed)
    total = 0.0
    length = 0
    while max_steps is None or length < max_steps:
        if observe is not None:
            observe(obs)
        if timer is None:
            action, _ = predict(obs, deterministic=deterministic)
        else:
            action = timer(predict, obs, deterministic)
        obs, reward, terminated, truncated, info = step(int(action) if discrete else action)
        total += float(reward)
        length += 1
        if terminated or truncated:
            break
    return EpisodeOutcome(total, length, (perf() - t0) / 1e9, info)


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
