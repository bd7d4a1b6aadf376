"""The result of one evaluation: :class:`EvalResult`, built once from typed records.

``to_dict()`` is exactly the JSON document ``paradox-gym evaluate --json`` prints and ``result.json``
holds (schema in docs/evaluation.md); ``write(directory)`` writes every file once: ``episodes.csv``,
``summary.csv``, the PNG plots and ``result.json`` (last, listing the others).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paradox_gym.analysis import Analysis
from paradox_gym.compression.footprint import Footprint
from paradox_gym.experiment.device_energy import energy_by_device, energy_section
from paradox_gym.experiment.records import MemoryProbe
from paradox_gym.experiment.runner import SEED_RULE, EvaluationRun
from paradox_gym.experiment.settings import EvalSettings
from paradox_gym.report.files import json_safe, write_csv_atomic, write_json_atomic
from paradox_gym.report.plots import PLOTS, write_plots
from paradox_gym.report.rows import episode_rows, summary_rows, trial_dict
from paradox_gym.report.text import format_devices, format_report, verdict

SCHEMA = "paradox_gym.evaluation/1"


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

    @property
    def status(self) -> str:
        """``interrupted`` (Ctrl-C), ``partial`` (a replicate failed; the others are analysed) or ``complete``."""
        if self.run.interrupted:
            return "interrupted"
        return "partial" if self.run.failed_replicates else "complete"

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

    def verdicts(self) -> dict[str, str]:
        """One sentence per compressed configuration."""
        return {k: verdict(c) for k, c in self.analysis.comparisons.items()}

    def file_names(self) -> dict[str, str]:
        """Files :meth:`write` creates: key -> file name."""
        names = {"episodes_csv": "episodes.csv", "summary_csv": "summary.csv"}
        names.update({p.replace(".png", "_png"): p for p in PLOTS})
        names["result_json"] = "result.json"
        return names

    def to_dict(self, directory: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """The JSON document (plain data, non-finite floats as null); ``files`` lists the files
        :meth:`write` writes into ``directory`` (default: ``settings.out``; empty when there is none)."""
        directory = directory if directory is not None else self.settings.out
        run = self.run
        seeds = {cfg: {f"{t.replicate}.{t.trial}": list(t.seeds) for t in trials} for cfg, trials in run.trials.items()}
        files = ({k: str(Path(directory) / v) for k, v in self.file_names().items()}
                 if directory is not None else {})
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "status": self.status,
            "config": {**self.settings.to_dict(), "out": str(directory) if directory is not None else None},
            "seeds": {"warmup": list(run.warmup_seeds), "trials": seeds, "rule": SEED_RULE},
            "software": self.software,
            "machine": self.machine,
            "meters": run.meters,
            "footprints": {k: v.to_dict() for k, v in self.footprints.items()},
            "baseline_footprint": self.baseline_footprint.to_dict(),
            "recipes": dict(self.recipes),
            "memory": {k: v.to_dict() for k, v in self.memory.items()} if self.memory is not None else None,
            "trials_completed": {cfg: len(v) for cfg, v in run.trials.items()},
            "trials": {cfg: [trial_dict(t) for t in trials] for cfg, trials in run.trials.items()},
            "evaluation_s": run.elapsed_s,
            "elapsed_s": self.timings_s.get("total_s"),
            **self.analysis.to_dict(),
            "verdicts": self.verdicts(),
            "timings_s": dict(self.timings_s),
            "files": files,
        }
        if run.devices:  # per device, the headline's scope, idle power, net energy, CO2e (docs/methodology.md)
            doc["energy"] = energy_section(run.trials, run.idle_windows, run.devices, self.settings.country)
            for cfg, devices in energy_by_device(run.trials, run.idle_windows, run.devices).items():
                if cfg in doc.get("summaries", {}):
                    doc["summaries"][cfg]["energy_by_device"] = devices
        return json_safe(doc)

    def report(self) -> str:
        """The printed report (tables, verdicts, decomposition, checks)."""
        text = format_report(self.analysis, settings=self.settings, interrupted=self.run.interrupted)
        if not self.run.devices:
            return text
        doc = self.to_dict()
        return text + "\n\n" + format_devices(doc["energy"], {c: s.get("energy_by_device", {})
                                                               for c, s in doc["summaries"].items()})

    def write(self, directory: str | os.PathLike[str] | None = None) -> dict[str, str]:
        """Write every file once into ``directory`` (default ``settings.out``); returns key -> path.
        ``result.json`` is written last, so its presence means the others are complete."""
        if directory is None:
            directory = self.settings.out
        if directory is None:
            raise ValueError("no directory: pass one, or set EvalSettings.out")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        names = self.file_names()
        write_csv_atomic(out / names["episodes_csv"], episode_rows(self.run))
        write_csv_atomic(out / names["summary_csv"], summary_rows(self.analysis))
        title = f"{self.settings.algo} on {self.settings.env_id}"
        write_plots(out, self.analysis, title=title)
        write_json_atomic(out / names["result_json"], self.to_dict(out))
        return {k: str(out / v) for k, v in names.items()}


__all__ = ["SCHEMA", "EvalResult"]
