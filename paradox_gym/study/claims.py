"""The 2024 study's claims (Lu, Alemi, Rawassizadeh, arXiv 2407.04803) against one study report.

One row per claim: the study's statement, what this study's cells show (a count or an interval, with the
cells it rests on), a verdict word (:data:`paradox_gym.vocab.CLAIM_VERDICTS`) and the reason. The verdict
follows a stated rule per claim, from the report's own words (each cell's words hold at a 5% family-wise
level; :func:`paradox_gym.study.rows.summary_counts`):

- ``agrees`` / ``disagrees``: the cells resolve the claim, one way or the other;
- ``cannot tell``: the cells do not (none measured, at least half of them unresolved, or the paper's figure is not
  transcribed here).

Where a verdict is ``disagrees``, the reason also names what differs between the two settings for that
claim (the meter, the runtime, the environments, the agents). The claims are a table, :data:`CLAIMS`: one
entry per claim, each with its judge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import paradox_gym.report.format as fmt
from paradox_gym.stats import CONFIDENCE, sign_test
from paradox_gym.compression.runtimes import SB3
from paradox_gym.study.rows import STRUCTURED_NORMS
from paradox_gym.vocab import AGREES, CANNOT_TELL, CLAIM_VERDICTS, DISAGREES

#: The study's quantization methods in the order of its claim (best return first).
QUANTIZATION_ORDER = ("ptdq", "qat", "ptsq")
#: Where the study ran each quantization method: PTDQ and PTSQ in ONNX Runtime, QAT in PyTorch.
STUDY_RUNTIMES: dict[str, str] = {"ptdq": "onnxruntime", "ptsq": "onnxruntime", "qat": SB3}


@dataclass(frozen=True)
class ClaimRow:
    """One claim judged: ``ours`` is what the cells show, ``verdict`` one of ``CLAIM_VERDICTS``."""

    claim: str
    paper: str
    ours: str
    verdict: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"claim": self.claim, "paper": self.paper, "ours": self.ours, "verdict": self.verdict,
                "reason": self.reason}


#: What a judge returns: (ours, verdict, the rule's reason).
Judged = tuple[str, str, str]


@dataclass(frozen=True)
class Claim:
    """One claim of the study: its words, the paper's figure, how the settings differ for it, its judge."""

    claim: str
    paper: str
    differs: str
    judge: Callable[[Mapping[str, Any]], Judged]


def _cells(n: int) -> str:
    return f"{n} cell{'s' if n != 1 else ''}"


def _size(doc: Mapping[str, Any]) -> Judged:
    s = doc["summary"]["size"]
    ours = (f"smaller in {s['smaller']} of {_cells(s['cells'])}, larger in {s['larger']} (serialized size of the "
            "inference path, exact)")
    if not s["cells"]:
        return ours, CANNOT_TELL, "no cell has a size"
    if s["smaller"] == s["cells"]:
        return ours, AGREES, "-"
    return ours, DISAGREES, f"the compressed model is not smaller in {_cells(s['cells'] - s['smaller'])}"


def _energy_words(e: Mapping[str, Any]) -> str:
    words = ", ".join(f"{n} {w}" for w, n in sorted(e["words"].items(), key=lambda kv: (-kv[1], kv[0])))
    return f"energy per episode over {_cells(e['cells'])}: {words or 'none'}"


