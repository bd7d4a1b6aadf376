"""The machine's CPU as /proc/cpuinfo and the OS describe it: model name, packages, logical CPUs."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpuinfo_text(path: Path = Path("/proc/cpuinfo")) -> str:
    """The text of /proc/cpuinfo, or ``""`` where it cannot be read (not Linux)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def cpu_model(cpuinfo: str | None = None) -> str:
    """CPU model name from /proc/cpuinfo (the first non-empty ``model name``), else ``platform.processor()``,
    else ``""``. It enters the machine fingerprint of every study job: change it and stored jobs read as
    another machine's."""
    text = cpuinfo_text() if cpuinfo is None else cpuinfo
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "model name" and value.strip():
            return value.strip()
    return platform.processor().strip()


def cpu_name(cpuinfo: str | None = None) -> str:
    """The CPU's name to record and print: :func:`cpu_model`, else the architecture (``x86_64``)."""
    return cpu_model(cpuinfo) or platform.machine()


def count_packages(cpuinfo: str | None = None) -> int:
    """Number of distinct ``physical id`` values in /proc/cpuinfo (1 when absent)."""
    text = cpuinfo_text() if cpuinfo is None else cpuinfo
    ids = {
        line.partition(":")[2].strip()
        for line in text.splitlines()
        if line.partition(":")[0].strip().lower() == "physical id"
    }
    return max(len(ids), 1)


def logical_cpus() -> int:
    """Logical CPUs of the machine (``os.cpu_count()``, at least 1): the per-core power divisor."""
    return max(os.cpu_count() or 1, 1)
