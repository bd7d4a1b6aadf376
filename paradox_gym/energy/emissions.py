"""Grams of CO2-equivalent from joules, with CodeCarbon's offline carbon-intensity data (an estimate).

Data: the files CodeCarbon ships (no network): ``codecarbon/data/private_infra/global_energy_mix.json``
(per ISO 3166-1 alpha-3 country: ``carbon_intensity`` in gCO2e/kWh, or the electricity mix in TWh per
source) and ``carbon_intensity_per_source.json`` (gCO2e/kWh per source, and ``world_average``).
The rules are CodeCarbon's offline ones (``Emissions.get_country_emissions``):

- a country with ``carbon_intensity`` uses it;
- a country without it gets the mix-weighted mean of the per-source intensities;
- no country given: the world average (475 gCO2e/kWh in CodeCarbon 3.x), which is what CodeCarbon's
  offline tracker uses when it does not know the country. An unknown ISO code is refused (CodeCarbon
  would silently fall back to the world average).

``g = E_J / 3.6e6 x intensity_g_per_kwh``; per 1000 episodes ``g = 1000 x E_per_episode_J / 3.6e6 x
intensity``. It is an estimate: a yearly national average, not the grid at the time of the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from paradox_gym.errors import UserInputError

J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class CarbonIntensity:
    """Grid carbon intensity used for an emission estimate.

    Attributes:
        country: ISO 3166-1 alpha-3 code, or ``"WORLD"`` for the world average.
        country_name: the name in CodeCarbon's data.
        g_per_kwh: gCO2e per kWh.
        source: how it was obtained (``"country carbon_intensity (year)"``, ``"country mix"``,
            ``"world average"``).
    """

    country: str
    country_name: str
    g_per_kwh: float
    source: str

    def grams(self, energy_j: float) -> float:
        """gCO2e for ``energy_j`` joules: ``energy_j / 3.6e6 x g_per_kwh``."""
        return energy_j / J_PER_KWH * self.g_per_kwh

    def to_dict(self) -> dict[str, Any]:
        return {"country": self.country, "country_name": self.country_name, "g_per_kwh": self.g_per_kwh,
                "source": self.source, "estimate": True, "data": "CodeCarbon offline energy-mix data"}


def _read(name: str) -> dict[str, Any]:
    from importlib.resources import files

    try:
        text = (files("codecarbon") / "data" / "private_infra" / name).read_text()
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise UserInputError(f"CodeCarbon's carbon-intensity data ({name}) is not available: {exc}") from None
    return json.loads(text)


@lru_cache(maxsize=1)
def energy_mix() -> dict[str, dict[str, Any]]:
    """CodeCarbon's per-country energy mix (ISO3 -> record)."""
    return _read("global_energy_mix.json")


@lru_cache(maxsize=1)
def source_intensity() -> dict[str, Any]:
    """CodeCarbon's gCO2e/kWh per electricity source, with ``world_average``."""
    return _read("carbon_intensity_per_source.json")


def countries() -> tuple[str, ...]:
    """ISO3 codes CodeCarbon has data for."""
    return tuple(sorted(energy_mix()))


def carbon_intensity(country: str | None = None) -> CarbonIntensity:
    """The carbon intensity for ``country`` (ISO3, case-insensitive; None: the world average).

    Raises:
        UserInputError: a code that is not three letters or that CodeCarbon has no data for.
    """
    per_source = source_intensity()
    if country is None:
        return CarbonIntensity("WORLD", "world average", float(per_source["world_average"]),
                               "world average (CodeCarbon's offline default for an unknown country)")
    if not isinstance(country, str) or len(country.strip()) != 3 or not country.strip().isalpha():
        raise UserInputError(f"country must be an ISO 3166-1 alpha-3 code such as USA or FRA, got {country!r}")
    code = country.strip().upper()
    mix = energy_mix()
    if code not in mix:
        raise UserInputError(
            f"no carbon-intensity data for country {code!r} in CodeCarbon's offline data; "
            f"{len(mix)} codes are known, e.g. USA, FRA, DEU, GBR, CHN, IND"
        )
    rec = mix[code]
    name = str(rec.get("country_name", code))
    if rec.get("carbon_intensity") is not None:
        year = rec.get("year")
        return CarbonIntensity(code, name, float(rec["carbon_intensity"]),
                               f"country carbon_intensity{f' ({year})' if year else ''}")
    total = float(rec.get("total_TWh") or 0.0)
    weighted = covered = 0.0
    for key, twh in rec.items():
        if key.endswith("_TWh") and key != "total_TWh":
            factor = per_source.get(key[: -len("_TWh")])
            if factor is not None:
                weighted += float(twh) * float(factor)
                covered += float(twh)
    if total <= 0 or abs(covered - total) > 1e-6 * max(total, 1.0):
        return CarbonIntensity(code, name, float(per_source["world_average"]),
                               "world average (the country's mix is incomplete)")
    return CarbonIntensity(code, name, weighted / total, "country mix x per-source intensity")


def grams_per_1000_episodes(energy_per_episode_j: float | None, intensity: CarbonIntensity) -> float | None:
    """gCO2e per 1000 episodes for an energy per episode in J (None passes through)."""
    if energy_per_episode_j is None:
        return None
    return intensity.grams(1000.0 * energy_per_episode_j)


__all__ = ["J_PER_KWH", "CarbonIntensity", "carbon_intensity", "countries", "grams_per_1000_episodes"]
