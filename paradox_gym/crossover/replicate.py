"""One replicate of one crossover job, in a fresh process: build, compress, warm up, run balanced trials.

    python -m paradox_gym.crossover.replicate   (the replicate's spec as JSON on stdin)

A job is one policy width on one runtime; its replicate builds the float policy, its A/A copy and each
compressed method once, then measures every batch size of the map in turn (in an order drawn per
replicate). For each batch:

1. warm-up: every configuration runs about a quarter of a trial;
2. the call count: the float baseline is timed and the count is fixed so that a trial of it lasts about
   ``trial_s``; every configuration then makes the same decisions (the same observation batches, in the
   same order) in each trial;
3. ``rounds`` rounds; each runs every configuration once, in the order of a randomised Latin square
   (round ``k`` of replicate ``r`` takes a permutation drawn from the job's order seed, rotated by
   ``r * rounds + k``), so each configuration meets each position equally often across the job.

Each trial is one window of the energy meter (the CPU-time model on the CPU; NVML on cuda, where an idle
window measured before the trials gives the idle power subtracted from every trial: net energy). Records
go out as JSON lines on the process's original stdout (``meta``, one ``trial`` each, then ``end``; a
failure is one ``error`` line), like ``evaluate``'s replicates.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from paradox_gym.vocab import BASELINE, CONTROL

Emit = Callable[..., None]
#: Seconds of the idle window measured before the trials on cuda (NVML updates about every 0.1 s).
IDLE_S = 1.0
#: Fewest calls in a trial (a trial is never a single call's noise alone).
MIN_CALLS = 2


@dataclass(frozen=True)
class TrialRecord:
    """One trial: ``calls`` forward passes of ``batch`` observations by ``config``, measured as one window."""

    replicate: int
    batch: int
    round: int
    position: int
    config: str
    calls: int
    decisions: int
    wall_s: float
    cpu_s: float
    energy_j: float | None
    status: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def latin_order(configs: list[str], order_seed: int, replicate: int, rounds: int, round_: int) -> list[str]:
    """Configurations of round ``round_`` of ``replicate``: one permutation drawn from ``order_seed``,
    rotated by ``replicate * rounds + round_`` (a randomised Latin square across the job's rounds)."""
    base = [configs[i] for i in np.random.default_rng(order_seed).permutation(len(configs))]
    shift = (replicate * rounds + round_) % len(base)
    return base[shift:] + base[:shift]


def _run(agent: Any, batches: list[np.ndarray], calls: int, sync: Callable[[], None]) -> None:
    n = len(batches)
    for i in range(calls):
        agent.predict(batches[i % n])
    sync()


def calls_per_trial(agent: Any, batches: list[np.ndarray], trial_s: float, sync: Callable[[], None],
                    clock: Callable[[], float] = time.process_time) -> int:
    """How many calls of ``agent`` (the float baseline) last about ``trial_s`` on ``clock`` (process CPU time
    on the CPU: other processes' load does not shorten the trials; wall time on cuda), at least
    :data:`MIN_CALLS`: timed over calls doubling until a quarter of ``trial_s`` has passed."""
    calls, elapsed = 1, 0.0
    while True:
        t0 = clock()
        _run(agent, batches, calls, sync)
        elapsed = clock() - t0
        if elapsed >= trial_s / 4 or calls >= 1 << 24:
            break
        calls *= 2
    per_call = max(elapsed / calls, 1e-9)
    return max(MIN_CALLS, int(math.ceil(trial_s / per_call)))


def measure_batch(agents: dict[str, Any], batches: list[np.ndarray], batch: int, *, replicate: int, rounds: int,
                  trial_s: float, order_seed: int, meter: Any, idle_w: float | None, emit: Emit,
                  sync: Callable[[], None] = lambda: None) -> int:
    """Warm up, fix the call count from the float baseline, run the rounds; one ``trial`` line per trial.
    The count is raised where needed so that the fastest configuration's trial lasts at least twice the
    larger of the meter's resolution and minimum CPU time. Energy is the meter's window energy, less
    ``idle_w x wall`` when ``idle_w`` is given (net)."""
    configs = list(agents)
    clock = time.perf_counter if idle_w is not None else time.process_time
    for agent in agents.values():  # warm-up: caches, lazy initialisation, allocator
        _run(agent, batches, 1, sync)
    calls = calls_per_trial(agents[BASELINE], batches, trial_s, sync, clock)
    warm = max(1, calls // 4)
    fastest = float("inf")
    for agent in agents.values():
        t0 = clock()
        _run(agent, batches, warm, sync)
        fastest = min(fastest, max(clock() - t0, 1e-9) / warm)
    window = 2.0 * max(float(getattr(meter, "resolution_s", 0.0)), float(getattr(meter, "min_cpu_s", 0.0)))
    calls = max(calls, int(math.ceil(window / fastest)))
    for round_ in range(rounds):
        for position, config in enumerate(latin_order(configs, order_seed, replicate, rounds, round_)):
            key = f"trial-{batch}-{round_}-{position}"
            c0, t0 = time.process_time(), time.perf_counter()
            meter.begin(key)
            _run(agents[config], batches, calls, sync)
            reading = meter.end(key)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            energy = reading.energy_j
            if energy is not None and idle_w is not None:
                energy -= idle_w * wall
            emit("trial", trial=TrialRecord(replicate, batch, round_, position, config, calls, calls * batch,
                                            wall, cpu, energy, reading.status).to_dict())
    return calls


def measure_idle_w(meter: Any, duration_s: float = IDLE_S) -> float | None:
    """Idle power (W) of ``meter``'s devices over ``duration_s`` of sleep (None when it has no figure)."""
    meter.begin("idle")
    t0 = time.perf_counter()
    time.sleep(duration_s)
    wall = time.perf_counter() - t0
    reading = meter.end("idle")
    return None if reading.energy_j is None or wall <= 0 else reading.energy_j / wall


def cpu_macs_per_s(threads: int, n: int = 1024, repeats: int = 5) -> float:
    """Dense float32 multiply-accumulates per CPU-second (:func:`paradox_gym.compression.floor.matmul_rate`
    timed by the process's CPU time, all threads): the rate of
    :func:`paradox_gym.compression.floor.measure_macs_per_s`, but in CPU time, so that the floor compares
    with the CPU time per decision and neither is inflated when other processes share the machine."""
    from paradox_gym.compression.floor import matmul_rate

    return matmul_rate(threads, n, repeats, clock=time.process_time)


def gpu_macs_per_s(n: int = 4096, repeats: int = 5) -> float:
    """Dense float32 multiply-accumulates per second of the CUDA device (``n**3`` per ``n x n`` matmul, best
    of ``repeats`` after a warm-up): the floor's rate for policies on the GPU."""
    import torch

    a = torch.randn(n, n, device="cuda")
    b = torch.randn(n, n, device="cuda")
    torch.matmul(a, b)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return n**3 / best


def make_meter(device: str, cpu_tdp_w: float | None) -> Any:
    """The cell's energy meter: the CPU-time model on the CPU, NVML on cuda (refused when unavailable)."""
    from paradox_gym.energy.meters import make_meters

    meter = make_meters(["nvml" if device == "cuda" else "cpu-model"], cpu_tdp_w=cpu_tdp_w)[0]
    available, why = meter.availability()
    if not available:
        from paradox_gym.errors import UserInputError

        raise UserInputError(f"meter {meter.name!r} cannot measure here: {why}")
    return meter


def run_replicate(spec: dict[str, Any], emit: Emit) -> None:
    """Measure replicate ``spec["replicate"]`` of the job ``spec`` (a CrossoverSettings dict plus ``width``,
    ``runtime``, ``order_seed``), emitting ``meta`` and ``trial`` lines."""
    import torch

    from paradox_gym.crossover.settings import CrossoverSettings
    from paradox_gym.crossover.synthetic import batches_of, build_configs, observation_pool, pool_size
    from paradox_gym.energy.placement import synchronize

    settings = CrossoverSettings.from_dict(spec["settings"])
    width, runtime, replicate = int(spec["width"]), str(spec["runtime"]), int(spec["replicate"])
    torch.set_num_threads(settings.threads)
    batches = [b for b in settings.batches if runtime != "sb3" or b == 1]
    agents = build_configs(settings.env_id, settings.algo, width, settings.depth, settings.methods, runtime,
                           amount=settings.amount, seed=settings.seed, threads=settings.threads,
                           device=settings.device)
    agents = {c: agents[c] for c in (BASELINE, CONTROL, *settings.methods)}
    pool = observation_pool(settings.env_id, pool_size(max(batches)), settings.seed + 1000 * replicate)
    meter = make_meter(settings.device, settings.cpu_tdp_w)
    idle_w = measure_idle_w(meter) if settings.device == "cuda" else None
    emit("meta", replicate=replicate, meter=meter.name, energy_method=meter.method,
         meter_note=meter.availability()[1], idle_w=idle_w, torch_threads=torch.get_num_threads(),
         macs_per_s=gpu_macs_per_s() if settings.device == "cuda" else cpu_macs_per_s(settings.threads),
         macs={c: int(a.footprint.macs) for c, a in agents.items()},
         parameters={c: int(a.footprint.parameters) for c, a in agents.items()})
    sync = (lambda: synchronize("cuda")) if settings.device == "cuda" else (lambda: None)
    for batch in [batches[i] for i in np.random.default_rng([spec["order_seed"], replicate]).permutation(len(batches))]:
        measure_batch(agents, batches_of(pool, batch), batch, replicate=replicate, rounds=settings.rounds,
                      trial_s=settings.trial_s, order_seed=int(spec["order_seed"]), meter=meter, idle_w=idle_w,
                      emit=emit, sync=sync)
    meter.close()


def main(argv: list[str] | None = None) -> int:
    from paradox_gym._util.cli import ArgumentParser, keep_stdout_for_results, one_line, run_cli

    def _main() -> int:
        ArgumentParser(prog="python -m paradox_gym.crossover.replicate",
                       description="One replicate of a crossover job (spec as JSON on stdin).").parse_args(argv)
        records = keep_stdout_for_results()

        def emit(kind: str, **payload: Any) -> None:
            records.write(json.dumps({"kind": kind, **payload}) + "\n")
            records.flush()

        spec = json.loads(sys.stdin.read())
        started = time.perf_counter()
        try:
            run_replicate(spec, emit)
        except KeyboardInterrupt:
            emit("end", elapsed_s=time.perf_counter() - started, interrupted=True)
            return 130
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported to the parent as one line
            emit("error", message=f"crossover replicate {spec.get('replicate')}: {type(exc).__name__}: "
                                  f"{one_line(exc)[:1000]}")
            return 1
        emit("end", elapsed_s=time.perf_counter() - started, interrupted=False)
        return 0

    return run_cli(_main)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise SystemExit(main())
