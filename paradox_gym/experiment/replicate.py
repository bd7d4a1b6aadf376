"""One replicate of an evaluation, in a fresh process: load, compress, warm up, run interleaved trials.

    python -m paradox_gym.experiment.replicate --replicate R   ({"settings": ..., "orders": ...} as JSON on stdin)

Replicates are the independent units of an evaluation (docs/methodology.md): each is a new Python
process, so process-level effects (allocation, thread placement, caches, the CPU's state) vary between
them as they would between two runs of the command. The control ``none-copy`` is a second,
independently loaded copy of the baseline. The parent draws each replicate's round orders
(:class:`~paradox_gym.experiment.design.OrderPlan`) and sends them with the settings.

The process writes JSON lines on stdout, one per finished trial (``{"kind": "trial", "trial": ...,
"episodes": [...]}``) and one per idle window (``{"kind": "idle", "window": ...}``), framed by a ``meta``
line (meters, devices, warm-up seeds) and an ``end`` line (elapsed s, interrupted, error), so that the
parent keeps every whole trial even when the replicate is interrupted or fails. A failure before the
trials (loading, compressing) is one ``error`` line; the exit status is 0 (done), 130 (interrupted,
SIGINT or SIGTERM) or 1 (failed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from paradox_gym._util.cli import ArgumentParser, keep_stdout_for_results, run_cli
from paradox_gym.envs import fresh_process_env
from paradox_gym.experiment.background import BackgroundLoad, probe
from paradox_gym.experiment.agents import build_agents, load_model
from paradox_gym.experiment.device_energy import DeviceSetup, IdleRecord
from paradox_gym.experiment.records import EpisodeRecord, TrialRecord
from paradox_gym.experiment.runner import EvaluationRun, describe_failure, run_evaluation
from paradox_gym.experiment.settings import EvalSettings
from paradox_gym.vocab import BASELINE, CONTROL


def replicate_agents(settings: EvalSettings) -> dict[str, Any]:
    """Agents of one replicate, in ``settings.configs`` order: the baseline and each method compressed
    from one loaded model, the control compressed (``none``) from a second, independent load."""
    model = load_model(settings.env_id, settings.algo, settings.agent_path, agents_dir=settings.agents_dir,
                       vecnormalize_path=settings.vecnormalize_path, no_vecnormalize=settings.no_vecnormalize)
    agents = build_agents(model, settings.compressed, amount=settings.amount, env_id=settings.env_id,
                          seed=settings.seed, qat_steps=settings.qat_steps, threads=settings.threads)
    if settings.control:
        copy = load_model(settings.env_id, settings.algo, settings.agent_path, agents_dir=settings.agents_dir,
                          vecnormalize_path=settings.vecnormalize_path, no_vecnormalize=settings.no_vecnormalize)
        agents[CONTROL] = build_agents(copy, [BASELINE], amount=settings.amount, env_id=settings.env_id,
                                       seed=settings.seed, threads=settings.threads)[BASELINE]
    return {c: agents[c] for c in settings.configs}


#: Where the records go: the process's original stdout (``keep_stdout_for_results``), so that whatever
#: the environment, the agent or a library prints can never be read as (or break) a record.
_records: Any = None


def _emit(kind: str, **payload: Any) -> None:
    out = _records if _records is not None else sys.stdout
    out.write(json.dumps({"kind": kind, **payload}) + "\n")
    out.flush()


#: Test hook (not a user setting): faults a replicate process injects into itself, read from this environment
#: variable: comma-separated ``KIND:N`` entries, each optionally ``@R`` for replicate R only (default: every
#: replicate). KIND is ``meter-read`` (the cpu-model meter's N-th read raises), ``env-step`` (the environment's
#: N-th step raises, warm-up included), ``kill`` (SIGKILL after the N-th trial is reported) or
#: ``close-stdout`` (the records stream is closed after the N-th trial is reported). The fault tests
#: (tests/test_replicate_faults.py) use it to fail where the measurement happens.
FAULT_ENV = "PARADOX_GYM_FAULT"
FAULT_KINDS = ("meter-read", "env-step", "kill", "close-stdout")


class InjectedFault(RuntimeError):
    """A fault raised by the ``PARADOX_GYM_FAULT`` test hook."""


def parse_faults(text: str, replicate: int) -> dict[str, int]:
    """The ``PARADOX_GYM_FAULT`` entries for ``replicate``: kind -> N (a ValueError names a malformed entry)."""
    faults: dict[str, int] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        body, _, target = entry.partition("@")
        kind, _, count = body.partition(":")
        if kind not in FAULT_KINDS or not count.isdigit() or int(count) < 1 or (target and not target.isdigit()):
            raise ValueError(f"{FAULT_ENV} entry {entry!r} is not KIND:N[@R] with KIND one of {', '.join(FAULT_KINDS)}")
        if not target or int(target) == replicate:
            faults[kind] = int(count)
    return faults


def _fail_on_call(owner: type, name: str, n: int, what: str) -> None:
    """Make ``owner.name`` raise InjectedFault on its n-th call in this process."""
    real = getattr(owner, name)
    calls = [0]

    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == n:
            raise InjectedFault(f"injected fault: {what} {n} failed")
        return real(self, *args, **kwargs)

    setattr(owner, name, wrapped)


def _install_faults(faults: dict[str, int]) -> Callable[[int], None]:
    """Install the meter and env faults; return the hook called with the count of trials reported so far."""
    if "meter-read" in faults:
        from paradox_gym.energy.meters.cpu_model import CpuModelMeter

        _fail_on_call(CpuModelMeter, "_read", faults["meter-read"], "cpu-model meter read")
    if "env-step" in faults:
        import gymnasium

        _fail_on_call(gymnasium.wrappers.TimeLimit, "step", faults["env-step"], "environment step")

    def after_trial(reported: int) -> None:
        if faults.get("kill") == reported:
            os.kill(os.getpid(), signal.SIGKILL)
        if faults.get("close-stdout") == reported and _records is not None:
            _records.close()
            os.close(1)

    return after_trial


def main(argv: list[str] | None = None) -> int:
    def _main() -> int:
        parser = ArgumentParser(prog="python -m paradox_gym.experiment.replicate",
                                description="One replicate of an evaluation (settings and round orders as "
                                            "JSON on stdin).")
        parser.add_argument("--replicate", type=int, required=True)
        args = parser.parse_args(argv)
        global _records
        _records = keep_stdout_for_results()
        payload = json.loads(sys.stdin.read())
        settings = EvalSettings.from_dict(payload["settings"], resolved=True)  # resolved by the parent
        orders = payload.get("orders")
        after_trial = _install_faults(parse_faults(os.environ.get(FAULT_ENV, ""), args.replicate))
        reported = [0]
        try:
            agents = replicate_agents(settings)
        except KeyboardInterrupt:
            _emit("end", elapsed_s=0.0, interrupted=True, error=None)
            return 130
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported to the parent as one line
            _emit("error", message=describe_failure(exc, f"replicate {args.replicate}: loading the agents"))
            return 1

        def on_trial(record: TrialRecord, episodes: list[EpisodeRecord]) -> None:
            _emit("trial", trial=record.to_dict(), episodes=[e.to_dict() for e in episodes])
            reported[0] += 1
            after_trial(reported[0])

        def on_start(run: EvaluationRun) -> None:
            _emit("meta", meters=run.meters, primary_meter=run.primary_meter,
                  crosscheck_meter=run.crosscheck_meter, warmup_seeds=run.warmup_seeds,
                  devices=run.devices.to_dict() if run.devices is not None else {})

        with warnings.catch_warnings(record=True) as caught:  # faults while closing: told to the parent
            warnings.simplefilter("always", RuntimeWarning)
            run = run_evaluation(agents, settings, replicate=args.replicate, orders=orders, on_trial=on_trial,
                                 on_idle=lambda window: _emit("idle", window=window.to_dict()), on_start=on_start)
        told = list(dict.fromkeys(str(w.message)[:300] for w in caught if issubclass(w.category, RuntimeWarning)))
        _emit("end", elapsed_s=run.elapsed_s, interrupted=run.interrupted, error=run.error, warnings=told[:10])
        if run.error is not None:
            return 1
        return 130 if run.interrupted else 0

    return run_cli(_main)


@dataclass
class ReplicateOutcome:
    """What the parent read from one replicate process."""

    replicate: int
    trials: list[TrialRecord] = field(default_factory=list)
    episodes: list[EpisodeRecord] = field(default_factory=list)
    idle_windows: list[IdleRecord] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    interrupted: bool = False
    error: str | None = None
    #: the process sent its ``end`` (or ``error``) line: it did not vanish half way
    ended: bool = False
    #: the round orders it was given (None: it drew its own)
    orders: list[list[str]] | None = None
    #: the RuntimeWarnings it raised while measuring (e.g. an environment whose close failed)
    warnings: list[str] = field(default_factory=list)
    #: the other processes' CPU time while it ran (None: not recorded, e.g. interrupted)
    background: BackgroundLoad | None = None


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGKILL when this process dies, however it dies (Linux
    ``prctl(PR_SET_PDEATHSIG)``): a killed run never leaves a replicate measuring on its own. None where
    ``prctl`` is not available (the child then ends at its next write to the closed pipe)."""
    if not sys.platform.startswith("linux"):
        return None

    def arm() -> None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent_pid:  # the parent died before the line above: end now
            os._exit(1)

    return arm


