"""RAPL meter against a fake powercap tree (this machine has no /sys/class/powercap)."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest
from fakes.powercap import add_energy, add_subzone, add_zone, build_tree, remove_zone, set_energy

from paradox_gym.energy.meters.rapl import RaplMeter, counter_delta_uj, discover_zones


def _busy(seconds: float) -> None:
    import time

    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_zones_are_packages_and_dram_only(tmp_path: Path) -> None:
    build_tree(tmp_path, packages=2, psys=True)  # psys = intel-rapl:2: platform zone, not added
    assert (tmp_path / "intel-rapl:0").is_symlink() and (tmp_path / "intel-rapl:0:1").is_symlink()
    assert (tmp_path / "intel-rapl" / "intel-rapl:0" / "intel-rapl:0:1" / "energy_uj").is_file()
    zones = discover_zones(tmp_path)
    labels = [z.label for z in zones]
    assert labels == ["package-0", "dram-0", "package-1", "dram-1"]
    # each counter once, although sysfs shows every zone twice (symlink and nested directory)
    assert len({z.energy_path.resolve() for z in zones}) == 4


def test_laptop_with_psys_keeps_plain_dram_label_and_does_not_count_psys(tmp_path: Path) -> None:
    build_tree(tmp_path, packages=1, psys=True)
    assert [z.label for z in discover_zones(tmp_path)] == ["package-0", "dram"]
    meter = RaplMeter(root=tmp_path)
    meter.begin("w")
    _busy(0.02)
    add_energy(tmp_path, "intel-rapl:0", 2_000_000)
    add_energy(tmp_path, "intel-rapl:1", 50_000_000)  # psys: whole platform, includes the package
    r = meter.end("w")
    assert r.components["machine"] == pytest.approx(2.0)
    assert set(r.components) == {"package-0", "dram", "machine", "process"}


def test_amd_layout(tmp_path: Path) -> None:
    # AMD: the same intel-rapl names, package-N zones with core subzones and no DRAM
    build_tree(tmp_path, packages=1, dram=False, core=True)
    add_subzone(tmp_path, "intel-rapl:0", 2, "uncore", 0, 1000)
    assert [z.label for z in discover_zones(tmp_path)] == ["package-0"]


def test_normal_deltas_process_share_and_machine_total(tmp_path: Path) -> None:
    build_tree(tmp_path, energy_uj=5_000_000)
    meter = RaplMeter(root=tmp_path)
    ok, reason = meter.availability()
    assert ok, reason
    meter.begin("w")
    _busy(0.05)
    add_energy(tmp_path, "intel-rapl:0", 3_000_000)  # 3 J package
    add_energy(tmp_path, "intel-rapl:0/intel-rapl:0:1", 500_000)  # 0.5 J dram
    add_energy(tmp_path, "intel-rapl:0/intel-rapl:0:0", 9_000_000)  # core: inside package, ignored
    r = meter.end("w")
    assert r.status == "ok" and r.method == "measured"
    assert r.components["package-0"] == pytest.approx(3.0)
    assert r.components["dram"] == pytest.approx(0.5)
    assert r.components["machine"] == pytest.approx(3.5)
    share = r.details["cpu_share"]
    assert 0.0 < share <= 1.0
    assert r.energy_j == pytest.approx(3.5 * share)
    assert r.components["process"] == r.energy_j


def test_wrap_around_uses_max_energy_range(tmp_path: Path) -> None:
    max_range = 10_000_000
    build_tree(tmp_path, dram=False, energy_uj=9_000_000, max_range_uj=max_range)
    meter = RaplMeter(root=tmp_path)
    meter.begin("w")
    _busy(0.02)
    set_energy(tmp_path, "intel-rapl:0", 1_500_000)  # wrapped: 1 J to the top + 1.5 J
    r = meter.end("w")
    assert r.components["package-0"] == pytest.approx(2.5)
    assert "wrapped" in r.note
    assert counter_delta_uj(9, 2, 10) == 3


def test_impossible_wrap_fails_never_negative(tmp_path: Path) -> None:
    build_tree(tmp_path, dram=False, energy_uj=9_000_000, max_range_uj=1_000_000)  # bogus range
    meter = RaplMeter(root=tmp_path)
    meter.begin("w")
    set_energy(tmp_path, "intel-rapl:0", 10)
    r = meter.end("w")
    assert r.status == "failed" and r.energy_j is None and "max_energy_range_uj" in r.note


def test_nested_windows(tmp_path: Path) -> None:
    build_tree(tmp_path, dram=False)
    meter = RaplMeter(root=tmp_path)
    meter.begin("trial")
    add_energy(tmp_path, "intel-rapl:0", 1_000_000)
    meter.begin("episode")
    add_energy(tmp_path, "intel-rapl:0", 2_000_000)
    inner = meter.end("episode")
    add_energy(tmp_path, "intel-rapl:0", 4_000_000)
    outer = meter.end("trial")
    assert inner.components["machine"] == pytest.approx(2.0)
    assert outer.components["machine"] == pytest.approx(7.0)


def test_absent_root_is_unavailable(tmp_path: Path) -> None:
    meter = RaplMeter(root=tmp_path / "nope")
    ok, reason = meter.availability()
    assert not ok and "does not exist" in reason
    meter.begin("w")
    r = meter.end("w")
    assert r.status == "unavailable" and r.energy_j is None and "does not exist" in r.note


def test_empty_root_is_unavailable(tmp_path: Path) -> None:
    ok, reason = RaplMeter(root=tmp_path).availability()
    assert not ok and "no RAPL package zone" in reason


def test_energy_file_replaced_by_directory_is_unavailable(tmp_path: Path) -> None:
    build_tree(tmp_path, dram=False)
    (tmp_path / "intel-rapl:0" / "energy_uj").unlink()
    (tmp_path / "intel-rapl:0" / "energy_uj").mkdir()  # reading it raises IsADirectoryError
    ok, reason = RaplMeter(root=tmp_path).availability()
    assert not ok and "cannot be read" in reason


def test_permission_denied_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_tree(tmp_path, dram=False)
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):  # tests run as root: chmod 000 would not stop them
        if str(file).endswith("energy_uj"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    meter = RaplMeter(root=tmp_path)
    ok, reason = meter.availability()
    assert not ok and "not readable" in reason
    meter.begin("w")
    assert meter.end("w").status == "unavailable"


def test_file_disappearing_mid_run_fails_that_window_only(tmp_path: Path) -> None:
    build_tree(tmp_path, dram=False)
    meter = RaplMeter(root=tmp_path)
    meter.begin("w1")
    remove_zone(tmp_path, "intel-rapl:0")
    r = meter.end("w1")
    assert r.status == "failed" and r.energy_j is None
    assert "FileNotFoundError" in r.note
    meter.begin("w2")  # start read fails too: failed again, never a crash
    assert meter.end("w2").status == "failed"
    build_tree(tmp_path, dram=False)  # the counter comes back: readings recover
    meter.begin("w3")
    _busy(0.02)
    add_energy(tmp_path, "intel-rapl:0", 1_000_000)
    r3 = meter.end("w3")
    assert r3.status == "ok" and r3.components["machine"] == pytest.approx(1.0)


def test_mmio_mirror_is_not_double_counted(tmp_path: Path) -> None:
    build_tree(tmp_path, dram=False)
    add_zone(tmp_path, "intel-rapl-mmio:0", "package-0", 0, 1000)
    assert [z.label for z in discover_zones(tmp_path)] == ["package-0"]


def test_short_window_is_flagged(tmp_path: Path) -> None:
    build_tree(tmp_path, dram=False)
    meter = RaplMeter(root=tmp_path)
    meter.begin("w")
    r = meter.end("w")
    assert r.status == "too_short" and r.energy_j is not None
