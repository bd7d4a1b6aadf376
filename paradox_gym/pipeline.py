"""The evaluation pipeline, as a library call: :func:`evaluate` (settings in, typed result out).

    import paradox_gym as pg
    result = pg.evaluate(pg.EvalSettings(env_id="CartPole-v1", methods=("ptdq",)))
    print(result.report())
    result.to_dict()["verdicts"]

Data flows one way: settings -> agent (zoo / sb3 loading) -> compressed agents -> memory probes ->
rollouts through the EnergyWrapper -> records -> analysis -> :class:`~paradox_gym.report.EvalResult`.
Nothing is printed; progress goes to the optional ``progress`` callback.

What happens when things go wrong (docs/evaluation.md): bad settings or files raise a
:class:`~paradox_gym.errors.ParadoxGymError` before any long work; a fault during the trials (the
environment, the agent or a meter raising) stops the run and returns a result with ``status`` ``failed``,
its ``error`` and every whole trial; Ctrl-C / SIGTERM return ``interrupted`` with every whole trial. The
output directory is locked for the duration of the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

from paradox_gym._util.files import DirectoryLock, ensure_writable_dir, refuse_non_files, remove_stale_temporaries
from paradox_gym.analysis import FAMILY_METRICS, Analysis, analyse, budget_warning
from paradox_gym.compression.floor import measure_macs_per_s
from paradox_gym.energy.devices import HEADLINE_NET
from paradox_gym.experiment.background import background_note
from paradox_gym.experiment.device_energy import apply_idle, apply_idle_to_episodes, short_window_notes
from paradox_gym.experiment.agents import build_agents, check_eval_spaces, load_model, recipe_record
from paradox_gym.experiment.design import OrderPlan
from paradox_gym.experiment.memory import measure_memory
from paradox_gym.experiment.replicate import merge, run_replicate_process
from paradox_gym.envs import fresh_process_env
from paradox_gym.experiment.runner import check_meters, describe_failure
from paradox_gym.experiment.settings import EvalSettings
from paradox_gym.report.machine import machine_info, software_versions
from paradox_gym.report.progress import ProgressBar, attached
from paradox_gym.report.result import FILE_NAMES, EvalResult
from paradox_gym.vocab import BASELINE, CONTROL
from paradox_gym.zoo import find_checkpoint


@dataclass(frozen=True)
class Progress:
    """One progress event: ``stage`` (``load``, ``compress``, ``memory``, ``warning``, ``trials``, ``analysis``), what
    it is doing (``message``), and ``done`` of ``total`` units (trials) where that applies."""

    stage: str
    message: str
    done: int = 0
    total: int = 0


ProgressCallback = Callable[[Progress], None]


def _add_net_words(analysis: Analysis, net: Analysis) -> None:
    """Verdicts stay on gross energy; each records the word its net-of-idle figures give (the printed
    verdict mentions it when it differs), and a note says so."""
    for cfg, comp in analysis.comparisons.items():
        other = net.comparisons.get(cfg)
        if comp.verdict is None or other is None or other.verdict is None:
            continue
        comp.verdict = dataclasses.replace(comp.verdict, energy_basis="gross", net_energy=other.verdict.energy)
        if other.verdict.energy != comp.verdict.energy:
            analysis.notes.append(f"{cfg}: energy per episode is {comp.verdict.energy} gross but "
                                  f"{other.verdict.energy} net of idle power; verdicts use gross energy")


def evaluate(settings: EvalSettings, *, progress: ProgressCallback | bool | None = True) -> EvalResult:
    """Measure the float agent and its compressed configurations; return the typed result.

    ``progress``: ``True`` (default) shows a line per stage and a bar over the trials when someone can see them
    (stderr is a terminal, or a Jupyter notebook); ``False`` or ``None``: nothing; a callable gets every
    :class:`Progress` event instead.

    Steps: check the output directory (when ``settings.out`` is set, before any long work); load the agent
    (zoo, sha256-verified, or the user's zip, never unpickled); compress it once per method; measure
    memory in a fresh process per configuration (``settings.memory``); run warm-up and interleaved
    trials through the EnergyWrapper; analyse; write the files (when ``settings.out`` is set).

    A ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM under the CLI) during the trials ends them early: the
    result has ``status`` ``interrupted`` and holds every complete trial (and is written like a complete
    one). An exception from the environment, the agent or a meter during the trials also ends them: the
    result has ``status`` ``failed``, its ``error`` says what failed where, and it holds (and writes) every
    complete trial. With ``settings.out`` the directory is locked for the whole run (a second run into
    it raises UserInputError naming the holder) and temporary files a killed run of ours left are removed.
    """
    bar = ProgressBar() if progress is True and attached() else None
    try:
        return _evaluate_into(settings, bar if bar is not None else (progress if callable(progress) else None))
    finally:
        if bar is not None:
            bar.close()


def _evaluate_into(settings: EvalSettings, progress: ProgressCallback | None) -> EvalResult:
    """:func:`evaluate` with its progress callback chosen: the output directory's lock around the run."""
    settings = settings.resolve()  # the agent's run folder, env and normalisation: read once, here
    if settings.out is None:
        return _evaluate(settings, progress)
    created = not os.path.lexists(settings.out)
    out = ensure_writable_dir(settings.out, "--out")
    try:
        with DirectoryLock(out, "--out") as lock:
            try:
                remove_stale_temporaries(out, FILE_NAMES.values())
                refuse_non_files(out, FILE_NAMES.values(), "--out")
                return _evaluate(settings, progress)
            except BaseException:
                if created:  # refused before anything was written: leave no trace of the run
                    with contextlib.suppress(OSError):
                        lock.path.unlink()
                raise
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if empty
        raise


