"""The result of a crossover map: :class:`CrossoverResult` (rows, frontier, A/A control, machine), its
table (``to_frame``), its files (``write``: parquet, CSV, JSON, heatmap PNG, summary text) and its summary
sentences ("ptdq pays from width 1024 at batch 1 ... (torch, this CPU)").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from paradox_gym.crossover.analysis import COSTS, PAYS, CellRow, ControlSummary, FrontierPoint

SCHEMA = "paradox_gym.crossover.map/1"
FILES = {"table_parquet": "crossover.parquet", "table_csv": "crossover.csv", "json": "crossover.json",
         "heatmap": "crossover.png", "summary": "summary.txt"}
#: What the map measures, stated with every result.
SCOPE = ("cost per decision (one observation -> one action) of synthetic policies with random weights; "
         "the map measures cost, not return: a method that pays here may still lose a real agent's return")


def _f(x: float | None, spec: str = ".3g") -> str:
    return "n/a" if x is None else format(x, spec)


@dataclass(frozen=True)
class CrossoverResult:
    """A crossover map.

    Attributes:
        settings: the map's settings (``CrossoverSettings.to_dict()``).
        rows: one per cell and method (see :class:`~paradox_gym.crossover.analysis.CellRow`).
        frontier: the break-even width per method, runtime and batch.
        controls: the A/A control's minimum detectable effect per runtime.
        machine: the machine and software (``report.machine.machine_info``) with its ``fingerprint``.
        run: how the map was made: wall time (s), load averages before and after, jobs run and read back,
            the command.
        failed: one line per job that failed (its cells are missing from ``rows``).
    """

    settings: dict[str, Any]
    rows: tuple[CellRow, ...]
    frontier: tuple[FrontierPoint, ...]
    controls: tuple[ControlSummary, ...]
    machine: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict)
    failed: tuple[str, ...] = ()

    def to_frame(self) -> Any:
        """The tidy table: one row per (width, batch, runtime, method), as a pandas DataFrame."""
        import pandas as pd

        columns = list(CellRow.__dataclass_fields__)
        frame = pd.DataFrame([r.to_dict() for r in self.rows], columns=columns)
        frame["machine_fingerprint"] = self.machine.get("fingerprint")
        return frame

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "scope": SCOPE, "settings": self.settings, "machine": self.machine,
                "run": self.run, "rows": [r.to_dict() for r in self.rows],
                "frontier": [p.to_dict() for p in self.frontier],
                "controls": [c.to_dict() for c in self.controls], "failed": list(self.failed),
                "summary": self.summary_lines()}

    # -- text -------------------------------------------------------------------------------------
    def summary_lines(self) -> list[str]:
        """The map in sentences: per method and runtime where it pays (the frontier), where it costs more,
        the energy method, the A/A control's resolution, the agents marked."""
        where = "this GPU" if self.settings.get("device") == "cuda" else "this CPU"
        lines = []
        for method in self.settings["methods"]:
            for runtime in self.settings["runtimes"]:
                points = [p for p in self.frontier if p.method == method and p.runtime == runtime]
                if not points:
                    continue
                lines.append(_pays_sentence(method, runtime, where, points, self.rows))
        lines.append(f"Energy: {self.energy_label()}; {SCOPE}.")
        short = sum(r.short_trials for r in self.rows)
        if short:
            lines.append(f"{short} trial windows (method or float) were shorter than the meter's resolution or "
                         "minimum CPU time; their figures are kept and counted per row (short_trials).")
        for c in self.controls:
            lines.append(f"A/A control ({c.runtime}): minimum detectable effect {_f(c.mde_median_pct, '.0f')}% "
                         f"(median over {c.cells} cells; largest {_f(c.mde_max_pct, '.0f')}%) at "
                         f"{100 * (c.confidence or 0):.2f}% confidence (the Holm family's strictest level).")
        lines.extend(self.agent_lines())
        lines.extend(f"FAILED: {f}" for f in self.failed)
        return lines

    def energy_label(self) -> str:
        rows = self.rows
        if not rows:
            return "no figure"
        if self.settings.get("device") == "cuda":
            return "measured (NVML GPU energy counter, net of the idle power measured before each replicate's trials)"
        methods = sorted({r.energy_method for r in rows})
        note = self.run.get("meter_note") or ""
        return f"{'/'.join(methods)} (CPU time x TDP per busy CPU: {note})" if note else "/".join(methods)

    def agent_lines(self) -> list[str]:
        lines = []
        for label, width, batch in self.settings.get("agents", []):
            here = [r for r in self.rows if r.width == width and r.batch == batch]
            if not here:
                lines.append(f"Agent {label} (width {width}, batch {batch}): not a cell of this map")
                continue
            parts = [f"{r.method} on {r.runtime} x{_f(r.energy_ratio)} [{_f(r.ratio_low)}, {_f(r.ratio_high)}] "
                     f"{r.verdict}" for r in here]
            lines.append(f"Agent {label} (width {width}, batch {batch}): " + "; ".join(parts))
        return lines

    def report(self) -> str:
        """The printed report: the summary, then one line per cell."""
        out = list(self.summary_lines())
        out.append("")
        out.append(f"{'width':>5} {'batch':>5} {'runtime':<12} {'method':<16} {'energy ratio [CI] (level)':<36} "
                   f"{'verdict':<20} {'CPU us/decision float -> method':<32} x floor (float -> method)")
        for r in sorted(self.rows, key=lambda r: (r.method, r.runtime, r.width, r.batch)):
            ratio = f"{_f(r.energy_ratio)} [{_f(r.ratio_low)}, {_f(r.ratio_high)}] ({100 * (r.confidence or 0):.2f}%)"
            cpu = f"{_us(r.baseline_cpu_time_s)} -> {_us(r.cpu_time_s)}"
            out.append(f"{r.width:>5} {r.batch:>5} {r.runtime:<12} {r.method:<16} {ratio:<36} {r.verdict:<20} "
                       f"{cpu:<32} {_f(r.baseline_multiple)} -> {_f(r.multiple)}")
        run = self.run
        if run.get("wall_s") is not None:
            out.append("")
            out.append(f"Wall time {run['wall_s']:.0f} s; the jobs' own measuring time {run.get('jobs_elapsed_s', 0):.0f} s "
                       f"({run.get('jobs_run', 0)} jobs measured now, "
                       f"{run.get('jobs_done_before', 0)} read back); load average "
                       f"{_load(run.get('load_before'))} before, {_load(run.get('load_after'))} after; "
                       f"machine {self.machine.get('fingerprint')} ({self.machine.get('cpu_model')}, "
                       f"{self.machine.get('cpu_count')} logical CPUs)")
        return "\n".join(out)

    # -- files ------------------------------------------------------------------------------------
    def write(self, out: str | Path) -> dict[str, str]:
        """Write the table (parquet, CSV), ``crossover.json``, the heatmap and ``summary.txt`` under ``out``."""
        from paradox_gym._util.files import write_bytes_atomic
        from paradox_gym.crossover.plots import write_heatmap
        from paradox_gym.report.files import write_csv_atomic, write_json_atomic

        out = Path(out)
        paths = {k: out / v for k, v in FILES.items()}
        frame = self.to_frame()
        import io

        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        write_bytes_atomic(paths["table_parquet"], buf.getvalue())
        write_csv_atomic(paths["table_csv"], frame.to_dict("records"), list(frame.columns))
        write_json_atomic(paths["json"], self.to_dict())
        write_heatmap(paths["heatmap"], self)
        write_bytes_atomic(paths["summary"], ("\n".join(self.summary_lines()) + "\n").encode())
        return {k: str(v) for k, v in paths.items()}


