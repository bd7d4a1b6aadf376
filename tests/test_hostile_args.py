"""Hostile and careless command-line arguments: every bad value is one line ``error: ...`` on stderr naming
it, exit status 2, no traceback, and nothing is allocated in proportion to a number it names.

Nothing here measures: the library calls behind each subcommand are replaced by ones that fail the test,
so a value that were wrongly accepted would be reported, not run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paradox_gym import limits
from paradox_gym.cli import command_main, main

EVAL = ["evaluate", "--env", "CartPole-v1", "--no-memory", "--no-codecarbon", "--quiet"]
HUGE = "1" + "0" * 400


@pytest.fixture(autouse=True)
def _nothing_runs(monkeypatch):
    """A value accepted by mistake would start real work: make that a test failure instead."""
    import paradox_gym.cli.evaluate as evaluate_cli
    import paradox_gym.cli.sweep as sweep_cli
    import paradox_gym.cli.train as train_cli

    def refuse(*_args, **_kwargs):
        raise AssertionError("a hostile value was accepted and work started")

    monkeypatch.setattr(evaluate_cli, "evaluate", refuse)
    monkeypatch.setattr(train_cli, "train", refuse)
    monkeypatch.setattr(sweep_cli, "run_sweep", refuse)


def one_error(capsys, argv, fragment, runner=main):
    status = runner(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2, (argv, status, err[-500:])
    assert len(lines) == 1, err[-2000:]
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in err
    assert len(lines[0]) <= limits.MAX_MESSAGE_CHARS + 100
    assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


INT_OPTIONS = ["--episodes", "--trials", "--warmup", "--seed", "--threads", "--replicates", "--qat-steps"]
FLOAT_OPTIONS = ["--amount", "--margin", "--return-margin", "--cpu-tdp"]
CAPS = {"--episodes": limits.MAX_EPISODES, "--trials": limits.MAX_TRIALS, "--warmup": limits.MAX_WARMUP,
        "--seed": limits.MAX_SEED, "--threads": limits.MAX_THREADS, "--replicates": limits.MAX_REPLICATES,
        "--qat-steps": limits.MAX_QAT_STEPS}


@pytest.mark.parametrize("option", INT_OPTIONS)
@pytest.mark.parametrize("value, fragment", [
    ("nan", "'nan'"), ("inf", "'inf'"), ("-inf", "'-inf'"), ("1e309", "'1e309'"), ("", "''"), (" ", "' '"),
    ("0x10", "'0x10'"), ("\u0661\u0662", "'\u0661\u0662'"), ("2.5", "'2.5'"), (HUGE, "too long"),
    ("10**9", "'10**9'"),
])
def test_integer_options_refuse_what_is_not_an_integer(capsys, option, value, fragment) -> None:
    one_error(capsys, [*EVAL, option, value], fragment)


@pytest.mark.parametrize("option", INT_OPTIONS)
@pytest.mark.parametrize("value", ["-1", "1000000000", "1000000000000", str(2**64)])
def test_integer_options_are_capped_before_anything_is_allocated(capsys, option, value) -> None:
    if int(value) <= CAPS[option]:
        value = str(CAPS[option] + 1)  # 10**9 is a valid seed
    line = one_error(capsys, [*EVAL, option, value], value)
    assert option in line and str(CAPS[option]) in line


@pytest.mark.parametrize("option", ["--episodes", "--trials", "--threads", "--replicates", "--qat-steps"])
def test_zero_is_refused_where_one_is_the_least(capsys, option) -> None:
    one_error(capsys, [*EVAL, option, "0"], "got 0")


@pytest.mark.parametrize("option", FLOAT_OPTIONS)
@pytest.mark.parametrize("value, fragment", [
    ("nan", "nan"), ("inf", "inf"), ("-inf", "-inf"), ("1e309", "inf"), ("-1", "-1"), ("1000000000000", "1e+12"),
    ("", "''"), (" ", "' '"), ("0x10", "'0x10'"), ("\u0661", "'\u0661'"), (HUGE, "too long"),
])
def test_number_options_name_the_bad_value(capsys, option, value, fragment) -> None:
    line = one_error(capsys, [*EVAL, option, value], "")
    assert fragment in line or fragment.replace("e+12", "000000000000.0") in line, line


def test_a_negative_value_that_is_not_a_number_says_how_to_write_it(capsys) -> None:
    one_error(capsys, [*EVAL, "--amount", "-x"], "--option=VALUE")


@pytest.mark.parametrize("value, fragment", [
    (",,", "--compress names no compression method"), ("", "--compress names no compression method"),
    ("\uff50\uff54\uff44\uff51", "'\uff50\uff54\uff44\uff51'"), ("ptdq\u200b", "ptdq\\u200b"), ("PTDQ", "'PTDQ'"),
    ("\0", "\\x00"), ("ptdq;rm -rf /", "'ptdq;rm -rf /'"),
])
def test_compress_refuses_lookalikes_and_empty_lists(capsys, value, fragment) -> None:
    line = one_error(capsys, [*EVAL, "--compress", value], fragment)
    assert "ptdq" in line  # the valid choices, or what was given


def test_a_three_megabyte_argument_is_not_printed_back(capsys) -> None:
    line = one_error(capsys, [*EVAL, "--compress", "x" * 3_000_000], "characters left out")
    assert "valid" in line  # the end of the message (the valid choices) survives the cut


def test_ten_thousand_duplicates_are_one_method(monkeypatch) -> None:
    from paradox_gym.experiment.settings import EvalSettings

    settings = EvalSettings(env_id="CartPole-v1", methods=",".join(["ptdq"] * 10_000), memory=False,
                            codecarbon=False)
    assert settings.methods == ("ptdq",)


@pytest.mark.parametrize("option, value, fragment", [
    ("--runtime", ",,", "--runtime is empty"), ("--runtime", "\uff33\uff22\uff13", "unknown runtime"),
    ("--meters", ",,", "--meters is empty"), ("--meters", "codecarbon", "no energy meter"),
    ("--meters", "cpu-model,cpu-model", "twice"), ("--meters", "x" * 100_000, "unknown meter"),
    ("--country", "", "ISO 3166-1"), ("--country", "XXX", "'XXX'"), ("--country", "x" * 3_000_000, "ISO 3166-1"),
    ("--env", "", "env id"), ("--env", "Cart\0Pole-v1", "Cart\\x00Pole-v1"),
    ("--env", "nonexistentmodule:Env-v0", "nonexistentmodule:Env-v0"), ("--env", "os:Evil-v0", "os:Evil-v0"),
    ("--algo", "XYZ", "'XYZ'"), ("--device", "cuda:0", "'cuda:0'"), ("--phase-clock", "x", "'x'"),
])
def test_names_and_lists(capsys, option, value, fragment) -> None:
    one_error(capsys, [*EVAL, option, value], fragment)


@pytest.fixture()
def odd_files(tmp_path: Path) -> dict[str, str]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    return {"fifo": str(fifo), "dir": str(tmp_path / "dir"), "file": str(tmp_path / "file"),
            "zero": "/dev/zero", "null": "/dev/null", "newline": str(tmp_path / "a\nb.zip")}


@pytest.mark.parametrize("option, kind, fragment", [
    ("--agent", "fifo", "not a regular file"), ("--agent", "zero", "not a regular file"),
    ("--agent", "null", "not a regular file"), ("--agent", "newline", "does not exist"),
    ("--vecnormalize", "fifo", "not a regular file"), ("--vecnormalize", "zero", "not a regular file"),
    ("--vecnormalize", "dir", "is a directory"),
    ("--agents-dir", "file", "not a directory"), ("--agents-dir", "fifo", "not a directory"),
    ("--agents-dir", "null", "not a directory"),
    ("--out", "file", "not a directory"), ("--out", "fifo", "not a directory"),
])
def test_paths_of_the_wrong_kind_are_refused_before_they_are_opened(capsys, odd_files, option, kind,
                                                                    fragment) -> None:
    argv = [*EVAL, option, odd_files[kind]]
    if option != "--out":
        argv += ["--out", str(Path(odd_files["dir"]) / "out")]
    line = one_error(capsys, argv, fragment)
    assert option in line or repr(odd_files[kind]) in line


@pytest.mark.parametrize("argv, fragment", [
    (["train", "--algo", "PPO", "--env", "CartPole-v1", "--out", ""], "not a path"),
    (["train", "--algo", "PPO", "--env", "CartPole-v1", "--steps", "0"], "--steps"),
    (["train", "--algo", "PPO", "--env", "CartPole-v1", "--steps", "10000000000"], "10000000000"),
    (["train", "--algo", "PPO", "--env", "CartPole-v1", "--steps", "1e9"], "'1e9'"),
    (["train", "--algo", "PPO", "--env", "CartPole-v1", "--seed", str(2**32)], str(2**32)),
    (["train", "--algo", "PPO", "--env", "CartPole-v1", "--eval-episodes", "1000000"], "1000000"),
    (["train", "--algo", "", "--env", "CartPole-v1"], "unknown algorithm"),
    (["train", "--algo", "DQN", "--env", "Pendulum-v1"], "Discrete"),
    (["sweep", "--grid", "g.yml", "--out", "o", "--workers", "0"], "--workers"),
    (["sweep", "--grid", "g.yml", "--out", "o", "--workers", "100000"], "100000"),
    (["sweep", "--grid", "g.yml", "--out", "o", "--return-margin", "nan"], "nan"),
    (["sweep", "--grid", " ", "--out", "o"], "not a path"),
    (["sweep", "--grid", "g.yml", "--out", "o", "--executor", "threads"], "'threads'"),
    (["sweep", "--grid", "g.yml", "--out", "o", "--executor", "ray", "--ray-address", "x:y:z"], "not HOST:PORT"),
    (["sweep", "--grid", "g.yml", "--out", "o", "--executor", "ray", "--ray-address", "h:99999"], "not HOST:PORT"),
    (["sweep", "--grid", "g.yml", "--out", "o", "--ray-address", "10.0.0.1:6379"], "--executor ray"),
    (["sweep", "--grid", "g.yml", "--out", "o", "--executor", "ray", "--ray-address", "h:1", "--ray-timeout", "0"],
     "--ray-timeout"),
    (["sweep", "--grid", "g.yml", "--out", "o", "--executor", "ray", "--ray-address", "h:1", "--ray-timeout", "nan"],
     "nan"),
    (["sweep", "--grid", "g.yml", "--out", "o", "--executor", "ray", "--ray-timeout", "5"], "--ray-address"),
    (["sweep", "--grid", "g.yml", "--out", "o", "--agents-dir", "/dev/null"], "--agents-dir '/dev/null'"),
    (["report", ""], "not a path"),
    (["report", "/nonexistent-study"], "not a sweep directory"),
    (["report", ".", "--return-margin", "1"], "return margin"),
    (["report", ".", "--return-margin", "-inf"], "-inf"),
    (["validate-meters", "--windows", "0"], "0.0"), (["validate-meters", "--windows", "nan"], "nan"),
    (["validate-meters", "--windows", "1e9"], "1000000000.0"), (["validate-meters", "--windows", "\u0661"], "'\u0661'"),
    (["validate-meters", "--windows", ",".join(["0.1"] * 1000)], "more than"),
    (["validate-meters", "--windows", ",,"], "no window"),
    (["validate-meters", "--tolerance", "nan"], "nan"), (["validate-meters", "--tolerance", "0"], "0.0"),
    (["validate-meters", "--meters", ",,"], "names nothing"),
    (["validate-meters", "--meters", "codecarbon"], "not an energy meter"),
    (["validate-meters", "--workloads", ""], "names nothing"),
    (["validate-meters", "--workloads", "nope"], "'nope'"),
    (["bogus"], "'bogus'"), ([], "COMMAND"),
])
def test_other_subcommands(capsys, argv, fragment) -> None:
    one_error(capsys, argv, fragment)


@pytest.mark.parametrize("kind", ["dir", "fifo"])
def test_validate_meters_checks_where_it_saves_before_it_runs(capsys, odd_files, monkeypatch, kind) -> None:
    import paradox_gym.cli.validate_meters as cli

    monkeypatch.setattr(cli, "validate_meters", lambda *a, **k: pytest.fail("ran before checking --save"))
    monkeypatch.setenv("PARADOX_GYM_METER_VALIDATION", odd_files[kind])
    one_error(capsys, ["validate-meters", "--save"], "not a regular file")


def test_validate_meters_names_an_unavailable_meter(capsys) -> None:
    from paradox_gym.energy.meters import make_meters

    missing = [m.name for m in make_meters(["rapl", "nvml"]) if not m.availability().available]
    if not missing:
        pytest.skip("every hardware meter is available here")
    one_error(capsys, ["validate-meters", "--meters", missing[0]], "not available here")


@pytest.mark.parametrize("script", ["evaluate", "train", "sweep", "report", "validate-meters"])
def test_script_shims_give_the_same_one_line_errors(capsys, script) -> None:
    argv = {"evaluate": ["--episodes", "10**9"], "train": ["--algo", "PPO", "--env", "CartPole-v1", "--seed", "-1"],
            "sweep": ["--grid", "g", "--out", "o", "--workers", "x"], "report": [""],
            "validate-meters": ["--windows", "a,b"]}[script]
    one_error(capsys, argv, "", runner=lambda a: command_main(script, a))


def test_seed_and_episode_arithmetic_stay_valid_at_the_caps() -> None:
    """The largest episode seed the caps allow is one every seeding path accepts."""
    import gymnasium
    import numpy as np
    import torch

    from paradox_gym.experiment.runner import WARMUP_SEED_BASE, episode_seed, warmup_seed

    top = episode_seed(limits.MAX_SEED, limits.MAX_TRIALS - 1, limits.MAX_EPISODES - 1, limits.MAX_EPISODES,
                       limits.MAX_REPLICATES - 1, limits.MAX_TRIALS)
    top_warmup = warmup_seed(limits.MAX_SEED, limits.MAX_WARMUP - 1)
    # warm-up seeds come from a space no measured seed reaches, whatever the caps allow
    assert top < WARMUP_SEED_BASE <= warmup_seed(0, 0) and top_warmup < 2**63
    env = gymnasium.make("CartPole-v1")
    for seed in (top, top_warmup):
        env.reset(seed=seed)
        env.action_space.seed(seed)
        torch.manual_seed(seed)
    np.random.seed(limits.MAX_SEED)  # SB3's set_random_seed when training with --seed at the cap
    env.close()
