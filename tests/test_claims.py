"""The 2024 study's claims judged on synthetic studies: the memory and L1/L2 counts behind them, each claim's
rule (agrees, disagrees, cannot tell), and claims.md written with the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paradox_gym.cli import command_main
from paradox_gym.stats import sign_test
from paradox_gym.study.claims import CLAIMS, STUDY_RUNTIMES, judge_claims, quantization_ranks
from paradox_gym.study.jobs import JobOutcome, JobStore
from paradox_gym.study.publish import CLAIMS_BEGIN, CLAIMS_END, check_page
from paradox_gym.study.report import best_amounts, cell_row, summary_counts, write_report
from paradox_gym.vocab import AGREES, CANNOT_TELL, CLAIM_VERDICTS, DISAGREES

MIB = 1024 ** 2


def _ci(ratio, low, high, base=1.0):
    return {"ratio": ratio, "ratio_low": low, "ratio_high": high, "diff": (ratio - 1) * base,
            "diff_low": (low - 1) * base, "diff_high": (high - 1) * base, "n": 8, "resamples": 0, "seed": 0,
            "baseline_mean": base}


def _record(agent, method, amount=None, ret=(0.99, 0.95, 1.03), energy=(1.2, 1.1, 1.3), *, rss=(100, 101, 100)):
    """A job record: ``ret`` and ``energy`` are (ratio, low, high); ``rss`` the resident MiB after the rollout
    of (baseline, compressed, A/A copy)."""
    base = 100.0
    none = {"ret": {"mean": base}, "length": {"mean": 100.0}, "energy_per_episode_j": {"mean": 1.0}}
    comp = {"ret": _ci(*ret, base=base), "length": _ci(1, 1, 1), "energy_per_episode": _ci(*energy),
            "energy_per_step": _ci(*energy, base=0.01), "policy_time_per_step": _ci(1, 0.9, 1.1, base=1e-4),
            "pairs": 24, "size_ratio": 0.5}
    memory = {cfg: {"status": "ok", "method": cfg, "peak_rss_bytes": 500 * MIB,
                    "rss_after_rollout_bytes": int(mib * MIB)} for cfg, mib in zip(("none", method, "none-copy"), rss)}
    return {"id": f"{agent}-{method}-{amount}".replace(" ", "_"), "method": method, "amount": amount, "host": "h",
            "machine_fingerprint": "f", "identity": {"measurement": "exclusive"},
            "agent": {"label": agent, "sha256": "s"},
            "result": {"config": {"env_id": "E-v0", "algo": agent, "episodes": 3, "trials": 3},
                       "comparisons": {method: comp}, "summaries": {"none": none, method: none},
                       "memory": memory, "control": {"config": "none-copy", "min_detectable_effect_pct": 7.5},
                       "verdicts": {method: "words"}, "energy_meter": "cpu-model", "energy_method": "modelled"}}


def _on_onnxruntime(record, rss_mib=110):
    """``record`` run on ONNX Runtime: ``onnxruntime:<method>`` against ``onnxruntime:none`` (``rss_mib`` MiB
    after the rollout, the compressed one 1 MiB more); the A/A copy stays the sb3 baseline's."""
    result, method = record["result"], record["method"]
    record["runtime"] = "onnxruntime"
    result["comparisons"] = {f"onnxruntime:{method}": result["comparisons"][method]}
    summary = result["summaries"]["none"]
    result["summaries"] = {"onnxruntime:none": summary, f"onnxruntime:{method}": summary}
    for cfg, mib in (("onnxruntime:none", rss_mib), (f"onnxruntime:{method}", rss_mib + 1)):
        result["memory"][cfg] = {"status": "ok", "method": cfg, "rss_after_rollout_bytes": int(mib * MIB)}
    del result["memory"][method]
    return record


def _doc(records):
    rows = [cell_row(r) for r in records]
    return {"cells": rows, "summary": summary_counts(rows), "best_amounts": best_amounts(rows),
            "jobs": {"done": len(rows), "total": len(rows)}}


