"""Seeded rollouts of ready agents through the EnergyWrapper: warm-up, then trials interleaved across
configurations (A B A B ...), every episode played by :func:`paradox_gym.envs.rollout.play_episode`.

This module receives agents ready to run (loading and compressing them is
:mod:`paradox_gym.experiment.agents`' job). Energies in J, times in s, latencies in ns.
"""

from __future__ import annotations

import time
import warnings
from array import array
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from paradox_gym._util.cli import one_line
from paradox_gym.energy import EnergyWrapper, cross_check, make_meters
from paradox_gym.energy.crosscheck import TrialCrossCheck
from paradox_gym.energy.devices import HEADLINE
from paradox_gym.energy.meters import METERS, Meter
from paradox_gym.energy.placement import place_policy
from paradox_gym.envs import close_env
from paradox_gym.envs.rollout import PolicyTimer, play_episode
from paradox_gym.errors import ParadoxGymError, UserInputError
from paradox_gym.experiment.background import BackgroundLoad
from paradox_gym.experiment.records import CONTENTION_SHARE, EpisodeRecord, TrialRecord
from paradox_gym.experiment.agents import make_eval_env
from paradox_gym.experiment.design import OrderPlan, check_orders
from paradox_gym.experiment.device_energy import DeviceAccounting, DeviceSetup, IdleRecord
from paradox_gym.experiment.settings import EvalSettings

#: Warm-up episodes draw their seeds from [2**62, 2**63): measured seeds are at most MAX_SEED plus
#: replicates x trials x episodes (each capped by paradox_gym.limits), far below, so the two never meet.
WARMUP_SEED_BASE = 2**62
SEED_RULE = ("episode seed = seed + (replicate * trials + trial) * episodes + episode (the same for every "
             "configuration: paired); the configuration order of each round is not drawn from the seed: "
             "see design.rule and design.order_seed")


def episode_seed(seed: int, trial: int, episode: int, episodes: int, replicate: int, trials: int) -> int:
    """Seed of episode ``episode`` of trial ``trial`` in replicate ``replicate`` (each replicate of
    ``trials`` trials plays its own seeds): the same for every configuration (paired trials)."""
    return seed + (replicate * trials + trial) * episodes + episode


def warmup_seed(seed: int, episode: int) -> int:
    """Seed of warm-up episode ``episode``: from a space disjoint from the measured episodes' seeds."""
    return WARMUP_SEED_BASE + seed + episode


def choose_primary_meter(meters: Sequence[Meter]) -> Meter:
    """The meter whose figures the report shows: among available ``energy``-role meters, the first
    ``measured`` one, else the first ``sampled``, else the first ``modelled`` (order as given).

    Raises:
        UserInputError: no chosen energy meter is available on this machine.
    """
    candidates = [m for m in meters if METERS[m.name].role == "energy" and m.availability().available]
    for method in ("measured", "sampled", "modelled"):
        for meter in candidates:
            if meter.method == method:
                return meter
    reasons = "; ".join(f"{m.name}: {m.availability().reason}" for m in meters if METERS[m.name].role == "energy")
    raise UserInputError(
        f"none of the meters {[m.name for m in meters]} can give the energy figures here ({reasons}); "
        "include cpu-model"
    )


def check_meters(settings: EvalSettings) -> None:
    """Raise UserInputError now (before any process starts) if the chosen meters cannot measure the
    policy's device here, or the energy scope leaves it out: the check each replicate would make."""
    meters = make_meters(list(settings.meters or ()), cpu_tdp_w=settings.cpu_tdp_w)
    try:
        DeviceAccounting.build(meters, settings.energy_scope, settings.device)
    finally:
        for meter in meters:
            try:
                meter.close()
            except Exception as exc:  # noqa: BLE001 - a check only: a fault while closing is a warning
                warnings.warn(f"closing meter {meter.name!r} after its check raised {type(exc).__name__}: "
                              f"{one_line(exc)[:300]} (ignored)", RuntimeWarning, stacklevel=2)


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
    notes: list[str] = field(default_factory=list)
    #: replicates whose process failed (their whole trials, if any, are kept)
    failed_replicates: list[int] = field(default_factory=list)
    #: why the run stopped early (an exception from the environment, the agent or a meter), one line;
    #: None when it did not fail
    error: str | None = None
    #: the devices measured, their meters and the headline scope (``DeviceAccounting.info()``); None when
    #: no replicate got as far as planning them
    devices: DeviceSetup | None = None
    #: the ``idle`` windows interleaved after each round of trials
    idle_windows: list[IdleRecord] = field(default_factory=list)
    #: replicate -> its rounds' configuration orders, in play order (:mod:`paradox_gym.experiment.design`)
    orders: dict[int, list[list[str]]] = field(default_factory=dict)
    #: the seed the orders were drawn from (None when not known)
    order_seed: int | None = None
    #: the other processes' CPU time during each replicate (:mod:`paradox_gym.experiment.background`)
    background: list[BackgroundLoad] = field(default_factory=list)


