"""Worst-case load time of a saved QAT agent: files that ask for the most fine-tuning the caps allow.

    python scripts/bench_qat_load.py [--widths 64,1024]

For each hidden width W: an untrained PPO CartPole-v1 agent with net_arch [W, W] is compressed with ``qat``
(1 step) and saved; its recipe is then rewritten to ask for the most steps ``MAX_QAT_STEPS`` and
``MAX_QAT_WORK`` allow for that network (what a hostile file may ask for), and ``load_compressed`` is timed
(wall clock, one load, which re-runs the fine-tuning). Prints one row per width: inference parameters, the
steps asked for, the load's seconds, and its share of the wall-clock guard ``MAX_QAT_SECONDS``. A file
asking for 99,999 steps is refused before any work (the last row). Bad input: one line, exit status 2.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path


def _with_steps(src: Path, dst: Path, steps: int) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "agent.json":
                meta = json.loads(data)
                meta["recipe"]["qat_steps"] = steps
                data = json.dumps(meta).encode()
            zout.writestr(item, data)


def main(argv: Sequence[str] | None = None) -> int:
    from paradox_gym._util.cli import ArgumentParser, run_cli

    parser = ArgumentParser(prog="bench_qat_load.py", description=__doc__.split("\n")[0])
    parser.add_argument("--widths", default="64,1024", help="comma-separated hidden widths (default 64,1024)")
    args = parser.parse_args(argv)

    def run() -> int:
        import torch
        from stable_baselines3 import PPO

        from paradox_gym import compress, load_compressed
        from paradox_gym._util.checks import check_int
        from paradox_gym.compression.qat import qat_work
        from paradox_gym.errors import UnsafeAgentError
        from paradox_gym.limits import MAX_LAYER_WIDTH, MAX_QAT_SECONDS, MAX_QAT_STEPS, MAX_QAT_WORK

        widths = [check_int("width", int(w), 1, MAX_LAYER_WIDTH) for w in args.widths.split(",") if w.strip()]
        torch.set_num_threads(1)
        print(f"{'width':>6} {'parameters':>11} {'steps':>6} {'load_s':>8} {'of_guard':>8}")
        with tempfile.TemporaryDirectory() as tmp:
            for width in widths:
                model = PPO("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [width, width]}, seed=0, device="cpu")
                agent = compress(model, "qat", env="CartPole-v1", calibration_steps=512, qat_steps=1)
                base = Path(tmp) / f"w{width}.zip"
                agent.save(base)
                params = agent.footprint.parameters
                steps = min(MAX_QAT_STEPS, max(s for s in range(1, MAX_QAT_STEPS + 1)
                                               if qat_work(s, params) <= MAX_QAT_WORK))
                worst = Path(tmp) / f"w{width}-worst.zip"
                _with_steps(base, worst, steps)
                start = time.perf_counter()
                load_compressed(worst)
                seconds = time.perf_counter() - start
                print(f"{width:>6} {params:>11} {steps:>6} {seconds:>8.1f} {seconds / MAX_QAT_SECONDS:>8.2f}", flush=True)
            hostile = Path(tmp) / "hostile.zip"
            _with_steps(base, hostile, 99_999)
            start = time.perf_counter()
            try:
                load_compressed(hostile)
                outcome = "loaded"
            except UnsafeAgentError:
                outcome = "refused"
            print(f"99,999 steps: {outcome} in {time.perf_counter() - start:.2f} s")
        return 0

    return run_cli(run)


if __name__ == "__main__":
    sys.exit(main())
