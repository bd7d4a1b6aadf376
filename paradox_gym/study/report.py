"""The study report: job files -> ``results.parquet``, ``results.csv``, ``study.md``, ``study.json``,
``study_code.csv`` and plots (``plots/<agent>.png``).

One row per job (cell): the compressed configuration against its own baseline, measured in the same run.
Every ratio, interval and direction word is the single command's (:mod:`paradox_gym.analysis`); the
report only gathers them. Rules:

- **Return kept**: the whole interval of the return difference (95%, or the run's multiplicity-adjusted
  level) lies above ``-margin x |baseline mean|``
  (``margin`` 0.10 by default: at least 90% of the baseline's return, with confidence; valid for
  negative returns). Where a result carries the single command's structured verdict for the same
  margin, its words (``kept``; energy ``lower`` / ``higher`` / ``equivalent`` / ...) are used as they are.
- **Best amount** (per agent and pruning method): the largest amount whose return is kept, with the
  energy change at that amount; none when no amount kept it.
- **Never across machines**: each cell compares configurations measured in one run on one host, so every
  ratio is within a host; absolute energies and latencies are shown with their host, and jobs run by the
  ``process`` executor (``shared`` measurement) show no energy or latency at all.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import io
import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from paradox_gym._util.files import write_bytes_atomic
from paradox_gym.analysis import RETURN_MARGIN, energy_direction, return_direction, return_kept
from paradox_gym.compression.registry import METHOD_TABLE
from paradox_gym.errors import UserInputError
from paradox_gym.report.files import write_csv_atomic, write_json_atomic
from paradox_gym.stats import PairedCI, direction
from paradox_gym.study.jobs import JobStore

REPORT_SCHEMA = "paradox_gym.study.report/1"
FILES: dict[str, str] = {
    "results_parquet": "results.parquet", "results_csv": "results.csv", "study_md": "study.md",
    "study_json": "study.json", "study_code_csv": "study_code.csv",
}
#: Columns of ``study_code.csv``: the study code's row shape (amount, return mean/std, time mean/std,
#: episode length mean/std, RAM mean/std, energy), led by what names the row.
STUDY_CODE_COLUMNS: tuple[str, ...] = (
    "algo", "env_id", "method", "amount", "return_mean", "return_std", "time_mean_s", "time_std_s",
    "length_mean", "length_std", "ram_mean_bytes", "ram_std_bytes", "energy_per_episode_j",
)


def check_margin(margin: Any) -> float:
    """A return margin: a fraction in [0, 1) of the baseline's |mean return|."""
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not (0.0 <= margin < 1.0):
        raise UserInputError("return margin must be a fraction in [0, 1) (0.10: keep >= 90% of the return), got "
                             f"{_shown(margin)}")
    return float(margin)


def _paired(d: Mapping[str, Any] | None) -> PairedCI | None:
    if not isinstance(d, Mapping):
        return None
    names = {f.name for f in dataclasses.fields(PairedCI)}
    kwargs = {k: d.get(k) for k in names}
    for key in ("ratio", "ratio_low", "ratio_high", "diff", "diff_low", "diff_high", "baseline_mean", "p_value",
                "confidence", "n", "resamples", "seed"):
        value = kwargs.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"interval field {key} is {type(value).__name__}, not a number")
    kwargs["n"] = int(kwargs.get("n") or 0)
    kwargs["resamples"] = int(kwargs.get("resamples") or 0)
    kwargs["seed"] = int(kwargs.get("seed") or 0)
    if kwargs.get("confidence") is None:
        kwargs.pop("confidence")
    return PairedCI(**kwargs)


def _mean(summary: Mapping[str, Any] | None, key: str) -> float | None:
    value = (summary or {}).get(key)
    return value.get("mean") if isinstance(value, Mapping) else value


def _memory_peak(result: Mapping[str, Any], config: str) -> int | None:
    probe = (result.get("memory") or {}).get(config) or {}
    return probe.get("peak_rss_bytes") if probe.get("status") == "ok" else None


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


