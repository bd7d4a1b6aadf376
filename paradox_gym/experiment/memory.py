"""Memory of one configuration, measured in a fresh process (DESIGN 3.6).

    python -m paradox_gym.experiment.memory --env CartPole-v1 --algo PPO --method ptdq [--agent PATH] \
        [--amount 0.5] [--episodes 3] [--seed 0] [--threads 1] [--qat-steps 200]

``--method`` is a configuration name: a method (``ptdq``) or ``<runtime>:<method>`` (``onnxruntime:ptdq``).

The process loads the agent, compresses it, then plays ``--episodes`` deterministic episodes, and prints
one JSON line (sizes in bytes):

- ``rss_after_load_bytes`` / ``uss_after_load_bytes``: resident / unique set size once the agent is loaded
  and compressed (the libraries' own memory included: the baseline of a fresh Python process running it);
- ``peak_rss_bytes``: the process's peak resident set size over its whole life
  (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), which is why it runs in its own process;
- ``rss_after_rollout_bytes`` / ``uss_after_rollout_bytes`` and ``uss_delta_bytes`` (rollout minus load):
  what playing the episodes added.

USS comes from ``psutil.Process().memory_full_info().uss`` (``None`` where the platform cannot give it).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from paradox_gym._util.cli import ArgumentParser, keep_stdout_for_results, run_cli
from paradox_gym.compression.qat import DEFAULT_QAT_STEPS
from paradox_gym.envs import close_env, fresh_process_env
from paradox_gym.envs.rollout import play_episode
from paradox_gym.experiment.agents import build_agents, load_model, make_agent_env
from paradox_gym.experiment.records import MemoryProbe
from paradox_gym.experiment.settings import EvalSettings


def _rss_uss() -> tuple[int, int | None]:
    import psutil

    proc = psutil.Process()
    try:
        full = proc.memory_full_info()
        return int(full.rss), int(full.uss)
    except (psutil.AccessDenied, AttributeError):
        return int(proc.memory_info().rss), None


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # Linux reports KiB


def probe(
    env_id: str,
    algo: str,
    method: str,
    *,
    agent_path: str | None = None,
    amount: float = 0.5,
    episodes: int = 3,
    seed: int = 0,
    threads: int = 1,
    agents_dir: str | None = None,
    qat_steps: int = DEFAULT_QAT_STEPS,
    vecnormalize_path: str | None = None,
    no_vecnormalize: bool = False,
    env_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Load + compress + play ``episodes`` episodes in *this* process and report its memory (bytes).

    The episodes are played in the evaluation's environment (``env_kwargs``, observation normalisation).

    Meant to run in a fresh process (``python -m paradox_gym.experiment.memory``); called in a long-lived process
    the peak RSS would be that process's lifetime maximum.
    """
    import torch

    torch.set_num_threads(threads)
    model = load_model(env_id, algo, agent_path, agents_dir=agents_dir, vecnormalize_path=vecnormalize_path,
                       no_vecnormalize=no_vecnormalize)
    normalizer = model.obs_normalizer
    agent = build_agents(model, [method], amount=amount, env_id=env_id, seed=seed, qat_steps=qat_steps,
                         threads=threads)[method]
    del model
    rss_load, uss_load = _rss_uss()
    env = make_agent_env(env_id, env_kwargs, normalizer)
    steps = 0
    for i in range(episodes):
        steps += play_episode(agent.predict, env, seed + i).length_steps
    close_env(env)
    rss_end, uss_end = _rss_uss()
    return {
        "status": "ok",
        "method": method,
        "episodes": episodes,
        "steps": steps,
        "rss_after_load_bytes": rss_load,
        "uss_after_load_bytes": uss_load,
        "rss_after_rollout_bytes": rss_end,
        "uss_after_rollout_bytes": uss_end,
        "uss_delta_bytes": (uss_end - uss_load) if uss_end is not None and uss_load is not None else None,
        "peak_rss_bytes": _peak_rss_bytes(),
    }