def _verdicts(records) -> dict[str, tuple[str, str, str]]:
    return {c.claim: (c.verdict, c.ours, c.reason) for c in judge_claims(_doc(records))}


def test_the_claims_are_one_table_with_known_verdict_words() -> None:
    assert len(CLAIMS) == 7 and len({c.claim for c in CLAIMS}) == 7
    rows = judge_claims(_doc([_record("A", "ptdq")]))
    assert [r.claim for r in rows] == [c.claim for c in CLAIMS]
    assert all(r.verdict in CLAIM_VERDICTS for r in rows)


def test_sign_test_is_scipys_two_sided_binomial_test() -> None:
    assert sign_test(6, 0) == pytest.approx(2 * 0.5 ** 6)
    assert sign_test(2, 1) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        sign_test(0, 0)


def test_memory_rows_and_counts_use_the_a_a_copy_as_the_resolution() -> None:
    row = cell_row(_record("A", "ptdq", rss=(100, 101, 100.5)))
    assert row["rss_ratio"] == pytest.approx(1.01) and row["rss_control_ratio"] == pytest.approx(1.005)
    counts = summary_counts([row, cell_row(_record("B", "prune-structured", 0.3, rss=(100, 99.7, 100)))])["rss"]
    assert counts["resolution"] == pytest.approx(0.005)
    assert (counts["cells"], counts["lower"], counts["higher"]) == (2, 0, 1)  # -0.3% is within the A/A gap
    assert counts["by_method"]["ptdq"] == {"cells": 1, "lower": 0, "higher": 1}


def test_memory_resolution_compares_probes_of_one_machine_only() -> None:
    # agent A's baseline: 100 and 100.4 MiB on one machine, 130 MiB on another (other libraries, another CPU)
    recs = [_record("A", "ptdq", rss=(100, 100.2, 100)), _record("A", "ptsq", rss=(100.4, 101, 100.4)),
            _record("A", "prune-structured", 0.3, rss=(130, 130, 130))]
    for r in recs:
        del r["result"]["memory"]["none-copy"]
        r["machine_fingerprint"] = "other" if r["method"] == "prune-structured" else "one"
    counts = summary_counts([cell_row(r) for r in recs])["rss"]
    assert counts["resolution"] == pytest.approx(0.004) and counts["repeats"] == 2


def test_memory_claim() -> None:
    more = [_record(a, m) for a in ("A", "B") for m in ("ptdq", "ptsq")]
    assert _verdicts(more)["memory does not fall; PTDQ and PTSQ use more memory"][0] == AGREES
    pruned = more + [_record("A", "prune-structured", 0.5, rss=(100, 97, 100))]
    verdict, ours, reason = _verdicts(pruned)["memory does not fall; PTDQ and PTSQ use more memory"]
    assert verdict == DISAGREES and "by more than 1% in 1 cell" in reason and "resident memory" in reason
    claim = "memory does not fall; PTDQ and PTSQ use more memory"
    # agent A's baseline probed twice, 100 and 100.4 MiB: changes count beyond 0.4%
    spread = [_record("A", "ptdq", rss=(100, 100.2, 100)), _record("A", "ptsq", rss=(100.4, 101, 100.4))]
    verdict, ours, reason = _verdicts(spread)[claim]
    assert verdict == CANNOT_TELL and "beyond 0.40%" in ours and "2 baseline probes" in ours and "PTDQ" in reason
    less = [_record("A", "ptdq", rss=(100, 99, 100)), _record("A", "ptsq")]
    assert _verdicts(less)[claim][0] == DISAGREES
    single = [_record("A", "ptdq"), _record("B", "ptsq")]  # each baseline probed once, the copy shares its probe
    for r in single:
        del r["result"]["memory"]["none-copy"]
    verdict, ours, reason = _verdicts(single)[claim]
    assert verdict == CANNOT_TELL and "no configuration probed twice" in ours
    no_probe = [_record("A", "ptdq")]
    no_probe[0]["result"]["memory"] = {}
    assert _verdicts(no_probe)["memory does not fall; PTDQ and PTSQ use more memory"][0] == CANNOT_TELL