def _analyse(run: Any, settings: EvalSettings, footprints: dict[str, Any], memory: Any, *,
             provisional: bool) -> Analysis:
    """The analysis of the whole trials (gross headline energy; net-of-idle words added where measured);
    ``provisional``: the run ended early, so its verdicts may change with the missing trials."""
    analysis = analyse(run.trials, meter=run.primary_meter, crosscheck_meter=run.crosscheck_meter,
                       footprints=footprints, memory=memory, seed=settings.seed, baselines=settings.baselines,
                       episodes=run.episodes, margin=settings.margin, return_margin=settings.return_margin,
                       macs_per_s=measure_macs_per_s(settings.threads), provisional=provisional)
    if run.devices and analysis.comparisons:
        _add_net_words(analysis, analyse(
            run.trials, meter=HEADLINE_NET, footprints=footprints, memory=memory, seed=settings.seed,
            baselines=settings.baselines, episodes=run.episodes, margin=settings.margin,
            return_margin=settings.return_margin))
    return analysis


def _run_replicates(settings: EvalSettings, say: ProgressCallback) -> tuple[EvalSettings, Any]:
    """The replicates, one fresh process after another, in a balanced order drawn for this run (its order
    seed recorded in the returned settings); a fault or an interrupt stops them, keeping what is whole.
    Returns the settings and the merged run (net of idle power where devices were measured)."""
    total = settings.replicates * settings.trials * len(settings.configs)
    done = [0]

    def on_trial(_record: object) -> None:
        done[0] += 1
        say(Progress("trials", "trials", done[0], total))

    say(Progress("trials", f"{settings.replicates} replicate(s), each a fresh process", 0, total))
    outcomes = []
    plan = OrderPlan.for_settings(settings)  # a balanced order, drawn afresh unless an order seed replays one
    settings = settings.replace(order_seed=plan.order_seed)  # recorded in the result's config: replays the order
    for replicate in range(settings.replicates):
        outcome = run_replicate_process(settings, replicate, orders=plan.draw(), on_trial=on_trial)
        outcomes.append(outcome)
        if outcome.interrupted or outcome.error:  # a fault stops the run: what is whole is kept
            break
    run = merge(outcomes, settings.configs, order_seed=plan.order_seed)
    if (busy := background_note(run.background)) is not None:
        run.notes.append(busy)
    if run.devices:  # net of idle power, from the idle windows interleaved with the trials
        run.trials = apply_idle(run.trials, run.idle_windows, run.devices)
        run.episodes = apply_idle_to_episodes(run.episodes, run.idle_windows, run.devices)
        run.notes.extend(short_window_notes(run.trials, run.devices))
    return settings, run


def _check_before_work(settings: EvalSettings, say: ProgressCallback) -> str | None:
    """Bad input refused before any work (a meter that cannot measure here, an environment the replicates
    could not rebuild); returns the budget warning, said now, for a budget that cannot resolve anything."""
    check_meters(settings)
    fresh_process_env(settings.env_id)
    family = sum(1 for c in settings.compressed if c != BASELINE) * len(FAMILY_METRICS)
    warning = budget_warning(settings.replicates, family)
    if warning:  # named with a budget that would resolve
        say(Progress("warning", warning))
    return warning


def _load(settings: EvalSettings, say: ProgressCallback) -> tuple[Any, EvalSettings]:
    """The agent (trained first where ``train_missing`` asks for it) and the settings naming the class loaded."""
    if settings.train_missing and settings.agent_path is None and settings.algo is not None \
            and find_checkpoint(settings.algo, settings.env_id, settings.agents_dir) is None:
        say(Progress("load", f"no {settings.algo} agent for {settings.env_id} in the zoo: training one "
                             "(train_missing)"))
    model = load_model(settings.env_id, settings.algo, settings.agent_path,
                       train_if_missing=settings.train_missing, agents_dir=settings.agents_dir,
                       vecnormalize_path=settings.vecnormalize_path, no_vecnormalize=settings.no_vecnormalize)
    check_eval_spaces(model, settings)  # env_kwargs (an rl-zoo3 run folder's) must not change the spaces
    return model, settings.replace(algo=type(model).__name__)  # the class actually loaded


