"""CPU thermal design power (TDP, W) from the table CodeCarbon ships, with CodeCarbon's matching rules.

The table is ``codecarbon/data/hardware/cpu_power.csv`` (columns ``Name,TDP``; TDP of one package in
W). The CPU model name comes from ``/proc/cpuinfo`` (``model name``), else ``platform.processor()``.
Matching follows CodeCarbon 3.x: an exact case-insensitive match, then the same after removing
``(R)``, ``" CPU @ ..."``, ``" CPU"`` and ``"@ x.xxGHz"``, then a token-set match that must score 100
and be unique (rapidfuzz, a CodeCarbon dependency). No match -> 4 W per logical CPU, CodeCarbon 3.x's
default for an unknown CPU (``DEFAULT_POWER_PER_CORE``), so that both sides of the cross-check start from
the same assumption.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache

from paradox_gym._util.cpu import count_packages, cpu_model, cpuinfo_text, logical_cpus

#: Power (W) per logical CPU assumed when the CPU is not in the table (CodeCarbon 3.x's
#: ``DEFAULT_POWER_PER_CORE``: an unknown CPU gets ``4 W x logical CPUs``).
FALLBACK_W_PER_LOGICAL_CPU = 4.0


@dataclass(frozen=True)
class TdpInfo:
    """A package TDP and where it came from.

    Attributes:
        tdp_w: TDP of one CPU package (W).
        packages: number of CPU packages (sockets) found in /proc/cpuinfo (1 if unknown).
        source: ``"user"`` (given by the user), ``"table"`` (matched in CodeCarbon's table) or
            ``"fallback"`` (not found: 4 W per logical CPU).
        cpu_model: the CPU model name detected (``""`` if none).
        match: the table row name that matched (``""`` unless source is ``"table"``).
    """

    tdp_w: float
    packages: int
    source: str
    cpu_model: str
    match: str = ""

    @property
    def machine_w(self) -> float:
        """Power (W) of all CPU packages at TDP: ``tdp_w x packages``."""
        return self.tdp_w * self.packages


@lru_cache(maxsize=1)
def load_tdp_table() -> dict[str, float]:
    """CodeCarbon's CPU table as ``{name: TDP W}`` (empty when CodeCarbon is not installed)."""
    try:
        from importlib.resources import files

        text = (files("codecarbon") / "data" / "hardware" / "cpu_power.csv").read_text()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return {}
    table: dict[str, float] = {}
    for row in csv.DictReader(io.StringIO(text)):
        try:
            table[row["Name"]] = float(row["TDP"])
        except (KeyError, TypeError, ValueError):
            continue
    return table


def _clean(model: str) -> str:
    model = model.replace("(R)", "")
    cut = model.find(" CPU @ ")
    if cut > 0:
        model = model[:cut]
    model = model.replace(" CPU", "")
    return re.sub(r" @\s*\d+\.\d+GHz", "", model).strip()


def match_cpu(model: str, table: dict[str, float]) -> str | None:
    """Name of the table row matching ``model`` with CodeCarbon's rules, or None."""
    if not model or not table:
        return None
    lowered = {name.lower(): name for name in table}
    for candidate in (model, _clean(model)):
        hit = lowered.get(candidate.lower().strip())
        if hit is not None:
            return hit
    try:
        from rapidfuzz import fuzz, process, utils
    except ImportError:
        return None
    matches = process.extract(
        _clean(model),
        list(table),
        processor=utils.default_process,
        scorer=fuzz.token_set_ratio,
        score_cutoff=100,
        limit=None,
    )
    if len(matches) == 1:
        return str(matches[0][0])
    return None


def resolve_tdp(cpu_tdp_w: float | None = None, cpuinfo: str | None = None) -> TdpInfo:
    """The TDP to use: the user's ``cpu_tdp_w`` (W per package), else the table, else 4 W per logical CPU."""
    text = cpuinfo_text() if cpuinfo is None else cpuinfo
    model = cpu_model(text)
    packages = count_packages(text)
    if cpu_tdp_w is not None:
        return TdpInfo(float(cpu_tdp_w), packages, "user", model)
    table = load_tdp_table()
    name = match_cpu(model, table)
    if name is not None:
        return TdpInfo(table[name], packages, "table", model, name)
    return TdpInfo(FALLBACK_W_PER_LOGICAL_CPU * logical_cpus() / packages, packages, "fallback", model)
