"""``study.md``: the study document (``study.json``) as Markdown."""

from __future__ import annotations

import math
import statistics
from typing import Any, Mapping, Sequence

import paradox_gym.report.format as fmt
from paradox_gym.stats import CONFIDENCE
from paradox_gym.experiment.background import BUSY_OTHERS_CPUS
from paradox_gym.study.claims import memory_resolution_text
from paradox_gym.study.drift import drift_lines
from paradox_gym.study.remeasure import remeasure_text
from paradox_gym.study.rows import config_label
from paradox_gym.vocab import CLAIM_VERDICTS


def _pct(x: float | None) -> str:
    """A relative change (``x`` = ratio - 1) in the package's one percent format."""
    return fmt.NA if x is None or not math.isfinite(x) else fmt.pct(1.0 + x)


def _mde(x: float | None) -> str:
    """An A/A minimum detectable effect (%), as the study's tables show it."""
    return fmt.NA if x is None else f"{x:.1f}%"


def _runs(host: Mapping[str, Any], kind: str) -> str:
    """A machine's first or second runs: how many, and the median of their A/A MDEs."""
    count = host.get(f"{kind}_runs")
    return fmt.NA if count is None else f"{count} ({_mde(host.get(f'median_mde_{kind}_pct'))})"


def _ratio_change(r: Mapping[str, Any], key: str) -> str:
    return fmt.pct_interval(r.get(key), r.get(f"{key}_low"), r.get(f"{key}_high")) if r.get(key) is not None \
        else fmt.NA


def _return_change(r: Mapping[str, Any]) -> str:
    value = r.get("return_change_rel")
    if value is None:
        return fmt.NA
    low, high = r.get("return_change_rel_low"), r.get("return_change_rel_high")
    return _pct(value) + ("" if low is None or high is None else f" [{_pct(low)}, {_pct(high)}]")


def amount_text(a: Any) -> str:
    """A pruning amount as shown (empty for None)."""
    return "" if a is None else f"{a:g}"


def _bytes(n: Any) -> str:
    if n is None:
        return "n/a"
    return f"{n / 1024:.1f} KiB" if n < 1024 ** 2 else f"{n / 1024 ** 2:.1f} MiB"


def format_study(doc: Mapping[str, Any]) -> str:
    """``study.md`` from the ``study.json`` document."""
    jobs = doc["jobs"]
    margin = doc["return_margin"]
    out = ["# Study report", ""]
    grid = doc.get("grid") or {}
    if grid.get("command"):
        out += ["Command: `" + " ".join(grid["command"]) + "`", ""]
    out += [f"Jobs: {jobs['done']} of {jobs['total']} done, {jobs['failed']} failed, {jobs['missing']} not run"
            + (f"; {jobs['left_out']} job files of another grid left out" if jobs.get("left_out") else "")
            + f". Report written {doc['written_at']}.", ""]
    out += _answer_lines(doc)
    walls = [r["elapsed_s"] for r in doc["cells"] if isinstance(r.get("elapsed_s"), (int, float))]
    if walls:
        out += [f"Measuring these cells took {sum(walls) / 3600:.1f} hours (the sum of their jobs' wall times; "
                f"{min(walls):.0f} to {max(walls):.0f} s per job).", ""]
    if (rule := remeasure_text(doc.get("remeasure"))) is not None:
        out += [rule, ""]
    if doc.get("claims"):
        verdicts = [c["verdict"] for c in doc["claims"]]
        out += ["The 2024 study's claims against this one ([claims.md](claims.md)): "
                + ", ".join(f"{verdicts.count(v)} {v}" for v in CLAIM_VERDICTS) + ".", ""]
    if grid.get("common"):
        c = grid["common"]
        out += ["Settings shared by every cell: " + ", ".join(f"{k} {c[k]}" for k in sorted(c)) + ".", ""]
    out += ["## Machines", "",
            fmt.markdown_table(["host", "machine fingerprint", "CPU", "logical CPUs", "first runs (median A/A MDE)",
                                "second runs (median A/A MDE)", "second runs above the MDE target"],
                               [[h["host"], h["machine_fingerprint"], h["cpu_model"], h["cpu_count"],
                                 _runs(h, "first"), _runs(h, "second"),
                                 fmt.NA if h.get("second_above_mde_target") is None else h["second_above_mde_target"]]
                                for h in doc["hosts"]]), ""]
    out += _code_lines(doc["cells"])
    if len(doc["hosts"]) > 1:
        out += ["Jobs ran on more than one machine: every ratio below compares configurations measured in "
                "one run on one host; absolute energies and latencies from different hosts are not compared.", ""]
    out += ["## Energy", ""]
    for meter, info in (doc.get("energy") or {}).items():
        out.append(f"- `{meter}` ({info.get('role')}): {info.get('method')}; {info.get('reason') or ''}".rstrip("; "))
    out += ["", "Energy is the headline meter's, per episode of each configuration, gross as the meter "
            "reports it (see docs/methodology.md for what each meter attributes). Changes are compressed / "
            "baseline - 1 with the paired interval (95%, or the multiplicity-adjusted level the runs state in "
            "the notes); direction words are the single command's.", ""]
    out += ["## Per agent and method", "",
            f"Return change is the difference as a share of the baseline's |mean return| (interval in brackets; a "
            "method named `<runtime>:<method>` ran on that runtime and is compared with that runtime's float "
            "baseline, `<runtime>:none`); "
            f"kept = its whole interval lies above -{margin:.0%}. A/A MDE: the minimum detectable effect on "
            "energy per episode, from the run's A/A control (a second copy of the baseline). vs reference: the "
            "baseline's mean return / rl-zoo3's benchmark return for that algorithm and environment (n/a: none).",
            ""]
    return "\n".join(out + _cells_section(doc, margin) + _best_section(doc, margin) + _summary_section(doc)
                     + drift_lines(doc.get("drift") or [], int(doc.get("drift_left_out") or 0))
                     + _tail_section(doc)).rstrip() + "\n"