def test_structured_norms_are_compared_per_agent_with_a_sign_test() -> None:
    def agents(names, l2=(0.98, 0.95, 1.0), l1=(0.90, 0.85, 0.95)):
        return [r for a in names for amount in (0.1, 0.3)
                for r in (_record(a, "prune-structured", amount, l2), _record(a, "prune-structured-l1", amount, l1))]

    three = _doc(agents("ABC"))["summary"]["structured_norms"]
    assert (three["pairs"], three["l2_better"], three["agents"], three["agents_l2_better"]) == (6, 6, 3, 3)
    assert three["agents_p"] == pytest.approx(0.25)
    claim = "L2 structured pruning keeps return better than L1"
    assert _verdicts(agents("ABC"))[claim][0] == CANNOT_TELL  # 3 of 3 agents: chance gives it 25% of the time
    assert _verdicts(agents("ABCDEF"))[claim][0] == AGREES
    verdict, _ours, reason = _verdicts(agents("ABCDEF", l2=(0.9, 0.85, 0.95), l1=(0.98, 0.95, 1.0)))[claim]
    assert verdict == DISAGREES and "where the settings differ" in reason


def test_quantization_ranks_count_resolved_wins_only_when_the_intervals_are_apart() -> None:
    records = [_record("A", "ptdq", ret=(1.0, 0.99, 1.01)), _record("A", "qat", ret=(0.9, 0.88, 0.92)),
               _record("A", "ptsq", ret=(0.8, 0.7, 0.85)),
               _record("B", "ptdq", ret=(1.0, 0.95, 1.05)), _record("B", "ptsq", ret=(0.99, 0.94, 1.04))]
    q = quantization_ranks(_doc(records)["cells"])
    assert q["agents"] == 2 and q["wins"] == {"ptdq": 2, "qat": 0, "ptsq": 0}
    assert q["resolved_wins"] == {"ptdq": 1, "qat": 0, "ptsq": 0}
    claim = "PTDQ gives the best return, then QAT, PTSQ worst"
    assert _verdicts(records)[claim][0] == CANNOT_TELL  # one resolved win: sign test p = 1

    def resolved(names, best):
        return [_record(a, m, ret=(1.0, 0.99, 1.01) if m == best else (0.8, 0.7, 0.85))
                for a in names for m in ("ptdq", "qat", "ptsq")]

    verdict, ours, _reason = _verdicts(resolved("ABCDEF", "ptdq"))[claim]
    assert verdict == AGREES and "sign test PTDQ vs PTSQ p = 0.031" in ours
    assert _verdicts(resolved("ABCDE", "ptdq"))[claim][0] == CANNOT_TELL  # 5 of 5: p = 0.0625
    assert _verdicts(resolved("ABCDEF", "ptsq"))[claim][0] == DISAGREES


def test_energy_claims_follow_the_cells_words() -> None:
    higher = [_record(a, "ptdq") for a in "ABCD"]
    v = _verdicts(higher)
    assert v["energy does not fall with the return kept"][0] == AGREES
    assert v["energy falls only when return collapses"][0] == CANNOT_TELL  # energy fell nowhere
    collapsed = higher + [_record("E", "prune-structured", 0.7, ret=(0.3, 0.2, 0.4), energy=(0.5, 0.4, 0.6))]
    assert _verdicts(collapsed)["energy falls only when return collapses"][0] == AGREES
    savings = [_record(a, "ptdq", energy=(0.8, 0.7, 0.9)) for a in "ABCDEF"]
    v = _verdicts(savings)
    assert v["energy does not fall with the return kept"][0] == DISAGREES and "battery" in v["energy does not fall with the return kept"][2]
    assert v["energy falls only when return collapses"][0] == DISAGREES
    # energy fell in every cell, but none kept the return: nothing says whether compression saves energy
    lost = [_record(a, "prune-structured", 0.5, ret=(0.3, 0.2, 0.4), energy=(0.5, 0.4, 0.6)) for a in "ABC"]
    verdict, ours, reason = _verdicts(lost)["energy does not fall with the return kept"]
    assert verdict == CANNOT_TELL and "3 lower" in ours and reason.startswith("no cell kept the return")
    unresolved = [_record(a, "ptdq", energy=(1.0, 0.7, 1.3)) for a in "ABC"]
    for r in unresolved:
        r["result"]["comparisons"]["ptdq"]["verdict"] = {"energy": "unresolved"}
    assert _verdicts(unresolved)["energy does not fall with the return kept"][0] == CANNOT_TELL


