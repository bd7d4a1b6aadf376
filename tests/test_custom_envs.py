"""Custom environments: ``module:EnvId`` imports the user's module (as ``gymnasium.make`` does) in every
process that makes the environment; an env the caller registered is registered again in the replicates and
memory probes from its spec; one they cannot rebuild (a class in ``__main__``) is refused before any work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import pytest
import torch

from paradox_gym.envs import INHERITED_SPECS_VAR, fresh_process_env, validate_env_id
from paradox_gym.errors import UserInputError

ROOT = Path(__file__).resolve().parents[1]

ENV_CLASS = '''
import gymnasium as gym
import numpy as np


class MyEnv(gym.Env):
    """Three random observations, two actions, 20 steps; reward = the action."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.uniform(-1, 1, 3).astype(np.float32), {}

    def step(self, action):
        self.t += 1
        obs = self.np_random.uniform(-1, 1, 3).astype(np.float32)
        return obs, float(action), self.t >= 20, False, {}
'''

#: the smallest evaluation that still runs every stage (one replicate, memory probes included)
SMALL = dict(methods=("ptdq",), episodes=1, trials=1, warmup=0, replicates=1, control=False, codecarbon=False,
             memory=True, memory_episodes=1)


def _module(folder: Path, name: str, register: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(ENV_CLASS + textwrap.dedent(register))
    return folder


def _agent(env: gym.Env, path: Path) -> Path:
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    PPO("MlpPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu",
        policy_kwargs={"net_arch": [8]}).learn(32).save(path)
    return path


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if "PYTHONPATH" in os.environ:  # the package under test itself (a checkout that is not installed)
        environ["PYTHONPATH"] = os.environ["PYTHONPATH"]
    for key, value in env.items():
        environ[key] = os.pathsep.join(filter(None, [environ.get(key), value])) if key == "PYTHONPATH" else value
    return subprocess.run([sys.executable, *args], cwd=cwd, env=environ, capture_output=True, text=True,
                          timeout=600)


def test_module_env_id_from_the_command_line_runs_end_to_end(tmp_path: Path, monkeypatch) -> None:
    mods = _module(tmp_path / "mods", "pg_cli_envs", 'gym.register("My-v0", entry_point="pg_cli_envs:MyEnv")\n')
    monkeypatch.syspath_prepend(str(mods))
    agent = _agent(gym.make("pg_cli_envs:My-v0"), tmp_path / "my.zip")
    out = tmp_path / "out"
    done = _run([str(ROOT / "scripts" / "evaluate.py"), "--env", "pg_cli_envs:My-v0", "--agent", str(agent),
                 "--compress", "ptdq", "--episodes", "1", "--trials", "1", "--warmup", "0", "--replicates", "1",
                 "--no-codecarbon", "--out", str(out)], tmp_path, PYTHONPATH=str(mods))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "complete" and result["config"]["env_id"] == "pg_cli_envs:My-v0"
    assert all(m["status"] == "ok" for m in result["memory"].values())  # the probes imported the module too
    assert len(result["trials"]["ptdq"]) == 1


SCRIPT = '''
import gymnasium as gym
import paradox_gym
{register}
settings = paradox_gym.EvalSettings(env_id="MyEnv-v0", agent_path={agent!r}, algo="PPO", **{small!r})
events = []
try:
    result = paradox_gym.evaluate(settings, progress=events.append)
except paradox_gym.errors.UserInputError as exc:
    print("REFUSED", exc, "| events:", len(events))
else:
    print("STATUS", result.status, "| memory:", sorted(p.status for p in result.memory.values()))