# ---------------------------------------------------------------------------------------------------
# job record -> row
# ---------------------------------------------------------------------------------------------------
def cell_row(record: Mapping[str, Any], margin: float = RETURN_MARGIN) -> dict[str, Any]:
    """One flat row per job (units in names; ratios are compressed / baseline; ``*_low`` / ``*_high``
    bound the interval the result reports). Energy and latency are None for a job measured on a shared machine."""
    result = record["result"]
    method = record["method"]
    comp = result["comparisons"][method]
    base_s = result["summaries"]["none"]
    comp_s = result["summaries"][method]
    ident = record.get("identity") or {}
    agent = record.get("agent") or {}
    shared = ident.get("measurement") == "shared"
    ret = _paired(comp["ret"])
    e_ep = _paired(comp["energy_per_episode"])
    e_step = _paired(comp["energy_per_step"])
    lat = _paired(comp["policy_time_per_step"])
    base_mean = ret.baseline_mean if ret else None
    # the single command's structured verdict, where the result has one (its Holm-adjusted words)
    verdict = comp.get("verdict") if isinstance(comp.get("verdict"), Mapping) else {}
    if verdict.get("return") is not None and verdict.get("return_margin") is not None \
            and math.isclose(float(verdict["return_margin"]), margin):
        kept = verdict["return"] in ("kept", "higher")  # a return shown higher is kept too
    else:
        kept = bool(ret is not None and return_direction(ret) != "undetermined" and return_kept(ret, margin))
    control = result.get("control") if isinstance(result.get("control"), Mapping) else {}
    row: dict[str, Any] = {
        "job_id": record["id"], "agent": agent.get("label"), "env_id": result["config"]["env_id"],
        "algo": result["config"]["algo"], "agent_sha256": agent.get("sha256"), "method": method,
        "amount": record.get("amount"), "host": record.get("host"),
        "machine_fingerprint": record.get("machine_fingerprint"), "executor": record.get("executor"),
        "measurement": ident.get("measurement"), "episodes_per_trial": result["config"].get("episodes"),
        "trials": result["config"].get("trials"), "replicates": result["config"].get("replicates"),
        "pairs": comp.get("pairs"),
        "energy_meter": result.get("energy_meter"), "energy_method": result.get("energy_method"),
        "return_baseline": base_mean, "return_mean": _mean(comp_s, "ret"),
        "return_diff": ret.diff if ret else None, "return_diff_low": ret.diff_low if ret else None,
        "return_diff_high": ret.diff_high if ret else None,
        "return_change_rel": _div(ret.diff, abs(base_mean)) if ret and base_mean else None,
        "return_change_rel_low": _div(ret.diff_low, abs(base_mean)) if ret and base_mean else None,
        "return_change_rel_high": _div(ret.diff_high, abs(base_mean)) if ret and base_mean else None,
        "return_ratio": ret.ratio if ret else None, "return_ratio_low": ret.ratio_low if ret else None,
        "return_ratio_high": ret.ratio_high if ret else None,
        "return_direction": return_direction(ret) if ret else "undetermined", "return_kept": kept,
        "return_verdict": verdict.get("return"),
        "length_baseline": _mean(base_s, "length"), "length_mean": _mean(comp_s, "length"),
        "energy_per_episode_baseline_j": _mean(base_s, "energy_per_episode_j"),
        "energy_per_episode_j": _mean(comp_s, "energy_per_episode_j"),
        "energy_per_episode_ratio": e_ep.ratio if e_ep else None,
        "energy_per_episode_ratio_low": e_ep.ratio_low if e_ep else None,
        "energy_per_episode_ratio_high": e_ep.ratio_high if e_ep else None,
        "energy_per_episode_direction": verdict.get("energy") or (energy_direction(e_ep) if e_ep else "undetermined"),
        "energy_saving": verdict.get("saving"), "mechanism": verdict.get("mechanism"),
        "energy_mde_pct": control.get("min_detectable_effect_pct"), "noisy": verdict.get("noisy"),
        "energy_per_step_ratio": e_step.ratio if e_step else None,
        "energy_per_step_ratio_low": e_step.ratio_low if e_step else None,
        "energy_per_step_ratio_high": e_step.ratio_high if e_step else None,
        "energy_per_step_direction": energy_direction(e_step) if e_step else "undetermined",
        "policy_us_per_step_baseline": _mean(base_s, "policy_us_per_step"),
        "policy_us_per_step": _mean(comp_s, "policy_us_per_step"),
        "latency_ratio": lat.ratio if lat else None, "latency_ratio_low": lat.ratio_low if lat else None,
        "latency_ratio_high": lat.ratio_high if lat else None,
        "latency_direction": direction(lat.ratio_low, lat.ratio_high, 1.0) if lat else "undetermined",
        "peak_rss_baseline_bytes": _memory_peak(result, "none"), "peak_rss_bytes": _memory_peak(result, method),
        "size_baseline_bytes": (result.get("baseline_footprint") or {}).get("serialized_bytes"),
        "size_bytes": ((result.get("footprints") or {}).get(method) or {}).get("serialized_bytes"),
        "size_ratio": comp.get("size_ratio"),
        "verdict": (result.get("verdicts") or {}).get(method),
        "elapsed_s": record.get("elapsed_s"),
    }
    row["peak_rss_ratio"] = _div(row["peak_rss_bytes"], row["peak_rss_baseline_bytes"])
    if shared:  # jobs shared the machine: their energy and latency are not measurements of the policy
        for key in list(row):
            if key.startswith(("energy_", "policy_us", "latency_")) or key in ("mechanism", "noisy"):
                row[key] = "not measured" if key.endswith("direction") else None
        row["verdict"] = None
    return row


