"""The result of one evaluation: :class:`EvalResult`, built once from typed records.

``to_dict()`` is exactly the JSON document ``paradox-gym evaluate --json`` prints and ``result.json``
holds (schema in docs/evaluation.md); ``write(directory)`` writes every file once: ``episodes.csv``,
``summary.csv``, the PNG plots and ``result.json`` (last, listing only the files that were written, so
its presence means every file it lists is whole).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paradox_gym._util.cli import one_line
from paradox_gym._util.files import DeferredSignals, write_bytes_atomic
from paradox_gym.analysis import Analysis, Comparison
from paradox_gym.compression.footprint import Footprint
from paradox_gym.experiment.background import background_section
from paradox_gym.experiment.design import PositionEffect, design_record, position_effect
from paradox_gym.experiment.device_energy import EnergySection, energy_section
from paradox_gym.experiment.records import MemoryProbe
from paradox_gym.experiment.runner import SEED_RULE, EvaluationRun
from paradox_gym.experiment.settings import EvalSettings
from paradox_gym.references import BaselineReference, baseline_reference
from paradox_gym.stats import MeanCI, PairedCI, finite_or_none
from paradox_gym.report.files import json_safe, write_csv_atomic, write_json_atomic
from paradox_gym.report.plots import PLOTS, write_plots
from paradox_gym.report.rows import EPISODE_COLUMNS, SUMMARY_COLUMNS, episode_rows, summary_rows, trial_dict
from paradox_gym.report.text import format_report, verdict
from paradox_gym.vocab import BASELINE

if TYPE_CHECKING:
    import pandas as pd

SCHEMA = "paradox_gym.evaluation/1"

#: key -> file name of every file :meth:`EvalResult.write` creates (``result.json`` last).
FILE_NAMES: dict[str, str] = {"report_txt": "report.txt", "episodes_csv": "episodes.csv", "summary_csv": "summary.csv",
                              **{p.replace(".png", "_png"): p for p in PLOTS}, "result_json": "result.json"}


@dataclass(frozen=True)
class EvalResult:
    """Everything one evaluation produced, as typed records.

    Attributes:
        settings: the settings it ran with (``algo`` resolved to the loaded agent's algorithm).
        run: trials and episodes per configuration (energies in J, times in s).
        analysis: summaries, comparisons against the baseline and the study's checks.
        footprints: inference-path footprint per configuration; ``baseline_footprint`` of the float one.
        recipes: the compression recipe per configuration.
        memory: fresh-process memory probe per configuration (None when skipped).
        machine, software: where and with what it ran.
        timings_s: seconds spent per stage (load, compress, memory, evaluation, analysis, total).
        files: key -> path of each file :meth:`write` wrote (empty until it has written).
        write_errors: file name -> why it could not be written (empty when every file was written).
    """

    settings: EvalSettings
    run: EvaluationRun
    analysis: Analysis
    footprints: dict[str, Footprint]
    baseline_footprint: Footprint
    recipes: dict[str, dict[str, Any]]
    memory: dict[str, MemoryProbe] | None
    machine: dict[str, Any]
    software: dict[str, str | None]
    timings_s: dict[str, float] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    write_errors: dict[str, str] = field(default_factory=dict)
    #: method -> why it was not measured: it cannot apply to this agent (see ``EvalSettings.strict``)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``interrupted`` (Ctrl-C or SIGTERM), ``failed`` (the environment, the agent or a meter raised, or a
        file could not be written: see :attr:`error`) or ``complete``; one of ``vocab.RUN_STATUSES``."""
        if self.run.interrupted:
            return "interrupted"
        return "failed" if self.error is not None else "complete"

    @property
    def error(self) -> str | None:
        """Why the run failed (one line), or None."""
        if self.run.error is not None:
            return self.run.error
        if self.write_errors:
            return "could not write " + "; ".join(f"{n} ({why})" for n, why in self.write_errors.items())
        return None

    @property
    def trials_kept(self) -> int:
        """Whole trials measured, over every configuration."""
        return sum(len(v) for v in self.run.trials.values())

    @property
    def summaries(self) -> dict[str, Any]:
        return self.analysis.summaries

    @property
    def comparisons(self) -> dict[str, Any]:
        return self.analysis.comparisons

    @property
    def checks(self) -> list[Any]:
        return self.analysis.checks

    @property
    def trials(self) -> dict[str, list[Any]]:
        return self.run.trials

    @property
    def energy(self) -> EnergySection | None:
        """Energy per device: the headline's scope and basis, each device's meter, method and idle power,
        the idle windows, the CO2e estimate and each configuration's gross and net energy per device
        (None when the run measured no device). The JSON's ``energy`` block and each summary's
        ``energy_by_device``."""
        run = self.run
        if not run.devices:
            return None
        return energy_section(run.trials, run.idle_windows, run.devices, self.settings.country)

    @property
    def position_effect(self) -> PositionEffect:
        """First in the round against later (energy per step, replicate-level interval); ``.note()`` is the
        sentence the report prints (also ``design.position_effect.note`` in the JSON)."""
        return position_effect(self.run.trials, self.run.primary_meter)

    @property
    def baseline_reference(self) -> BaselineReference | None:
        """The baseline's mean return against rl-zoo3's benchmark for this algorithm and environment (None
        where it has none); its ``warning`` is set when the agent reaches less than half the reference."""
        summary = self.analysis.summaries.get(BASELINE)
        return baseline_reference(self.settings.algo, self.settings.env_id,
                                  summary.ret.mean if summary is not None else None)

    def verdicts(self) -> dict[str, str]:
        """One sentence per compressed configuration."""
        return {k: verdict(c) for k, c in self.analysis.comparisons.items()}

    def file_names(self) -> dict[str, str]:
        """Files :meth:`write` creates: key -> file name."""
        return dict(FILE_NAMES)

    def to_dict(self, directory: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """The JSON document (plain data, non-finite floats as null); ``files`` lists the files
        :meth:`write` wrote (before it has written: the files it would write into ``directory``, default
        ``settings.out``; empty when there is none)."""
        directory = directory if directory is not None else self.settings.out
        run = self.run
        seeds = {cfg: {f"{t.replicate}.{t.trial}": list(t.seeds) for t in trials} for cfg, trials in run.trials.items()}
        if self.files or self.write_errors:
            files = dict(self.files)
        else:
            files = ({k: str(Path(directory) / v) for k, v in FILE_NAMES.items()} if directory is not None else {})
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "status": self.status,
            "error": self.error,
            "config": {**self.settings.to_dict(), "out": str(directory) if directory is not None else None},
            "seeds": {"warmup": list(run.warmup_seeds), "trials": seeds, "rule": SEED_RULE},
            "design": design_record(run.orders, run.order_seed, self.settings.configs, run.trials, run.primary_meter),
            "software": self.software,
            "machine": self.machine,
            "meters": run.meters,
            "footprints": {k: v.to_dict() for k, v in self.footprints.items()},
            "baseline_footprint": self.baseline_footprint.to_dict(),
            "recipes": dict(self.recipes),
            "baseline_reference": reference.to_dict() if (reference := self.baseline_reference) else None,
            "memory": {k: v.to_dict() for k, v in self.memory.items()} if self.memory is not None else None,
            "trials_completed": {cfg: len(v) for cfg, v in run.trials.items()},
            "trials": {cfg: [trial_dict(t) for t in trials] for cfg, trials in run.trials.items()},
            "evaluation_s": run.elapsed_s,
            "background": background_section(run.background),
            "elapsed_s": self.timings_s.get("total_s"),
            **self.analysis.to_dict(),
            "verdicts": self.verdicts(),
            "timings_s": dict(self.timings_s),
            "files": files,
            "write_errors": dict(self.write_errors),
            "skipped": dict(self.skipped),
        }
        energy = self.energy
        if energy is not None:  # per device, the headline's scope, idle power, net energy, CO2e (docs/methodology.md)
            doc["energy"] = energy.to_dict()
            for cfg, devices in energy.by_device_dict().items():
                if cfg in doc.get("summaries", {}):
                    doc["summaries"][cfg]["energy_by_device"] = devices
        return json_safe(doc)

    def to_frame(self) -> "pd.DataFrame":
        """A tidy pandas DataFrame, one row per configuration (the baseline ``none`` first): its return, energy
        per episode and per step (J, with ``energy_method`` saying how they were obtained), size and policy
        latency, and against its baseline (``baseline``) the ratios with their interval bounds (``*_low`` /
        ``*_high``, at the confidence the verdicts use) and the verdict words. Empty cells are NaN / None."""
        import pandas as pd

        rows = [_frame_row(self, cfg) for cfg in self.settings.configs if cfg in self.analysis.summaries]
        return pd.DataFrame.from_records(rows, columns=FRAME_COLUMNS)

    def _repr_html_(self) -> str:
        """Jupyter's view of a result: the report's first screen (summary table and answer)."""
        import html

        return f"<pre>{html.escape(self.report(details=False))}</pre>"

    def report(self, *, details: bool = True) -> str:
        """The report as text: the first screen (one row per configuration and a summary sentence), then,
        with ``details``, the tables, notes, verdict sentences, decomposition, checks and devices."""
        hint = None
        if not details:
            where = self.files.get("report_txt")
            hint = (f"details: {where} (or --details)" if where else "details: --details")
        text = format_report(self, details=details, details_hint=hint)
        if not self.skipped:
            return text
        lines = [f"  {method}: {why}" for method, why in self.skipped.items()]
        return "\n".join([text, "", "Skipped (cannot apply to this agent; strict=True / --strict stops instead):",
                          *lines])

    def write(self, directory: str | os.PathLike[str] | None = None) -> dict[str, str]:
        """Write every file once into ``directory`` (default ``settings.out``); returns key -> path of the
        files written (also kept in :attr:`files`).

        The previous run's files of these names are removed first; each file is written atomically; a file
        that cannot be written (disk full, permissions) is recorded in :attr:`write_errors` (the run's
        ``status`` becomes ``failed``) and the others are still written. ``result.json`` comes last and
        lists only the files written, so its presence means every file it lists is whole. Ctrl-C and
        SIGTERM wait until the files are written (in the main thread).
        """
        if directory is None:
            directory = self.settings.out
        if directory is None:
            raise ValueError("no directory: pass one, or set EvalSettings.out")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        title = f"{self.settings.algo} on {self.settings.env_id}"
        writers = {
            "episodes_csv": lambda: write_csv_atomic(out / FILE_NAMES["episodes_csv"], episode_rows(self.run),
                                                     empty_columns=EPISODE_COLUMNS),
            "summary_csv": lambda: write_csv_atomic(out / FILE_NAMES["summary_csv"], summary_rows(self.analysis),
                                                    empty_columns=SUMMARY_COLUMNS),
            "plots": lambda: write_plots(out, self.analysis, title=title),
            "report_txt": lambda: write_bytes_atomic(out / FILE_NAMES["report_txt"],
                                                     (self.report(details=True) + "\n").encode("utf-8")),
        }
        with DeferredSignals():
            self.files.clear()
            self.write_errors.clear()
            for name in FILE_NAMES.values():  # this run's files replace the previous run's set, none kept
                stale = out / name
                if stale.is_file() and not stale.is_symlink():
                    try:
                        stale.unlink()
                    except OSError:
                        pass
            for key, writer in writers.items():
                try:
                    writer()
                except Exception as exc:  # noqa: BLE001 - OSError, or a plotting fault: in write_errors, others written
                    why = (exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(exc))
                    self.write_errors[FILE_NAMES.get(key, "plots")] = why or type(exc).__name__
            for key, name in FILE_NAMES.items():
                if key != "result_json" and (out / name).is_file():
                    self.files[key] = str(out / name)
            self.files["result_json"] = str(out / FILE_NAMES["result_json"])
            try:
                write_json_atomic(out / FILE_NAMES["result_json"], self.to_dict(out))
            except Exception as exc:  # noqa: BLE001 - OSError or any fault: in write_errors, the caller says so
                del self.files["result_json"]
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(exc)
                self.write_errors[FILE_NAMES["result_json"]] = why or type(exc).__name__
        return dict(self.files)


#: Columns of :meth:`EvalResult.to_frame`, in order.
FRAME_COLUMNS: tuple[str, ...] = (
    "config", "baseline", "status", "energy_method", "energy_meter", "episodes", "steps",
    "return_mean", "return_low", "return_high", "length_mean",
    "energy_per_episode_j", "energy_per_episode_j_low", "energy_per_episode_j_high",
    "energy_per_step_j", "energy_per_step_j_low", "energy_per_step_j_high",
    "size_bytes", "parameters", "nonzero_parameters", "policy_us_per_step", "peak_rss_bytes",
    "return_ratio", "return_ratio_low", "return_ratio_high",
    "energy_per_episode_ratio", "energy_per_episode_ratio_low", "energy_per_episode_ratio_high",
    "energy_per_step_ratio", "energy_per_step_ratio_low", "energy_per_step_ratio_high",
    "latency_ratio", "latency_ratio_low", "latency_ratio_high", "size_ratio",
    "energy_verdict", "return_verdict", "saving", "mechanism", "verdict",
)


def _mean(ci: MeanCI) -> tuple[float | None, float | None, float | None]:
    return finite_or_none(ci.mean), finite_or_none(ci.low), finite_or_none(ci.high)


def _ratio(ci: PairedCI | None) -> tuple[float | None, float | None, float | None]:
    if ci is None:
        return None, None, None
    return finite_or_none(ci.ratio), finite_or_none(ci.ratio_low), finite_or_none(ci.ratio_high)


def _frame_row(result: EvalResult, config: str) -> dict[str, Any]:
    """One row of :meth:`EvalResult.to_frame` (None where the run has no figure; the values of the JSON)."""
    s = result.analysis.summaries[config]
    c: Comparison | None = result.analysis.comparisons.get(config)
    v = c.verdict if c is not None else None
    fp, mem = s.footprint, s.memory
    row: dict[str, Any] = {
        "config": config, "baseline": c.baseline if c is not None else None, "status": result.status,
        "energy_method": s.energy_method, "energy_meter": s.energy_meter, "episodes": s.episodes, "steps": s.steps,
        "length_mean": finite_or_none(s.length.mean),
        "size_bytes": fp.serialized_bytes if fp is not None else None,
        "parameters": fp.parameters if fp is not None else None,
        "nonzero_parameters": fp.nonzero_parameters if fp is not None else None,
        "policy_us_per_step": finite_or_none(s.policy_us_per_step.mean),
        "peak_rss_bytes": mem.peak_rss_bytes if mem is not None else None,
        "size_ratio": finite_or_none(c.size_ratio) if c is not None else None,
        "energy_verdict": v.energy if v is not None else None, "return_verdict": v.return_ if v is not None else None,
        "saving": v.saving if v is not None else None, "mechanism": v.mechanism if v is not None else None,
        "verdict": verdict(c) if c is not None else None,
    }
    row["return_mean"], row["return_low"], row["return_high"] = _mean(s.ret)
    for name in ("energy_per_episode_j", "energy_per_step_j"):
        row[name], row[f"{name}_low"], row[f"{name}_high"] = _mean(getattr(s, name))
    for name, key in (("return", "ret"), ("energy_per_episode", "energy_per_episode"),
                      ("energy_per_step", "energy_per_step"), ("latency", "policy_time_per_step")):
        ci = getattr(c, key) if c is not None else None
        row[f"{name}_ratio"], row[f"{name}_ratio_low"], row[f"{name}_ratio_high"] = _ratio(ci)
    return row

__all__ = ["FILE_NAMES", "FRAME_COLUMNS", "SCHEMA", "EvalResult"]
