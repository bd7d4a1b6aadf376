"""The sweep's measuring order (``--order``): ``shuffled`` mixes agents, methods and amounts by job id, the
same on every resume, so a noisy stretch of the machine falls on many agents; a bad order is refused in one
line before anything is written. Jobs of a real grid of two shipped agents."""

from __future__ import annotations

from pathlib import Path

import pytest

from paradox_gym.cli import command_main
from paradox_gym.errors import UserInputError
from paradox_gym.study.grid import parse_grid
from paradox_gym.study.sweep import ORDERS, order_jobs, run_sweep

DOC = {"agents": [{"env": "CartPole-v1", "algo": "PPO"}, {"env": "CartPole-v1", "algo": "DQN"}],
       "methods": ["prune", "prune-structured"], "amounts": [0.1, 0.2, 0.3, 0.4, 0.5],
       "episodes": 1, "trials": 1, "warmup": 0, "replicates": 2, "memory": False, "codecarbon": False}


def test_shuffled_mixes_the_agents_and_resumes_in_the_same_order() -> None:
    jobs = parse_grid(DOC).jobs("exclusive")
    assert [j.agent.algo for j in order_jobs(jobs, "grid")] == ["PPO"] * 10 + ["DQN"] * 10  # agent after agent
    shuffled = order_jobs(jobs, "shuffled")
    assert sorted(j.id for j in shuffled) == sorted(j.id for j in jobs) and shuffled == order_jobs(jobs[::-1], "shuffled")
    assert {j.agent.algo for j in shuffled[:10]} == {"PPO", "DQN"}
    left = [j for j in jobs if j.id not in {k.id for k in shuffled[:7]}]  # a sweep stopped after 7 jobs
    assert order_jobs(left, "shuffled") == shuffled[7:]


@pytest.mark.parametrize("order", ["random", "", None, 3])
def test_a_bad_order_is_one_line_before_anything_is_written(tmp_path: Path, order) -> None:
    with pytest.raises(UserInputError) as err:
        run_sweep(parse_grid(DOC), str(tmp_path / "out"), order=order)
    assert f"valid: {', '.join(ORDERS)}" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_the_cli_names_the_valid_orders(tmp_path: Path, capsys) -> None:
    assert command_main("sweep", ["--grid", str(tmp_path / "g.yml"), "--out", str(tmp_path / "o"),
                                  "--order", "random"]) != 0
    err = capsys.readouterr().err.strip()
    assert "random" in err and "grid" in err and "shuffled" in err and "Traceback" not in err