'''


def test_a_caller_registered_env_with_an_importable_entry_point_reaches_the_replicates(tmp_path: Path) -> None:
    """The script's folder is not the working directory and not on PYTHONPATH: the replicates and memory
    probes find ``my_envs`` because the run passes its folder on."""
    script_dir = _module(tmp_path / "project", "my_envs")
    sys.path.insert(0, str(script_dir))
    try:
        import my_envs

        agent = _agent(my_envs.MyEnv(), tmp_path / "my.zip")
    finally:
        sys.path.remove(str(script_dir))
    register = 'gym.register("MyEnv-v0", entry_point="my_envs:MyEnv", max_episode_steps=50)'
    (script_dir / "run.py").write_text(SCRIPT.format(register=register, agent=str(agent), small=SMALL))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _run([str(script_dir / "run.py")], elsewhere)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "STATUS complete | memory: ['ok', 'ok']" in done.stdout, (done.stdout, done.stderr[-3000:])


def test_a_class_in_main_is_refused_before_any_work_in_one_line(tmp_path: Path) -> None:
    agent_dir = _module(tmp_path / "agent", "pg_main_envs")
    sys.path.insert(0, str(agent_dir))
    try:
        import pg_main_envs

        agent = _agent(pg_main_envs.MyEnv(), tmp_path / "my.zip")
    finally:
        sys.path.remove(str(agent_dir))
    register = ENV_CLASS + '\ngym.register("MyEnv-v0", entry_point=MyEnv, max_episode_steps=50)\n'
    (tmp_path / "notebook.py").write_text(SCRIPT.format(register=register, agent=str(agent), small=SMALL))
    done = _run([str(tmp_path / "notebook.py")], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = done.stdout.strip().splitlines()
    assert line.startswith("REFUSED environment 'MyEnv-v0' is registered with entry point 'MyEnv', defined in "
                           "__main__") and line.endswith("| events: 0")  # nothing loaded, nothing measured
    assert "entry_point='module:MyEnv'" in line and "--env module:MyEnv-v0" in line


def test_env_id_checks_name_the_module(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="importing module 'pg_no_such_module' failed: ModuleNotFoundError"):
        validate_env_id("pg_no_such_module:My-v0")
    with pytest.raises(UserInputError, match="module 'json' was imported but registers no environment 'PgNowhere-v0'"):
        validate_env_id("json:PgNowhere-v0")
    with pytest.raises(UserInputError, match="one colon"):
        validate_env_id("a:b:c")
    assert validate_env_id("paradox_gym:paradox_gym/MockDRL-v0") == "paradox_gym:paradox_gym/MockDRL-v0"


def test_fresh_process_env_passes_specs_and_refuses_what_cannot_be_rebuilt() -> None:
    passed = fresh_process_env("CartPole-v1")
    (spec,) = json.loads(passed[INHERITED_SPECS_VAR])
    assert spec["entry_point"] == "gymnasium.envs.classic_control.cartpole:CartPoleEnv"
    assert "PYTHONPATH" not in passed  # an installed package: a fresh process finds it
    gym.register("PgLambda-v0", entry_point=lambda: gym.make("CartPole-v1"))
    gym.register("PgKwargs-v0", entry_point="gymnasium.envs.classic_control.cartpole:CartPoleEnv",
                 kwargs={"render_mode": object()})
    try:
        with pytest.raises(UserInputError, match="'PgLambda-v0' is registered with entry point .*lambda"):
            fresh_process_env("PgLambda-v0")
        with pytest.raises(UserInputError, match="keyword arguments that cannot be passed"):
            fresh_process_env("PgKwargs-v0")
    finally:
        del gym.registry["PgLambda-v0"], gym.registry["PgKwargs-v0"]


def test_an_inherited_spec_is_registered_in_the_fresh_process(tmp_path: Path) -> None:
    spec = {"id": "PgInherited-v0", "entry_point": "gymnasium.envs.classic_control.cartpole:CartPoleEnv",
            "max_episode_steps": 7, "kwargs": {}}
    code = ("from paradox_gym.envs import make_env; env = make_env('PgInherited-v0'); env.reset(seed=0); "
            "print(env.spec.max_episode_steps)")
    done = _run(["-c", code], tmp_path, **{INHERITED_SPECS_VAR: json.dumps([spec])})
    assert done.returncode == 0 and done.stdout.strip() == "7", done.stderr[-2000:]