def _answer_lines(doc: Mapping[str, Any]) -> list[str]:
    """The study's answer in one paragraph: size, energy with and without the return kept, resident memory
    (counts of the cells' words, each at its cell's resolution)."""
    s, cells = doc["summary"], doc["cells"]
    e = s["energy_per_episode"]
    if not e["cells"]:
        return []
    kept = [r for r in cells if r.get("return_kept") and r.get("energy_per_episode_direction") not in (None, "not measured")]
    kept_higher = sum(1 for r in kept if r["energy_per_episode_direction"] == "higher")
    words = e["words"]
    text = (f"**Answer.** {s['size']['smaller']} of {s['size']['cells']} cells made the model smaller. Energy per "
            f"episode fell in {words.get('lower', 0)} of {e['cells']} cells, {e['fell_return_kept']} of them with "
            f"the return kept (a saving); of the {len(kept)} cells that kept the return, {e['fell_return_kept']} "
            f"used less energy and {kept_higher} more. Energy fell only where the return fell: "
            f"{e['energy_fell_only_where_return_fell']}.")
    m = s.get("rss") or {}
    if m.get("cells"):
        text += (f" Resident memory after the rollout fell in {m['lower']} of {m['cells']} cells and rose in "
                 f"{m['higher']} (beyond the spread between probes of one configuration).")
    unresolved = words.get("unresolved", 0)
    text += (f" {unresolved} cells could not resolve their energy change." if unresolved else "")
    return [text, ""]


