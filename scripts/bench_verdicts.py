#!/usr/bin/env python
"""Do verdicts replicate? K A/A runs and N repeats of a multi-method command, each a fresh process.

    python scripts/bench_verdicts.py [--aa-runs 20] [--repeats 5] [--compress ptdq,prune-structured,mixed]
                                     [--env CartPole-v1] [-- extra evaluate options]

- A/A runs: ``evaluate --compress none`` (the baseline and its A/A control ``none-copy`` only). The
  control's false-positive rate is the share of runs whose control was flagged noisy (its energy-per-episode
  interval excluded no change, unadjusted, 95%). Expected: about 5% or less.
- Repeats: the same ``--compress`` command N times. Two repeats *contradict* when one says energy
  ``lower`` and another ``higher`` for the same configuration (likewise for return); ``equivalent`` and
  ``no detectable change`` never contradict a direction.

Each run is ``scripts/evaluate.py ... --json --no-memory`` in its own process, one after another (never
concurrently: they would share the CPUs). Prints one line per run, then the rates with their counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from paradox_gym._util.cli import ArgumentParser, run_cli

SCRIPT = Path(__file__).resolve().parent / "evaluate.py"


def _f(value: float | None, spec: str) -> str:
    """A figure of the result, or n/a where it has none (None in the JSON)."""
    return "n/a" if value is None else format(value, spec)


def _evaluate(args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run([sys.executable, str(SCRIPT), *args, "--json", "--no-memory", "--out", out],
                              capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"evaluate failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="bench_verdicts.py", description=__doc__.splitlines()[0])
    parser.add_argument("--aa-runs", type=int, default=20, help="A/A runs (default 20)")
    parser.add_argument("--first-seed", type=int, default=0, help="seed of the first A/A run (default 0)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the --compress command (default 5)")
    parser.add_argument("--compress", default="ptdq,prune-structured,mixed")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("extra", nargs="*", help="further evaluate options (after --)")

    def _main() -> int:
        a = parser.parse_args(argv)
        base = ["--env", a.env, *a.extra]
        started = time.perf_counter()
        noisy = []
        mde = []
        for i in range(a.first_seed, a.first_seed + a.aa_runs):
            doc = _evaluate([*base, "--compress", "none", "--seed", str(i)])
            control = doc["control"]
            noisy.append(bool(control["noisy"]))
            mde.append(control["mde"]["per_episode"])  # None where the run has no interval (1 replicate)
            r = control["energy_per_episode_ratio"]
            print(f"A/A {i:2d} (seed {i}): control/baseline energy per episode {_f(r['ratio'], '.4f')} "
                  f"[{_f(r['low'], '.4f')}, {_f(r['high'], '.4f')}]  MDE {_f(mde[-1], '.1f')}%  "
                  f"{'NOISY' if noisy[-1] else 'ok'}", flush=True)
        words: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for i in range(a.repeats):
            doc = _evaluate([*base, "--compress", a.compress])
            line = []
            for cfg, comp in doc["comparisons"].items():
                v = comp["verdict"]
                words[cfg]["energy"].append(v["energy"])
                words[cfg]["return"].append(v["return"])
                e = comp["energy_per_episode"]
                line.append(f"{cfg}: energy {v['energy']} ({_f(e['ratio'], '.3f')} [{_f(e['ratio_low'], '.3f')}, "
                            f"{_f(e['ratio_high'], '.3f')}]), return {v['return']}, saving {v['saving']}, "
                            f"mechanism {v['mechanism']}")
            print(f"repeat {i}: " + "; ".join(line), flush=True)
        print()
        if noisy:
            known = sorted(m for m in mde if m is not None)
            print(f"A/A false-positive rate: {sum(noisy)}/{len(noisy)} = {sum(noisy) / len(noisy):.1%} "
                  f"(control flagged noisy); median MDE {_f(known[len(known) // 2] if known else None, '.1f')}% "
                  "per episode")
        contradictions = []
        for cfg, by_metric in words.items():
            for metric, seen in by_metric.items():
                if {"lower", "higher"} <= set(seen):
                    contradictions.append(f"{cfg} {metric}: {seen}")
                print(f"{cfg} {metric}: {', '.join(seen)}")
        if a.repeats:
            print(f"opposite directional verdicts between repeats: {'none' if not contradictions else contradictions}")
        print(f"({time.perf_counter() - started:.0f} s)")
        return 0

    return run_cli(_main)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
