"""Which job records the study report can read: every field it uses and every column of the row it makes,
checked by type and by range before anything is written.

A job file is written by a sweep, but it is a file on disk: it may be edited, truncated, or come from another
version. A record fails here (ValueError naming the field or column and its value) when:

- a number is not finite (NaN, ``1e400`` read as infinity) or is an integer outside int64
  (``10**300``: what a parquet or CSV column can hold);
- a word column holds a word outside its vocabulary (a method, a direction word, an energy method...);
- a text column is not text, is longer than :data:`MAX_TEXT_CHARS`, or cannot be written as UTF-8;
- a required field or column is missing.

The report leaves such a record out, with a ``warning:`` line and a line under "Files left out".
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from paradox_gym._util.checks import shown
from paradox_gym.compression.registry import METHOD_TABLE
from paradox_gym.compression.runtimes import RUNTIMES
from paradox_gym.study.executors import EXECUTORS
from paradox_gym.study.jobs import MEASUREMENTS
from paradox_gym.study.rows import cell_row, record_configs, record_runtime, study_code_row
from paradox_gym.vocab import ENERGY_METHODS, ENERGY_WORDS, MECHANISMS, RETURN_WORDS

#: Smallest and largest integer a column may hold (int64, the widest integer parquet and pandas store).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Longest text a column may hold (labels, hosts, fingerprints, verdict sentences).
MAX_TEXT_CHARS = 10_000

#: Row columns that hold words (or None); ``return_kept`` is a bool, ``noisy``, ``energy_saving`` and
#: ``weak_agent`` a bool or None; every other column a finite number or None.
TEXT_COLUMNS = frozenset({
    "job_id", "agent", "env_id", "algo", "agent_sha256", "method", "runtime", "host", "machine_fingerprint", "executor",
    "measurement", "energy_meter", "energy_method", "return_direction", "return_verdict",
    "energy_per_episode_direction", "mechanism", "energy_per_step_direction", "latency_direction", "verdict",
    "reference_source", "paradox_gym_commit", "started_at",
})
FLAG_COLUMNS = frozenset({"return_kept", "noisy", "energy_saving", "weak_agent"})
REQUIRED_TEXT = ("job_id", "agent", "env_id", "algo", "method", "return_direction", "energy_per_episode_direction",
                 "energy_per_step_direction", "latency_direction")

#: Interval directions (:func:`paradox_gym.stats.direction`), and the word of a job that shared its machine.
_DIRECTIONS = ("higher", "lower", "unchanged", "undetermined", "not measured")
#: Columns whose words come from a vocabulary: column -> the valid words.
KNOWN_WORDS: dict[str, frozenset[str]] = {
    "method": frozenset(METHOD_TABLE),
    "runtime": frozenset(RUNTIMES),
    "measurement": frozenset(MEASUREMENTS),
    "executor": frozenset(EXECUTORS),
    "energy_method": frozenset((*ENERGY_METHODS, "mixed")),
    "return_direction": frozenset(_DIRECTIONS),
    "energy_per_episode_direction": frozenset((*_DIRECTIONS, *ENERGY_WORDS)),
    "energy_per_step_direction": frozenset(_DIRECTIONS),
    "latency_direction": frozenset(_DIRECTIONS),
    "return_verdict": frozenset(RETURN_WORDS),
    "mechanism": frozenset(MECHANISMS),
}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_number(name: str, value: Any) -> None:
    """``value`` is a finite float or an integer within int64 (ValueError naming ``name`` otherwise)."""
    if not is_number(value):
        raise ValueError(f"{name} is {shown(value)}, not a number")
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{name} is {shown(value)}, outside the 64-bit integer range")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} is {shown(value)}, not a finite number")


def check_text(name: str, value: Any) -> None:
    """``value`` is a string of at most MAX_TEXT_CHARS that UTF-8 can hold (its words known, where the column
    has a vocabulary)."""
    if not isinstance(value, str):
        raise ValueError(f"{name} is {shown(value)}, not text")
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"{name} is {len(value)} characters long, more than {MAX_TEXT_CHARS}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} is {shown(value)}, not text UTF-8 can hold (a lone surrogate)") from None
    words = KNOWN_WORDS.get(name.rpartition(" ")[2])
    if words is not None and value not in words:
        raise ValueError(f"{name} is {shown(value)}, not one of {', '.join(sorted(words))}")


def check_row(row: Mapping[str, Any], what: str) -> None:
    """Raise ValueError naming the first column of ``row`` whose value has the wrong type or range."""
    for key, value in row.items():
        name = f"{what} column {key}"
        if value is None:
            if key in REQUIRED_TEXT or key == "return_kept":
                raise ValueError(f"{what} has no {key}")
        elif key in TEXT_COLUMNS:
            check_text(name, value)
        elif key in FLAG_COLUMNS:
            if not isinstance(value, bool):
                raise ValueError(f"{name} is {shown(value)}, not true or false")
        else:
            check_number(name, value)


def check_record_fields(record: Mapping[str, Any]) -> None:
    """The fields of a job record the report reads, by type and range (ValueError naming the first that is
    wrong)."""
    method = record.get("method")
    if not isinstance(method, str) or method not in METHOD_TABLE:
        raise ValueError(f"its method is {shown(method)}, not one of {', '.join(METHOD_TABLE)}")
    amount = record.get("amount")
    if amount is not None and not (is_number(amount) and math.isfinite(amount) and 0.0 <= amount < 1.0):
        raise ValueError(f"its amount is {shown(amount)}, not a fraction in [0, 1)")
    for key in ("identity", "agent", "result"):
        if not isinstance(record.get(key, {}), Mapping):
            raise ValueError(f"its {key} is not a mapping")
    runtime = record_runtime(record)
    if not isinstance(runtime, str) or runtime not in RUNTIMES:
        raise ValueError(f"its runtime is {shown(runtime)}, not one of {', '.join(RUNTIMES)}")
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
    for i, note in enumerate(notes):
        check_text(f"its result's note {i}", note)
    episodes = record.get("episodes") or []
    if not isinstance(episodes, list) or not all(isinstance(e, Mapping) for e in episodes):
        raise ValueError("its episodes are not a list of mappings")
    for e in episodes:
        for key in ("return", "wall_s", "length"):
            if key in e:
                check_number(f"an episode's {key}", e[key])
    machine = result.get("machine") or {}
    for key in ("cpu_model", "cpu_count"):
        value = machine.get(key)
        if isinstance(value, str):
            check_text(f"its machine's {key}", value)
        elif value is not None:
            check_number(f"its machine's {key}", value)


def parse_record(record: Mapping[str, Any], margin: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A job record's row and its study-code rows (baseline and compressed); ValueError (or any exception
    from the rows' arithmetic) when the record is not one this report can read."""
    check_record_fields(record)
    row = cell_row(record, margin)
    check_row(row, "its row")
    base_config, config = record_configs(record)
    code = [study_code_row(record, base_config, 0.0), study_code_row(record, config, record.get("amount"))]
    for c in code:
        check_row({k: v for k, v in c.items() if k not in ("algo", "env_id", "method")}, "its study-code row")
    return row, code


__all__ = ["INT64_MAX", "INT64_MIN", "KNOWN_WORDS", "MAX_TEXT_CHARS", "check_number", "check_record_fields",
           "check_row", "check_text", "is_number", "parse_record"]
