"""The resolution rule of a grid (``remeasure: {above_mde_pct, replicates}``): cells whose A/A MDE is above the
target are measured again, once, at the declared replicates; the report takes their rows from the second run
and says so. A real sweep on a trained CartPole agent, and the rule's arithmetic on rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from paradox_gym.errors import UserInputError
from paradox_gym.study.grid import parse_grid
from paradox_gym.study.remeasure import Remeasure, choose_runs, remeasure_text
from paradox_gym.study.sweep import run_sweep

PPO = {"env": "CartPole-v1", "algo": "PPO"}
SMALL = {"episodes": 2, "trials": 2, "warmup": 0, "replicates": 2, "memory": False, "codecarbon": False}


@pytest.mark.parametrize("value, words", [
    (10, "must be a mapping"),
    ({"above_mde_pct": 10}, "needs replicates"),
    ({"above_mde_pct": 10, "replicates": 12, "after": 1}, "unknown remeasure key 'after'; valid: above_mde_pct, replicates"),
    ({"above_mde_pct": 0, "replicates": 12}, "above_mde_pct must be a number in (0, 100]"),
    ({"above_mde_pct": 150, "replicates": 12}, "got 150"),
    ({"above_mde_pct": True, "replicates": 12}, "got True"),
    ({"above_mde_pct": 10, "replicates": 2}, "remeasure replicates"),  # not more than the grid's
    ({"above_mde_pct": 10, "replicates": 10**9}, "remeasure replicates"),
])
def test_a_bad_rule_is_one_line_naming_it(value: Any, words: str) -> None:
    with pytest.raises(UserInputError) as err:
        parse_grid({"agents": [PPO], "methods": ["ptdq"], **SMALL, "remeasure": value})
    assert words in str(err.value) and "\n" not in str(err.value)


def test_the_rule_changes_no_cell_and_not_the_fingerprint() -> None:
    plain = parse_grid({"agents": [PPO], "methods": ["ptdq", "prune"], "amounts": [0.3], **SMALL})
    ruled = parse_grid({"agents": [PPO], "methods": ["ptdq", "prune"], "amounts": [0.3], **SMALL,
                        "remeasure": {"above_mde_pct": 10, "replicates": 4}})
    assert ruled.remeasure == Remeasure(10.0, 4) and plain.remeasure is None
    assert [j.id for j in ruled.jobs()] == [j.id for j in plain.jobs()]
    assert ruled.common_identity() == plain.common_identity()


def _row(job_id: str, mde: float | None) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    return {"id": job_id}, {"job_id": job_id, "energy_mde_pct": mde}, []


def test_each_cell_takes_its_second_run_where_the_rule_chose_it() -> None:
    parsed = [_row("a", 4.0), _row("b", 15.0), _row("c", 12.0), _row("d", None), _row("b2", 7.0), _row("a2", 1.0)]
    chosen, summary = choose_runs(parsed, {"a": "a2", "b": "b2", "c": "c2", "d": "d2"}, Remeasure(10.0, 12))
    rows = {r["job_id"]: r for _rec, r, _code in chosen}
    assert list(rows) == ["a", "b2", "c", "d"]  # a's second run was never chosen: a met the target
    assert rows["b2"]["remeasured"] and rows["b2"]["first_energy_mde_pct"] == 15.0 and rows["b2"]["meets_mde_target"]
    assert not rows["c"]["remeasured"] and rows["c"]["meets_mde_target"] is False  # its second run is pending
    assert rows["d"]["meets_mde_target"] is None  # no A/A control: no MDE
    assert summary is not None and (summary["cells"], summary["above_at_first"], summary["remeasured"],
                                    summary["pending"], summary["meets"]) == (4, 2, 1, 1, 2)
    text = remeasure_text(summary)
    assert text is not None and text.startswith("Resolution rule: A/A MDE at most 10% per cell")
    assert "2 of 4 cells meet it; 2 were above it at the first run: 1 measured again" in text
    assert "1 still to measure again (the sweep does so once every cell has its first run)" in text
    # a failed second run keeps its cell's first run, and is not waiting to be measured
    _chosen, failed = choose_runs(parsed, {"a": "a2", "b": "b2", "c": "c2", "d": "d2"}, Remeasure(10.0, 12),
                                  frozenset({"c2"}))
    assert failed is not None and (failed["pending"], failed["failed"]) == (0, 1)
    assert "1 whose second run failed" in (remeasure_text(failed) or "")
    plain, none = choose_runs(parsed[:2], {}, None)
    assert none is None and [r["remeasured"] for _c, r, _x in plain] == [False, False]


def test_a_sweep_measures_the_cells_above_the_target_again(tmp_path: Path) -> None:
    # a target below any MDE two replicates can give: the one cell is measured again at three
    grid = parse_grid({"agents": [PPO], "methods": ["ptdq"], **SMALL,
                       "remeasure": {"above_mde_pct": 1e-9, "replicates": 3}})
    out = tmp_path / "study"
    events: list[str] = []
    summary = run_sweep(grid, str(out), progress=lambda e: events.append(e.message))
    assert (summary.done, summary.total, summary.failed, summary.ran) == (2, 2, 0, 2)
    assert any("1 cells have an A/A MDE above 1e-09%: measuring them again at 3 replicates" in e for e in events)
    record = json.loads((out / "grid.json").read_text())
    assert record["remeasure"] == {"above_mde_pct": 1e-9, "replicates": 3}
    first, second = record["jobs"][0]["id"], record["jobs"][0]["remeasure_id"]
    assert (out / "jobs" / f"{first}.json").is_file() and (out / "jobs" / f"{second}.json").is_file()
    assert json.loads((out / "jobs" / f"{second}.json").read_text())["result"]["config"]["replicates"] == 3
    study = json.loads((out / "study.json").read_text())
    (row,) = study["cells"]
    assert row["job_id"] == second and row["remeasured"] and row["replicates"] == 3
    assert row["first_energy_mde_pct"] > 1e-9 and row["meets_mde_target"] is False
    assert study["jobs"]["done"] == 1 and study["remeasure"]["remeasured"] == 1
    text = (out / "study.md").read_text()
    assert "Resolution rule: A/A MDE at most 1e-09% per cell" in text and "Measuring these cells took " in text
    assert (out / "plots" / "resolution.png").stat().st_size > 1000 and "plots/resolution.png" in study["files"]["plots"]
    # run again: nothing left to measure, the second run is never repeated, and it still counts
    again = run_sweep(grid, str(out))
    assert (again.ran, again.done, again.total, again.failed) == (0, 2, 2, 0)
    # another rule once a second run is stored: refused (the cell would be measured a third time)
    changed = parse_grid({"agents": [PPO], "methods": ["ptdq"], **SMALL,
                          "remeasure": {"above_mde_pct": 1e-9, "replicates": 4}})
    with pytest.raises(UserInputError) as err:
        run_sweep(changed, str(out))
    assert "a cell would be measured a third time" in str(err.value) and "\n" not in str(err.value)


def test_the_plan_line_says_how_many_second_runs_are_due_so_far() -> None:
    from paradox_gym.study.sweep import _plan_text

    rule = Remeasure(10, 16)
    text = _plan_text(330, 0, 228, 102, "serial in shuffled order", 0, rule, 65)
    assert text == ("330 jobs in the grid: 228 already done, 102 to run with serial in shuffled order; then every cell "
                    "whose A/A MDE is above 10% is measured again at 16 replicates (65 due so far)")
    assert "due so far" not in _plan_text(330, 0, 0, 330, "serial", 0, rule, 0)
    assert _plan_text(3, 0, 0, 3, "serial", 0, None).endswith("3 to run with serial")