def _energy(doc: Mapping[str, Any]) -> Judged:
    """Over the cells that kept the return (the only ones where a fall would be a saving): agrees when
    energy fell in no more of them than chance gives over the study (the summary's binomial tail); cannot
    tell when none kept it or at least half of those could not resolve their change (``unresolved``, or
    ``undetermined``: no interval)."""
    e = doc["summary"]["energy_per_episode"]
    kept = [r for r in doc["cells"] if r.get("return_kept") and r.get("energy_per_episode_direction")
            not in (None, "not measured")]
    words: dict[str, int] = {}
    for r in kept:
        words[r["energy_per_episode_direction"]] = words.get(r["energy_per_episode_direction"], 0) + 1
    shown = ", ".join(f"{n} {w}" for w, n in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])))
    ours = (f"{_energy_words(e)}; of the {_cells(len(kept))} that kept the return: {shown or 'none'} "
            f"({e['fell_return_kept']} lower: a saving)")
    unresolved = words.get("unresolved", 0) + words.get("undetermined", 0)
    if not kept:
        return ours, CANNOT_TELL, "no cell kept the return with its energy measured"
    if 2 * unresolved >= len(kept):
        return ours, CANNOT_TELL, (f"{unresolved} of the {_cells(len(kept))} that kept the return could not "
                                   "resolve their energy change")
    if e["fell_return_kept"] and e["chance_of_as_many"] < 1 - CONFIDENCE:
        return ours, DISAGREES, (f"{e['fell_return_kept']} savings; chance alone gives as many in "
                                 f"{fmt.level(e['chance_of_as_many'])} of studies")
    return ours, AGREES, "-" if not e["fell_return_kept"] else (
        f"the {e['fell_return_kept']} savings are as many as chance gives ({fmt.level(e['chance_of_as_many'])})")


#: The memory saving the study reports for pruning ("about 1%"): a fall within it agrees with the claim.
MEMORY_SAVING = 0.01


def memory_resolution_text(m: Mapping[str, Any]) -> str:
    """What a memory change is counted beyond (:func:`paradox_gym.study.rows.memory_counts`), in words."""
    if m.get("resolution") is None:
        return "no configuration probed twice: a change cannot be told from the probe's own spread"
    return (f"beyond {100 * m['resolution']:.2f}%, the largest spread between probes of one configuration: "
            f"{m.get('repeats', 0)} baseline probes, {m.get('controls', 0)} A/A copies")


def _memory(doc: Mapping[str, Any]) -> Judged:
    """Disagrees when a cell's memory fell by more than the study's 1% (and beyond the probe's resolution), or a
    PTDQ or PTSQ cell used less beyond it; agrees when every PTDQ and PTSQ cell used more beyond it; cannot
    tell otherwise (no resolution, or a cell within it). PTDQ and PTSQ are judged where the study ran them
    (ONNX Runtime) when the cells have that, else on the sb3 runtime; both are shown where both exist."""
    m = doc["summary"].get("rss")
    if not m or not m["cells"]:
        return "no memory figure (the memory probe was off)", CANNOT_TELL, "no cell ran the memory probe"
    res = m["resolution"]
    edge = memory_resolution_text(m)
    floor = max(res or 0.0, MEMORY_SAVING)
    beyond = f"{100 * floor:.3g}%"
    fell = sum(1 for r in doc["cells"] if r.get("rss_ratio") is not None and r["rss_ratio"] < 1 - floor)
    as_study = {q: m["by_method"].get(f"{STUDY_RUNTIMES[q]}:{q}") for q in ("ptdq", "ptsq")}
    on_sb3 = {q: m["by_method"].get(q) for q in ("ptdq", "ptsq")}
    quant = as_study if any(as_study.values()) else on_sb3

    def higher(counts: Mapping[str, Any]) -> list[str]:
        return [f"{q.upper()} higher in {c['higher']} of {c['cells']}" for q, c in counts.items() if c]

    parts = higher(quant)
    if quant is as_study:
        parts = [f"as the study ran them (in ONNX Runtime): {', '.join(parts)}"] + (
            [f"on SB3 + PyTorch: {', '.join(higher(on_sb3))}"] if any(on_sb3.values()) else [])
    ours = (f"resident memory after the rollout (fresh process, one probe per configuration): lower in "
            f"{m['lower']} ({fell} by more than {beyond}), higher in {m['higher']} of "
            f"{_cells(m['cells'])} ({edge})" + (f"; {'; '.join(parts)}" if parts else ""))
    if fell:
        return ours, DISAGREES, f"memory fell by more than {beyond} in {_cells(fell)}"
    if not parts:
        return ours, CANNOT_TELL, "no PTDQ or PTSQ cell ran the memory probe"
    less = [q.upper() for q, c in quant.items() if c and c["lower"]]
    if less:
        return ours, DISAGREES, f"{' and '.join(less)} used less memory than the baseline beyond the resolution"
    if res is None:
        return ours, CANNOT_TELL, "one probe per configuration, none repeated: no resolution"
    short = [q.upper() for q, c in quant.items() if c and c["higher"] < c["cells"]]
    if short:
        return ours, CANNOT_TELL, f"{' and '.join(short)} stayed within the probe's resolution in some cells"
    return ours, AGREES, "-"