def _cells_section(doc: Mapping[str, Any], margin: float) -> list[str]:
    """The table of every cell, then the weak-agent lines."""
    out: list[str] = []
    cells = doc["cells"]
    out.append(fmt.markdown_table(
        ["agent", "method", "amount", "return change", "kept", "vs reference", "energy/episode", "energy", "A/A MDE",
         "energy/step", "policy latency/step", "RSS after rollout", "size", "host"],
        [[r["agent"], config_label(r), amount_text(r["amount"]), _return_change(r), "yes" if r["return_kept"] else "no",
          "n/a" if r.get("reference_ratio") is None else f"{r['reference_ratio']:.2f}x",
          _ratio_change(r, "energy_per_episode_ratio"),
          r["energy_per_episode_direction"] + (" (noisy run)" if r.get("noisy") else ""),
          _mde(r.get("energy_mde_pct")),
          _ratio_change(r, "energy_per_step_ratio"),
          _ratio_change(r, "latency_ratio"),
          "n/a" if r.get("rss_ratio") is None else _pct(r["rss_ratio"] - 1),
          "n/a" if r.get("size_ratio") is None else _pct(r["size_ratio"] - 1), r["host"]] for r in cells]))
    out += _background_lines(cells)
    weak = {r["agent"]: r for r in cells if r.get("weak_agent")}
    for agent, r in weak.items():
        ratio = "" if r.get("reference_ratio") is None else f" ({r['reference_ratio']:.2f}x its reference return)"
        out += ["", f"Weak agent: {agent}{ratio}, {r.get('reference_source')}. Findings for this agent may not "
                    "carry over to trained agents."]
    return out


def _code_lines(cells: Sequence[Mapping[str, Any]]) -> list[str]:
    """Which code measured the cells: each git commit with its count (``+modified``: files differed from it)."""
    counts: dict[str, int] = {}
    for r in cells:
        commit = r.get("paradox_gym_commit")
        key = "not recorded" if not commit else commit[:12] + (" (modified)" if commit.endswith("+modified") else "")
        counts[key] = counts.get(key, 0) + 1
    if set(counts) <= {"not recorded"}:
        return []
    return ["Code that measured the cells (paradox_gym's git commit; not recorded: an installed package, or a "
            "cell measured before it was recorded): "
            + ", ".join(f"{k} ({n} cell{'s' if n != 1 else ''})" for k, n in counts.items()) + ".", ""]


