"""The study layer without measuring: grid expansion and its errors, job identity, the job store, the
best-amount rule and the summary counts on synthetic results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paradox_gym.errors import ParadoxGymError, UserInputError
from paradox_gym.study import jobs as jobs_module
from paradox_gym.study.executors import EXECUTORS, get_executor
from paradox_gym.study.grid import GRID_KEYS, load_grid, parse_grid
from paradox_gym.study.jobs import JobOutcome, JobStore, make_job
from paradox_gym.study.report import best_amounts, build_report, cell_row, format_study, summary_counts

ISSUE_GRID = """\
agents:
  - {env: CartPole-v1, algo: PPO}
  - {env: CartPole-v1, algo: DQN}
methods: [ptdq, prune-structured]
amounts: [0.3, 0.6]
episodes: 2
trials: 2
"""


def _grid(**changes):
    doc = {"agents": [{"env": "CartPole-v1", "algo": "PPO"}], "methods": ["prune-structured"],
           "amounts": [0.3], "episodes": 2, "trials": 2, "codecarbon": False, "memory": False}
    doc.update(changes)
    return parse_grid(doc)


# ---------------------------------------------------------------------------------------------------
# grid
# ---------------------------------------------------------------------------------------------------
def test_issue_grid_expands_to_six_jobs(tmp_path: Path) -> None:
    path = tmp_path / "grid.yml"
    path.write_text(ISSUE_GRID)
    jobs = load_grid(path).jobs()
    cells = [(j.agent.algo, j.method, j.amount) for j in jobs]
    assert cells == [("PPO", "ptdq", None), ("PPO", "prune-structured", 0.3), ("PPO", "prune-structured", 0.6),
                     ("DQN", "ptdq", None), ("DQN", "prune-structured", 0.3), ("DQN", "prune-structured", 0.6)]
    assert len({j.id for j in jobs}) == 6
    settings = jobs[1].eval_settings()
    assert (settings.episodes, settings.trials, settings.amount, settings.methods) == (2, 2, 0.3, ("prune-structured",))


def test_unknown_grid_key_names_it_and_the_valid_ones() -> None:
    with pytest.raises(UserInputError) as err:
        parse_grid({"agents": [{"env": "CartPole-v1"}], "methods": ["ptdq"], "epsiodes": 3})
    message = str(err.value)
    assert "'epsiodes'" in message and "episodes" in message and "amounts" in message
    assert "\n" not in message


@pytest.mark.parametrize("doc, words", [
    ({"agents": [{"env": "CartPole-v1", "algorithm": "PPO"}], "methods": ["ptdq"]}, ["'algorithm'", "env, algo, path"]),
    ({"agents": [{"env": "CartPole-v1"}], "methods": ["zip"]}, ["'zip'", "ptdq"]),
    ({"agents": [{"env": "CartPole-v1"}], "methods": ["prune"], "amounts": [1.5]}, ["amount", "1.5"]),
    ({"agents": [{"env": "CartPole-v1"}], "methods": ["ptdq"], "episodes": 0}, ["episodes", "0"]),
    ({"agents": [{"env": "CartPole-v1"}]}, ["methods"]),
    ({"agents": [], "methods": ["ptdq"]}, ["agents"]),
    ({"agents": [{"env": "NoSuchEnv-v9"}], "methods": ["ptdq"]}, ["NoSuchEnv-v9"]),
    ({"agents": [{"env": "CartPole-v1", "path": "missing.zip"}], "methods": ["ptdq"]}, ["missing.zip"]),
    ({"agents": [{"env": "CartPole-v1"}], "methods": ["ptdq"], "meters": "joules"}, ["joules"]),
    (["not", "a", "mapping"], ["mapping"]),
])
def test_bad_grids_are_one_line_errors(doc, words) -> None:
    with pytest.raises(ParadoxGymError) as err:
        parse_grid(doc).jobs()
    assert all(w in str(err.value) for w in words), str(err.value)
    assert "\n" not in str(err.value)


def test_grid_file_errors(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        load_grid(tmp_path / "nope.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("agents: [\n")
    with pytest.raises(UserInputError, match="not valid YAML"):
        load_grid(bad)
    hostile = tmp_path / "hostile.yml"
    hostile.write_text("agents: !!python/object/apply:os.system ['echo pwned']\nmethods: [ptdq]\n")
    with pytest.raises(UserInputError, match="not valid YAML"):
        load_grid(hostile)


def test_shipped_agents_and_method_without_amount() -> None:
    grid = parse_grid({"agents": "shipped", "methods": ["ptdq", "prune"], "amounts": [0.1, 0.2]})
    manifest = json.loads((Path(jobs_module.__file__).parents[1] / "zoo" / "shipped" / "manifest.json").read_text())
    assert len(grid.agents) == len(manifest["agents"])
    assert len(grid.cells()) == 3 * len(manifest["agents"])


def test_every_grid_key_reaches_the_settings() -> None:
    grid = _grid(warmup=1, seed=7, threads=1, memory_episodes=2, phase_clock="cpu", cpu_tdp_w=10,
                 replicates=1, control=False)
    settings = grid.jobs()[0].eval_settings()
    assert (settings.warmup, settings.seed, settings.phase_clock, settings.cpu_tdp_w) == (1, 7, "cpu", 10.0)
    for key in GRID_KEYS.values():
        assert key.field in grid.settings or key.field not in {"warmup", "seed"}


# ---------------------------------------------------------------------------------------------------
# identity
# ---------------------------------------------------------------------------------------------------
def test_same_inputs_same_hash() -> None:
    assert [j.id for j in _grid().jobs()] == [j.id for j in _grid().jobs()]
    assert _grid().jobs()[0].id == parse_grid(dict(_grid().source)).jobs()[0].id


@pytest.mark.parametrize("change", [
    {"episodes": 3}, {"trials": 3}, {"warmup": 1}, {"seed": 1}, {"codecarbon": True}, {"memory": True},
    {"amounts": [0.31]}, {"methods": ["prune"]}, {"agents": [{"env": "CartPole-v1", "algo": "DQN"}]},
    {"threads": 2}, {"phase_clock": "cpu"}, {"cpu_tdp_w": 10}, {"memory_episodes": 4},
])
def test_any_changed_input_changes_the_hash(change) -> None:
    assert _grid(**change).jobs()[0].id != _grid().jobs()[0].id


def test_version_agent_file_measurement_and_extra_keys_change_the_hash(monkeypatch, tmp_path: Path) -> None:
    grid = _grid()
    job = grid.jobs()[0]
    assert grid.jobs("shared")[0].id != job.id
    assert make_job(job.agent, job.method, job.amount, grid.settings, {"future_key": 2}).id != job.id
    other = type(job.agent)(job.agent.env_id, job.agent.algo, job.agent.path, job.agent.file, "0" * 64)
    assert make_job(other, job.method, job.amount, grid.settings, {}).id != job.id
    monkeypatch.setattr(jobs_module, "__version__", "99.0")
    assert _grid().jobs()[0].id != job.id


def test_locations_do_not_change_the_hash(tmp_path: Path) -> None:
    job = _grid().jobs()[0]
    moved = make_job(job.agent, job.method, job.amount, {**_grid().settings, "out": str(tmp_path)}, {})
    assert moved.id == job.id


# ---------------------------------------------------------------------------------------------------
# store
# ---------------------------------------------------------------------------------------------------
def test_store_outcomes_and_lock(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    store.create()
    store.write_outcome(JobOutcome("abc", "failed", {"id": "abc", "error": "boom"}, 1.0))
    assert store.failed_ids() == {"abc"} and store.done_ids() == set()
    store.write_outcome(JobOutcome("abc", "done", {"id": "abc"}, 1.0))
    assert store.done_ids() == {"abc"} and store.failed_ids() == set()
    store.write_outcome(JobOutcome("xyz", "interrupted", {}, 1.0))
    assert store.done_ids() == {"abc"}
    (store.jobs_dir / ".abc.json.123.tmp").write_text("{")
    assert store.clean_temporary() == 1
    with store.lock():
        with pytest.raises(UserInputError, match=r"in use by another run \(pid \d+ on "):
            with JobStore(tmp_path).lock():
                pass
    with JobStore(tmp_path).lock():
        pass


def test_executor_table() -> None:
    assert set(EXECUTORS) == {"serial", "process", "ray"}
    assert EXECUTORS["serial"].measurement == EXECUTORS["ray"].measurement == "exclusive"
    assert EXECUTORS["process"].measurement == "shared"
    with pytest.raises(UserInputError, match="valid: serial, process, ray"):
        get_executor("threads")


# ---------------------------------------------------------------------------------------------------
# report on synthetic results
# ---------------------------------------------------------------------------------------------------
def _ci(ratio, low, high, base=100.0):
    return {"ratio": ratio, "ratio_low": low, "ratio_high": high, "diff": (ratio - 1) * base,
            "diff_low": (low - 1) * base, "diff_high": (high - 1) * base, "n": 3, "resamples": 100, "seed": 0,
            "confidence": 0.95, "baseline_mean": base}


def _record(agent, method, amount, ret, energy, *, host="h1", measurement="exclusive", base=100.0):
    none = {"ret": {"mean": base}, "length": {"mean": 100.0}, "energy_per_episode_j": {"mean": 1.0}}
    comp = {"ret": _ci(*ret, base=base), "length": _ci(1, 1, 1), "energy_per_episode": _ci(*energy, base=1.0),
            "energy_per_step": _ci(1, 0.9, 1.1, base=0.01), "policy_time_per_step": _ci(1, 0.9, 1.1, base=1e-4),
            "pairs": 3, "size_ratio": 1 - (amount or 0.5)}
    return {"id": f"{agent}-{method}-{amount}", "method": method, "amount": amount, "host": host,
            "machine_fingerprint": "f" + host, "identity": {"measurement": measurement},
            "agent": {"label": agent, "sha256": "s"},
            "result": {"config": {"env_id": "E-v0", "algo": agent, "episodes": 2, "trials": 3},
                       "comparisons": {method: comp}, "summaries": {"none": none, method: none},
                       "verdicts": {method: "words"}, "energy_meter": "cpu-model", "energy_method": "modelled"}}


KEPT = (0.99, 0.95, 1.03)        # whole interval above -10%
NOT_SHOWN = (0.95, 0.80, 1.10)   # point estimate within 10%, interval not
LOST = (0.5, 0.4, 0.6)
LOWER = (0.8, 0.7, 0.9)
SAME = (1.0, 0.9, 1.1)


def test_best_amount_is_the_largest_kept_amount_with_every_smaller_one_kept() -> None:
    records = [
        _record("A", "prune-structured", 0.1, KEPT, SAME),
        _record("A", "prune-structured", 0.3, KEPT, LOWER),
        _record("A", "prune-structured", 0.5, NOT_SHOWN, LOWER),
        _record("A", "prune-structured", 0.7, LOST, LOWER),
        _record("A", "prune", 0.1, LOST, SAME),
        _record("A", "prune", 0.5, KEPT, SAME),   # kept again at a larger amount: isolated, not best
        _record("B", "prune-structured", 0.1, LOST, LOWER),
        _record("B", "ptdq", None, KEPT, SAME),
    ]
    rows = [cell_row(r) for r in records]
    best = {(b["agent"], b["method"]): b for b in best_amounts(rows)}
    assert set(best) == {("A", "prune-structured"), ("A", "prune"), ("B", "prune-structured")}
    assert best["A", "prune-structured"]["best_amount"] == 0.3
    assert best["A", "prune-structured"]["energy_per_episode_direction"] == "lower"
    assert best["A", "prune-structured"]["energy_per_episode_ratio"] == pytest.approx(0.8)
    assert best["A", "prune-structured"]["kept_amounts"] == [0.1, 0.3]
    assert best["A", "prune"]["best_amount"] is None
    assert best["A", "prune"]["kept_amounts"] == [0.5] and best["A", "prune"]["isolated_amounts"] == [0.5]
    assert best["B", "prune-structured"]["best_amount"] is None
    # a looser margin keeps 0.5 on its own (its lower bound is -20%), but not family-wise over the four
    # amounts tested (Holm-adjusted one-sided p 2 x 0.0145 = 0.029 > 0.025, from n = 3)
    loose_rows = [cell_row(r, 0.25) for r in records]
    assert loose_rows[2]["return_kept"] is True
    loose = {(b["agent"], b["method"]): b for b in best_amounts(loose_rows)}
    assert loose["A", "prune-structured"]["best_amount"] == 0.3
    assert loose_rows[2]["return_kept_p"] == pytest.approx(0.0145, abs=5e-4)


def _study(tmp_path: Path, records: list[dict]) -> tuple[dict, str]:
    store = JobStore(tmp_path)
    store.create()
    for r in records:
        r["result"]["machine"] = {"cpu_model": "cpu", "cpu_count": 2}
        store.write_outcome(JobOutcome(r["id"], "done", r, 1.0))
    doc = build_report(tmp_path)
    return doc, format_study(doc)


def test_a_sweep_at_0_1_and_0_4_that_keeps_only_at_0_4_has_no_best_amount(tmp_path: Path) -> None:
    records = [_record("H", "prune-structured", 0.1, LOST, LOWER), _record("H", "prune-structured", 0.4, KEPT, SAME)]
    rows = [cell_row(r) for r in records]
    assert [r["return_kept"] for r in rows] == [False, True]
    (entry,) = best_amounts(rows)
    assert entry["best_amount"] is None and entry["isolated_amounts"] == [0.4]
    doc, text = _study(tmp_path, records)
    assert doc["best_amounts"][0]["isolated_amounts"] == [0.4]
    assert "| H | prune-structured | none | 1 / 2 | 0.4 |" in text


def test_kept_is_decided_family_wise_over_the_amounts() -> None:
    # each alone is kept (its 95% lower bound 0.91 >= 0.90); Holm over three amounts is not satisfied
    barely = (0.98, 0.91, 1.05)
    rows = [cell_row(_record("F", "prune", a, barely, SAME)) for a in (0.1, 0.2, 0.3)]
    assert all(r["return_kept"] for r in rows)
    (entry,) = best_amounts(rows)
    assert entry["kept_amounts"] == [] and entry["best_amount"] is None
    (alone,) = best_amounts(rows[:1])
    assert alone["best_amount"] == 0.1


def test_cells_carry_the_reference_return_and_flag_weak_agents(tmp_path: Path) -> None:
    weak = _record("PPO Hopper-v5", "prune-structured", 0.5, KEPT, SAME, base=1025.7)
    weak["result"]["config"].update(env_id="Hopper-v5", algo="PPO")
    row = cell_row(weak)
    assert row["reference_return"] == pytest.approx(2410.435) and row["reference_ratio"] == pytest.approx(0.4255, abs=1e-3)
    assert row["weak_agent"] is True and "Hopper-v3" in row["reference_source"]
    _doc, text = _study(tmp_path, [weak])
    assert "0.43x" in text and "may not carry over to trained agents" in text
    assert cell_row(_record("A", "prune", 0.1, KEPT, SAME))["reference_ratio"] is None  # no reference


def test_return_kept_uses_the_magnitude_for_negative_returns() -> None:
    # baseline -200: a difference interval [-15, +5] is within 10% of |-200| = 20
    rec = _record("P", "prune", 0.2, (1.0, 1.075, 0.975), SAME, base=-200.0)
    assert cell_row(rec)["return_kept"] is True
    rec = _record("P", "prune", 0.2, (1.0, 1.2, 0.975), SAME, base=-200.0)  # diff_low -40 < -20
    assert cell_row(rec)["return_kept"] is False


def test_structured_verdicts_are_used_where_the_result_has_them() -> None:
    rec = _record("S", "ptdq", None, KEPT, LOWER)
    rec["result"]["comparisons"]["ptdq"]["verdict"] = {
        "energy": "equivalent", "return": "not shown kept", "return_margin": 0.1, "saving": False,
        "mechanism": None, "noisy": False}
    rec["result"]["control"] = {"min_detectable_effect_pct": 4.5}
    row = cell_row(rec)
    assert (row["energy_per_episode_direction"], row["return_kept"], row["energy_mde_pct"]) == ("equivalent", False, 4.5)
    assert cell_row(rec, 0.2)["return_kept"] is True  # another margin: the rule on the interval
    rec["result"]["comparisons"]["ptdq"]["verdict"]["return"] = "higher"
    assert cell_row(rec)["return_kept"] is True


def test_summary_counts_on_synthetic_cells() -> None:
    records = [
        _record("A", "ptdq", None, (0.99, 0.95, 1.03), SAME),
        _record("A", "ptsq", None, (0.90, 0.85, 0.95), SAME),
        _record("B", "ptdq", None, (0.80, 0.7, 0.9), LOWER),
        _record("B", "ptsq", None, (0.95, 0.9, 1.0), SAME),
        _record("C", "ptdq", None, KEPT, LOWER),
        _record("C", "ptsq", None, KEPT, SAME),
        _record("D", "prune", 0.5, KEPT, LOWER, measurement="shared"),
    ]
    counts = summary_counts([cell_row(r) for r in records])
    q = counts["best_return_by_quantization"]
    assert q["agents_compared"] == 3
    assert q["wins"] == {"ptdq": 2, "ptsq": 2}  # A: ptdq, B: ptsq, C: tie
    e = counts["energy_per_episode"]
    assert e["cells"] == 6  # the shared-machine cell has no energy
    assert e["words"] == {"lower": 2, "unchanged": 4}
    assert (e["fell_return_kept"], e["fell_return_not_kept"]) == (1, 1)
    # one counter-example in 6 cells: chance alone (2.5% per cell) gives one in 1 - 0.975^6 = 14% of studies
    assert e["counter_examples"] == ["C ptdq"] and e["chance_of_as_many"] == pytest.approx(1 - 0.975 ** 6)
    assert e["energy_fell_only_where_return_fell"] == "unresolved"
    more = [_record(a, "ptdq", None, KEPT, LOWER) for a in ("E", "F")]
    e = summary_counts([cell_row(r) for r in records + more])["energy_per_episode"]
    assert e["fell_return_kept"] == 3 and e["chance_of_as_many"] < 0.01
    assert e["energy_fell_only_where_return_fell"] == "does not hold"


def test_machines_table_gives_each_machine_its_first_and_second_runs(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    store.create()
    first = [_record("A", "prune", a, KEPT, SAME, host="h1") for a in (0.1, 0.2)]
    second = _record("A", "prune", 0.1, KEPT, SAME, host="h2")
    second["id"] = "A-prune-0.1-again"
    for r, mde, cpu in zip([*first, second], (12.0, 4.0, 11.0), ("cpu one", "cpu one", "cpu two")):
        r["result"]["control"] = {"min_detectable_effect_pct": mde}
        r["result"]["machine"] = {"cpu_model": cpu, "cpu_count": 2}
        store.write_outcome(JobOutcome(r["id"], "done", r, 1.0))
    jobs = [{"id": first[0]["id"], "remeasure_id": second["id"]}, {"id": first[1]["id"], "remeasure_id": "not-run"}]
    store.write_grid({"fingerprint": "x", "common": {}, "grid": {}, "jobs": jobs,
                      "remeasure": {"above_mde_pct": 10, "replicates": 16}})
    doc = build_report(tmp_path)
    hosts = {h["host"]: h for h in doc["hosts"]}
    assert (hosts["h1"]["first_runs"], hosts["h1"]["median_mde_first_pct"], hosts["h1"]["second_runs"]) == (2, 8.0, 0)
    assert (hosts["h2"]["second_runs"], hosts["h2"]["median_mde_second_pct"], hosts["h2"]["second_above_mde_target"]) \
        == (1, 11.0, 1)
    assert hosts["h1"]["second_above_mde_target"] == 0 and hosts["h2"]["median_mde_first_pct"] is None
    text = format_study(doc)
    assert "| h1 | fh1 | cpu one | 2 | 2 (8.0%) | 0 (n/a) | 0 |" in text
    assert "| h2 | fh2 | cpu two | 2 | 0 (n/a) | 1 (11.0%) | 1 |" in text
    store.write_grid({"fingerprint": "x", "common": {}, "grid": {}, "jobs": [{"id": r["id"]} for r in first]})
    assert [h["second_above_mde_target"] for h in build_report(tmp_path)["hosts"]] == [None]  # no rule, no target


def test_machine_note_names_the_machines_that_measured_stored_jobs(tmp_path: Path, monkeypatch) -> None:
    from paradox_gym.study import sweep as sweep_module

    store = JobStore(tmp_path)
    store.create()
    recs = [_record("A", "prune", 0.1, KEPT, SAME, host="h1"), _record("A", "prune", 0.2, KEPT, SAME, host="h2")]
    for r in recs:
        r["result"]["machine"] = {"cpu_model": f"cpu of {r['host']}", "cpu_count": 2}
        store.write_outcome(JobOutcome(r["id"], "done", r, 1.0))
    ids = {r["id"] for r in recs}
    monkeypatch.setattr(sweep_module, "machine_fingerprint", lambda: "fh1")
    note = sweep_module.machine_note(store, ids)
    assert note is not None and "did not measure 1 of the 2 jobs" in note and "cpu of h2, fingerprint fh2" in note
    assert sweep_module.machine_note(store, {recs[0]["id"]}) is None  # all measured here
    assert sweep_module.machine_note(store, set()) is None  # nothing stored
    # a record that names its CPU itself (every record since "cpu"; a crossover job's has no result)
    third = {**_record("A", "prune", 0.3, KEPT, SAME, host="h3"), "cpu": "cpu three"}
    del third["result"]
    store.write_outcome(JobOutcome(third["id"], "done", third, 1.0))
    assert "cpu three, fingerprint fh3: 1" in sweep_module.machine_note(store, {third["id"]})


def test_a_record_made_elsewhere_has_the_fields_of_one_made_here_less_the_pid() -> None:
    from paradox_gym.study.jobs import record_base

    grid = _grid()
    job = make_job(grid.jobs()[0].agent, "ptdq", None, grid.settings, {}, runtime="onnxruntime")
    here, elsewhere = record_base(job, "serial"), record_base(job, "ray", here=False)
    assert set(here) - set(elsewhere) == {"pid"} and set(elsewhere) <= set(here)
    assert here["runtime"] == elsewhere["runtime"] == "onnxruntime" and here["cpu"] and here["machine_fingerprint"]
    assert elsewhere["host"] is elsewhere["machine_fingerprint"] is elsewhere["cpu"] is None


def test_shared_measurement_hides_energy_and_latency() -> None:
    row = cell_row(_record("D", "prune", 0.5, KEPT, LOWER, measurement="shared"))
    assert row["energy_per_episode_ratio"] is None and row["latency_ratio"] is None
    assert row["energy_per_episode_direction"] == "not measured"
    assert row["return_kept"] is True


def test_report_of_synthetic_store_leaves_out_other_grids_and_names_hosts(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    store.create()
    recs = [_record("A", "prune", 0.1, KEPT, SAME, host="h1"), _record("A", "prune", 0.3, LOST, LOWER, host="h2"),
            _record("Z", "prune", 0.1, KEPT, SAME)]
    for r in recs:
        r["result"]["machine"] = {"cpu_model": "cpu", "cpu_count": 2}
        store.write_outcome(JobOutcome(r["id"], "done", r, 1.0))
    store.write_grid({"fingerprint": "x", "common": {"episodes": 2}, "grid": {}, "jobs": [
        {"id": recs[0]["id"]}, {"id": recs[1]["id"]}, {"id": "missing-one"}]})
    doc = build_report(tmp_path)
    assert doc["jobs"] == {"total": 3, "done": 2, "failed": 0, "missing": 1, "left_out": 1}
    assert {h["host"] for h in doc["hosts"]} == {"h1", "h2"}
    text = format_study(doc)
    assert "more than one machine" in text and "| A | prune | 0.1 |" in text
    with pytest.raises(UserInputError, match="return margin"):
        build_report(tmp_path, return_margin=1.5)
    with pytest.raises(UserInputError, match="not a sweep directory"):
        build_report(tmp_path / "nothing")


def test_normalisation_statistics_beside_an_agent_change_the_hash(tmp_path: Path) -> None:
    import shutil

    from paradox_gym.zoo import SHIPPED_DIR

    agent = tmp_path / "mine.zip"
    shutil.copy(SHIPPED_DIR / "ppo-cartpole-v1.zip", agent)
    doc = {"agents": [{"env": "CartPole-v1", "algo": "PPO", "path": "mine.zip"}], "methods": ["ptdq"]}
    plain = parse_grid(doc, base_dir=tmp_path)
    assert plain.agents[0].vecnormalize_sha256 is None
    (tmp_path / "mine.vecnormalize.pkl").write_bytes(b"statistics")
    with_stats = parse_grid(doc, base_dir=tmp_path)
    assert with_stats.agents[0].vecnormalize_sha256 is not None
    assert with_stats.jobs()[0].id != plain.jobs()[0].id
    (tmp_path / "mine.vecnormalize.pkl").write_bytes(b"other statistics")
    assert parse_grid(doc, base_dir=tmp_path).jobs()[0].id != with_stats.jobs()[0].id


def test_study_md_golden(tmp_path: Path) -> None:
    """study.md of a fixed synthetic study, character for character (PARADOX_GYM_UPDATE_GOLDEN=1 rewrites it)."""
    import os

    records = [_record("H", "prune-structured", 0.1, LOST, LOWER), _record("H", "prune-structured", 0.4, KEPT, SAME),
               _record("H", "ptdq", None, KEPT, SAME)]
    doc, _ = _study(tmp_path, records)
    doc["written_at"] = "2026-01-01T00:00:00+00:00"
    text = format_study(doc).replace(str(tmp_path), "<study>")
    golden = Path(__file__).parent / "golden" / "study.md"
    if os.environ.get("PARADOX_GYM_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