def _collapse(doc: Mapping[str, Any]) -> Judged:
    e = doc["summary"]["energy_per_episode"]
    fell = [r for r in doc["cells"] if r.get("energy_per_episode_direction") == "lower"]
    mechanisms: dict[str, int] = {}
    for r in fell:
        if not r.get("return_kept"):
            mechanisms[r.get("mechanism") or "none"] = mechanisms.get(r.get("mechanism") or "none", 0) + 1
    how = ", ".join(f"{n} `{m}`" for m, n in sorted(mechanisms.items(), key=lambda kv: -kv[1]))
    ours = (f"energy per episode fell in {_cells(len(fell))}: {e['fell_return_not_kept']} without the return "
            "shown kept"
            + (f" (mechanism {how})" if how else "") + f", {e['fell_return_kept']} kept it"
            + (f" ({', '.join(e['counter_examples'])})" if e["counter_examples"] else ""))
    word = e["energy_fell_only_where_return_fell"]
    if word == "holds":
        return ours, AGREES, "-"
    if word == "does not hold":
        return ours, DISAGREES, (f"more savings than chance gives ({fmt.level(e['chance_of_as_many'])} of studies "
                                 "would show as many)")
    if word == "unresolved":
        return ours, CANNOT_TELL, (f"chance alone gives as many counter-examples in {fmt.level(e['chance_of_as_many'])}"
                                   " of studies")
    return ours, CANNOT_TELL, "energy fell in no cell"


def quantization_ranks(cells: Sequence[Mapping[str, Any]], runtimes: Mapping[str, str] | None = None
                       ) -> dict[str, Any]:
    """Per agent with at least two of PTDQ, QAT and PTSQ, each on its runtime in ``runtimes`` (default: all on
    the sb3 runtime; :data:`STUDY_RUNTIMES`: as the study ran them): the method with the best return change
    (point estimate, as the study counts; a tie credits every tied method; ``wins``), and whether it is
    resolved (one best method, its interval's lower bound above every other method's upper bound;
    ``resolved_wins``)."""
    where = dict.fromkeys(QUANTIZATION_ORDER, SB3) if runtimes is None else dict(runtimes)
    by_agent: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in cells:
        if r["method"] in QUANTIZATION_ORDER and (r.get("runtime") or SB3) == where.get(r["method"]) \
                and r.get("return_change_rel") is not None:
            by_agent.setdefault(r["agent"], {})[r["method"]] = r
    wins = {m: 0 for m in QUANTIZATION_ORDER}
    resolved = {m: 0 for m in QUANTIZATION_ORDER}
    compared = 0
    for methods in by_agent.values():
        if len(methods) < 2:
            continue
        compared += 1
        top = max(r["return_change_rel"] for r in methods.values())
        tied = [m for m, r in methods.items() if math.isclose(r["return_change_rel"], top, rel_tol=0.0, abs_tol=1e-12)]
        for m in tied:
            wins[m] += 1
        if len(tied) > 1:
            continue
        best = tied[0]
        low = methods[best].get("return_change_rel_low")
        highs = [methods[m].get("return_change_rel_high") for m in methods if m != best]
        if low is not None and all(h is not None and low > h for h in highs):
            resolved[best] += 1
    return {"agents": compared, "wins": wins, "resolved_wins": resolved}


def _ranks_text(q: Mapping[str, Any]) -> str:
    n = q["agents"]
    wins = ", ".join(f"{m.upper()} {q['wins'][m]} ({q['wins'][m] / n:.0%})" for m in QUANTIZATION_ORDER)
    return (f"best return over {n} agents (point estimates, as the study counts): {wins}; resolved (intervals "
            f"apart) in {sum(q['resolved_wins'].values())}: "
            + ", ".join(f"{m.upper()} {q['resolved_wins'][m]}" for m in QUANTIZATION_ORDER))


