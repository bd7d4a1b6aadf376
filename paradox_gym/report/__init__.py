"""Reporting of an evaluation: the result document (built once), its files (CSV, JSON, PNG) and the
printed text. Outputs are written atomically; see docs/evaluation.md for every column and the schema.

Names are imported on first use, so that the leaf :mod:`paradox_gym.report.format` (every number the
package prints) can be imported by the analysis without importing the rest of the report.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "json_safe": "files", "write_csv_atomic": "files", "write_json_atomic": "files",
    "machine_info": "machine", "software_versions": "machine",
    "PLOTS": "plots", "write_plots": "plots",
    "SCHEMA": "result", "EvalResult": "result",
    "episode_rows": "rows", "summary_rows": "rows", "trial_dict": "rows",
    "REPORT_WIDTH": "text", "format_decomposition": "text", "format_report": "text", "format_table": "text",
    "verdict": "text",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'paradox_gym.report' has no attribute {name!r}")
    return getattr(importlib.import_module(f"paradox_gym.report.{module}"), name)
