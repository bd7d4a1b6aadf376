"""Build a fake Linux powercap tree (``/sys/class/powercap`` layout) in a temporary directory."""

from __future__ import annotations

from pathlib import Path


def add_zone(root: Path, zone: str, name: str, energy_uj: int, max_range_uj: int) -> Path:
    """Create ``root/zone`` with ``name``, ``energy_uj`` and ``max_energy_range_uj`` files."""
    d = root / zone
    d.mkdir(parents=True, exist_ok=True)
    (d / "name").write_text(name + "\n")
    (d / "energy_uj").write_text(f"{energy_uj}\n")
    (d / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
    return d


def build_tree(
    root: Path,
    *,
    packages: int = 1,
    dram: bool = True,
    core: bool = True,
    energy_uj: int = 1_000_000,
    max_range_uj: int = 262_143_328_850,
    prefix: str = "intel-rapl",
) -> Path:
    """A tree like the kernel's: ``intel-rapl`` control dir, ``intel-rapl:N`` packages with
    ``intel-rapl:N:0`` (core) and ``intel-rapl:N:1`` (dram) subzones inside them, plus top-level
    symlinks to the subzones as in sysfs. Returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / prefix).mkdir(exist_ok=True)  # the control type directory has no energy_uj
    for p in range(packages):
        pkg = add_zone(root, f"{prefix}:{p}", f"package-{p}", energy_uj, max_range_uj)
        subs = []
        if core:
            subs.append(("0", "core"))
        if dram:
            subs.append(("1", "dram"))
        for idx, name in subs:
            sub = add_zone(pkg, f"{prefix}:{p}:{idx}", name, energy_uj, max_range_uj)
            link = root / sub.name
            if link.is_symlink():
                link.unlink()
            link.symlink_to(sub, target_is_directory=True)
    return root


def set_energy(root: Path, zone_path: str, energy_uj: int) -> None:
    """Write a new counter value into ``root/zone_path/energy_uj``."""
    (root / zone_path / "energy_uj").write_text(f"{energy_uj}\n")


def add_energy(root: Path, zone_path: str, delta_uj: int) -> None:
    """Advance a counter by ``delta_uj`` (without wrap handling: the caller chooses values)."""
    path = root / zone_path / "energy_uj"
    path.write_text(f"{int(path.read_text()) + delta_uj}\n")
