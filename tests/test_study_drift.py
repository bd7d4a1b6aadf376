"""A study's resolution over time (paradox_gym.study.drift): the lag-1 autocorrelation of the cells' A/A MDEs
in the order they were measured, with its permutation p-value, and their correlation with the machine's
slowdown; checked on rows whose answer is known."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from paradox_gym.study.drift import MIN_CELLS, drift_lines, left_out_of_drift, resolution_drift


def _rows(mdes: list[float], *, agent: str = "PPO Hopper-v5", runtime: str = "sb3",
          per_step_j: list[float] | None = None) -> list[dict[str, Any]]:
    steps = per_step_j or [0.01] * len(mdes)
    return [{"agent": agent, "runtime": runtime, "energy_mde_pct": m, "started_at": f"2026-12-07T{i // 60:02d}:{i % 60:02d}:00+00:00",
             "energy_per_episode_baseline_j": 1000 * e, "length_baseline": 1000.0} for i, (m, e) in enumerate(zip(mdes, steps))]


def test_mdes_in_quiet_and_noisy_stretches_follow_the_period() -> None:
    mdes = [2.0, 2.5, 1.8, 2.2, 2.1, 15.0, 18.0, 14.0, 16.0, 17.0, 2.4, 1.9, 2.3, 2.0, 2.6]
    slow = [1.0 if m < 5 else 1.3 for m in mdes]  # the noisy stretch ran slower
    (drift,) = resolution_drift(_rows(mdes, per_step_j=[0.01 * s for s in slow]))
    assert drift.cells == 15 and drift.lag1_r is not None and drift.lag1_r > 0.6
    assert drift.lag1_p is not None and drift.lag1_p < 0.01
    assert drift.slowdown_r == pytest.approx(np.corrcoef(np.log(mdes), np.log(slow))[0, 1])
    assert drift.slowdown_max == pytest.approx(1.3) and drift.mde_median_pct == pytest.approx(2.4)
    assert drift.first_started_at.startswith("2026-12-07T00:00") and drift.last_started_at.startswith("2026-12-07T00:14")


def test_alternating_mdes_do_not_follow_the_period_and_the_same_rows_give_the_same_p() -> None:
    rows = _rows([2.0, 15.0] * 8)
    (drift,) = resolution_drift(rows)
    assert drift.lag1_r is not None and drift.lag1_r < 0 and drift.lag1_p is not None and drift.lag1_p > 0.5
    assert resolution_drift(list(reversed(rows)))[0].lag1_p == drift.lag1_p  # sorted by start time, seeded
    assert drift.slowdown_r is None  # every cell ran at the same speed: no correlation to give


def test_agents_with_too_few_timed_cells_are_left_out() -> None:
    few = _rows([3.0] * (MIN_CELLS - 1), agent="SAC Hopper-v5")
    untimed = [{**r, "started_at": None} for r in _rows([3.0, 4.0, 5.0, 6.0, 7.0], agent="TD3 Hopper-v5")]
    onnx = _rows([3.0, 4.0, 5.0, 6.0, 7.0], runtime="onnxruntime")
    drifts = resolution_drift(few + untimed + onnx + [{"agent": "X", "energy_mde_pct": None}])
    assert [(d.agent, d.runtime, d.cells) for d in drifts] == [("PPO Hopper-v5", "onnxruntime", 5)]
    # the timed cells of groups below MIN_CELLS are counted, and study.md says how many
    assert left_out_of_drift(few + untimed + onnx) == MIN_CELLS - 1
    text = "\n".join(drift_lines([d.to_dict() for d in drifts], MIN_CELLS - 1))
    assert text.endswith(f"Left out: {MIN_CELLS - 1} cells with an A/A MDE in groups (agent, runtime, machine) of "
                         f"fewer than {MIN_CELLS} cells.")
    assert "Left out" not in "\n".join(drift_lines([d.to_dict() for d in drifts]))
    # no group large enough: the section still counts what it left out
    assert drift_lines([], 3)[-1].startswith("Left out: 3 cells") and drift_lines([], 0) == []


def test_study_md_section_counts_what_the_rows_show() -> None:
    quiet_noisy = [d.to_dict() for d in resolution_drift(_rows([2.0, 2.5, 1.8, 2.2, 15.0, 18.0, 14.0, 16.0]))]
    text = "\n".join(drift_lines(quiet_noisy))
    assert "## Resolution over time" in text and "Over the cells' first runs, in 1 of 1 agents" in text
    assert "| PPO Hopper-v5 | sb3 | 8 | 2026-12-07 00:00 to 2026-12-07 00:07 |" in text
    assert drift_lines([]) == []


def test_cells_of_two_machines_are_two_groups_and_the_table_names_the_machine() -> None:
    # the same agent on a faster machine (half the energy per step): pooled, that would read as a slowdown
    one = [{**r, "machine_fingerprint": "aaaa"} for r in _rows([2.0, 2.5, 1.8, 2.2, 2.1])]
    two = [{**r, "machine_fingerprint": "bbbb", "energy_per_episode_baseline_j": r["energy_per_episode_baseline_j"] / 2}
           for r in _rows([9.0, 11.0, 10.0, 12.0, 9.5])]
    drifts = resolution_drift(one + two)
    assert sorted((d.machine, d.cells, d.slowdown_max) for d in drifts) == [("aaaa", 5, 1.0), ("bbbb", 5, 1.0)]
    text = "\n".join(drift_lines([d.to_dict() for d in drifts]))
    assert "| agent | runtime | machine | cells |" in text and "| PPO Hopper-v5 | sb3 | bbbb | 5 |" in text
    assert "| machine |" not in "\n".join(drift_lines([drifts[0].to_dict()]))  # one machine: no column