def main(argv: list[str] | None = None) -> int:
    def _main() -> int:
        parser = ArgumentParser(prog="python -m paradox_gym.experiment.memory", description="Memory of one configuration.")
        parser.add_argument("--env", required=True)
        parser.add_argument("--algo", required=True)
        parser.add_argument("--method", required=True)
        parser.add_argument("--agent", default=None)
        parser.add_argument("--amount", type=float, default=0.5)
        parser.add_argument("--episodes", type=int, default=3)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--threads", type=int, default=1)
        parser.add_argument("--agents-dir", default=None)
        parser.add_argument("--qat-steps", type=int, default=DEFAULT_QAT_STEPS)
        parser.add_argument("--vecnormalize", default=None)
        parser.add_argument("--no-vecnormalize", action="store_true")
        parser.add_argument("--env-kwargs", default=None, help="JSON object")
        a = parser.parse_args(argv)
        result_out = keep_stdout_for_results()  # nothing the environment prints is taken for the result
        result = probe(a.env, a.algo, a.method, agent_path=a.agent, amount=a.amount,
                       episodes=a.episodes, seed=a.seed, threads=a.threads, agents_dir=a.agents_dir,
                       qat_steps=a.qat_steps, vecnormalize_path=a.vecnormalize, no_vecnormalize=a.no_vecnormalize,
                       env_kwargs=json.loads(a.env_kwargs) if a.env_kwargs else None)
        result_out.write(json.dumps(result) + "\n")
        result_out.flush()
        return 0

    return run_cli(_main)


def _memory_command(settings: EvalSettings, algo: str, method: str) -> list[str]:
    """The probe's command line. Every value is passed as ``--flag=value``, so a value that starts with
    ``-`` (an agent file named ``-agent.zip``) is never read as a flag."""
    options: dict[str, Any] = {
        "env": settings.env_id, "algo": algo, "method": method, "amount": repr(settings.amount),
        "episodes": settings.memory_episodes, "seed": settings.seed, "threads": settings.threads,
        "qat-steps": settings.qat_steps, "agent": settings.agent_path, "agents-dir": settings.agents_dir,
        "vecnormalize": settings.vecnormalize_path,
        "env-kwargs": json.dumps(settings.env_kwargs) if settings.env_kwargs else None,
    }
    cmd = [sys.executable, "-m", "paradox_gym.experiment.memory"]
    cmd += [f"--{flag}={value}" for flag, value in options.items() if value is not None]
    if settings.no_vecnormalize:
        cmd.append("--no-vecnormalize")
    return cmd


def measure_memory(settings: EvalSettings, algo: str, methods: Sequence[str], *, timeout_s: float = 300.0,
                   parallel: int = 2) -> dict[str, MemoryProbe]:
    """Run ``python -m paradox_gym.experiment.memory`` once per configuration, each in a fresh process
    (at most ``parallel`` at a time; each process measures only itself). Returns method -> probe.

    A failure is returned as ``MemoryProbe.failed(reason)`` (never as 0 bytes).
    """
    results: dict[str, MemoryProbe] = {}
    pending = list(methods)
    while pending:
        batch, pending = pending[:max(1, parallel)], pending[max(1, parallel):]
        procs = {
            m: subprocess.Popen(_memory_command(settings, algo, m), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **fresh_process_env(settings.env_id)})  # caller-registered envs
            for m in batch
        }
        try:
            for method, proc in procs.items():
                try:
                    stdout, stderr = proc.communicate(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    results[method] = MemoryProbe.failed(f"memory probe timed out after {timeout_s:.0f} s")
                    continue
                lines = [line for line in stdout.splitlines() if line.strip().startswith("{")]
                if proc.returncode != 0 or not lines:
                    tail = (stderr.strip().splitlines() or ["no output"])[-1]
                    results[method] = MemoryProbe.failed(f"memory probe exited with {proc.returncode}: {tail}")
                else:
                    results[method] = MemoryProbe.from_dict(json.loads(lines[-1]))
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return {m: results[m] for m in methods}


if __name__ == "__main__":
    raise SystemExit(main())
