"""Runtimes as a grid dimension: a cell is (agent, method, amount, runtime), compared with its runtime's float
baseline; the paper grid (docs/study/paper/grid.yml) expands to its 330 cells; a real sweep on two runtimes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from paradox_gym.errors import UserInputError
from paradox_gym.study.grid import parse_grid
from paradox_gym.study.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
PAPER_GRID = ROOT / "docs" / "study" / "paper" / "grid.yml"
PPO = {"env": "CartPole-v1", "algo": "PPO"}
TINY = {"episodes": 2, "trials": 2, "warmup": 0, "replicates": 1, "memory": False, "codecarbon": False}
FIVE_PERCENT = [round(0.05 * k, 2) for k in range(1, 15)]


def _grid(**changes: Any) -> Any:
    doc = {"agents": [PPO], "methods": ["ptdq", "prune-structured"], "amounts": [0.3, 0.6], **TINY}
    doc.update(changes)
    return parse_grid(doc)


def test_a_runtime_list_puts_every_method_on_each_runtime() -> None:
    grid = _grid(runtimes=["sb3", "onnxruntime"])
    cells = [(c.method, c.amount, c.runtime) for c in grid.cells()]
    assert cells == [("ptdq", None, "sb3"), ("ptdq", None, "onnxruntime"),
                     ("prune-structured", 0.3, "sb3"), ("prune-structured", 0.6, "sb3"),
                     ("prune-structured", 0.3, "onnxruntime"), ("prune-structured", 0.6, "onnxruntime")]
    jobs = grid.jobs()
    assert len({j.id for j in jobs}) == 6
    onnx = jobs[1]
    assert onnx.runtime == "onnxruntime" and onnx.describe() == "PPO CartPole-v1 onnxruntime:ptdq"
    assert onnx.identity["configs"] == ["none", "none-copy", "onnxruntime:none", "onnxruntime:ptdq"]
    assert onnx.cell()["runtime"] == "onnxruntime"
    assert "runtimes" not in grid.common_identity()  # it differs between cells


def test_a_runtime_mapping_names_each_runtimes_methods() -> None:
    grid = _grid(runtimes={"sb3": "all", "onnxruntime": ["ptdq"]})
    assert Counter(c.runtime for c in grid.cells()) == {"sb3": 3, "onnxruntime": 1}
    assert grid.runtimes_of("prune-structured") == ("sb3",)
    assert grid.runtimes_of("ptdq") == ("sb3", "onnxruntime")


def test_sb3_cells_keep_the_ids_they_had_without_runtimes() -> None:
    before = {j.describe(): j.id for j in _grid().jobs()}
    after = {j.describe(): j.id for j in _grid(runtimes={"sb3": "all", "onnxruntime": ["ptdq"]}).jobs()}
    assert all(after[name] == job_id for name, job_id in before.items())
    assert _grid().common_identity() == _grid(runtimes=["sb3"]).common_identity()


@pytest.mark.parametrize(("runtimes", "message"), [
    (["tflite"], "unknown runtime 'tflite'; valid: sb3, torch, onnxruntime"),
    (["sb3", "sb3"], "grid lists runtime 'sb3' twice"),
    ({"sb3": "all", "onnxruntime": ["qat"]},
     "grid runtime 'onnxruntime' lists method 'qat', which the grid's 'methods' do not; valid: ptdq, prune-structured"),
    ({"onnxruntime": ["ptdq"]}, "grid method prune-structured runs on no runtime"),
    ({"sb3": 5}, "grid runtime 'sb3' must list methods of the grid or say 'all', got 5"),
    ({}, "grid key 'runtimes' is an empty mapping"),
    ([], "grid key 'runtimes' must be a non-empty list"),
])
def test_bad_runtimes_are_one_clear_error(runtimes: Any, message: str) -> None:
    with pytest.raises(UserInputError) as info:
        _grid(runtimes=runtimes)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_amounts_in_five_percent_steps() -> None:
    grid = _grid(methods=["prune-structured-l1", "prune-structured"], amounts=FIVE_PERCENT)
    assert list(grid.amounts) == FIVE_PERCENT and len(grid.cells()) == 28
    assert len({j.id for j in grid.jobs()}) == 28


def test_the_paper_grid_expands_to_330_cells() -> None:
    doc = yaml.safe_load(PAPER_GRID.read_text())
    agents = {(a["env"], a["algo"]) for a in doc["agents"]}
    assert agents == {(env, algo) for env in ("Hopper-v5", "HalfCheetah-v5")
                      for algo in ("PPO", "TRPO", "SAC", "TD3", "DDPG")}
    # the zoo agents may not be trained here: expand the cells of one shipped agent with the same grid
    grid = parse_grid({**doc, "agents": [PPO]})
    assert list(grid.amounts) == FIVE_PERCENT
    per_agent = Counter((c.method, c.runtime) for c in grid.cells())
    assert per_agent == {("ptdq", "sb3"): 1, ("ptsq", "sb3"): 1, ("qat", "sb3"): 1,
                         ("prune-structured-l1", "sb3"): 14, ("prune-structured", "sb3"): 14,
                         ("ptdq", "onnxruntime"): 1, ("ptsq", "onnxruntime"): 1}
    assert len(doc["agents"]) * sum(per_agent.values()) == 330
    assert grid.settings["memory"] is True and grid.settings["replicates"] == 8
    jobs = grid.jobs()
    assert len(jobs) == 33
    # trials: square: a whole Latin square per replicate, 3 configurations on sb3 (none, none-copy, the
    # method) and 4 on ONNX Runtime (with onnxruntime:none)
    assert grid.settings["trials"] == "square"
    assert {(j.runtime, j.settings["trials"], len(j.eval_settings().configs)) for j in jobs} == \
        {("sb3", 3, 3), ("onnxruntime", 4, 4)}
    assert grid.common_identity(jobs=jobs)["trials"] == "square"


def test_square_trials_keep_the_ids_of_the_same_trials_given_as_a_number() -> None:
    square = parse_grid({"agents": [PPO], "methods": ["ptdq"], "runtimes": ["sb3", "onnxruntime"], **TINY,
                         "trials": "square"}).jobs()
    numbers = [parse_grid({"agents": [PPO], "methods": ["ptdq"], "runtimes": [runtime], **TINY, "trials": n}).jobs()[0]
               for runtime, n in (("sb3", 3), ("onnxruntime", 4))]
    assert [j.id for j in square] == [j.id for j in numbers]


@pytest.mark.parametrize("value", ["squares", 0, 1.5, True])
def test_bad_trials_name_the_value_and_square(value) -> None:
    with pytest.raises(UserInputError) as err:
        parse_grid({"agents": [PPO], "methods": ["ptdq"], "trials": value}).jobs()
    assert "trials" in str(err.value) and "'square'" in str(err.value) and "\n" not in str(err.value)


def test_a_sweep_on_two_runtimes_compares_each_cell_with_its_runtimes_baseline(tmp_path: Path) -> None:
    grid = parse_grid({"agents": [PPO], "methods": ["ptdq"], "runtimes": ["sb3", "onnxruntime"], **TINY})
    out = tmp_path / "study"
    summary = run_sweep(grid, str(out))
    assert (summary.done, summary.failed) == (2, 0)
    study = json.loads((out / "study.json").read_text())
    rows = {r["runtime"]: r for r in study["cells"]}
    assert set(rows) == {"sb3", "onnxruntime"} and {r["method"] for r in rows.values()} == {"ptdq"}
    records = {json.loads(p.read_text())["runtime"]: json.loads(p.read_text()) for p in (out / "jobs").iterdir()}
    onnx = records["onnxruntime"]["result"]
    assert onnx["comparisons"]["onnxruntime:ptdq"]["baseline"] == "onnxruntime:none"
    assert rows["onnxruntime"]["return_baseline"] == pytest.approx(
        onnx["comparisons"]["onnxruntime:ptdq"]["ret"]["baseline_mean"])
    assert rows["onnxruntime"]["size_baseline_bytes"] == onnx["footprints"]["onnxruntime:none"]["serialized_bytes"]
    assert rows["sb3"]["size_baseline_bytes"] == records["sb3"]["result"]["baseline_footprint"]["serialized_bytes"]
    text = (out / "study.md").read_text()
    assert "| PPO CartPole-v1 | onnxruntime:ptdq |" in text and "| PPO CartPole-v1 | ptdq |" in text
    assert list(pd.read_parquet(out / "results.parquet")["runtime"]) == [r["runtime"] for r in study["cells"]]
    code = pd.read_csv(out / "study_code.csv")
    assert sorted(code["method"]) == ["onnxruntime:ptdq", "onnxruntime:ptdq", "ptdq", "ptdq"]
    assert study["summary"]["best_return_by_quantization"]["agents_compared"] == 0  # one method per runtime