def _trial_record(config: str, trial: int, seeds: list[int], returns: list[float], lengths: list[int],
                  window: Any, latencies: Sequence[int], primary: str, crosscheck_meter: str | None,
                  replicate: int, position: int) -> TrialRecord:
    readings = window.readings
    cc = None
    if crosscheck_meter is not None and crosscheck_meter in readings and primary in readings:
        cc = TrialCrossCheck.of(cross_check(readings[primary], readings[crosscheck_meter]))
    ph = window.phases
    rollout_cpu = ph.policy_cpu_s + ph.env_cpu_s + ph.overhead_cpu_s  # the rollout thread's CPU time
    share = rollout_cpu / window.wall_s if window.wall_s > 0 else None
    cpu_clock = ph.clock == "cpu"
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
        phase_cpu_s=({"policy": ph.policy_cpu_s, "env": ph.env_cpu_s, "overhead": ph.overhead_cpu_s}
                     if cpu_clock else {}),
        policy_ns=np.asarray(latencies, dtype=np.int64),
        crosscheck=cc,
        energy_note={k: r.note for k, r in readings.items()},
        replicate=replicate,
        position=position,
        phase_clock=ph.clock,
        rollout_cpu_s=rollout_cpu,
        rollout_cpu_share=share,
        # with the CPU clock each phase is timed on the thread's own clock: contention cannot leak into it
        phase_split_reliable=cpu_clock or share is None or share >= CONTENTION_SHARE,
        reset_wall_s=ph.reset_wall_s,
    )


def describe_failure(exc: BaseException, where: str) -> str:
    """One line: where it happened, the exception's type (unless a paradox_gym error) and message."""
    message = one_line(exc)[:1000]
    kind = "" if isinstance(exc, ParadoxGymError) else f"{type(exc).__name__}: "
    return f"{where}: {kind}{message}" if message else f"{where}: {type(exc).__name__}"


def run_episode(agent: Any, env: EnergyWrapper, seed: int, latencies: Any, *,
                stochastic: bool = False, device: str = "cpu") -> tuple[float, int, float, Any]:
    """One timed episode of ``agent`` in ``env`` (an EnergyWrapper), as the evaluation plays it: each
    ``predict`` is timed and reported with ``env.record_policy_time``; its wall time (ns) is appended to
    ``latencies``. Actions are deterministic, or with ``stochastic`` sampled from the policy's distribution
    with torch's generator seeded with ``seed`` (every configuration draws from the same stream).
    With ``device="cuda"`` each timed ``predict`` ends with ``torch.cuda.synchronize()``, so the GPU's
    asynchronous work is charged to the policy.
    Returns ``(return, length in steps, wall time in s, episode window or None)``."""
    synchronize = None
    if device == "cuda":
        import torch

        synchronize = torch.cuda.synchronize
    timer = PolicyTimer(env.record_policy_time, cpu_clock=env.phase_clock == "cpu", latencies_ns=latencies,
                        synchronize=synchronize)
    if stochastic:
        import torch

        torch.manual_seed(seed)
    outcome = play_episode(agent.predict, env, seed, timer=timer, deterministic=not stochastic)
    return outcome.episode_return, outcome.length_steps, outcome.wall_s, outcome.final_info.get("energy")


def _warm_up(env: Any, agents: dict[str, Any], seeds: Sequence[int], settings: EvalSettings,
             where: list[str]) -> None:
    """Every configuration plays its warm-up episodes inside one throw-away trial window, so that one-time
    costs (lazy imports, the first tracker start of each meter) fall outside the measured trials."""
    scratch = array("q")
    env.begin_trial()
    for config, agent in agents.items():
        for seed in seeds:
            where[0] = f"warm-up of {config}, episode seed {seed}"
            run_episode(agent, env, seed, scratch, stochastic=settings.stochastic, device=settings.device)
            del scratch[:]
    env.end_trial()


def _play_trial(env: Any, agent: Any, config: str, trial: int, position: int, settings: EvalSettings,
                replicate: int, accounting: Any, crosscheck_meter: str | None,
                where: list[str]) -> tuple[TrialRecord, list[EpisodeRecord], Any]:
    """One trial window of ``config``: its episodes (the seeds every configuration plays in this trial),
    the trial's record and the episodes' records."""
    seeds = [episode_seed(settings.seed, trial, i, settings.episodes, replicate, settings.trials)
             for i in range(settings.episodes)]
    latencies = array("q")  # 8 bytes a step (a list of ints takes ~36): a long trial fits
    returns: list[float] = []
    lengths: list[int] = []
    episodes: list[EpisodeRecord] = []
    env.begin_trial()
    for i, seed in enumerate(seeds):
        where[0] = f"{config}, replicate {replicate} trial {trial}, episode seed {seed}"
        ret, length, wall_s, window = run_episode(agent, env, seed, latencies, stochastic=settings.stochastic,
                                                  device=settings.device)
        returns.append(ret)
        lengths.append(length)
        episodes.append(EpisodeRecord(config, trial, i, seed, ret, length, wall_s,
                                      accounting.episode_dict(window) if window is not None else {}, replicate))
    window = env.end_trial()
    record = _trial_record(config, trial, seeds, returns, lengths, window, latencies, HEADLINE, crosscheck_meter,
                           replicate, position)
    return accounting.annotate(record, window), episodes, window