def _three_cell_study(directory: Path) -> None:
    store = JobStore(directory)
    store.create()
    for r in [_record("A", "ptdq"), _record("A", "ptsq"), _record("A", "prune-structured", 0.3)]:
        r["result"]["machine"] = {"cpu_model": "cpu", "cpu_count": 2}
        store.write_outcome(JobOutcome(r["id"], "done", r, 1.0))


def test_report_writes_claims_md_and_names_it_in_study_md(tmp_path: Path) -> None:
    _three_cell_study(tmp_path)
    paths = write_report(tmp_path)
    text = Path(paths["claims_md"]).read_text()
    assert text.splitlines()[2].startswith("The study's 7 claims against this study's 3 cells (3 of 3 done): ")
    assert "A/A minimum detectable effect on energy per episode is 7.5% to 7.5%" in text
    assert text.count("\n| ") == 8  # header and seven claims
    doc = json.loads((tmp_path / "study.json").read_text())
    assert [c["claim"] for c in doc["claims"]] == [c.claim for c in CLAIMS]
    assert "([claims.md](claims.md)): " in (tmp_path / "study.md").read_text()


def test_report_copies_itself_and_its_claim_table_into_the_docs(tmp_path: Path, capsys) -> None:
    study, docs, page = tmp_path / "study", tmp_path / "docs" / "paper", tmp_path / "paper.md"
    _three_cell_study(study)
    page.write_text(f"# Page\n\nBefore.\n\n{CLAIMS_BEGIN}\n| an old | table |\n{CLAIMS_END}\n\nAfter.\n")
    argv = [str(study), "--copy-to", str(docs), "--claims-into", str(page)]
    assert command_main("report", argv) == 0
    assert f"copied 8 files to {docs}" in capsys.readouterr().out
    assert sorted(p.name for p in docs.iterdir()) == sorted(
        ["claims.md", "plots", "results.csv", "results.parquet", "study.json", "study.md", "study_code.csv"])
    assert not (docs / "jobs").exists() and (docs / "plots" / "resolution.png").is_file()
    text = page.read_text()
    claims = (study / "claims.md").read_text()
    assert text.startswith("# Page\n\nBefore.\n\n" + CLAIMS_BEGIN) and text.endswith(CLAIMS_END + "\n\nAfter.\n")
    assert "an old" not in text and "# The paper's claims" not in text
    assert claims.splitlines()[2] in text and text.count("\n| ") == 8
    assert command_main("report", argv) == 0 and page.read_text() == text  # the same study gives the same page


@pytest.mark.parametrize("page_text, words", [
    ("no markers\n", "found 0 and 0"),
    (f"{CLAIMS_END}\n{CLAIMS_BEGIN}\n", "found 1 and 1"),
    (f"{CLAIMS_BEGIN}\n{CLAIMS_BEGIN}\n{CLAIMS_END}\n", "found 2 and 1"),
])
def test_a_page_without_its_markers_is_refused_before_anything_is_written(tmp_path: Path, capsys, page_text: str,
                                                                          words: str) -> None:
    _three_cell_study(tmp_path / "study")
    page = tmp_path / "paper.md"
    page.write_text(page_text)
    assert command_main("report", [str(tmp_path / "study"), "--claims-into", str(page)]) != 0
    err = capsys.readouterr().err.strip()
    assert words in err and "needs the line" in err and "\n" not in err and "Traceback" not in err
    assert page.read_text() == page_text and not (tmp_path / "study" / "study.md").exists()


def test_docs_paper_md_holds_the_claim_table_markers() -> None:
    check_page(Path(__file__).resolve().parents[1] / "docs" / "paper.md")