def _quantization(doc: Mapping[str, Any]) -> Judged:
    """A two-sided sign test on the resolved wins of PTDQ against those of PTSQ (the order's two ends), with
    each method where the study ran it (:data:`STUDY_RUNTIMES`) when some agent has them there, else all on
    the sb3 runtime: agrees when PTDQ wins more at 5%, disagrees when PTSQ does, cannot tell otherwise. Both
    views are shown where both exist."""
    as_study, on_sb3 = quantization_ranks(doc["cells"], STUDY_RUNTIMES), quantization_ranks(doc["cells"])
    q = as_study if as_study["agents"] else on_sb3
    n = q["agents"]
    if not n:
        return "no agent with two of PTDQ, QAT and PTSQ", CANNOT_TELL, "no agent to compare"
    ours = (("as the study ran them (PTDQ and PTSQ in ONNX Runtime, QAT on SB3 + PyTorch), " if q is as_study
             else "all on SB3 + PyTorch, ") + _ranks_text(q))
    r = q["resolved_wins"]
    if r["ptdq"] + r["ptsq"]:
        p = sign_test(r["ptdq"], r["ptsq"])
        ours += f"; sign test PTDQ vs PTSQ p = {p:.2g}"
    if q is as_study and on_sb3["agents"]:
        ours += "; all on SB3 + PyTorch, " + _ranks_text(on_sb3)
    if not r["ptdq"] + r["ptsq"]:
        return ours, CANNOT_TELL, (f"neither PTDQ nor PTSQ is resolved best in any agent ({n - sum(r.values())} of "
                                   f"{n} agents' return changes lie within each other's intervals)")
    if p >= 1 - CONFIDENCE:
        return ours, CANNOT_TELL, "the resolved wins do not separate PTDQ from PTSQ (sign test p >= 0.05)"
    if r["ptdq"] > r["ptsq"]:
        return ours, AGREES, "-" if r["qat"] <= r["ptdq"] else "PTDQ beats PTSQ, but QAT won more agents than PTDQ"
    return ours, DISAGREES, "PTSQ is resolved best in more agents than PTDQ, beyond chance"


def _norms(doc: Mapping[str, Any]) -> Judged:
    """Agrees when L2 kept more return than L1 in more agents than a sign test puts down to chance."""
    s = doc["summary"].get("structured_norms")
    if not s or not s["agents"]:
        return "no agent pruned with both norms", CANNOT_TELL, "no (agent, amount) measured with both L1 and L2"
    p = s["agents_p"]
    ours = (f"L2 kept more return in {s['l2_better']} and L1 in {s['l1_better']} of {s['pairs']} (agent, amount) "
            f"pairs; per agent (mean over amounts) L2 in {s['agents_l2_better']}, L1 in {s['agents_l1_better']} of "
            f"{s['agents']}" + ("" if p is None else f", sign test p = {p:.2g}"))
    if p is None or p >= 1 - CONFIDENCE:
        return ours, CANNOT_TELL, "the agents do not separate the norms (sign test p >= 0.05)"
    if s["agents_l2_better"] > s["agents_l1_better"]:
        return ours, AGREES, "-"
    return ours, DISAGREES, "L1 kept more return than L2 in more agents than chance gives"


def _best_amounts(doc: Mapping[str, Any]) -> Judged:
    names = dict(zip(STRUCTURED_NORMS, ("L2", "L1")))
    found = [b for b in doc["best_amounts"] if b["method"] in names and b["runtime"] == "sb3"]
    if not found:
        return "no structured pruning cell", CANNOT_TELL, "no agent pruned"
    per_agent: dict[str, list[str]] = {}
    for b in found:
        amount = "none" if b["best_amount"] is None else f"{b['best_amount']:g}"
        per_agent.setdefault(b["agent"], []).append(f"{names[b['method']]} {amount}")
    ours = "; ".join(f"{agent}: {', '.join(v)}" for agent, v in per_agent.items())
    return ours, CANNOT_TELL, "the paper's best amounts per algorithm are not transcribed here"