def _compress(model: Any, settings: EvalSettings, say: ProgressCallback
              ) -> tuple[dict[str, Any], EvalSettings, dict[str, str]]:
    """Every configuration's agent, compressed once here for footprints and recipes (and to report a bad method
    before any process starts); methods that cannot apply to this agent are skipped with their reason (strict:
    they raise instead), and the settings returned measure the others only."""
    say(Progress("compress", f"loaded {settings.algo} agent for {settings.env_id}; compressing: "
                             f"{', '.join(settings.methods) or '(baseline only)'}"))
    skipped: dict[str, str] = {}
    agents = build_agents(model, settings.compressed, amount=settings.amount, env_id=settings.env_id,
                          seed=settings.seed, qat_steps=settings.qat_steps, threads=settings.threads,
                          skipped=None if settings.strict else skipped)
    if skipped:
        settings = settings.replace(methods=tuple(m for m in settings.methods if m not in skipped))
        for method, why in skipped.items():
            say(Progress("compress", f"skipped {method}: {why}"))
    if settings.control:
        agents[CONTROL] = agents[BASELINE]
    return agents, settings, skipped


def _probe_memory(settings: EvalSettings, say: ProgressCallback) -> dict[str, Any] | None:
    """The memory probe (one fresh process per configuration), when asked for."""
    if not settings.memory:
        return None
    say(Progress("memory", f"memory probe: one fresh process per configuration ({', '.join(settings.compressed)})"))
    memory = measure_memory(settings, settings.algo, settings.compressed)
    if settings.control:
        memory[CONTROL] = memory[BASELINE]  # the same agent: one probe serves both
    return memory


def _analysis_of(run: Any, settings: EvalSettings, footprints: dict[str, Any], memory: Any,
                 warning: str | None) -> Analysis:
    """The run's analysis with its notes; a failed or interrupted analysis still returns one (empty, its
    reason recorded), so the measurements are written."""
    try:
        analysis = _analyse(run, settings, footprints, memory, provisional=bool(run.interrupted or run.error))
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the measurements are still written
        if isinstance(exc, KeyboardInterrupt):
            run.interrupted = True
            run.notes.append("the analysis was interrupted: the trials are written, without summaries")
        else:
            run.error = run.error or describe_failure(exc, "analysis")
        analysis = Analysis(meter=run.primary_meter, energy_method=None, crosscheck_meter=run.crosscheck_meter,
                            summaries={}, comparisons={}, checks=[])
    analysis.notes[:0] = run.notes + ([warning.removeprefix("warning: ")] if warning else [])
    if run.interrupted:
        finished = min((len(v) for v in run.trials.values()), default=0)
        analysis.notes.insert(0, f"interrupted: {finished} of {settings.replicates * settings.trials} trial "
                                 "rounds finished; only whole trials are analysed")
    return analysis


def _evaluate(settings: EvalSettings, progress: ProgressCallback | None) -> EvalResult:
    say: ProgressCallback = progress or (lambda _event: None)
    started = time.perf_counter()
    import torch

    torch.set_num_threads(settings.threads)
    timings: dict[str, float] = {}
    software = software_versions()  # before any replicate starts: the code it imports is this commit's
    warning = _check_before_work(settings, say)

    t0 = time.perf_counter()
    model, settings = _load(settings, say)
    timings["load_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    agents, settings, skipped = _compress(model, settings, say)
    timings["compress_s"] = time.perf_counter() - t0
    footprints = {m: a.footprint for m, a in agents.items()}
    t0 = time.perf_counter()
    memory = _probe_memory(settings, say)
    timings["memory_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    settings, run = _run_replicates(settings, say)
    timings["replicates_s"] = time.perf_counter() - t0  # wall time: each fresh process's start-up included
    timings["evaluation_s"] = run.elapsed_s

    t0 = time.perf_counter()
    say(Progress("analysis", "analysing"))
    analysis = _analysis_of(run, settings, footprints, memory, warning)
    timings["analysis_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - started  # before writing: result.json carries it
    result = EvalResult(
        settings=settings, run=run, analysis=analysis, footprints=footprints,
        baseline_footprint=agents[BASELINE].baseline_footprint,
        recipes={m: recipe_record(a) for m, a in agents.items()}, memory=memory,
        machine=machine_info(settings.threads), software=software, timings_s=dict(timings),
        skipped=skipped,
    )
    if settings.out is not None:
        result.write(settings.out)
    return result