@pytest.mark.parametrize("dest", [".", "jobs", "plots/x"])
def test_the_report_is_not_copied_into_its_own_study_folder(tmp_path: Path, capsys, dest: str) -> None:
    _three_cell_study(tmp_path)
    assert command_main("report", [str(tmp_path), "--copy-to", str(tmp_path / dest)]) != 0
    err = capsys.readouterr().err.strip()
    assert "study folder" in err and "name a folder outside it" in err and "\n" not in err
    assert not (tmp_path / "study.md").exists()


def test_the_claim_table_keeps_the_pages_line_endings_mode_and_quoted_markers(tmp_path: Path) -> None:
    _three_cell_study(tmp_path / "study")
    page = tmp_path / "paper.md"
    quoted = f"The markers are `{CLAIMS_BEGIN}` and `{CLAIMS_END}`."  # inline, not marker lines
    page.write_bytes(f"# Page\r\n{quoted}\r\n{CLAIMS_BEGIN}\r\nSTALE-TABLE\r\n{CLAIMS_END}\r\nAfter.\r\n".encode())
    page.chmod(0o640)
    assert command_main("report", [str(tmp_path / "study"), "--claims-into", str(page)]) == 0
    text = page.read_bytes().decode()
    assert text.startswith(f"# Page\r\n{quoted}\r\n{CLAIMS_BEGIN}\r\n\r\nThe study's 7 claims")
    assert text.endswith(f"\r\n\r\n{CLAIMS_END}\r\nAfter.\r\n") and "STALE-TABLE" not in text
    assert "\n" not in text.replace("\r\n", "") and (page.stat().st_mode & 0o777) == 0o640


def test_a_copy_given_the_baseline_probe_is_no_a_a_resolution() -> None:
    record = _record("A", "ptdq", rss=(100, 101, 100))
    record["result"]["memory"]["none-copy"] = dict(record["result"]["memory"]["none"])  # one probe serves both
    row = cell_row(record)
    assert row["rss_control_bytes"] is None and row["rss_control_ratio"] is None
    assert summary_counts([row])["rss"]["resolution"] is None
    ours = _verdicts([record])["memory does not fall; PTDQ and PTSQ use more memory"][1]
    assert "no configuration probed twice" in ours


def test_an_onnxruntime_cells_a_a_gap_is_against_the_baseline_it_copies() -> None:
    row = cell_row(_on_onnxruntime(_record("A", "ptdq", rss=(100, 101, 100.5)), rss_mib=150))
    assert row["method"] == "ptdq" and row["runtime"] == "onnxruntime"
    assert row["rss_ratio"] == pytest.approx(151 / 150)
    assert row["rss_control_ratio"] == pytest.approx(1.005)  # none-copy against none, not onnxruntime:none
    counts = summary_counts([row])["rss"]
    assert counts["resolution"] == pytest.approx(0.005) and counts["by_method"] == {
        "onnxruntime:ptdq": {"cells": 1, "lower": 0, "higher": 1}}
    verdict, ours, reason = _verdicts([_on_onnxruntime(_record("A", "ptdq"))])[
        "memory does not fall; PTDQ and PTSQ use more memory"]
    # judged where the study ran PTDQ (ONNX Runtime): 1 MiB more than ONNX Runtime's float baseline
    assert verdict == AGREES and "as the study ran them (in ONNX Runtime): PTDQ higher in 1 of 1" in ours
    assert "on SB3 + PyTorch" not in ours  # no sb3 PTDQ cell to show beside it


def test_memory_fall_names_the_threshold_it_counts_beyond() -> None:
    records = [_record("A", "ptdq", rss=(100, 101, 103)), _record("B", "prune-structured", 0.5, rss=(100, 98, 100)),
               _record("C", "prune-structured", 0.5, rss=(100, 96, 100))]
    verdict, ours, reason = _verdicts(records)["memory does not fall; PTDQ and PTSQ use more memory"]
    assert "lower in 1 (1 by more than 3%)" in ours and "beyond 3.00%, the largest spread" in ours
    assert verdict == DISAGREES and reason.startswith("memory fell by more than 3% in 1 cell;")


