"""The quick benchmark scripts run end to end at their smallest budget and print their figures (read by
people, so a stale key or import must fail here, not in front of a user). They time nothing here: speed
targets are read from the scripts' own output, never asserted by a test. bench_verdicts.py is run in
test_evaluate.py (it needs a trained agent), bench_compression.py in test_compression_files.py;
bench_qat_load.py, whose point is the slowest load the caps allow, is not run by the suite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"

CASES = [
    ("bench_mock_complexity.py", ["--rounds", "1", "--steps", "50"],  # the ratio line needs t1 > t0: not asserted
     r"^\s+2\s+\d+\s+[\d.]+\s+[\d.]+$"),
    ("bench_overhead.py", ["--rounds", "1", "--episodes", "1"],
     r"^ratio W/A: [\d.]+ \(per-round min [\d.]+, max [\d.]+\); throughput cost [+-][\d.]+ %$"),
    ("bench_evaluation.py", ["--episodes", "1", "--rounds", "1"], r"^ratio ours / SB3: [\d.]+$"),
]


@pytest.mark.parametrize(("script", "args", "line"), CASES, ids=[c[0] for c in CASES])
def test_bench_script_prints_its_ratio(script: str, args: list[str], line: str) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert re.search(line, proc.stdout, re.M), proc.stdout
    assert "Traceback" not in proc.stderr