def _background_lines(cells: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line on the other work beside the measurement (``others_cpus``), where cells recorded it."""
    known = [r for r in cells if isinstance(r.get("others_cpus"), (int, float))]
    if not known:
        return []
    median = statistics.median(r["others_cpus"] for r in known)
    worst = max(known, key=lambda r: r["others_cpus"])
    busy = [r for r in known if r["others_cpus"] >= BUSY_OTHERS_CPUS]
    mde = [r["energy_mde_pct"] for r in busy if isinstance(r.get("energy_mde_pct"), (int, float))]
    return ["", f"Background load (`others_cpus` in results.csv: the CPUs other processes kept busy while a "
                f"cell's replicates measured) in {len(known)} of {len(cells)} cells: median "
                f"{median:.2f}, most {worst['others_cpus']:.2f} ({worst['agent']} "
                f"{config_label(worst)} {amount_text(worst['amount'])}".rstrip() + f"); {len(busy)} cells at >= "
                f"{BUSY_OTHERS_CPUS:g}" + (f", their A/A MDE {min(mde):.1f}% to {max(mde):.1f}%" if mde else "") + "."]


def _best_section(doc: Mapping[str, Any], margin: float) -> list[str]:
    """The best pruning amount per agent and method (the family-wise rule)."""
    out = ["", "## Best pruning amount", "",
            f"An amount's return is kept (>= {1 - margin:.0%} of the baseline's, shown by the interval) when "
            "Holm's procedure over the amounts tested for that agent and method says so (family-wise). The "
            "best amount is the largest kept amount with every smaller amount tested kept too; a kept amount "
            "above one that is not is isolated, never best. The energy change is at the best amount.", ""]
    out.append(fmt.markdown_table(
        ["agent", "method", "best amount", "kept (family-wise) / tested", "isolated", "return change",
         "energy/episode", "energy"],
        [[b["agent"], config_label(b), "none" if b["best_amount"] is None else amount_text(b["best_amount"]),
          f"{len(b['kept_amounts'])} / {len(b['amounts'])}",
          ", ".join(amount_text(a) for a in b.get("isolated_amounts") or []),
          "" if b["best_amount"] is None else _return_change(b),
          "" if b["best_amount"] is None else _ratio_change(b, "energy_per_episode_ratio"),
          b["energy_per_episode_direction"] or ""] for b in doc["best_amounts"]]))
    return out


def _counter_examples(e: Mapping[str, Any]) -> str:
    """The cells against "energy fell only where return fell", with how often chance alone gives as many."""
    cells = e.get("counter_examples") or []
    if not cells:
        return ""
    chance = e.get("chance_of_as_many")
    odds = "" if chance is None else (
        f"; chance alone gives at least {len(cells)} such cell{'s' if len(cells) > 1 else ''} among {e['cells']} "
        f"in up to {fmt.level(chance)} of studies (each cell's words hold at a 5% family-wise level)")
    return f" ({', '.join(cells)}{odds})"


def _unresolved(e: Mapping[str, Any]) -> str:
    """How many cells could not have shown a counter-example (their energy word is ``unresolved``)."""
    n = e["words"].get("unresolved", 0)
    return f"; {n} of {e['cells']} cells could not resolve their energy change" if n else ""


def _summary_section(doc: Mapping[str, Any]) -> list[str]:
    """The summary counts behind the study's claims."""
    out: list[str] = []
    s = doc["summary"]
    q = s["best_return_by_quantization"]
    e = s["energy_per_episode"]
    out += ["", "## Summary counts", ""]
    if q["agents_compared"]:
        wins = ", ".join(f"{m} {n} ({n / q['agents_compared']:.0%})" for m, n in q["wins"].items())
        out.append(f"- Best return among quantization methods, over {q['agents_compared']} agents (each agent once "
                   f"per runtime; point estimates; ties credit each): {wins}.")
    words = ", ".join(f"{n} {w}" for w, n in sorted(e["words"].items(), key=lambda kv: -kv[1])) or "none"
    out.append(f"- Energy per episode over {e['cells']} cells: {words}.")
    out.append(f"- Of the {e['words'].get('lower', 0)} cells whose energy fell: {e['fell_return_kept']} kept the return (a saving), "
               f"{e['fell_return_not_kept']} did not. \"Energy fell only where return fell\": "
               f"{e['energy_fell_only_where_return_fell']}{_counter_examples(e)}{_unresolved(e)}.")
    if s.get("noisy_cells"):
        cells = "1 cell comes" if s["noisy_cells"] == 1 else f"{s['noisy_cells']} cells come"
        controlled = sum(1 for r in doc["cells"] if r.get("noisy") is not None)
        chance = f"; the A/A test is at {1 - CONFIDENCE:.0%}, so about {(1 - CONFIDENCE) * controlled:.0f} of " \
                 f"the {controlled} cells with a control would be by chance alone" if controlled else ""
        out.append(f"- {cells} from a noisy run (their A/A control differed from the baseline: "
                   f"marked \"noisy run\"; treat their verdicts with suspicion{chance}).")
    out.append(f"- Size: {s['size']['smaller']} of {s['size']['cells']} cells smaller. Peak RSS (one fresh-process "
               f"probe per configuration, no interval): {s['peak_rss']['lower']} of {s['peak_rss']['cells']} lower, "
               f"{s['peak_rss']['higher']} higher.")
    m = s.get("rss") or {}
    if m.get("cells"):
        edge = memory_resolution_text(m)
        out.append(f"- Resident memory after the rollout (the same probe): {m['lower']} of {m['cells']} cells lower, "
                   f"{m['higher']} higher ({edge}).")
    return out


def _tail_section(doc: Mapping[str, Any]) -> list[str]:
    """Plots, failed jobs, notes and the files left out."""
    out: list[str] = []
    if doc["files"].get("plots"):
        out += ["", "## Plots", ""]
        for name in doc["files"]["plots"]:
            out += [f"![{name}]({name})", ""]
    if doc["failures"]:
        out += ["", "## Failed jobs", ""]
        out.append(fmt.markdown_table(["job", "cell", "host", "error"],
                                      [[f["id"], f["cell"], f.get("host"), f["error"]] for f in doc["failures"]]))
    if doc["notes"]:
        out += ["", "## Notes", ""]
        out += [f"- {n}" for n in doc["notes"]]
    if doc.get("skipped"):
        out += ["", "## Files left out", ""]
        out += [f"- {n}" for n in doc["skipped"]]
    return out



__all__ = ["amount_text", "format_study"]