def best_amounts(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per agent and pruning method (a method with an amount): the largest amount whose return is kept
    (``return_kept``), with the energy change at that amount. One entry per (agent, method), in first-seen
    order; ``best_amount`` is None when no amount kept the return."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        if r.get("amount") is None or not METHOD_TABLE.get(r["method"]) or not METHOD_TABLE[r["method"]].uses_amount:
            continue
        groups.setdefault((r["agent"], r["method"]), []).append(r)
    out: list[dict[str, Any]] = []
    for (agent, method), members in groups.items():
        members = sorted(members, key=lambda r: r["amount"])
        kept = [r for r in members if r["return_kept"]]
        best = kept[-1] if kept else None
        entry: dict[str, Any] = {
            "agent": agent, "method": method, "amounts": [r["amount"] for r in members],
            "kept_amounts": [r["amount"] for r in kept], "best_amount": best["amount"] if best else None,
        }
        for key in ("return_change_rel", "return_change_rel_low", "return_change_rel_high",
                    "energy_per_episode_ratio", "energy_per_episode_ratio_low", "energy_per_episode_ratio_high",
                    "energy_per_episode_direction", "energy_per_step_ratio", "energy_per_step_direction",
                    "host", "job_id"):
            entry[key] = best.get(key) if best else None
        out.append(entry)
    return out


def summary_counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The study's summary counts.

    - ``best_return_by_quantization``: per quantization method (without an amount), in how many agents
      it has the best return change among the quantization methods measured for that agent (point
      estimates, as the study counts; a tie credits every tied method); over agents with >= 2 of them.
    - ``energy_per_episode``: over cells with measured energy, how many got each energy verdict word
      (``lower``, ``higher``, and the single command's words for neither); of those that fell, how many kept the return (a saving) and how many did
      not (energy fell only with return), and whether "energy fell only where return fell" holds.
    - ``size`` and ``peak_rss``: cells smaller / larger (size: exact; memory: one probe, no interval).
    """
    quant = [r for r in rows if METHOD_TABLE.get(r["method"]) and METHOD_TABLE[r["method"]].quantized
             and not METHOD_TABLE[r["method"]].uses_amount]
    by_agent: dict[str, dict[str, float]] = {}
    for r in quant:
        if r.get("return_change_rel") is not None:
            by_agent.setdefault(r["agent"], {})[r["method"]] = r["return_change_rel"]
    wins: dict[str, int] = {m: 0 for m in sorted({r["method"] for r in quant})}
    compared = 0
    for scores in by_agent.values():
        if len(scores) < 2:
            continue
        compared += 1
        top = max(scores.values())
        for m, v in scores.items():
            if math.isclose(v, top, rel_tol=0.0, abs_tol=1e-12):
                wins[m] += 1
    energy = [r for r in rows if r.get("energy_per_episode_direction") not in (None, "not measured")]
    counts: dict[str, int] = {}
    for r in energy:
        counts[r["energy_per_episode_direction"]] = counts.get(r["energy_per_episode_direction"], 0) + 1
    fell = [r for r in energy if r["energy_per_episode_direction"] == "lower"]
    fell_kept = sum(1 for r in fell if r["return_kept"])
    sizes = [r for r in rows if r.get("size_ratio") is not None]
    mems = [r for r in rows if r.get("peak_rss_ratio") is not None]
    if not fell:
        only_with_return = "holds vacuously (energy fell in no cell)"
    else:
        only_with_return = "holds" if fell_kept == 0 else "does not hold"
    return {
        "cells": len(rows),
        "best_return_by_quantization": {"agents_compared": compared, "wins": wins},
        "energy_per_episode": {"cells": len(energy), "words": counts, "fell_return_kept": fell_kept,
                               "fell_return_not_kept": len(fell) - fell_kept,
                               "energy_fell_only_where_return_fell": only_with_return},
        "noisy_cells": sum(1 for r in rows if r.get("noisy") is True),
        "size": {"cells": len(sizes), "smaller": sum(1 for r in sizes if r["size_ratio"] < 1),
                 "larger": sum(1 for r in sizes if r["size_ratio"] > 1)},
        "peak_rss": {"cells": len(mems), "lower": sum(1 for r in mems if r["peak_rss_ratio"] < 1),
                     "higher": sum(1 for r in mems if r["peak_rss_ratio"] > 1)},
    }


def _study_code_row(record: Mapping[str, Any], config: str, amount: float | None) -> dict[str, Any]:
    """One row of ``study_code.csv``: ``config``'s episodes and summaries in ``record``."""
    result = record["result"]
    eps = [e for e in record.get("episodes") or [] if e.get("config") == config]
    rets = np.array([e["return"] for e in eps], dtype=float)
    times = np.array([e["wall_s"] for e in eps], dtype=float)
    lens = np.array([e["length"] for e in eps], dtype=float)
    shared = (record.get("identity") or {}).get("measurement") == "shared"
    stat = (lambda a, f: float(f(a)) if a.size else None)
    return {
        "algo": result["config"]["algo"], "env_id": result["config"]["env_id"], "method": record["method"],
        "amount": amount, "return_mean": stat(rets, np.mean), "return_std": stat(rets, np.std),
        "time_mean_s": None if shared else stat(times, np.mean),
        "time_std_s": None if shared else stat(times, np.std),
        "length_mean": stat(lens, np.mean), "length_std": stat(lens, np.std),
        "ram_mean_bytes": _memory_peak(result, config), "ram_std_bytes": None,
        "energy_per_episode_j": None if shared else _mean(result["summaries"].get(config), "energy_per_episode_j"),
    }


def study_code_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows in the study code's shape, per (agent, method): the baseline (amount 0, from the job with the
    smallest amount) and one row per job. Return, time and length are per episode (mean, population std
    over all measured episodes; time is an episode's wall time, environment included); RAM is the fresh-
    process peak RSS (one probe: std empty); energy is the primary meter's energy per episode (J)."""
    row = _study_code_row
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for rec in records:
        groups.setdefault(((rec.get("agent") or {}).get("label", ""), rec["method"]), []).append(rec)
    out: list[dict[str, Any]] = []
    for (_agent, _method), members in groups.items():
        members = sorted(members, key=lambda r: (r.get("amount") is None, r.get("amount") or 0.0))
        out.append(row(members[0], "none", 0.0))
        out.extend(row(m, m["method"], m.get("amount")) for m in members)
    return out


# ---------------------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------------------
def _pct(x: float | None, signed: bool = True) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    v = 100 * x
    return (f"{v:+.1f}%" if abs(v) < 9.95 else f"{v:+.0f}%") if signed else f"{v:.0f}%"


def _ratio_change(r: Mapping[str, Any], key: str) -> str:
    ratio, low, high = r.get(key), r.get(f"{key}_low"), r.get(f"{key}_high")
    if ratio is None:
        return "n/a"
    text = _pct(ratio - 1)
    if low is not None and high is not None:
        text += f" [{_pct(low - 1)}, {_pct(high - 1)}]"
    return text


def _return_change(r: Mapping[str, Any]) -> str:
    value = r.get("return_change_rel")
    if value is None:
        return "n/a"
    low, high = r.get("return_change_rel_low"), r.get("return_change_rel_high")
    return _pct(value) + ("" if low is None or high is None else f" [{_pct(low)}, {_pct(high)}]")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join("" if c is None else str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _amount(a: Any) -> str:
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
    if grid.get("common"):
        c = grid["common"]
        out += ["Settings shared by every cell: " + ", ".join(f"{k} {c[k]}" for k in sorted(c)) + ".", ""]
    out += ["## Machines", "",
            _md_table(["host", "machine fingerprint", "CPU", "logical CPUs", "jobs"],
                      [[h["host"], h["machine_fingerprint"], h["cpu_model"], h["cpu_count"], h["jobs"]]
                       for h in doc["hosts"]]), ""]
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
            f"Return change is the difference as a share of the baseline's |mean return| (interval in brackets); "
            f"kept = its whole interval lies above -{margin:.0%}. A/A MDE: the minimum detectable effect on "
            "energy per episode, from the run's A/A control (a second copy of the baseline).", ""]
    cells = doc["cells"]
    out.append(_md_table(
        ["agent", "method", "amount", "return change", "kept", "energy/episode", "energy", "A/A MDE",
         "energy/step", "policy latency/step", "peak RSS", "size", "host"],
        [[r["agent"], r["method"], _amount(r["amount"]), _return_change(r), "yes" if r["return_kept"] else "no",
          _ratio_change(r, "energy_per_episode_ratio"),
          r["energy_per_episode_direction"] + (" (noisy run)" if r.get("noisy") else ""),
          "n/a" if r.get("energy_mde_pct") is None else f"{r['energy_mde_pct']:.1f}%",
          _ratio_change(r, "energy_per_step_ratio"),
          _ratio_change(r, "latency_ratio"),
          "n/a" if r.get("peak_rss_ratio") is None else _pct(r["peak_rss_ratio"] - 1),
          "n/a" if r.get("size_ratio") is None else _pct(r["size_ratio"] - 1), r["host"]] for r in cells]))
    out += ["", "## Best pruning amount", "",
            f"The largest amount whose return is kept (>= {1 - margin:.0%} of the baseline's, shown by the "
            "interval), and the energy change at that amount.", ""]
    out.append(_md_table(
        ["agent", "method", "best amount", "amounts kept / tested", "return change", "energy/episode", "energy"],
        [[b["agent"], b["method"], "none kept" if b["best_amount"] is None else _amount(b["best_amount"]),
          f"{len(b['kept_amounts'])} / {len(b['amounts'])}",
          "" if b["best_amount"] is None else _return_change(b),
          "" if b["best_amount"] is None else _ratio_change(b, "energy_per_episode_ratio"),
          b["energy_per_episode_direction"] or ""] for b in doc["best_amounts"]]))
    s = doc["summary"]
    q = s["best_return_by_quantization"]
    e = s["energy_per_episode"]
    out += ["", "## Summary counts", ""]
    if q["agents_compared"]:
        wins = ", ".join(f"{m} {n} ({n / q['agents_compared']:.0%})" for m, n in q["wins"].items())
        out.append(f"- Best return among quantization methods, over {q['agents_compared']} agents (point "
                   f"estimates; ties credit each): {wins}.")
    words = ", ".join(f"{n} {w}" for w, n in sorted(e["words"].items(), key=lambda kv: -kv[1])) or "none"
    out.append(f"- Energy per episode over {e['cells']} cells: {words}.")
    out.append(f"- Of the {e['words'].get('lower', 0)} cells whose energy fell: {e['fell_return_kept']} kept the return (a saving), "
               f"{e['fell_return_not_kept']} did not. \"Energy fell only where return fell\": "
               f"{e['energy_fell_only_where_return_fell']}.")
    if s.get("noisy_cells"):
        out.append(f"- {s['noisy_cells']} cells come from a noisy run (their A/A control differed from the baseline: "
                   "marked \"noisy run\"; treat their verdicts with suspicion).")
    out.append(f"- Size: {s['size']['smaller']} of {s['size']['cells']} cells smaller. Peak RSS (one fresh-process "
               f"probe per configuration, no interval): {s['peak_rss']['lower']} of {s['peak_rss']['cells']} lower, "
               f"{s['peak_rss']['higher']} higher.")
    if doc["files"].get("plots"):
        out += ["", "## Plots", ""]
        for name in doc["files"]["plots"]:
            out += [f"![{name}]({name})", ""]
    if doc["failures"]:
        out += ["", "## Failed jobs", ""]
        out.append(_md_table(["job", "cell", "host", "error"],
                             [[f["id"], f["cell"], f.get("host"), f["error"]] for f in doc["failures"]]))
    if doc["notes"]:
        out += ["", "## Notes", ""]
        out += [f"- {n}" for n in doc["notes"]]
    if doc.get("skipped"):
        out += ["", "## Files left out", ""]
        out += [f"- {n}" for n in doc["skipped"]]
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------------------------------
def _slug(text: str) -> str:
    """A file name from an agent label: letters, digits, ``-_.``, at most 100 characters (a label read from a
    job file may be anything)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in text.lower()).strip("_.")[:100] \
        or "agent"


def write_plots(directory: Path, rows: Sequence[Mapping[str, Any]], margin: float) -> list[str]:
    """Per agent with a pruning method: return change and energy-per-episode change against the amount,
    one line per pruning method, with their intervals; returns the file names (relative to ``directory``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        if r.get("amount") is not None:
            groups.setdefault(r["agent"], []).append(r)
    names: list[str] = []
    if groups:
        (directory / "plots").mkdir(exist_ok=True)
    for agent, members in groups.items():
        fig, (ax_r, ax_e) = plt.subplots(1, 2, figsize=(10, 3.8))
        for method in sorted({r["method"] for r in members}):
            pts = sorted((r for r in members if r["method"] == method), key=lambda r: r["amount"])
            x = np.array([r["amount"] for r in pts])

            def series(key: str, scale: float = 100.0, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
                mid = np.array([np.nan if r.get(key) is None else scale * (r[key] - offset) for r in pts])
                lo = np.array([np.nan if r.get(f"{key}_low") is None else scale * (r[f"{key}_low"] - offset) for r in pts])
                hi = np.array([np.nan if r.get(f"{key}_high") is None else scale * (r[f"{key}_high"] - offset) for r in pts])
                err = np.vstack([np.nan_to_num(mid - lo), np.nan_to_num(hi - mid)])
                return mid, err

            mid, err = series("return_change_rel")
            ax_r.errorbar(x, mid, yerr=err, marker="o", capsize=3, label=method)
            mid, err = series("energy_per_episode_ratio", offset=1.0)
            ax_e.errorbar(x, mid, yerr=err, marker="o", capsize=3, label=method)
        ax_r.axhline(-100 * margin, color="grey", linestyle="--", linewidth=1, label=f"-{margin:.0%} (kept)")
        ax_r.axhline(0, color="black", linewidth=0.5)
        ax_e.axhline(0, color="black", linewidth=0.5)
        ax_r.set(xlabel="pruning amount", ylabel="return change, % of |baseline|", title="return")
        meter = members[0].get("energy_meter")
        ax_e.set(xlabel="pruning amount", ylabel="energy per episode change, %",
                 title=f"energy per episode ({meter}, {members[0].get('energy_method')})")
        ax_r.legend(fontsize=8)
        ax_e.legend(fontsize=8)
        fig.suptitle(f"{agent}: change vs its baseline (intervals as in study.md)")
        fig.tight_layout()
        name = f"plots/{_slug(agent)}.png"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        write_bytes_atomic(directory / name, buf.getvalue())
        names.append(name)
    return names


# ---------------------------------------------------------------------------------------------------
# the whole report
# ---------------------------------------------------------------------------------------------------
_NUMBER = re.compile(r"[-+]?\d[\d.,]*")


def _note(group: Sequence[str]) -> str:
    """One line for the notes of one kind: the text once, with how many jobs gave it; when the jobs'
    figures differ, the first job's figures stand as an example."""
    jobs = f"{len(group)} job{'s' if len(group) > 1 else ''}"
    if len(set(group)) == 1:
        return f"{group[0]} ({jobs})"
    return f"{group[0]} ({jobs}; figures of the first shown, the others differ: see results or the job files)"


#: Row columns that hold words (or None); ``return_kept`` is a bool, ``noisy`` and ``energy_saving`` a bool or
#: None; every other column a number or None (checked per job file before anything is written).
_TEXT_COLUMNS = frozenset({
    "job_id", "agent", "env_id", "algo", "agent_sha256", "method", "host", "machine_fingerprint", "executor",
    "measurement", "energy_meter", "energy_method", "return_direction", "return_verdict",
    "energy_per_episode_direction", "mechanism", "energy_per_step_direction", "latency_direction", "verdict",
})
_FLAG_COLUMNS = frozenset({"return_kept", "noisy", "energy_saving"})
_REQUIRED_TEXT = ("job_id", "agent", "env_id", "algo", "method", "return_direction", "energy_per_episode_direction",
                  "energy_per_step_direction", "latency_direction")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_row(row: Mapping[str, Any], what: str) -> None:
    """Raise ValueError naming the first column of ``row`` whose value has the wrong type."""
    for key, value in row.items():
        if value is None:
            if key in _REQUIRED_TEXT or key == "return_kept":
                raise ValueError(f"{what} has no {key}")
            continue
        if key in _TEXT_COLUMNS:
            ok = isinstance(value, str)
        elif key in _FLAG_COLUMNS:
            ok = isinstance(value, bool)
        else:
            ok = _is_number(value)
        if not ok:
            raise ValueError(f"{what} column {key} is {_shown(value)}")


def _shown(value: Any) -> str:
    from paradox_gym._util.checks import shown

    return shown(value)


def _check_record_fields(record: Mapping[str, Any]) -> None:
    """The fields of a job record the report reads, by type (ValueError naming the first that is wrong)."""
    method = record.get("method")
    if not isinstance(method, str) or method not in METHOD_TABLE:
        raise ValueError(f"its method is {_shown(method)}, not one of {', '.join(METHOD_TABLE)}")
    amount = record.get("amount")
    if amount is not None and not (_is_number(amount) and math.isfinite(amount) and 0.0 <= amount < 1.0):
        raise ValueError(f"its amount is {_shown(amount)}, not a fraction in [0, 1)")
    for key in ("identity", "agent", "result"):
        if not isinstance(record.get(key, {}), Mapping):
            raise ValueError(f"its {key} is not a mapping")
    if not isinstance((record.get("agent") or {}).get("label"), str):
        raise ValueError("its agent has no label")
    result = record["result"]
    for key in ("config", "comparisons", "summaries"):
        if not isinstance(result.get(key), Mapping):
            raise ValueError(f"its result has no {key} mapping")
    for key in ("machine", "memory", "meters", "control", "footprints", "baseline_footprint", "verdicts"):
        if not isinstance(result.get(key) or {}, Mapping):
            raise ValueError(f"its result's {key} is not a mapping")
    if not all(isinstance(info, Mapping) for info in (result.get("meters") or {}).values()):
        raise ValueError("its result's meters are not mappings")
    notes = result.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise ValueError("its result's notes are not a list of strings")
    episodes = record.get("episodes") or []
    if not isinstance(episodes, list) or not all(isinstance(e, Mapping) for e in episodes):
        raise ValueError("its episodes are not a list of mappings")
    machine = result.get("machine") or {}
    for key in ("cpu_model", "cpu_count"):
        if not (machine.get(key) is None or isinstance(machine[key], str) or _is_number(machine[key])):
            raise ValueError(f"its machine's {key} is {_shown(machine[key])}")


def _parse_record(record: Mapping[str, Any], margin: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A job record's row and its study-code rows (baseline and compressed); ValueError (or any exception
    from the rows' arithmetic) when the record is not one this report can read."""
    _check_record_fields(record)
    row = cell_row(record, margin)
    _check_row(row, "its row")
    code = [_study_code_row(record, "none", 0.0), _study_code_row(record, record["method"], record.get("amount"))]
    for c in code:
        _check_row({k: v for k, v in c.items() if k not in ("algo", "env_id", "method")}, "its study-code row")
    return row, code


def _failure_entry(f: Mapping[str, Any]) -> dict[str, Any]:
    """One failed job for the report (every field a string or None, each one line and bounded)."""
    from paradox_gym._util.cli import one_line

    def text(value: Any, limit: int = 500) -> str | None:
        return None if value is None else one_line(value if isinstance(value, str) else _shown(value))[:limit]

    agent = f.get("agent") if isinstance(f.get("agent"), Mapping) else {}
    amount = f.get("amount") if _is_number(f.get("amount")) and math.isfinite(f["amount"]) else None
    return {"id": text(f.get("id")),
            "cell": f"{text(agent.get('label')) or '?'} {text(f.get('method')) or '?'} {_amount(amount)}".strip(),
            "host": text(f.get("host")), "error_type": text(f.get("error_type"), 100),
            "error": text(f.get("error"), 2000)}


def _grid_entry(grid: Mapping[str, Any]) -> dict[str, Any]:
    """The grid record's fields the report shows (a command that is not a list of strings is left out)."""
    out = {k: grid.get(k) for k in ("fingerprint", "common", "grid", "grid_file", "executor", "command")}
    command = out["command"]
    if not (isinstance(command, list) and all(isinstance(c, str) for c in command)):
        out["command"] = None
    return out


def _build(directory: str | os.PathLike[str], margin: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The study document and the job records it was built from (those the report could read)."""
    store = JobStore(directory)
    if not store.jobs_dir.is_dir():
        raise UserInputError(f"{str(directory)!r} is not a sweep directory (it has no jobs/ folder)")
    skipped: list[str] = []
    try:
        grid = store.read_grid()
    except UserInputError as exc:
        skipped.append(f"{exc}; the report covers every job file")
        grid = None
    wanted = {j["id"] for j in grid["jobs"]} if grid else None
    left_out = len(store.done_ids() - wanted) if wanted is not None else 0  # other grids' jobs: not even read
    for path in store.irregular(wanted):
        skipped.append(f"{path} is not a regular file (a directory, FIFO, device or dangling link); left out: move "
                       "it away to measure that job again")
    records, problems = store.read_records(store.jobs_dir, wanted)
    skipped += problems
    failures, problems = store.read_records(store.failed_dir, wanted)
    skipped += problems
    order = {j["id"]: i for i, j in enumerate(grid["jobs"])} if grid else {}
    records.sort(key=lambda r: (order.get(r["id"], len(order)), r["id"]))
    rows: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for r in records:
        try:
            row, _code = _parse_record(r, margin)
        except Exception as exc:  # noqa: BLE001 - a job file that is not a record of ours is named, not fatal
            from paradox_gym._util.cli import one_line

            reason = one_line(exc)[:300] or type(exc).__name__
            skipped.append(f"{store.job_path(r['id'])} is not a job record this report can read ({reason}); "
                           "left out: delete it to measure that job again")
            continue
        rows.append(row)
        kept.append(r)
    records = kept
    done_ids = {r["id"] for r in records}
    failures = [f for f in failures if f["id"] not in done_ids]
    hosts: dict[tuple[Any, Any], dict[str, Any]] = {}
    for r in records:
        key = (r.get("host"), r.get("machine_fingerprint"))
        machine = r["result"].get("machine") or {}
        h = hosts.setdefault(key, {"host": key[0], "machine_fingerprint": key[1], "cpu_model": machine.get("cpu_model"),
                                   "cpu_count": machine.get("cpu_count"), "jobs": 0})
        h["jobs"] += 1
    energy: dict[str, Any] = {}
    notes: dict[str, list[str]] = {}  # note with its figures blanked -> the notes of that kind
    for r in records:
        for meter, info in (r["result"].get("meters") or {}).items():
            energy.setdefault(meter, info)
        for note in r["result"].get("notes") or []:
            notes.setdefault(_NUMBER.sub("#", note), []).append(note)
    if any(r.get("measurement") == "shared" for r in rows):
        text = "jobs run by the process executor shared the machine: their energy and latency are not shown"
        notes[text] = [text] * sum(1 for r in rows if r.get("measurement") == "shared")
    total = len(grid["jobs"]) if grid else len(records) + len(failures)
    doc: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "directory": str(directory),
        "written_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "return_margin": margin,
        "grid": _grid_entry(grid) if grid else None,
        "jobs": {"total": total, "done": len(records), "failed": len(failures),
                 "missing": max(0, total - len(records) - len(failures)), "left_out": left_out},
        "hosts": list(hosts.values()),
        "energy": energy,
        "cells": rows,
        "best_amounts": best_amounts(rows),
        "summary": summary_counts(rows),
        "failures": [_failure_entry(f) for f in failures],
        "notes": [_note(group) for group in notes.values()],
        "skipped": skipped,
        "files": {},
    }
    return doc, records


def build_report(directory: str | os.PathLike[str], *, return_margin: float | None = None) -> dict[str, Any]:
    """The study document (``study.json``) of the jobs in ``directory`` (a sweep's ``--out``).

    A job file that cannot be read, or is not a job record this report can read (wrong types, another
    id inside, a directory or FIFO named like one), is left out and named in ``skipped`` (and in study.md);
    a ``grid.json`` that is not a grid record is named there too and the report covers every job file."""
    margin = check_margin(RETURN_MARGIN if return_margin is None else return_margin)
    return _build(directory, margin)[0]


def write_report(directory: str | os.PathLike[str], *, return_margin: float | None = None,
                 warn: Callable[[str], None] | None = None) -> dict[str, str]:
    """Write the report files into ``directory``; returns key -> path. ``study.json`` is written last.
    ``warn`` gets one line per job file left out. A file that cannot be written is a UserInputError
    naming it (the job files are never touched)."""
    out = Path(directory)
    margin = check_margin(RETURN_MARGIN if return_margin is None else return_margin)
    doc, records = _build(out, margin)
    for line in doc["skipped"]:
        if warn is not None:
            warn(line)
    target = out
    try:
        frame = pd.DataFrame.from_records(doc["cells"])
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        target = out / FILES["results_parquet"]
        write_bytes_atomic(target, buf.getvalue())
        target = out / FILES["results_csv"]
        write_csv_atomic(target, doc["cells"])
        target = out / FILES["study_code_csv"]
        write_csv_atomic(target, study_code_rows(records), columns=STUDY_CODE_COLUMNS)
        target = out / "plots"
        plots = write_plots(out, doc["cells"], doc["return_margin"])
        doc["files"] = {**FILES, "plots": plots}
        target = out / FILES["study_md"]
        write_bytes_atomic(target, format_study(doc).encode())
        target = out / FILES["study_json"]
        write_json_atomic(target, doc)
    except OSError as exc:
        raise UserInputError(f"the study report cannot be written: {target} ({exc.strerror or exc})") from None
    paths = {k: str(out / v) for k, v in FILES.items()}
    paths.update({f"plot_{i}": str(out / p) for i, p in enumerate(plots)})
    return paths


__all__ = ["FILES", "REPORT_SCHEMA", "STUDY_CODE_COLUMNS", "best_amounts", "build_report", "cell_row",
           "check_margin", "format_study", "study_code_rows", "summary_counts", "write_plots", "write_report"]
