"""The suite runs in a throw-away home (tests/conftest.py): nothing reads or writes the real user's."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def test_home_and_the_xdg_folders_are_a_throw_away_folder() -> None:
    home = Path.home()
    assert home.name.startswith("paradox-gym-test-home-") and home.parent == Path(tempfile.gettempdir())
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "PARADOX_GYM_AGENTS"):
        assert Path(os.environ[name]).is_relative_to(home), name


def test_without_paradox_gym_agents_the_user_agents_folder_is_in_it(monkeypatch) -> None:
    from paradox_gym.zoo.paths import agents_dir

    monkeypatch.delenv("PARADOX_GYM_AGENTS")
    assert agents_dir().is_relative_to(Path.home())


def test_user_files_follow_xdg_data_home_else_local_share(monkeypatch, tmp_path: Path) -> None:
    from paradox_gym.energy.validation import validation_file
    from paradox_gym.zoo.paths import agents_dir

    monkeypatch.delenv("PARADOX_GYM_AGENTS")
    monkeypatch.delenv("PARADOX_GYM_METER_VALIDATION", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert agents_dir() == tmp_path / "paradox_gym" / "agents"
    assert validation_file() == tmp_path / "paradox_gym" / "meter-validation.json"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert agents_dir() == Path.home() / ".local" / "share" / "paradox_gym" / "agents"
    assert validation_file() == Path.home() / ".local" / "share" / "paradox_gym" / "meter-validation.json"