def test_the_quantization_claim_is_judged_where_the_study_ran_each_method() -> None:
    # PTDQ and PTSQ in ONNX Runtime, QAT on sb3 (as the study ran them): there PTDQ is resolved best in six
    # agents; on sb3 alone PTSQ is. The verdict follows the study's configuration, and both are shown.
    good, bad = (1.0, 0.99, 1.01), (0.8, 0.7, 0.85)
    records = []
    for a in "ABCDEF":
        records += [_on_onnxruntime(_record(a, "ptdq", ret=good)), _on_onnxruntime(_record(a, "ptsq", ret=bad)),
                    _record(a, "qat", ret=bad), _record(a, "ptdq", ret=bad), _record(a, "ptsq", ret=good)]
    cells = _doc(records)["cells"]
    as_study = quantization_ranks(cells, STUDY_RUNTIMES)
    assert as_study["agents"] == 6 and as_study["resolved_wins"] == {"ptdq": 6, "qat": 0, "ptsq": 0}
    assert quantization_ranks(cells)["resolved_wins"] == {"ptdq": 0, "qat": 0, "ptsq": 6}
    verdict, ours, _reason = _verdicts(records)["PTDQ gives the best return, then QAT, PTSQ worst"]
    assert verdict == AGREES and ours.startswith("as the study ran them (PTDQ and PTSQ in ONNX Runtime")
    assert "; all on SB3 + PyTorch, best return over 6 agents" in ours and "PTSQ 6 (100%)" in ours


def test_quantization_ties_credit_every_tied_method_and_resolve_none() -> None:
    records = [_record("A", "ptdq", ret=(1.0, 0.99, 1.01)), _record("A", "ptsq", ret=(1.0, 0.99, 1.01)),
               _record("B", "ptsq", ret=(1.0, 0.99, 1.01)), _record("B", "ptdq", ret=(1.0, 0.99, 1.01))]
    q = quantization_ranks(_doc(records)["cells"])
    assert q["wins"] == {"ptdq": 2, "qat": 0, "ptsq": 2} and q["resolved_wins"] == {"ptdq": 0, "qat": 0, "ptsq": 0}
    assert _doc(records)["summary"]["best_return_by_quantization"]["wins"] == {"ptdq": 2, "ptsq": 2}  # the same count


def test_an_agent_on_two_runtimes_is_one_unit_of_the_sign_test() -> None:
    records = []
    for amount in (0.1, 0.3):
        for method, ret in (("prune-structured", (0.98, 0.95, 1.0)), ("prune-structured-l1", (0.9, 0.85, 0.95))):
            records += [_record("A", method, amount, ret), _on_onnxruntime(_record("A", method, amount, ret))]
    s = _doc(records)["summary"]["structured_norms"]
    assert (s["pairs"], s["l2_better"], s["agents"], s["agents_l2_better"]) == (4, 4, 1, 1)
    assert s["agents_p"] == pytest.approx(1.0)


def test_energy_without_an_interval_is_not_evidence_that_it_did_not_fall() -> None:
    records = [_record(a, "ptdq") for a in "ABC"]
    for r in records:
        r["result"]["comparisons"]["ptdq"]["energy_per_episode"] = None
    v = _verdicts(records)
    assert _doc(records)["summary"]["energy_per_episode"]["words"] == {"undetermined": 3}
    assert v["energy does not fall with the return kept"][0] == CANNOT_TELL
    assert v["energy does not fall with the return kept"][2].startswith("3 of the 3 cells that kept the return could not resolve")


def test_collapse_counts_cells_without_the_return_shown_kept() -> None:
    records = [_record("E", "prune-structured", 0.7, ret=(0.95, 0.8, 1.1), energy=(0.5, 0.4, 0.6))]
    verdict, ours, _reason = _verdicts(records)["energy falls only when return collapses"]
    assert ours == "energy per episode fell in 1 cell: 1 without the return shown kept (mechanism 1 `none`), 0 kept it"
    assert verdict == AGREES