def _lines(proc: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:  # a line cut short (the process was killed while writing): not a record
                continue


def _take(outcome: ReplicateOutcome, message: dict[str, Any], on_trial: Callable[[TrialRecord], None] | None) -> None:
    """Add one message of the replicate process to ``outcome``: a trial with its episodes, an idle window,
    the process's meta data, its end, or its error. A malformed record (never from our replicate) is refused
    as the outcome's error, not guessed at."""
    kind = message.get("kind")
    replicate = outcome.replicate
    if kind == "trial":
        try:
            record = TrialRecord.from_dict(message["trial"])
            episodes = [EpisodeRecord.from_dict(e) for e in message["episodes"]]
        except (KeyError, TypeError, ValueError) as exc:
            outcome.error = outcome.error or f"replicate {replicate}: a malformed trial record ({exc!r:.200})"
            return
        outcome.trials.append(record)
        outcome.episodes.extend(episodes)
        if on_trial is not None:
            on_trial(record)
    elif kind == "idle":
        try:
            outcome.idle_windows.append(IdleRecord.from_dict(message["window"]))
        except (KeyError, TypeError, ValueError) as exc:
            outcome.error = outcome.error or f"replicate {replicate}: a malformed idle record ({exc!r:.200})"
    elif kind == "meta":
        outcome.meta = {k: v for k, v in message.items() if k != "kind"}
    elif kind == "end":
        outcome.ended = True
        outcome.elapsed_s = float(message.get("elapsed_s", 0.0))
        outcome.interrupted = bool(message.get("interrupted", False))
        if message.get("error"):
            outcome.error = str(message["error"])
        if isinstance(message.get("warnings"), list):
            outcome.warnings = [str(w)[:300] for w in message["warnings"][:10]]
    elif kind == "error":
        outcome.ended = True
        outcome.error = str(message.get("message") or "failed")


def _exit_error(replicate: int, returncode: int, *, ended: bool, stderr: str) -> str | None:
    """The error a replicate process's exit status tells (None: it ended as it should): a clean exit before
    its end message, a signal, or a failure with the last line of its stderr."""
    if returncode in (0, 130, 143):
        return None if ended else (f"replicate {replicate} process ended (exit status {returncode}) before "
                                   "reporting its end: something in the environment or the agent exited the process")
    if returncode < 0:
        try:
            return f"replicate {replicate} process failed: killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"replicate {replicate} process failed: killed by signal {-returncode}"
    tail = (stderr.strip().splitlines() or [f"exit status {returncode}"])[-1]
    return f"replicate {replicate} process failed: {tail.removeprefix('error: ')}"


def run_replicate_process(settings: EvalSettings, replicate: int, *, orders: list[list[str]] | None = None,
                          on_trial: Callable[[TrialRecord], None] | None = None) -> ReplicateOutcome:
    """Run replicate ``replicate`` in a fresh ``python -m paradox_gym.experiment.replicate`` process and
    collect its records as they arrive; round ``k`` plays in the order ``orders[k]`` (the run's
    :class:`~paradox_gym.experiment.design.OrderPlan`; None: the process draws its own). A
    ``KeyboardInterrupt`` here is passed on to the process (SIGINT), its whole trials are kept and the
    outcome is marked interrupted."""
    outcome = ReplicateOutcome(replicate, orders=orders)
    env = {**os.environ, **fresh_process_env(settings.env_id), "PYTHONUNBUFFERED": "1"}  # caller-registered envs
    errors = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty stderr can never block the child
    stop_background = probe(replicate)  # from before the process starts until it has been waited for
    # its own session: a terminal's Ctrl-C reaches only this process, which passes exactly one SIGINT on
    proc = subprocess.Popen([sys.executable, "-m", "paradox_gym.experiment.replicate", "--replicate", str(replicate)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True, env=env,
                            start_new_session=True, preexec_fn=_die_with_parent(os.getpid()))
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({"settings": settings.to_dict(), "orders": orders}))
    proc.stdin.close()

    try:
        for message in _lines(proc):
            _take(outcome, message, on_trial)
        proc.wait()
        outcome.background = stop_background()
    except KeyboardInterrupt:
        outcome.interrupted = True
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:  # the child ends its trial loop, reports what it finished and exits
            for message in _lines(proc):
                _take(outcome, message, on_trial)
            proc.wait(timeout=60)
        except (subprocess.TimeoutExpired, KeyboardInterrupt, ValueError):  # a second Ctrl-C: stop at once
            proc.kill()
            proc.wait()
        outcome.interrupted = True
        return outcome
    errors.seek(0)
    stderr = errors.read()
    errors.close()
    if outcome.error is None:
        outcome.error = _exit_error(replicate, proc.returncode, ended=outcome.ended, stderr=stderr)
    return outcome


def merge(outcomes: list[ReplicateOutcome], configs: tuple[str, ...], *,
          order_seed: int | None = None) -> EvaluationRun:
    """One EvaluationRun over every replicate's records (trials keep their ``replicate`` index), with the
    round orders each replicate was given and the ``order_seed`` they were drawn from."""
    meta = next((o.meta for o in outcomes if o.meta), {})
    if not meta.get("primary_meter") and any(o.trials for o in outcomes):
        raise RuntimeError("no replicate reported its meters although trials were measured")
    run = EvaluationRun({c: [] for c in configs}, [], meta.get("meters", {}), meta.get("primary_meter", ""),
                        meta.get("crosscheck_meter"), list(meta.get("warmup_seeds", [])),
                        devices=DeviceSetup.from_dict(meta["devices"]) if meta.get("devices") else None,
                        order_seed=order_seed)
    first = next((o for o in outcomes if o.meta), None)
    for o in outcomes:
        if first is not None and o.meta:
            for key in ("meters", "primary_meter", "crosscheck_meter", "devices"):
                if o.meta.get(key) != first.meta.get(key):  # figures of different meters must not be pooled
                    run.error = run.error or (
                        f"replicate {o.replicate} measured with {key} {o.meta.get(key)!r}, replicate "
                        f"{first.replicate} with {first.meta.get(key)!r}: the replicates cannot be pooled")
        if o.orders is not None:
            run.orders[o.replicate] = [list(order) for order in o.orders]
        for t in o.trials:
            run.trials.setdefault(t.config, []).append(t)
        run.episodes.extend(o.episodes)
        run.idle_windows.extend(o.idle_windows)
        run.elapsed_s += o.elapsed_s
        run.interrupted = run.interrupted or o.interrupted
        run.notes.extend(f"replicate {o.replicate}: {w}" for w in o.warnings)
        if o.background is not None:
            run.background.append(o.background)
        if o.error:
            run.notes.append(f"failed: {o.error} (the run stopped; every whole trial before it is kept)")
            run.failed_replicates.append(o.replicate)
            run.error = run.error or o.error
    return run


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)  # run_cli makes SIGTERM an interrupt too
    raise SystemExit(main())
