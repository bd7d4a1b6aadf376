"""Reporting of an evaluation: the result document (built once), its files (CSV, JSON, PNG) and the
printed text. Outputs are written atomically; see docs/evaluation.md for every column and the schema.
"""

from __future__ import annotations

from paradox_gym.report.files import json_safe, write_csv_atomic, write_json_atomic
from paradox_gym.report.machine import cpu_model, machine_info, software_versions
from paradox_gym.report.plots import PLOTS, write_plots
from paradox_gym.report.result import SCHEMA, EvalResult
from paradox_gym.report.rows import episode_rows, summary_rows, trial_dict
from paradox_gym.report.text import REPORT_WIDTH, format_decomposition, format_report, format_table, verdict

__all__ = [
    "PLOTS",
    "REPORT_WIDTH",
    "SCHEMA",
    "EvalResult",
    "cpu_model",
    "episode_rows",
    "format_decomposition",
    "format_report",
    "format_table",
    "json_safe",
    "machine_info",
    "software_versions",
    "summary_rows",
    "trial_dict",
    "verdict",
    "write_csv_atomic",
    "write_json_atomic",
    "write_plots",
]
