"""The background-load record: the other processes' CPU time while a replicate measured (read from the
kernel's counters; the arithmetic is checked with fake readings of the same interface)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from paradox_gym.experiment.background import (BUSY_OTHERS_CPUS, BackgroundLoad, CpuCounters, background_note,
                                               background_section, probe, read_counters)
from paradox_gym.study.markdown import _background_lines


def _load(replicate: int, others: float, wall: float = 10.0) -> BackgroundLoad:
    return BackgroundLoad(replicate, wall, machine_busy_s=12.0 + others, own_cpu_s=12.0, steal_s=0.5, cpus=2)


def test_others_are_the_machine_minus_this_process_and_its_replicate() -> None:
    before = CpuCounters(100.0, 1000.0, 4.0, 3.0)
    after = CpuCounters(110.0, 1016.0, 4.5, 13.5)  # 10 s wall; 16 CPU s on the machine, 10.5 of them ours
    load = BackgroundLoad.between(3, before, after, cpus=2)
    assert (load.replicate, load.wall_s, load.machine_busy_s, load.own_cpu_s) == (3, 10.0, 16.0, 10.5)
    assert load.others_cpu_s == pytest.approx(5.5) and load.others_cpus == pytest.approx(0.55)
    assert load.steal_s == pytest.approx(0.5)
    assert BackgroundLoad.from_dict(load.to_dict()) == load
    # counters read at slightly different instants: never a negative load
    quiet = BackgroundLoad.between(0, before, CpuCounters(110.0, 1009.9, None, 13.0), cpus=2)
    assert quiet.others_cpu_s == 0.0 and quiet.steal_s is None


def test_a_platform_without_counters_records_nothing() -> None:
    assert probe(0, read=lambda: None)() is None
    assert background_section([]) is None and background_note([]) is None


def test_the_section_and_the_note() -> None:
    loads = [_load(0, 0.0), _load(1, 8.0), _load(2, 1.0)]
    section = background_section(loads)
    assert section is not None
    assert section["others_cpus_mean"] == pytest.approx(0.3) and section["others_cpus_max"] == pytest.approx(0.8)
    assert section["steal_s"] == pytest.approx(1.5) and len(section["replicates"]) == 3
    note = background_note(loads)
    assert note is not None and note.startswith("background load: other processes kept 0.30 of 2 CPUs busy")
    assert "2 of 3 replicates" in note and "most 0.80 in replicate 1" in note
    assert background_note([_load(0, BUSY_OTHERS_CPUS * 10.0 * 0.5)]) is None  # below the threshold: no note


def test_real_counters_count_this_process_and_a_waited_child() -> None:
    stop = probe(0)
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # 0.3 s of this process's CPU
        pass
    subprocess.run([sys.executable, "-c", "import time\nt = time.process_time() + 0.3\nwhile time.process_time() < t: pass"],
                   check=True, timeout=60)
    load = stop()
    if read_counters() is None:
        pytest.skip("no CPU counters on this platform")
    assert load is not None
    assert load.own_cpu_s >= 0.55  # both: RUSAGE_SELF and RUSAGE_CHILDREN
    assert load.machine_busy_s >= load.own_cpu_s - 0.1  # the machine's counters (10 ms ticks) saw them too
    assert load.others_cpu_s >= 0.0 and load.cpus >= 1


def test_the_study_line_names_the_busiest_cell() -> None:
    cells = [{"agent": "PPO Hopper-v5", "method": "ptdq", "runtime": "sb3", "amount": None, "others_cpus": 0.02,
              "energy_mde_pct": 3.0},
             {"agent": "PPO Hopper-v5", "method": "prune-structured", "runtime": "sb3", "amount": 0.3,
              "others_cpus": 0.9, "energy_mde_pct": 15.2},
             {"agent": "PPO Hopper-v5", "method": "ptsq", "runtime": "sb3", "amount": None, "others_cpus": None,
              "energy_mde_pct": 8.0}]
    text = " ".join(_background_lines(cells))
    assert "in 2 of 3 cells" in text and "most 0.90 (PPO Hopper-v5 prune-structured 0.3)" in text
    assert "1 cells at >= 0.1, their A/A MDE 15.2% to 15.2%" in text
    assert _background_lines([cells[2]]) == []


def test_the_study_names_the_code_that_measured_its_cells() -> None:
    from paradox_gym.study.markdown import _code_lines

    sha = "0123456789abcdef0123456789abcdef01234567"
    cells = [{"paradox_gym_commit": sha}, {"paradox_gym_commit": sha + "+modified"}, {"paradox_gym_commit": None}]
    text = _code_lines(cells)[0]
    assert "0123456789ab (1 cell), 0123456789ab (modified) (1 cell), not recorded (1 cell)" in text
    assert _code_lines([{"paradox_gym_commit": None}]) == []


def test_the_source_commit_of_this_checkout() -> None:
    from paradox_gym.report.machine import source_commit, software_versions

    commit = source_commit()
    assert software_versions()["paradox_gym_commit"] == commit
    if commit is not None:  # a git work tree (not an installed wheel): 40 hex digits, maybe +modified
        head = commit.removesuffix("+modified")
        assert len(head) == 40 and all(c in "0123456789abcdef" for c in head)