#: The study's claims, in the order of docs/paper.md's table.
CLAIMS: tuple[Claim, ...] = (
    Claim("size falls", "every compressed model is smaller than its baseline", "-", _size),
    Claim("energy does not fall with the return kept", "compression generally does not reduce energy (battery readings)",
          "the meter: energy modelled from the process's CPU time here, a laptop battery there; the runtime: "
          "PTDQ and PTSQ ran in ONNX Runtime there, here on both runtimes", _energy),
    Claim("memory does not fall; PTDQ and PTSQ use more memory",
          "pruning saves about 1% memory; PTDQ and PTSQ use more than the baseline",
          "the probe: a fresh process's resident memory here, the machine's memory use there", _memory),
    Claim("energy falls only when return collapses",
          "where energy fell, the return had collapsed and episodes ended early",
          "the agents: trained to 0.7x rl-zoo3's benchmark here (docs/zoo.md)", _collapse),
    Claim("PTDQ gives the best return, then QAT, PTSQ worst", "PTDQ best in 40% of cells, QAT 36%, PTSQ 24%",
          "the runtime (PyTorch's eager int8 kernels here); QAT's fine-tuning budget and calibration data; v5 vs v4 "
          "environments", _quantization),
    Claim("L2 structured pruning keeps return better than L1", "L2 pruning kept the return better than L1",
          "v5 vs v4 environments; our agents and amounts", _norms),
    Claim("the best pruning amount for each algorithm",
          "the highest ratio keeping >= 90% of the baseline's return, per algorithm and environment",
          "v5 vs v4 environments; training budgets", _best_amounts),
)


def judge_claims(doc: Mapping[str, Any]) -> list[ClaimRow]:
    """Every claim of :data:`CLAIMS` judged on the study document ``doc`` (``study.json``)."""
    rows = []
    for c in CLAIMS:
        ours, verdict, reason = c.judge(doc)
        if verdict == DISAGREES and c.differs != "-":
            reason = f"{reason}; where the settings differ: {c.differs}"
        rows.append(ClaimRow(c.claim, c.paper, ours, verdict, reason))
    return rows


def format_claims(doc: Mapping[str, Any], rows: Sequence[ClaimRow]) -> str:
    """``claims.md``: a lead line with the verdict counts, then the table."""
    counts = {v: sum(1 for r in rows if r.verdict == v) for v in CLAIM_VERDICTS}
    jobs = doc["jobs"]
    mdes = [r["energy_mde_pct"] for r in doc["cells"] if isinstance(r.get("energy_mde_pct"), (int, float))]
    resolution = "" if not mdes else (f" Resolution: the cells' A/A minimum detectable effect on energy per "
                                      f"episode is {min(mdes):.1f}% to {max(mdes):.1f}%.")
    lead = (f"The study's {len(rows)} claims against this study's {_cells(jobs['done'])} "
            f"({jobs['done']} of {jobs['total']} done): " + ", ".join(f"{n} {v}" for v, n in counts.items()) + "."
            + resolution)
    table = fmt.markdown_table(["claim", "the paper", "ours (count or interval; cells)", "verdict", "reason"],
                               [[r.claim, r.paper, r.ours, f"**{r.verdict}**", r.reason] for r in rows])
    return "\n".join(["# The paper's claims against this study", "", lead, "",
                      "Lu, Alemi, Rawassizadeh (2024), arXiv 2407.04803. Each verdict follows the rule stated in "
                      "`paradox_gym/study/claims.py`; every cell's words hold at a 5% family-wise level.", "",
                      table, ""])


__all__ = ["CLAIMS", "MEMORY_SAVING", "QUANTIZATION_ORDER", "STUDY_RUNTIMES", "Claim", "ClaimRow", "format_claims", "judge_claims",
           "memory_resolution_text", "quantization_ranks"]
