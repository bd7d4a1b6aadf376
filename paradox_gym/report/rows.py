"""Records -> flat rows for CSV files and the JSON document (the only place records become dicts)."""

from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np

from paradox_gym.report.files import json_safe
from paradox_gym.report.text import verdict


def trial_dict(trial: Any) -> dict[str, Any]:
    """One trial as plain data (energies in J, times in s; latencies summarised, not listed)."""
    lat = np.asarray(trial.policy_ns)
    return {
        "trial": trial.trial, "replicate": trial.replicate, "position": trial.position,
        "seeds": list(trial.seeds), "returns": list(trial.returns),
        "lengths": list(trial.lengths), "steps": trial.steps, "wall_s": trial.wall_s, "cpu_s": trial.cpu_s,
        "energy_j": dict(trial.energy_j), "energy_method": dict(trial.energy_method),
        "energy_status": dict(trial.energy_status), "phase_energy_j": trial.phase_energy_j,
        "phase_wall_s": trial.phase_wall_s, "phase_cpu_s": trial.phase_cpu_s,
        "policy_us_p50": float(np.percentile(lat, 50)) / 1e3 if lat.size else None,
        "policy_us_p95": float(np.percentile(lat, 95)) / 1e3 if lat.size else None,
        "crosscheck": None if trial.crosscheck is None else trial.crosscheck.to_dict(),
        "energy_note": dict(trial.energy_note),
        "phase_clock": trial.phase_clock, "rollout_cpu_s": trial.rollout_cpu_s,
        "rollout_cpu_share": trial.rollout_cpu_share, "phase_split_reliable": trial.phase_split_reliable,
        "device_energy_j": dict(trial.device_energy_j), "device_machine_j": dict(trial.device_machine_j),
    }


#: The columns every episodes.csv starts with (the rest: the energy window's figures per meter and device).
EPISODE_COLUMNS: tuple[str, ...] = ("config", "replicate", "trial", "episode", "seed", "return", "length", "wall_s")
#: The first column of summary.csv (one row per configuration).
SUMMARY_COLUMNS: tuple[str, ...] = ("config",)


def episode_rows(run: Any) -> list[dict[str, Any]]:
    """One row per measured episode of the complete trials."""
    complete = {(cfg, t.replicate, t.trial) for cfg, trials in run.trials.items() for t in trials}
    rows = []
    for ep in run.episodes:
        if (ep.config, ep.replicate, ep.trial) not in complete:
            continue
        row: dict[str, Any] = {
            "config": ep.config, "replicate": ep.replicate, "trial": ep.trial, "episode": ep.episode,
            "seed": ep.seed,
            "return": ep.ret, "length": ep.length, "wall_s": ep.wall_s,
        }
        for key, value in ep.window.items():
            if key in ("kind", "index", "wall_s", "steps"):
                continue
            row[key] = value
        rows.append(row)
    return rows


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)):
        out[prefix] = json.dumps(json_safe(value))
    else:
        out[prefix] = value


def summary_rows(analysis: Any) -> list[dict[str, Any]]:
    """One row per configuration: its summary and (compressed configurations) its comparison and verdict."""
    rows = []
    for cfg, summary in analysis.summaries.items():
        row: dict[str, Any] = {}
        _flatten("", summary.to_dict(), row)
        comp = analysis.comparisons.get(cfg)
        if comp is not None:
            _flatten("vs_baseline", comp.to_dict(), row)
            row["vs_baseline.verdict"] = verdict(comp)
        rows.append(row)
    return rows
