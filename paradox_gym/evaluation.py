"""Seeded rollouts of compressed agents through the EnergyWrapper: warm-up, interleaved trials, timing.

The records defined at the top of this module (``EpisodeRecord``, ``TrialRecord``) are plain data: energies
in J, times in s (per-step policy latencies in ns). ``paradox_gym.analysis`` consumes them. The heavy
dependencies (gymnasium, torch, the energy package) are imported inside the functions that need them so
that importing the records stays cheap. This module receives agents ready to run (loading and compressing
them is the caller's job, ``paradox_gym.configurations``): it never calls the zoo or the compression package.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

PHASES: tuple[str, ...] = ("policy", "env", "overhead")
WARMUP_SEED_OFFSET = 1_000_000


@dataclass
class EpisodeRecord:
    """One measured episode: return, length (steps), wall time (s) and its energy window (flattened dict)."""

    config: str
    trial: int
    episode: int
    seed: int
    ret: float
    length: int
    wall_s: float
    window: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrialRecord:
    """One trial (several episodes in one EnergyWrapper trial window) of one configuration.

    ``energy_j`` maps meter name -> trial energy in J (``None`` when that meter failed);
    ``energy_method`` / ``energy_status`` give each meter's method and status.
    ``phase_energy_j`` maps meter -> phase (policy / env / overhead) -> J, ``phase_wall_s`` and
    ``phase_cpu_s`` map phase -> s. ``policy_ns`` holds the wall time of every ``predict`` call (ns).
    """

    config: str
    trial: int
    seeds: list[int]
    returns: list[float]
    lengths: list[int]
    wall_s: float
    cpu_s: float
    energy_j: dict[str, float | None]
    energy_method: dict[str, str]
    energy_status: dict[str, str]
    phase_energy_j: dict[str, dict[str, float]]
    phase_wall_s: dict[str, float]
    phase_cpu_s: dict[str, float]
    policy_ns: np.ndarray
    crosscheck: dict[str, Any] | None = None
    energy_note: dict[str, str] = field(default_factory=dict)

    @property
    def episodes(self) -> int:
        return len(self.returns)

    @property
    def steps(self) -> int:
        return int(sum(self.lengths))


# ---------------------------------------------------------------------------------------------------
# Configuration of a run
# ---------------------------------------------------------------------------------------------------
@dataclass
class EvalSettings:
    """Everything that defines an evaluation (validated by the caller, e.g. ``paradox_gym.cli``).

    ``methods`` always starts with ``"none"`` (the baseline). ``episodes`` are per trial; ``warmup`` is
    a number of episodes per configuration; energy meters are named as in ``paradox_gym.energy``.
    """

    env_id: str
    algo: str | None
    methods: list[str]
    amount: float = 0.5
    episodes: int = 10
    trials: int = 5
    warmup: int = 2
    seed: int = 0
    meters: list[str] = field(default_factory=lambda: ["cpu-model"])
    cpu_tdp_w: float | None = None
    threads: int = 1
    memory: bool = True
    memory_episodes: int = 3
    agent_path: str | None = None
    phase_clock: str = "wall"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def episode_seed(seed: int, trial: int, episode: int, episodes: int) -> int:
    """Seed of episode ``episode`` of trial ``trial``: the same for every configuration (paired trials)."""
    return seed + trial * episodes + episode


def warmup_seed(seed: int, episode: int) -> int:
    """Seed of warm-up episode ``episode`` (kept apart from the measured episodes' seeds)."""
    return seed + WARMUP_SEED_OFFSET + episode


def choose_primary_meter(meters: Sequence[Any]) -> Any:
    """The meter whose figures the report shows: among available meters other than CodeCarbon, the first
    ``measured`` one, else the first ``sampled``, else the first ``modelled`` (order as given).

    Raises:
        UserInputError: no chosen meter (other than CodeCarbon) is available on this machine.
    """
    from paradox_gym.errors import UserInputError

    candidates = [m for m in meters if m.name != "codecarbon" and m.availability()[0]]
    for method in ("measured", "sampled", "modelled"):
        for meter in candidates:
            if meter.method == method:
                return meter
    reasons = "; ".join(f"{m.name}: {m.availability()[1]}" for m in meters if m.name != "codecarbon")
    raise UserInputError(
        f"none of the meters {[m.name for m in meters]} can give the energy figures here ({reasons}); "
        "include cpu-model"
    )


# ---------------------------------------------------------------------------------------------------
# Rollouts
# ---------------------------------------------------------------------------------------------------
def run_episode(agent: Any, env: Any, seed: int, latencies: list[int]) -> tuple[float, int, float, Any]:
    """One deterministic episode of ``agent`` in ``env`` (an EnergyWrapper) reset with ``seed``.

    Each ``predict`` call is timed (wall, and thread CPU when the wrapper's ``phase_clock`` is
    ``"cpu"``; ns), reported to the wrapper with
    ``record_policy_time`` and its wall time appended to ``latencies``. Returns
    ``(return, length in steps, wall time in s, episode WindowMeasurement or None)``.
    """
    perf = time.perf_counter_ns
    thread = time.thread_time_ns
    predict = agent.predict
    step = env.step
    record = env.record_policy_time
    append = latencies.append
    t0 = perf()
    obs, _ = env.reset(seed=seed)
    total = 0.0
    length = 0
    info: dict[str, Any] = {}
    cpu_clock = getattr(env, "phase_clock", "cpu") == "cpu"
    # SB3 returns a 0-d array for Discrete actions; table-based envs (FrozenLake, Taxi) need an int
    from gymnasium.spaces import Discrete

    discrete = isinstance(env.action_space, Discrete)
    while True:
        if cpu_clock:
            w0 = perf()
            c0 = thread()
            action, _ = predict(obs, deterministic=True)
            c1 = thread()
            w1 = perf()
            record(w1 - w0, c1 - c0)
        else:
            w0 = perf()
            action, _ = predict(obs, deterministic=True)
            w1 = perf()
            record(w1 - w0, 0)
        append(w1 - w0)
        obs, reward, terminated, truncated, info = step(int(action) if discrete else action)
        total += float(reward)
        length += 1
        if terminated or truncated:
            break
    return total, length, (perf() - t0) / 1e9, info.get("energy")


@dataclass
class EvaluationRun:
    """What an evaluation produced: trials and episodes per configuration, in the order they ran."""

    trials: dict[str, list[TrialRecord]]
    episodes: list[EpisodeRecord]
    meters: dict[str, dict[str, Any]]
    primary_meter: str
    crosscheck_meter: str | None
    warmup_seeds: list[int]
    interrupted: bool = False
    elapsed_s: float = 0.0


def _trial_record(config: str, trial: int, seeds: list[int], returns: list[float], lengths: list[int],
                  window: Any, latencies: list[int], primary: str, crosscheck_meter: str | None) -> TrialRecord:
    from paradox_gym.energy import cross_check

    readings = window.readings
    cc = None
    if crosscheck_meter is not None and crosscheck_meter in readings and primary in readings:
        cc = cross_check(readings[primary], readings[crosscheck_meter]).to_dict()
    ph = window.phases
    return TrialRecord(
        config=config,
        trial=trial,
        seeds=seeds,
        returns=returns,
        lengths=lengths,
        wall_s=window.wall_s,
        cpu_s=window.cpu_s,
        energy_j={k: r.energy_j for k, r in readings.items()},
        energy_method={k: r.method for k, r in readings.items()},
        energy_status={k: r.status for k, r in readings.items()},
        phase_energy_j={k: dict(v) for k, v in window.phase_energy_j.items()},
        phase_wall_s={"policy": ph.policy_wall_s, "env": ph.env_wall_s, "overhead": ph.overhead_wall_s},
        phase_cpu_s={"policy": ph.policy_cpu_s, "env": ph.env_cpu_s, "overhead": ph.overhead_cpu_s},
        policy_ns=np.asarray(latencies, dtype=np.int64),
        crosscheck=cc,
        energy_note={k: r.note for k, r in readings.items()},
    )


def run_evaluation(
    agents: dict[str, Any],
    settings: EvalSettings,
    *,
    on_trial: Callable[[TrialRecord], None] | None = None,
) -> EvaluationRun:
    """Warm up, then run ``settings.trials`` rounds of trials interleaved across configurations (A B A B).

    All configurations share one environment and one :class:`EnergyWrapper`; trial ``t`` of every
    configuration plays the same episode seeds (:func:`episode_seed`). A ``KeyboardInterrupt`` stops the
    run: the trial in progress is discarded and the returned run has ``interrupted=True`` with every
    complete trial.
    """
    import gymnasium
    import torch

    import paradox_gym  # noqa: F401  (registers the mock environments)
    from paradox_gym.energy import EnergyWrapper, make_meters

    torch.set_num_threads(settings.threads)
    meters = make_meters(settings.meters, cpu_tdp_w=settings.cpu_tdp_w)
    primary = choose_primary_meter(meters).name
    crosscheck_meter = "codecarbon" if any(
        m.name == "codecarbon" and m.availability()[0] for m in meters) else None
    meter_info = {
        m.name: {"method": m.method, "available": m.availability()[0], "reason": m.availability()[1],
                 "resolution_s": m.resolution_s}
        for m in meters
    }
    for meter in meters:  # one-time set-up (CodeCarbon's hardware probe) outside every window
        prepare = getattr(meter, "prepare", None)
        if callable(prepare) and meter.availability()[0]:
            try:
                prepare()
            except Exception:  # noqa: BLE001 - the meter then reports its own failure per window
                pass
    env = EnergyWrapper(gymnasium.make(settings.env_id), meters, phase_clock=settings.phase_clock)
    run = EvaluationRun({c: [] for c in agents}, [], meter_info, primary, crosscheck_meter,
                        [warmup_seed(settings.seed, i) for i in range(settings.warmup)])
    started = time.perf_counter()
    try:
        # Warm-up: every configuration plays its warm-up episodes inside one throw-away trial window, so
        # that one-time costs (lazy imports, first tracker start of each meter) fall outside measured trials.
        scratch: list[int] = []
        env.begin_trial()
        for config, agent in agents.items():
            for seed in run.warmup_seeds:
                run_episode(agent, env, seed, scratch)
                scratch.clear()
        env.end_trial()
        for trial in range(settings.trials):
            for config, agent in agents.items():
                seeds = [episode_seed(settings.seed, trial, i, settings.episodes) for i in range(settings.episodes)]
                latencies: list[int] = []
                returns: list[float] = []
                lengths: list[int] = []
                episodes: list[EpisodeRecord] = []
                env.begin_trial()
                for i, seed in enumerate(seeds):
                    ret, length, wall_s, window = run_episode(agent, env, seed, latencies)
                    returns.append(ret)
                    lengths.append(length)
                    episodes.append(EpisodeRecord(config, trial, i, seed, ret, length, wall_s,
                                                  window.to_dict() if window is not None else {}))
                window = env.end_trial()
                record = _trial_record(config, trial, seeds, returns, lengths, window, latencies,
                                       primary, crosscheck_meter)
                run.trials[config].append(record)
                run.episodes.extend(episodes)
                if on_trial is not None:
                    on_trial(record)
    except KeyboardInterrupt:
        run.interrupted = True
    finally:
        run.elapsed_s = time.perf_counter() - started
        try:
            env.close()
        except KeyboardInterrupt:  # a second Ctrl-C while closing the meters
            run.interrupted = True
        except Exception:  # noqa: BLE001 - closing must not hide the results
            pass
    return run


# ---------------------------------------------------------------------------------------------------
# Memory, in a fresh process per configuration
# ---------------------------------------------------------------------------------------------------
def _memory_command(settings: EvalSettings, method: str) -> list[str]:
    import sys

    cmd = [
        sys.executable, "-m", "paradox_gym.memory",
        "--env", settings.env_id, "--algo", settings.algo, "--method", method,
        "--amount", repr(settings.amount), "--episodes", str(settings.memory_episodes),
        "--seed", str(settings.seed), "--threads", str(settings.threads),
    ]
    if settings.agent_path is not None:
        cmd += ["--agent", str(settings.agent_path)]
    return cmd


def measure_memory(settings: EvalSettings, methods: Sequence[str], *, timeout_s: float = 300.0,
                   parallel: int = 2) -> dict[str, dict[str, Any]]:
    """Run ``python -m paradox_gym.memory`` once per configuration, each in a fresh process (at most
    ``parallel`` at a time; each process measures only itself). Returns method -> its JSON result.

    A failure is returned as ``{"status": "failed", "reason": ...}`` (never as 0 bytes).
    """
    import json
    import subprocess

    results: dict[str, dict[str, Any]] = {}
    pending = list(methods)
    while pending:
        batch, pending = pending[:max(1, parallel)], pending[max(1, parallel):]
        procs = {
            m: subprocess.Popen(_memory_command(settings, m), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
            for m in batch
        }
        try:
            for method, proc in procs.items():
                try:
                    stdout, stderr = proc.communicate(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    results[method] = {"status": "failed", "reason": f"memory probe timed out after {timeout_s:.0f} s"}
                    continue
                lines = [line for line in stdout.splitlines() if line.strip().startswith("{")]
                if proc.returncode != 0 or not lines:
                    tail = (stderr.strip().splitlines() or ["no output"])[-1]
                    results[method] = {"status": "failed",
                                       "reason": f"memory probe exited with {proc.returncode}: {tail}"}
                else:
                    results[method] = json.loads(lines[-1])
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return {m: results[m] for m in methods}
