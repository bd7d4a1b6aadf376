"""Job records -> the study's rows: one flat row per job (cell), the best pruning amounts, the summary
counts and the study code's rows (``study_code.csv``).

One row per job: the compressed configuration against its own baseline, measured in the same run. A job on a
runtime other than ``sb3`` (``runtime`` column) compares ``<runtime>:<method>`` with ``<runtime>:none``; its
label in tables is that configuration name (:func:`config_label`). Every
ratio, interval and direction word is the single command's (:mod:`paradox_gym.analysis`); these functions
only gather them. **Return kept**: the whole interval of the return difference (95%, or the run's
multiplicity-adjusted level) lies above ``-margin x |baseline mean|`` (``margin`` 0.10 by default); where a
result carries the single command's structured verdict for the same margin, its words are used as they are.
**Best amount** (per agent and pruning method, :mod:`paradox_gym.study.amounts`): kept is decided
family-wise over the amounts tested (Holm); the best amount is the largest kept amount with every smaller
amount kept too; a kept amount above one that is not is ``isolated``, never best. **Reference**: the
baseline's mean return against rl-zoo3's benchmark (:mod:`paradox_gym.references`), where it has one.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np

from paradox_gym._util.checks import shown
from paradox_gym.analysis import RETURN_MARGIN, energy_direction, return_direction, return_kept
from paradox_gym.compression.registry import METHOD_TABLE
from paradox_gym.compression.runtimes import SB3, config_name
from paradox_gym.errors import UserInputError
from paradox_gym.references import baseline_reference
from paradox_gym.stats import CONFIDENCE, PairedCI, binomial_tail, direction, sign_test
from paradox_gym.study.amounts import decide_amounts, return_noninferiority_p
from paradox_gym.vocab import BASELINE

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
                             f"{shown(margin)}")
    return float(margin)



def record_runtime(record: Mapping[str, Any]) -> str:
    """The runtime a job record's cell ran on: its ``runtime`` field, else (records written before runtimes
    were a grid dimension) the one runtime besides ``sb3`` its identity names, else ``sb3``."""
    runtime = record.get("runtime")
    if runtime is not None:
        return runtime
    runtimes = (record.get("identity") or {}).get("runtimes")
    others = [r for r in runtimes if r != SB3] if isinstance(runtimes, list) else []
    return others[0] if others else SB3


def record_configs(record: Mapping[str, Any]) -> tuple[str, str]:
    """(the cell's baseline configuration, its compressed configuration): ``("none", "ptdq")`` on ``sb3``,
    ``("onnxruntime:none", "onnxruntime:ptdq")`` on ONNX Runtime."""
    runtime = record_runtime(record)
    return config_name(runtime, "none"), config_name(runtime, record["method"])


def config_label(row: Mapping[str, Any]) -> str:
    """A row's method as tables show it: the method on ``sb3``, ``<runtime>:<method>`` elsewhere."""
    return config_name(row.get("runtime") or SB3, row["method"])


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


def _memory(result: Mapping[str, Any], config: str | None, key: str = "peak_rss_bytes") -> int | None:
    """One figure of ``config``'s fresh-process memory probe (None without a probe that went well)."""
    probe = (result.get("memory") or {}).get(config) or {} if config else {}
    value = probe.get(key) if probe.get("status") == "ok" else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _memory_peak(result: Mapping[str, Any], config: str) -> int | None:
    return _memory(result, config)


def _control_rss(result: Mapping[str, Any], control: Mapping[str, Any]) -> int | None:
    """The A/A copy's resident memory after the rollout, from a probe of its own. None where the copy has
    none: not probed, or its entry is the baseline's own probe (the evaluation gives the copy the
    baseline's probe, the same agent; an A/A gap from it is zero by construction, not a resolution)."""
    memory = result.get("memory") if isinstance(result.get("memory"), Mapping) else {}
    config = control.get("config")
    if not isinstance(config, str) or memory.get(config) == memory.get(BASELINE):
        return None
    return _memory(result, config, "rss_after_rollout_bytes")


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _interval(name: str, value: float | None, low: float | None, high: float | None) -> dict[str, Any]:
    """``name``, ``name_low``, ``name_high``: a value and its interval."""
    return {name: value, f"{name}_low": low, f"{name}_high": high}


def _ratio(name: str, paired: PairedCI | None) -> dict[str, Any]:
    """A comparison's ratio (compressed / baseline) and its interval; None without a comparison."""
    return _interval(name, *((paired.ratio, paired.ratio_low, paired.ratio_high) if paired else (None,) * 3))


def _kept(comp: Mapping[str, Any], ret: PairedCI | None, margin: float) -> bool:
    """Whether the return is shown kept: the single command's Holm-adjusted word where it was decided at this
    ``margin`` (a return shown higher is kept too), else this comparison's own test."""
    verdict = comp.get("verdict") if isinstance(comp.get("verdict"), Mapping) else {}
    if verdict.get("return") is not None and verdict.get("return_margin") is not None \
            and math.isclose(float(verdict["return_margin"]), margin):
        return verdict["return"] in ("kept", "higher")
    return bool(ret is not None and return_direction(ret) != "undetermined" and return_kept(ret, margin))


def _return_columns(result: Mapping[str, Any], comp: Mapping[str, Any], base_s: Mapping[str, Any],
                    comp_s: Mapping[str, Any], margin: float) -> dict[str, Any]:
    """The return: baseline and compressed means, difference, change relative to |baseline|, ratio (each with
    its interval), direction, kept, and the baseline against its published reference."""
    ret = _paired(comp["ret"])
    base_mean = ret.baseline_mean if ret else None
    base_return = _mean(base_s, "ret")
    reference = baseline_reference(result["config"]["algo"], result["config"]["env_id"], base_return) \
        if isinstance(base_return, (int, float)) and not isinstance(base_return, bool) else None
    scale = abs(base_mean) if ret and base_mean else None
    return {
        "return_baseline": base_mean, "return_mean": _mean(comp_s, "ret"),
        **_interval("return_diff", *((ret.diff, ret.diff_low, ret.diff_high) if ret else (None,) * 3)),
        **_interval("return_change_rel", *((_div(ret.diff, scale), _div(ret.diff_low, scale),
                                            _div(ret.diff_high, scale)) if ret and scale else (None,) * 3)),
        **_ratio("return_ratio", ret),
        "return_direction": return_direction(ret) if ret else "undetermined", "return_kept": _kept(comp, ret, margin),
        "return_kept_p": return_noninferiority_p(ret, margin),
        "reference_return": reference.reference if reference else None,
        "reference_ratio": reference.ratio if reference else None,
        "reference_source": reference.source if reference else None,
        "weak_agent": reference.weak if reference else None,
    }


def _energy_columns(result: Mapping[str, Any], comp: Mapping[str, Any], base_s: Mapping[str, Any],
                    comp_s: Mapping[str, Any], verdict: Mapping[str, Any]) -> dict[str, Any]:
    """Energy per episode (with the verdict's words, the A/A control's MDE and the background load) and per
    step, then the policy's latency per step."""
    e_ep, e_step = _paired(comp["energy_per_episode"]), _paired(comp["energy_per_step"])
    lat = _paired(comp["policy_time_per_step"])
    control = result.get("control") if isinstance(result.get("control"), Mapping) else {}
    background = result.get("background") if isinstance(result.get("background"), Mapping) else {}
    return {
        "energy_per_episode_baseline_j": _mean(base_s, "energy_per_episode_j"),
        "energy_per_episode_j": _mean(comp_s, "energy_per_episode_j"),
        **_ratio("energy_per_episode_ratio", e_ep),
        "energy_per_episode_direction": verdict.get("energy") or (energy_direction(e_ep) if e_ep else "undetermined"),
        "energy_saving": verdict.get("saving"), "mechanism": verdict.get("mechanism"),
        "energy_mde_pct": control.get("min_detectable_effect_pct"), "noisy": verdict.get("noisy"),
        "others_cpus": background.get("others_cpus_mean"), "others_cpus_max": background.get("others_cpus_max"),
        **_ratio("energy_per_step_ratio", e_step),
        "energy_per_step_direction": energy_direction(e_step) if e_step else "undetermined",
        "policy_us_per_step_baseline": _mean(base_s, "policy_us_per_step"),
        "policy_us_per_step": _mean(comp_s, "policy_us_per_step"),
        **_ratio("latency_ratio", lat),
        "latency_direction": direction(lat.ratio_low, lat.ratio_high, 1.0) if lat else "undetermined",
    }


def _footprint_columns(result: Mapping[str, Any], comp: Mapping[str, Any], runtime: str, base_config: str,
                       config: str) -> dict[str, Any]:
    """Memory (fresh-process probe: peak RSS and resident memory after the rollout of baseline, compressed
    and A/A copy) and serialized size."""
    control = result.get("control") if isinstance(result.get("control"), Mapping) else {}
    footprints = result.get("footprints") or {}
    base_footprint = result.get("baseline_footprint") if runtime == SB3 else footprints.get(base_config)
    return {
        "peak_rss_baseline_bytes": _memory_peak(result, base_config),
        "peak_rss_bytes": _memory_peak(result, config),
        "rss_baseline_bytes": _memory(result, base_config, "rss_after_rollout_bytes"),
        "rss_bytes": _memory(result, config, "rss_after_rollout_bytes"),
        "rss_control_bytes": _control_rss(result, control),
        "size_baseline_bytes": (base_footprint or {}).get("serialized_bytes"),
        "size_bytes": (footprints.get(config) or {}).get("serialized_bytes"),
        "size_ratio": comp.get("size_ratio"),
    }


def cell_row(record: Mapping[str, Any], margin: float = RETURN_MARGIN) -> dict[str, Any]:
    """One flat row per job (units in names; ratios are compressed / baseline; ``*_low`` / ``*_high``
    bound the interval the result reports). Energy and latency are None for a job measured on a shared machine."""
    result = record["result"]
    config_doc = result["config"]
    runtime = record_runtime(record)
    base_config, config = record_configs(record)
    comp = result["comparisons"][config]
    base_s, comp_s = result["summaries"][base_config], result["summaries"][config]
    ident = record.get("identity") or {}
    agent = record.get("agent") or {}
    # the single command's structured verdict, where the result has one (its Holm-adjusted words)
    verdict = comp.get("verdict") if isinstance(comp.get("verdict"), Mapping) else {}
    row: dict[str, Any] = {
        "job_id": record["id"], "agent": agent.get("label"), "env_id": config_doc["env_id"],
        "algo": config_doc["algo"], "agent_sha256": agent.get("sha256"), "method": record["method"],
        "runtime": runtime, "amount": record.get("amount"), "host": record.get("host"),
        "machine_fingerprint": record.get("machine_fingerprint"), "executor": record.get("executor"),
        "paradox_gym_commit": (result.get("software") or {}).get("paradox_gym_commit"),
        "measurement": ident.get("measurement"), "episodes_per_trial": config_doc.get("episodes"),
        "trials": config_doc.get("trials"), "replicates": config_doc.get("replicates"), "pairs": comp.get("pairs"),
        "energy_meter": result.get("energy_meter"), "energy_method": result.get("energy_method"),
        **_return_columns(result, comp, base_s, comp_s, margin),
        "return_verdict": verdict.get("return"),
        "length_baseline": _mean(base_s, "length"), "length_mean": _mean(comp_s, "length"),
        **_energy_columns(result, comp, base_s, comp_s, verdict),
        **_footprint_columns(result, comp, runtime, base_config, config),
        "verdict": (result.get("verdicts") or {}).get(config),
        "elapsed_s": record.get("elapsed_s"), "started_at": record.get("started_at"),
    }
    row["peak_rss_ratio"] = _div(row["peak_rss_bytes"], row["peak_rss_baseline_bytes"])
    row["rss_ratio"] = _div(row["rss_bytes"], row["rss_baseline_bytes"])
    # the A/A copy is a copy of the float sb3 baseline: its gap is against that one on every runtime
    row["rss_control_ratio"] = _div(row["rss_control_bytes"], _memory(result, BASELINE, "rss_after_rollout_bytes"))
    if ident.get("measurement") == "shared":  # jobs shared the machine: energy and latency measure no policy
        for key in list(row):
            if key.startswith(("energy_", "policy_us", "latency_")) or key in ("mechanism", "noisy"):
                row[key] = "not measured" if key.endswith("direction") else None
        row["verdict"] = None
    return row


def best_amounts(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per agent, pruning method (a method with an amount) and runtime: the amounts whose return is kept
    family-wise (Holm over the amounts, from each row's ``return_kept_p``), the best amount (the largest
    kept with every smaller amount kept: :func:`paradox_gym.study.amounts.decide_amounts`), the kept amounts
    above a failure (``isolated_amounts``), and the energy change at the best amount. One entry per (agent,
    method, runtime), in first-seen order; ``best_amount`` is None when no amount qualifies."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        if r.get("amount") is None or not METHOD_TABLE.get(r["method"]) or not METHOD_TABLE[r["method"]].uses_amount:
            continue
        groups.setdefault((r["agent"], r["method"], r.get("runtime") or SB3), []).append(r)
    out: list[dict[str, Any]] = []
    for (agent, method, runtime), members in groups.items():
        members = sorted(members, key=lambda r: r["amount"])
        decision = decide_amounts([(r["amount"], r.get("return_kept_p")) for r in members])
        best = next((r for r in members if r["amount"] == decision.best), None)
        entry: dict[str, Any] = {
            "agent": agent, "method": method, "runtime": runtime, "amounts": [r["amount"] for r in members],
            "kept_amounts": list(decision.kept), "isolated_amounts": list(decision.isolated),
            "best_amount": decision.best, "kept_alpha": decision.alpha,
        }
        for key in ("return_change_rel", "return_change_rel_low", "return_change_rel_high",
                    "energy_per_episode_ratio", "energy_per_episode_ratio_low", "energy_per_episode_ratio_high",
                    "energy_per_episode_direction", "energy_per_step_ratio", "energy_per_step_direction",
                    "host", "job_id"):
            entry[key] = best.get(key) if best else None
        out.append(entry)
    return out


#: The most often a cell's energy word is a spurious ``lower`` (one side of its 5% family-wise level).
SPURIOUS_LOWER = (1 - CONFIDENCE) / 2


def summary_counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The study's summary counts.

    - ``best_return_by_quantization``: per quantization method (without an amount), in how many agents
      it has the best return change among the quantization methods measured for that agent on the same
      runtime (point estimates, as the study counts; a tie credits every tied method); over agents (each
      agent once per runtime) with >= 2 of them. The methods are named as :func:`config_label` names them.
    - ``energy_per_episode``: over cells with measured energy, how many got each energy verdict word
      (``lower``, ``higher``, and the single command's words for neither); of those that fell, how many kept the return (a saving) and how many did
      not (energy fell only with return), and whether "energy fell only where return fell" holds: a cell's
      words hold at a 5% family-wise level, so a spurious counter-example (a spurious ``lower``, or a
      spurious ``kept``: a 95% lower bound) has a chance of at most :data:`SPURIOUS_LOWER` per cell; the claim ``does not hold`` only when chance alone would give as many
      counter-examples (energy lower, return kept) over these cells less than 5% of the time
      (``chance_of_as_many``, a binomial tail: an upper bound), ``unresolved`` when it would not.
    - ``size`` and ``peak_rss``: cells smaller / larger (size: exact; memory: one probe, no interval).
    - ``rss``: :func:`memory_counts`; ``structured_norms``: :func:`structured_norm_counts`.
    """
    quant = [r for r in rows if METHOD_TABLE.get(r["method"]) and METHOD_TABLE[r["method"]].quantized
             and not METHOD_TABLE[r["method"]].uses_amount]
    by_agent: dict[tuple[str, str], dict[str, float]] = {}
    for r in quant:
        if r.get("return_change_rel") is not None:
            by_agent.setdefault((r["agent"], r.get("runtime") or SB3), {})[config_label(r)] = r["return_change_rel"]
    wins: dict[str, int] = {m: 0 for m in sorted({config_label(r) for r in quant})}
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
    counter = [" ".join(str(x) for x in (r["agent"], config_label(r), r.get("amount")) if x is not None)
               for r in fell if r["return_kept"]]
    chance = binomial_tail(fell_kept, len(energy), SPURIOUS_LOWER)
    if not fell:
        only_with_return = "holds vacuously (energy fell in no cell)"
    elif fell_kept == 0:
        only_with_return = "holds"
    else:  # a universal claim is refuted only by more counter-examples than chance gives over these cells
        only_with_return = "does not hold" if chance < 1 - CONFIDENCE else "unresolved"
    return {
        "cells": len(rows),
        "best_return_by_quantization": {"agents_compared": compared, "wins": wins},
        "energy_per_episode": {"cells": len(energy), "words": counts, "fell_return_kept": fell_kept,
                               "fell_return_not_kept": len(fell) - fell_kept,
                               "energy_fell_only_where_return_fell": only_with_return,
                               "counter_examples": counter, "chance_of_as_many": chance},
        "noisy_cells": sum(1 for r in rows if r.get("noisy") is True),
        "size": {"cells": len(sizes), "smaller": sum(1 for r in sizes if r["size_ratio"] < 1),
                 "larger": sum(1 for r in sizes if r["size_ratio"] > 1)},
        "peak_rss": {"cells": len(mems), "lower": sum(1 for r in mems if r["peak_rss_ratio"] < 1),
                     "higher": sum(1 for r in mems if r["peak_rss_ratio"] > 1)},
        "rss": memory_counts(rows),
        "structured_norms": structured_norm_counts(rows),
    }


#: The two structured pruning norms the study compares: (L2 method, L1 method).
STRUCTURED_NORMS = ("prune-structured", "prune-structured-l1")


def memory_counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Resident memory after the rollout (one fresh-process probe per configuration, no interval) against the
    baseline's. The probe's resolution (``resolution``, a fraction) is the largest spread between probes of
    one configuration: a baseline probed again in each cell of its agent and runtime on one machine (``repeats``
    probes, (max - min) / min per agent, runtime and machine fingerprint: absolute bytes from different machines
    are not compared) and a baseline against its A/A copy where the copy was probed on
    its own (``controls``); None without any repeated probe. A cell is ``lower`` / ``higher`` only beyond it.
    ``by_method``: the same counts per configuration (:func:`config_label`)."""
    cells = [r for r in rows if r.get("rss_ratio") is not None]
    gaps = [abs(r["rss_control_ratio"] - 1) for r in cells if r.get("rss_control_ratio") is not None]
    baselines: dict[tuple[str, str, Any], list[int]] = {}  # a baseline probed again in every cell of its agent
    for r in cells:
        if r.get("rss_baseline_bytes"):
            key = (r["agent"], r.get("runtime") or SB3, r.get("machine_fingerprint"))
            baselines.setdefault(key, []).append(r["rss_baseline_bytes"])
    repeated = [v for v in baselines.values() if len(v) >= 2]
    spreads = [(max(v) - min(v)) / min(v) for v in repeated]
    resolution = max(gaps + spreads) if gaps or spreads else None

    def count(members: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        edge = resolution or 0.0
        return {"cells": len(members), "lower": sum(1 for r in members if r["rss_ratio"] < 1 - edge),
                "higher": sum(1 for r in members if r["rss_ratio"] > 1 + edge)}

    by_method: dict[str, list[Mapping[str, Any]]] = {}
    for r in cells:
        by_method.setdefault(config_label(r), []).append(r)
    return {**count(cells), "resolution": resolution, "controls": len(gaps),
            "repeats": sum(len(v) for v in repeated),
            "by_method": {m: count(members) for m, members in by_method.items()}}


def structured_norm_counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """L2 against L1 structured pruning: per (agent, runtime, amount) measured with both, which kept more of
    the return (point estimates of the return change; ``pairs``, ``l2_better``, ``l1_better``, ``ties``), and
    per agent (the unit that is independent: an agent's amounts and runtimes share its networks) which norm's
    mean return change over those (runtime, amount) pairs is higher (``agents``, ``agents_l2_better``,
    ``agents_l1_better``), with the two-sided sign test's p-value over the agents that differ (``agents_p``;
    None without any)."""
    l2, l1 = STRUCTURED_NORMS
    found: dict[tuple[str, str, float], dict[str, float]] = {}
    for r in rows:
        if r["method"] in STRUCTURED_NORMS and r.get("return_change_rel") is not None and r.get("amount") is not None:
            key = (r["agent"], r.get("runtime") or SB3, float(r["amount"]))
            found.setdefault(key, {})[r["method"]] = float(r["return_change_rel"])
    pairs = {k: v[l2] - v[l1] for k, v in found.items() if l2 in v and l1 in v}
    per_agent: dict[str, list[float]] = {}
    for (agent, _runtime, _amount), diff in pairs.items():
        per_agent.setdefault(agent, []).append(diff)
    means = [float(np.mean(d)) for d in per_agent.values()]
    better, worse = sum(1 for m in means if m > 0), sum(1 for m in means if m < 0)
    return {"pairs": len(pairs), "l2_better": sum(1 for d in pairs.values() if d > 0),
            "l1_better": sum(1 for d in pairs.values() if d < 0),
            "ties": sum(1 for d in pairs.values() if d == 0),
            "agents": len(means), "agents_l2_better": better, "agents_l1_better": worse,
            "agents_p": sign_test(better, worse) if better + worse else None}


def study_code_row(record: Mapping[str, Any], config: str, amount: float | None) -> dict[str, Any]:
    """One row of ``study_code.csv``: ``config``'s episodes and summaries in ``record`` (its ``method`` column
    names the compressed configuration: ``ptdq``, ``onnxruntime:ptdq``)."""
    result = record["result"]
    eps = [e for e in record.get("episodes") or [] if e.get("config") == config]
    rets = np.array([e["return"] for e in eps], dtype=float)
    times = np.array([e["wall_s"] for e in eps], dtype=float)
    lens = np.array([e["length"] for e in eps], dtype=float)
    shared = (record.get("identity") or {}).get("measurement") == "shared"
    stat = (lambda a, f: float(f(a)) if a.size else None)
    return {
        "algo": result["config"]["algo"], "env_id": result["config"]["env_id"], "method": record_configs(record)[1],
        "amount": amount, "return_mean": stat(rets, np.mean), "return_std": stat(rets, np.std),
        "time_mean_s": None if shared else stat(times, np.mean),
        "time_std_s": None if shared else stat(times, np.std),
        "length_mean": stat(lens, np.mean), "length_std": stat(lens, np.std),
        "ram_mean_bytes": _memory_peak(result, config), "ram_std_bytes": None,
        "energy_per_episode_j": None if shared else _mean(result["summaries"].get(config), "energy_per_episode_j"),
    }


def study_code_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows in the study code's shape, per (agent, method, runtime): the baseline (amount 0, from the job with
    the smallest amount; the runtime's float baseline) and one row per job. Return, time and length are per episode (mean, population std
    over all measured episodes; time is an episode's wall time, environment included); RAM is the fresh-
    process peak RSS (one probe: std empty); energy is the primary meter's energy per episode (J)."""
    row = study_code_row
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for rec in records:
        groups.setdefault(((rec.get("agent") or {}).get("label", ""), rec["method"], record_runtime(rec)), []).append(rec)
    out: list[dict[str, Any]] = []
    for _key, members in groups.items():
        members = sorted(members, key=lambda r: (r.get("amount") is None, r.get("amount") or 0.0))
        out.append(row(members[0], record_configs(members[0])[0], 0.0))
        out.extend(row(m, record_configs(m)[1], m.get("amount")) for m in members)
    return out


__all__ = ["STRUCTURED_NORMS", "STUDY_CODE_COLUMNS", "best_amounts", "cell_row", "check_margin", "config_label",
           "memory_counts", "record_configs", "record_runtime", "structured_norm_counts", "study_code_row",
           "study_code_rows", "summary_counts"]