def run_evaluation(
    agents: dict[str, Any],
    settings: EvalSettings,
    *,
    replicate: int = 0,
    orders: Sequence[Sequence[str]] | None = None,
    on_trial: Callable[[TrialRecord, list[EpisodeRecord]], None] | None = None,
    on_idle: Callable[[IdleRecord], None] | None = None,
    on_start: Callable[[EvaluationRun], None] | None = None,
) -> EvaluationRun:
    """Warm up, then run ``settings.trials`` rounds of trials interleaved across configurations, round ``k``
    in the order ``orders[k]`` (the replicate's part of the run's balanced design,
    :class:`~paradox_gym.experiment.design.OrderPlan`; None draws one replicate's orders here, from
    ``settings.order_seed`` when set, else from a fresh order seed).

    All configurations share one environment and one :class:`EnergyWrapper`; trial ``t`` of every
    configuration plays the same episode seeds (:func:`episode_seed`). ``on_trial(record, episodes)`` is
    called after each trial. After each round an ``idle`` window (the process sleeps, agents loaded, as long
    as the round's trials on average) measures every device's idle power; ``on_idle(window)`` gets it. The
    headline energy is the pseudo-meter ``headline``: the sum over ``settings.energy_scope``'s devices
    (:class:`~paradox_gym.experiment.device_energy.DeviceAccounting`). Policies are moved to
    ``settings.device`` first. A ``KeyboardInterrupt`` stops the run: the trial in progress is discarded
    and the returned run has ``interrupted=True`` with every complete trial. Any other exception during
    the warm-up or the trials (the environment's ``step`` raising, an agent whose ``predict`` fails, ...)
    stops the run the same way: the returned run holds every complete trial and ``error`` says what failed
    where (configuration, trial, episode seed).
    """
    import torch

    configs = list(agents)
    order_seed = None
    if orders is None:
        plan = OrderPlan(configs, settings.trials, getattr(settings, "order_seed", None))
        orders, order_seed = plan.draw(), plan.order_seed
    check_orders(orders, configs, settings.trials)
    torch.set_num_threads(settings.threads)
    meters = make_meters(list(settings.meters or ()), cpu_tdp_w=settings.cpu_tdp_w)
    accounting = DeviceAccounting.build(meters, settings.energy_scope, settings.device, replicate)
    primary = HEADLINE
    crosscheck_meter = next((m.name for m in meters
                             if METERS[m.name].role == "cross-check" and m.availability().available), None)
    meter_info = {
        m.name: {"method": m.method, "role": METERS[m.name].role, "available": m.availability().available,
                 "reason": m.availability().reason, "resolution_s": m.resolution_s}
        for m in meters
    }
    # the EnergyWrapper runs each meter's one-time set-up (CodeCarbon's hardware probe) outside every
    # window; a meter whose set-up fails reports ``failed`` windows, the run goes on.
    # the agent's env_kwargs and observation normalisation, the same for every configuration
    env = EnergyWrapper(make_eval_env(settings), meters, phase_clock=settings.phase_clock)
    run = EvaluationRun({c: [] for c in agents}, [], meter_info, primary, crosscheck_meter,
                        [warmup_seed(settings.seed, i) for i in range(settings.warmup)],
                        devices=accounting.info(), orders={replicate: [list(o) for o in orders]},
                        order_seed=order_seed)
    if on_start is not None:  # the meters and devices are known before any trial: report them first
        on_start(run)
    for agent in agents.values():
        place_policy(agent, settings.device)
    started = time.perf_counter()
    where = ["warm-up"]  # what was running, for the error line
    try:
        _warm_up(env, agents, run.warmup_seeds, settings, where)
        for trial in range(settings.trials):
            round_walls: list[float] = []
            for position, config in enumerate(orders[trial]):
                record, episodes, window = _play_trial(env, agents[config], config, trial, position, settings,
                                                       replicate, accounting, crosscheck_meter, where)
                round_walls.append(window.wall_s)
                run.trials[config].append(record)
                run.episodes.extend(episodes)
                if on_trial is not None:
                    on_trial(record, episodes)
            where[0] = f"idle window after trial {trial}"
            idle = accounting.idle(round_walls, trial)  # the ``idle`` pseudo-configuration of this round
            run.idle_windows.append(idle)
            if on_idle is not None:
                on_idle(idle)
    except KeyboardInterrupt:
        run.interrupted = True
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the run stops; every whole trial is kept
        run.error = describe_failure(exc, where[0])  # (docs/evaluation.md); SystemExit: env code called exit()
    finally:
        run.elapsed_s = time.perf_counter() - started
        try:
            close_env(env)  # a fault while closing is a warning: closing must not hide the results
        except KeyboardInterrupt:  # a second Ctrl-C while closing the meters
            run.interrupted = True
    return run
