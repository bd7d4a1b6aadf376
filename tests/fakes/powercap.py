"""Build a fake Linux powercap tree (``/sys/class/powercap`` layout) in a temporary directory.

The layout is the kernel's (``drivers/powercap``): the zones live under their control type directory,
``intel-rapl/intel-rapl:0/intel-rapl:0:1/...``, each zone with ``name``, ``energy_uj`` (uJ, wraps to 0
after ``max_energy_range_uj``), ``max_energy_range_uj`` and ``enabled``; ``/sys/class/powercap`` itself
holds one symlink per zone and subzone (``intel-rapl:0 -> intel-rapl/intel-rapl:0``,
``intel-rapl:0:1 -> intel-rapl/intel-rapl:0/intel-rapl:0:1``) plus the control type
(``intel-rapl``), so every zone is reachable twice. Subzones are named ``core``, ``uncore`` or
``dram``; a platform zone ``intel-rapl:N`` is named ``psys``. AMD CPUs use the same ``intel-rapl``
names with ``package-N`` and ``core`` zones and no DRAM.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _write_zone(d: Path, name: str, energy_uj: int, max_range_uj: int) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "name").write_text(name + "\n")
    (d / "energy_uj").write_text(f"{energy_uj}\n")
    (d / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
    (d / "enabled").write_text("1\n")
    return d


def _link(root: Path, name: str, target: Path) -> None:
    link = root / name
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target.relative_to(root), target_is_directory=True)


def add_zone(root: Path, zone: str, name: str, energy_uj: int, max_range_uj: int) -> Path:
    """Add a top-level zone ``zone`` (``"intel-rapl:2"``, ``"intel-rapl-mmio:0"``) the way sysfs
    shows it: a directory under its control type plus a symlink ``root/zone``. Returns the directory."""
    control = zone.split(":", 1)[0]
    (root / control).mkdir(parents=True, exist_ok=True)
    d = _write_zone(root / control / zone, name, energy_uj, max_range_uj)
    _link(root, zone, d)
    return d


def add_subzone(root: Path, zone: str, index: int, name: str, energy_uj: int, max_range_uj: int) -> Path:
    """Add subzone ``<zone>:<index>`` inside ``zone`` and its top-level symlink. Returns its directory."""
    parent = (root / zone).resolve()
    d = _write_zone(parent / f"{zone}:{index}", name, energy_uj, max_range_uj)
    _link(root, d.name, d)
    return d


def build_tree(
    root: Path,
    *,
    packages: int = 1,
    dram: bool = True,
    core: bool = True,
    psys: bool = False,
    energy_uj: int = 1_000_000,
    max_range_uj: int = 262_143_328_850,
    prefix: str = "intel-rapl",
) -> Path:
    """A tree like the kernel's: packages ``intel-rapl:N`` named ``package-N`` with subzones
    ``intel-rapl:N:0`` (``core``) and ``intel-rapl:N:1`` (``dram``), and with ``psys`` a platform zone
    ``intel-rapl:<packages>`` named ``psys``. Returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / prefix).mkdir(exist_ok=True)  # the control type directory has no energy_uj
    for p in range(packages):
        zone = f"{prefix}:{p}"
        add_zone(root, zone, f"package-{p}", energy_uj, max_range_uj)
        if core:
            add_subzone(root, zone, 0, "core", energy_uj, max_range_uj)
        if dram:
            add_subzone(root, zone, 1, "dram", energy_uj, max_range_uj)
    if psys:
        add_zone(root, f"{prefix}:{packages}", "psys", energy_uj, max_range_uj)
    return root


def remove_zone(root: Path, zone: str) -> None:
    """Delete a top-level zone (its directory and its symlink), as when a driver is unloaded."""
    link = root / zone
    if link.is_symlink():
        shutil.rmtree(link.resolve())
        link.unlink()
    else:
        shutil.rmtree(link)


def set_energy(root: Path, zone_path: str, energy_uj: int) -> None:
    """Write a new counter value into ``root/zone_path/energy_uj``."""
    (root / zone_path / "energy_uj").write_text(f"{energy_uj}\n")


def add_energy(root: Path, zone_path: str, delta_uj: int) -> None:
    """Advance a counter by ``delta_uj`` (without wrap handling: the caller chooses values)."""
    path = root / zone_path / "energy_uj"
    path.write_text(f"{int(path.read_text()) + delta_uj}\n")
