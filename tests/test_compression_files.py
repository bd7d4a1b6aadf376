"""Tampered or hand-edited compressed-agent files are refused with one clear user error (no unpickling)."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch
from stable_baselines3 import PPO

from paradox_gym.compression import compress, load_compressed
from paradox_gym.errors import UserInputError


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The members of a saved ``ptsq`` agent (untrained tiny PPO; structure is what counts)."""
    model = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]), seed=0, device="cpu")
    path = tmp_path_factory.mktemp("saved") / "a.zip"
    compress(model, "ptsq", env="CartPole-v1", calibration_steps=16).save(path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _with_recipe(saved: dict[str, bytes], **changes: Any) -> dict[str, bytes | str]:
    meta = json.loads(saved["agent.json"])
    meta["recipe"].update(changes)
    return {**saved, "agent.json": json.dumps(meta)}


class _Payload:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.getenv, ("HOME",))


def test_untouched_file_loads(saved: dict[str, bytes], tmp_path: Path) -> None:
    assert load_compressed(_write(tmp_path / "ok.zip", saved)).method == "ptsq"


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (dict(method="prune", amount=5.0), "amount must be in"),
        (dict(amount="half"), "amount must be a number"),
        (dict(dtype="int4"), "unknown dtype 'int4'"),
        (dict(backend="tpu"), "unknown backend 'tpu'"),
        (dict(method="prune"), "takes no backend"),
        (dict(method="quantize"), "unknown compression method 'quantize'"),
        (dict(calibration_steps=-1), "calibration_steps must be"),
    ],
)
def test_bad_recipe_refused(saved: dict[str, bytes], tmp_path: Path, changes: dict[str, Any], match: str) -> None:
    with pytest.raises(UserInputError, match=match):
        load_compressed(_write(tmp_path / "bad.zip", _with_recipe(saved, **changes)))


def test_malformed_members_refused(saved: dict[str, bytes], tmp_path: Path) -> None:
    cases: list[tuple[dict[str, bytes | str], str]] = [
        ({**saved, "agent.json": "{not json"}, "not valid JSON"),
        ({**saved, "agent.json": "[1, 2]"}, "must hold a JSON object"),
        ({**saved, "weights.pt": pickle.dumps(_Payload(), protocol=2)}, "cannot read weights.pt"),
        ({k: v for k, v in saved.items() if k != "calibration.pt"}, "lacks calibration.pt"),
    ]
    meta = json.loads(saved["agent.json"])
    del meta["algo"]
    cases.append(({**saved, "agent.json": json.dumps(meta)}, "lacks algo"))
    meta = json.loads(saved["agent.json"])
    meta["policy_kwargs"]["no_such_option"] = 1
    cases.append(({**saved, "agent.json": json.dumps(meta)}, "do not build a PPO MlpPolicy"))
    meta = json.loads(saved["agent.json"])
    meta["observation_space"]["shape"] = [5]
    cases.append(({**saved, "agent.json": json.dumps(meta)}, "malformed Box space"))
    buffer = io.BytesIO()
    torch.save(torch.zeros(3, 7), buffer)
    cases.append(({**saved, "calibration.pt": buffer.getvalue()}, r"shape \(3, 7\); expected \(N, 4\)"))
    for index, (members, match) in enumerate(cases):
        with pytest.raises(UserInputError, match=match) as info:
            load_compressed(_write(tmp_path / f"bad{index}.zip", members))
        assert "\n" not in str(info.value)


def test_footprint_table_command(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "bench_compression.py"
    spec = importlib.util.spec_from_file_location("bench_compression", path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    main = script.main

    assert main(["--env", "CartPole-v1", "--algo", "PPO", "--methods", "none,prune-structured",
                 "--calls", "3", "--rounds", "1"]) == 0
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert [r[0].strip() for r in rows[1:]] == ["none", "prune-structured"]
    # shipped PPO CartPole [64, 64]: 4x64 + 64x64 + 64x2 MACs; half the neurons removed: 4x32 + 32x32 + 32x2
    assert [int(r[5]) for r in rows[1:]] == [4480, 1216]
    assert main(["--methods", "nope", "--calls", "1", "--rounds", "1"]) == 2
    assert "unknown compression method 'nope'" in capsys.readouterr().err