def _us(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e6:.3g}"


def _load(load: Any) -> str:
    return "/".join(f"{x:.2f}" for x in load) if load else "n/a"


def _pays_sentence(method: str, runtime: str, where: str, points: Sequence[FrontierPoint],
                   rows: Sequence[CellRow]) -> str:
    """``ptdq pays from width 1024 at batch 1, and from width 256 at batch 256 (torch, this CPU); not shown
    to pay at batch 8; it costs more in 5 of 16 cells (largest: width 64 at batch 256, x1.99 [1.8, 2.2])``."""
    paying = [p for p in points if p.width is not None]
    parts = [f"from width {p.width} at batch {p.batch} (x{_f(p.energy_ratio)} [{_f(p.ratio_low)}, "
             f"{_f(p.ratio_high)}])" for p in paying]
    head = (f"{method} pays " + ", and ".join(parts) if parts else f"{method} is not shown to pay at any measured cell")
    text = f"{head} ({runtime}, {where})"
    never = [p.batch for p in points if p.width is None]
    if paying and never:
        text += f"; not shown to pay at batch {', '.join(str(b) for b in never)}"
    isolated = [f"width {w} at batch {p.batch}" for p in points for w in p.isolated]
    if isolated:
        text += f"; also pays at {', '.join(isolated)}, below a width where it does not"
    mine = [r for r in rows if r.method == method and r.runtime == runtime]
    costs = [r for r in mine if r.verdict == COSTS]
    if costs:
        worst = max(costs, key=lambda r: r.energy_ratio or 0.0)
        text += (f"; it costs more in {len(costs)} of {len(mine)} cells (most: width {worst.width} at batch "
                 f"{worst.batch}, x{_f(worst.energy_ratio)} [{_f(worst.ratio_low)}, {_f(worst.ratio_high)}])")
    elif not any(r.verdict == PAYS for r in mine):
        text += "; no cell shows a change"
    return text + "."


__all__ = ["FILES", "SCHEMA", "SCOPE", "CrossoverResult"]
