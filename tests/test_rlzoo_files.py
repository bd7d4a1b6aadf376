"""rl-zoo3 run folders whose config files are not regular files are refused by name, never skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paradox_gym.cli import main
from paradox_gym.errors import UserInputError
from paradox_gym.sb3.rlzoo import resolve_agent

ENV = "CartPole-v1"


def _link_to_dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


KINDS = {
    "a link to /dev/zero": (_link_to_dev_zero, "a device"),
    "a directory": (lambda path: path.mkdir(), "a directory"),
    "a FIFO": (lambda path: os.mkfifo(path), "a FIFO"),
    "a dangling link": (lambda path: path.symlink_to(path.parent / "nowhere"), "a dangling link"),
}


def _run(tmp_path: Path, name: str, kind: str) -> Path:
    run = tmp_path / "PPO" / f"{ENV}_1"
    (run / ENV).mkdir(parents=True)
    (run / ENV / "args.yml").write_text(f"env: {ENV}\nalgo: ppo\n")
    if name == "args.yml":
        (run / ENV / "args.yml").unlink()
        (run / ENV / "config.yml").write_text("normalize: false\n")
    (run / f"{ENV}.zip").write_bytes(b"not read before the config files are checked")
    KINDS[kind][0](run / ENV / name)
    return run


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("name", ["config.yml", "args.yml", "env_kwargs.yml"])
@pytest.mark.parametrize("given", ["folder", "zip"])
def test_a_config_file_that_is_not_a_regular_file_is_refused_by_name(tmp_path: Path, name: str, kind: str,
                                                                     given: str) -> None:
    run = _run(tmp_path, name, kind)
    if given == "folder" and kind == "a dangling link" and name != "env_kwargs.yml":
        pytest.skip("a folder given alone is found by its config files; a dangling one names none")
    with pytest.raises(UserInputError) as err:
        resolve_agent(run if given == "folder" else run / f"{ENV}.zip")
    message = str(err.value)
    assert str(run / ENV / name) in message and KINDS[kind][1] in message and "not a regular file" in message


def test_evaluate_refuses_it_with_exit_2_and_one_line(tmp_path: Path, capsys) -> None:
    run = _run(tmp_path, "config.yml", "a link to /dev/zero")
    assert main(["evaluate", "--agent", str(run), "--episodes", "1", "--trials", "2"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "config.yml" in lines[0], err
