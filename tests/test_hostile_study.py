"""Hostile grid files and tampered study directories: ``sweep`` refuses a bad grid in one line before
anything is measured (never executing, expanding or waiting on what the file holds), and ``report`` names a
job file it cannot read and leaves it out instead of failing on it. Nothing here measures: jobs are
synthetic records, and running a job fails the test."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from paradox_gym import limits
from paradox_gym.cli import main
from paradox_gym.study import grid as grid_module
from paradox_gym.study.grid import load_grid
from paradox_gym.study.jobs import JOB_SCHEMA, JobOutcome, JobStore

GOOD = "agents: [{env: CartPole-v1, algo: PPO}]\nmethods: [ptdq]\nepisodes: 1\ntrials: 1\nmemory: false\n" \
       "codecarbon: false\n"


@pytest.fixture(autouse=True)
def _no_measuring(monkeypatch):
    import paradox_gym.study.executors as executors

    def refuse(*_args, **_kwargs):
        raise AssertionError("a job was run")

    monkeypatch.setattr(executors, "run_job", refuse)


def one_error(capsys, argv, fragment):
    status = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2, (status, err[-1000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    assert "Traceback" not in err and len(lines[0]) <= limits.MAX_MESSAGE_CHARS + 100
    assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# ---------------------------------------------------------------------------------------------------
# hostile grid files
# ---------------------------------------------------------------------------------------------------
def _laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines)


HOSTILE_GRIDS = {
    "billion_laughs": (_laughs() + f"\nagents: *a8\nmethods: [ptdq]\n", "MAX_GRID_VALUES"),
    "laughs_in_meters": ("agents: [{env: CartPole-v1}]\nmethods: [ptdq]\nmeters: [&a0 [lol, lol, lol, lol, lol], "
                         + ", ".join(f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)) + "]\n",
                         "MAX_GRID_VALUES"),
    "self_reference": ("agents: &a [*a]\nmethods: [ptdq]\n", "MAX_GRID_DEPTH"),
    "deep_nesting": ("agents: " + "[" * 50_000 + "]" * 50_000 + "\nmethods: [ptdq]\n", "nested"),
    "python_tag": ("agents: !!python/object/apply:os.system ['touch PWNED']\nmethods: [ptdq]\n", "constructor"),
    "python_new": ("!!python/object/new:os.system [touch PWNED]\n", "constructor"),
    "int_of_5000_digits": ("agents: [{env: CartPole-v1}]\nmethods: [ptdq]\nseed: " + "9" * 5000 + "\n", "4300"),
    "top_level_list": ("- 1\n- 2\n", "got list"),
    "top_level_scalar": ("42\n", "got int"),
    "empty": ("", "got NoneType"),
    "nul_byte": ("agents: \0\n", "not valid YAML"),
    "unhashable_key": ("? [a, b]\n: 1\n", "unhashable"),
    "episodes_cap": ("agents: [{env: CartPole-v1}]\nmethods: [ptdq]\nepisodes: 1000000000\n", "1000000000"),
    "threads_cap": ("agents: [{env: CartPole-v1}]\nmethods: [ptdq]\nthreads: 100000\n", "100000"),
    "seed_a_date": ("agents: [{env: CartPole-v1}]\nmethods: [ptdq]\nseed: 2001-01-01\n", "datetime.date"),
    "tdp_nan": ("agents: [{env: CartPole-v1}]\nmethods: [ptdq]\ncpu_tdp_w: .nan\n", "nan"),
    "tdp_huge_int": ("agents: [{env: CartPole-v1}]\nmethods: [ptdq]\ncpu_tdp_w: " + "9" * 400 + "\n", "inf"),
    "amount_inf": ("agents: [{env: CartPole-v1}]\nmethods: [prune]\namounts: [.inf]\n", "inf"),
    "too_many_cells": ("agents: [{env: CartPole-v1}]\nmethods: [prune, prune-structured]\namounts: ["
                       + ", ".join(f"{i / 20_000:.6f}" for i in range(9_000)) + "]\n", "MAX_GRID_CELLS"),
    "env_a_list": ("agents: [{env: [1, 2]}]\nmethods: [ptdq]\n", "'env' must be a string"),
    "algo_a_mapping": ("agents: [{env: CartPole-v1, algo: {a: 1}}]\nmethods: [ptdq]\n", "'algo' must be a string"),
    "method_a_list": ("agents: [{env: CartPole-v1}]\nmethods: [[ptdq]]\n", "not a method name"),
    "phase_clock_a_list": ("agents: [{env: CartPole-v1}]\nmethods: [ptdq]\nphase_clock: [a, b]\n", "phase clock"),
    "module_env": ("agents: [{env: 'os:Evil-v0'}]\nmethods: [ptdq]\n", "os:Evil-v0"),
    "long_unknown_key": ("agents: [{env: CartPole-v1}]\nmethods: [ptdq]\n" + '? ' + "k" * 100_000 + '\n: 1\n', "unknown grid key"),
    "agent_dev_zero": ("agents: [{env: CartPole-v1, path: /dev/zero}]\nmethods: [ptdq]\n", "not a regular file"),
    "agent_empty_path": ("agents: [{env: CartPole-v1, path: ' '}]\nmethods: [ptdq]\n", "agent path"),
}


@pytest.mark.parametrize("name", list(HOSTILE_GRIDS))
def test_hostile_grid_files_are_one_line_errors(capsys, tmp_path: Path, monkeypatch, name) -> None:
    text, fragment = HOSTILE_GRIDS[name]
    grid = tmp_path / "grid.yml"
    grid.write_text(text)
    monkeypatch.chdir(tmp_path)  # a tag that ran would leave PWNED here
    one_error(capsys, ["sweep", "--grid", str(grid), "--out", str(tmp_path / "out")], fragment)
    assert not (tmp_path / "out" / "jobs").exists()  # refused when read: nothing measured
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "out" / "jobs").exists() or not any((tmp_path / "out" / "jobs").iterdir())


def test_grid_files_that_are_not_files(capsys, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yml"
    os.mkfifo(fifo)
    (tmp_path / "dir.yml").mkdir()
    for path, fragment in ((fifo, "not a regular file"), ("/dev/zero", "not a regular file"),
                           (tmp_path / "dir.yml", "directory"), (tmp_path / "none.yml", "does not exist")):
        one_error(capsys, ["sweep", "--grid", str(path), "--out", str(tmp_path / "out")], fragment)


def test_grid_file_size_is_checked_before_it_is_read(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_GRID_BYTES", 1000)
    grid = tmp_path / "grid.yml"
    grid.write_text(GOOD + "#" * 2000)
    one_error(capsys, ["sweep", "--grid", str(grid), "--out", str(tmp_path / "out")], "MAX_GRID_BYTES")


def test_grid_agent_paths_of_the_wrong_kind(capsys, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.zip")
    (tmp_path / "dir.zip").mkdir()
    for name, fragment in (("fifo.zip", "not a regular file"), ("dir.zip", "nor an rl-zoo3 run folder"), ("none.zip", "does not exist")):
        grid = tmp_path / "grid.yml"
        grid.write_text(f"agents: [{{env: CartPole-v1, algo: PPO, path: {name}}}]\nmethods: [ptdq]\n")
        one_error(capsys, ["sweep", "--grid", str(grid), "--out", str(tmp_path / "out")], fragment)


def test_a_document_built_in_python_is_held_to_the_same_bounds() -> None:
    from paradox_gym.errors import UserInputError

    loop: list = []
    loop.append(loop)
    with pytest.raises(UserInputError, match="MAX_GRID_DEPTH"):
        grid_module.parse_grid({"agents": loop, "methods": ["ptdq"]})


# ---------------------------------------------------------------------------------------------------
# tampered study directories
# ---------------------------------------------------------------------------------------------------
def _ci(ratio, low, high, base=100.0):
    return {"ratio": ratio, "ratio_low": low, "ratio_high": high, "diff": (ratio - 1) * base,
            "diff_low": (low - 1) * base, "diff_high": (high - 1) * base, "n": 3, "resamples": 100, "seed": 0,
            "confidence": 0.95, "baseline_mean": base}


def _record(job_id: str, method: str = "prune", amount: float | None = 0.3) -> dict:
    summary = {"ret": {"mean": 100.0}, "length": {"mean": 100.0}, "energy_per_episode_j": {"mean": 1.0}}
    comp = {"ret": _ci(0.99, 0.95, 1.03), "energy_per_episode": _ci(0.8, 0.7, 0.9, 1.0),
            "energy_per_step": _ci(1, 0.9, 1.1, 0.01), "policy_time_per_step": _ci(1, 0.9, 1.1, 1e-4),
            "pairs": 3, "size_ratio": 0.5}
    return {"schema": JOB_SCHEMA, "id": job_id, "method": method, "amount": amount, "host": "h1",
            "machine_fingerprint": "f1", "identity": {"measurement": "exclusive"},
            "agent": {"label": "PPO CartPole-v1", "sha256": "s"}, "elapsed_s": 1.0,
            "episodes": [{"config": c, "trial": 0, "episode": 0, "seed": 0, "return": 100.0, "length": 100,
                          "wall_s": 0.1} for c in ("none", method)],
            "result": {"config": {"env_id": "CartPole-v1", "algo": "PPO", "episodes": 1, "trials": 3},
                       "comparisons": {method: comp}, "summaries": {"none": summary, method: summary},
                       "machine": {"cpu_model": "cpu", "cpu_count": 2}, "notes": ["a note"],
                       "meters": {"cpu-model": {"role": "energy", "method": "modelled"}},
                       "verdicts": {method: "words"}, "energy_meter": "cpu-model", "energy_method": "modelled"}}


GOOD_IDS = ("a000000000000001", "a000000000000002")
VICTIM = "a000000000000003"


def _study(root: Path) -> Path:
    store = JobStore(root)
    store.create()
    for i, job_id in enumerate((*GOOD_IDS, VICTIM)):
        store.write_outcome(JobOutcome(job_id, "done", _record(job_id, amount=0.1 * (i + 1)), 1.0))
    store.write_grid({"fingerprint": "x", "common": {"episodes": 1}, "grid": {}, "command": ["paradox-gym", "sweep"],
                      "jobs": [{"id": i} for i in (*GOOD_IDS, VICTIM)]})
    return root


def _replace(path: Path, doc_or_text) -> None:
    path.unlink()
    path.write_text(doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text))


def _set(path_in_record, value):
    def tamper(job: Path) -> None:
        doc = json.loads(job.read_text())
        cur = doc
        for key in path_in_record[:-1]:
            cur = cur[key]
        cur[path_in_record[-1]] = value
        _replace(job, doc)
    return tamper


TAMPERED = {
    "not_json": lambda job: _replace(job, "{not json"),
    "empty_file": lambda job: _replace(job, ""),
    "a_list": lambda job: _replace(job, "[1, 2]"),
    "only_an_id": lambda job: _replace(job, {"id": VICTIM}),
    "another_id_inside": _set(["id"], "ffffffffffffffff"),
    "nested_200000_deep": lambda job: _replace(job, "[" * 200_000 + "]" * 200_000),
    "int_of_5000_digits": lambda job: _replace(job, job.read_text().replace('"elapsed_s": 1.0', '"elapsed_s": ' + "9" * 5000)),
    "not_utf8": lambda job: (job.unlink(), job.write_bytes(b"\xff\xfe{}")),
    "ratio_a_string": _set(["result", "comparisons", "prune", "ret", "ratio"], "abc"),
    "amount_a_string": _set(["amount"], "0.3"),
    "amount_out_of_range": _set(["amount"], 5),
    "unknown_method": _set(["method"], "nope"),
    "no_agent_label": _set(["agent"], {}),
    "episodes_not_a_list": _set(["episodes"], {"a": 1}),
    "episode_return_a_word": _set(["episodes"], [{"config": "none", "return": "abc", "length": 1, "wall_s": 1}]),
    "notes_not_strings": _set(["result", "notes"], [1, {"a": 2}]),
    "meters_not_mappings": _set(["result", "meters"], {"cpu-model": 5}),
    "machine_a_list": _set(["result", "machine"], [1]),
    "summaries_a_list": _set(["result", "summaries", "none"], [1]),
    "verdict_word_a_number": _set(["result", "comparisons", "prune", "verdict"], {"energy": 5}),
    "algo_a_number": _set(["result", "config", "algo"], 5),
    "elapsed_s_1e400": lambda job: _replace(job, job.read_text().replace('"elapsed_s": 1.0', '"elapsed_s": 1e400')),
    "elapsed_s_10_to_300": _set(["elapsed_s"], 10**300),
    "pairs_past_int64": _set(["result", "comparisons", "prune", "pairs"], 2**63),
    "ratio_nan": lambda job: _replace(job, job.read_text().replace('"ratio": 0.8', '"ratio": NaN')),
    "host_a_lone_surrogate": lambda job: _replace(job, job.read_text().replace('"host": "h1"', '"host": "\\ud800"')),
    "host_a_megabyte": _set(["host"], "h" * 1_000_000),
    "verdict_word_unknown": _set(["result", "comparisons", "prune", "verdict"], {"energy": "cheaper"}),
    "a_directory": lambda job: (job.unlink(), job.mkdir()),
    "a_fifo": lambda job: (job.unlink(), os.mkfifo(job)),
    "a_link_to_dev_zero": lambda job: (job.unlink(), job.symlink_to("/dev/zero")),
    "a_dangling_link": lambda job: (job.unlink(), job.symlink_to(job.parent / "nowhere")),
}


@pytest.mark.parametrize("name", list(TAMPERED))
def test_report_names_a_tampered_job_file_and_leaves_it_out(capsys, tmp_path: Path, name) -> None:
    root = _study(tmp_path / "study")
    TAMPERED[name](root / "jobs" / f"{VICTIM}.json")
    assert main(["report", str(root)]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.strip()]
    assert "Traceback" not in captured.err
    assert len(warnings) == 1 and warnings[0].startswith("warning: ") and VICTIM in warnings[0], warnings
    study = json.loads((root / "study.json").read_text())
    assert [c["job_id"] for c in study["cells"]] == list(GOOD_IDS)  # the others are reported
    assert study["jobs"]["done"] == 2 and len(study["skipped"]) == 1
    assert "## Files left out" in (root / "study.md").read_text()


def test_a_record_past_the_tables_range_leaves_results_parquet_without_its_row(capsys, tmp_path: Path) -> None:
    root = _study(tmp_path / "study")
    _set(["elapsed_s"], 10**300)(root / "jobs" / f"{VICTIM}.json")
    assert main(["report", str(root)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "warning: " in err and "elapsed_s" in err and VICTIM in err
    assert list(pd.read_parquet(root / "results.parquet")["job_id"]) == list(GOOD_IDS)
    assert VICTIM in (root / "study.md").read_text().split("## Files left out")[1]


def test_a_row_the_tables_cannot_hold_is_named_and_left_out(monkeypatch, capsys, tmp_path: Path) -> None:
    """Past the record checks (here switched off), a conversion error names the job file and keeps the rest."""
    from paradox_gym.study import records

    monkeypatch.setattr(records, "check_row", lambda row, what: None)
    root = _study(tmp_path / "study")
    _set(["elapsed_s"], 10**300)(root / "jobs" / f"{VICTIM}.json")
    assert main(["report", str(root)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "cannot hold" in err and VICTIM in err
    assert list(pd.read_parquet(root / "results.parquet")["job_id"]) == list(GOOD_IDS)
    assert len(pd.read_csv(root / "results.csv")) == 2


@pytest.mark.parametrize("grid_text, fragment", [
    ("nope", "not valid JSON"), ("[]", "not a JSON object"), ('{"fingerprint": "x", "jobs": [1, 2]}', "'jobs'"),
    ('{"fingerprint": 5, "jobs": []}', "fingerprint"),
])
def test_report_on_a_tampered_grid_record_covers_every_job_file(capsys, tmp_path: Path, grid_text, fragment) -> None:
    root = _study(tmp_path / "study")
    _replace(root / "grid.json", grid_text)
    assert main(["report", str(root)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and fragment in err and "grid.json" in err
    assert json.loads((root / "study.json").read_text())["jobs"]["done"] == 3


def test_report_survives_odd_failure_records_and_commands(capsys, tmp_path: Path) -> None:
    root = _study(tmp_path / "study")
    (root / "jobs" / f"{VICTIM}.json").unlink()
    (root / "failed" / f"{VICTIM}.json").write_text(json.dumps(
        {"id": VICTIM, "agent": [1], "method": 5, "amount": "x", "host": ["h"], "error": {"a": "b\nc"}}))
    grid = json.loads((root / "grid.json").read_text())
    grid["command"] = [1, {"a": 2}]
    _replace(root / "grid.json", grid)
    assert main(["report", str(root)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert json.loads((root / "study.json").read_text())["jobs"]["failed"] == 1


def test_oversized_job_files_are_not_read(capsys, tmp_path: Path, monkeypatch) -> None:
    root = _study(tmp_path / "study")
    monkeypatch.setattr(limits, "MAX_JOB_FILE_BYTES", 100)
    assert main(["report", str(root)]) == 0
    err = capsys.readouterr().err
    assert err.count("MAX_JOB_FILE_BYTES") >= 3  # the grid record and every job record, each named


@pytest.mark.parametrize("where, fragment", [("nothing", "not a sweep directory"), ("jobs_a_file", "not a sweep directory"),
                                             ("a_file", "not a sweep directory"), ("study_md_a_dir", "cannot be written")])
def test_report_refusals_are_one_line(capsys, tmp_path: Path, where, fragment) -> None:
    root = tmp_path / "study"
    if where == "jobs_a_file":
        root.mkdir()
        (root / "jobs").write_text("x")
    elif where == "a_file":
        root.write_text("x")
    elif where == "study_md_a_dir":
        _study(root)
        (root / "study.md").mkdir()
    one_error(capsys, ["report", str(root)], fragment)
    if where == "study_md_a_dir":
        assert len(list((root / "jobs").iterdir())) == 3  # nothing of the study is touched


# ---------------------------------------------------------------------------------------------------
# sweeps into tampered or busy directories
# ---------------------------------------------------------------------------------------------------
@pytest.fixture()
def grid_file(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "grid.yml"
    path.write_text(GOOD)
    return path, load_grid(path).jobs()[0].id


def _fake_outcome(job, executor="serial"):
    return JobOutcome(job.id, "done", _record(job.id, method=job.method, amount=job.amount), 0.1)


@pytest.mark.parametrize("kind", ["directory", "fifo", "dangling link"])
def test_sweep_refuses_a_job_file_it_could_not_store_before_measuring(capsys, tmp_path: Path, grid_file, kind) -> None:
    grid, job_id = grid_file
    out = tmp_path / "out"
    (out / "jobs").mkdir(parents=True)
    target = out / "jobs" / f"{job_id}.json"
    {"directory": target.mkdir, "fifo": lambda: os.mkfifo(target),
     "dangling link": lambda: target.symlink_to(out / "nowhere")}[kind]()
    one_error(capsys, ["sweep", "--grid", str(grid), "--out", str(out)], f"{job_id}.json is not a regular file")


@pytest.mark.parametrize("grid_text", ["nope", "[]", '{"fingerprint": "x", "jobs": "all"}'])
def test_sweep_refuses_a_tampered_grid_record_unless_forced(capsys, tmp_path: Path, grid_file, monkeypatch,
                                                            grid_text) -> None:
    import paradox_gym.study.executors as executors

    grid, job_id = grid_file
    out = tmp_path / "out"
    out.mkdir()
    (out / "grid.json").write_text(grid_text)
    one_error(capsys, ["sweep", "--grid", str(grid), "--out", str(out)], "--force")
    monkeypatch.setattr(executors, "run_job", _fake_outcome)
    assert main(["sweep", "--grid", str(grid), "--out", str(out), "--force", "--quiet"]) == 0
    assert (out / "jobs" / f"{job_id}.json").is_file()
    assert json.loads((out / "grid.json").read_text())["jobs"][0]["id"] == job_id


@pytest.mark.parametrize("where", ["jobs", "failed"])
def test_sweep_refuses_a_file_where_its_folders_belong(capsys, tmp_path: Path, grid_file, where) -> None:
    grid, _ = grid_file
    out = tmp_path / "out"
    out.mkdir()
    (out / where).write_text("x")
    one_error(capsys, ["sweep", "--grid", str(grid), "--out", str(out)], f"{where}/ cannot be created")


def test_a_second_sweep_into_a_busy_directory_is_refused_naming_the_holder(capsys, tmp_path: Path,
                                                                           grid_file) -> None:
    grid, _ = grid_file
    out = tmp_path / "out"
    store = JobStore(out)
    store.create()
    with store.lock():
        line = one_error(capsys, ["sweep", "--grid", str(grid), "--out", str(out)], "--out")
        assert f"pid {os.getpid()}" in line
        # a report while the sweep writes: it reads whole job files only and needs no lock
        store.write_outcome(_fake_outcome(load_grid(grid).jobs()[0]))
        assert main(["report", str(out)]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_a_job_record_that_cannot_be_written_is_named(capsys, tmp_path: Path, grid_file, monkeypatch) -> None:
    import paradox_gym.study.executors as executors
    import paradox_gym.study.jobs as jobs

    grid, job_id = grid_file

    real = jobs.write_json_atomic

    def full(path, doc):
        if Path(path).parent.name == "jobs":
            raise OSError(28, "No space left on device")
        return real(path, doc)

    monkeypatch.setattr(executors, "run_job", _fake_outcome)
    monkeypatch.setattr(jobs, "write_json_atomic", full)
    line = one_error(capsys, ["sweep", "--grid", str(grid), "--out", str(tmp_path / "out"), "--quiet"],
                     "No space left on device")
    assert f"{job_id}.json" in line


def test_the_report_margin_is_checked_before_the_sweep(capsys, tmp_path: Path, grid_file) -> None:
    grid, _ = grid_file
    one_error(capsys, ["sweep", "--grid", str(grid), "--out", str(tmp_path / "out"), "--return-margin", "1.5"],
              "1.5")
    assert not (tmp_path / "out").exists()
