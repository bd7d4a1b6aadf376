"""The training checkpoint's replay buffer: the newest transitions, in order, restored as they were added."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paradox_gym.errors import UserInputError
from paradox_gym.zoo import checkpoints

BUFFER = 500
STEPS = 700  # Pendulum-v1 truncates at 200 steps: 3 episode ends, and the buffer wraps once


@pytest.fixture(scope="module")
def filled() -> object:
    from stable_baselines3 import TD3

    model = TD3("MlpPolicy", "Pendulum-v1", buffer_size=BUFFER, learning_starts=10_000, seed=3,
                policy_kwargs={"net_arch": [8]})
    model.learn(total_timesteps=STEPS)
    assert model.replay_buffer.full and model.replay_buffer.pos == STEPS - BUFFER
    return model


def _fresh(buffer_size: int = BUFFER) -> object:
    from stable_baselines3 import TD3

    return TD3("MlpPolicy", "Pendulum-v1", buffer_size=buffer_size, policy_kwargs={"net_arch": [8]})


def _in_order(buffer: object, name: str) -> np.ndarray:
    rows = getattr(buffer, name)
    size = buffer.buffer_size if buffer.full else buffer.pos
    if not buffer.full:
        return rows[:size]
    return np.concatenate([rows[buffer.pos:], rows[:buffer.pos]])


def test_the_replay_buffer_comes_back_in_the_order_it_was_filled(filled: object) -> None:
    arrays = checkpoints.replay_arrays(filled.replay_buffer)
    assert arrays["observations"].dtype == np.float32
    # Pendulum's episode ends (and the last row) are the only next observations stored
    assert list(arrays["next_rows"]) == [199, 399, 499]  # steps 200-699 kept: ends at 399 and 599
    model = _fresh()
    checkpoints.restore_replay(model.replay_buffer, arrays)
    restored = model.replay_buffer
    assert restored.full and restored.pos == 0
    for name in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
        np.testing.assert_allclose(_in_order(restored, name), _in_order(filled.replay_buffer, name),
                                   rtol=1e-6, atol=1e-6)


def test_a_checkpoint_keeps_only_the_newest_rows(filled: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoints, "REPLAY_ROWS_KEPT", 150)
    arrays = checkpoints.replay_arrays(filled.replay_buffer)
    model = _fresh()
    checkpoints.restore_replay(model.replay_buffer, arrays)
    assert not model.replay_buffer.full and model.replay_buffer.pos == 150
    newest = _in_order(filled.replay_buffer, "next_observations")[-150:]
    np.testing.assert_allclose(model.replay_buffer.next_observations[:150], newest, rtol=1e-6, atol=1e-6)
    # a buffer smaller than the saved rows keeps the newest of them
    small = _fresh(buffer_size=100)
    checkpoints.restore_replay(small.replay_buffer, arrays)
    assert small.replay_buffer.full and small.replay_buffer.pos == 0
    np.testing.assert_allclose(small.replay_buffer.next_observations, newest[-100:], rtol=1e-6, atol=1e-6)


def test_the_first_format_still_resumes(filled: object, tmp_path: Path) -> None:
    buffer = filled.replay_buffer
    old = {name: getattr(buffer, name) for name in ("observations", "next_observations", "actions", "rewards",
                                                    "dones", "timeouts")}
    old["meta"] = np.array([buffer.pos, int(buffer.full)], dtype=np.int64)
    np.savez(tmp_path / "replay.npz", **old)
    model = _fresh()
    with np.load(tmp_path / "replay.npz", allow_pickle=False) as arrays:
        checkpoints.restore_replay(model.replay_buffer, {name: arrays[name] for name in arrays.files})
    assert model.replay_buffer.pos == buffer.pos and model.replay_buffer.full
    np.testing.assert_array_equal(model.replay_buffer.observations, buffer.observations)


def _tiny_td3_zoo(tmp_path: Path, *, eval_every: int) -> Path:
    """An agents directory whose TD3 Pendulum-v1 training takes 600 steps, checkpointed every 300."""
    out = tmp_path / "agents"
    (out / "hyperparams").mkdir(parents=True)
    (out / "hyperparams" / "td3.yml").write_text(
        "Pendulum-v1:\n  n_timesteps: 600\n  learning_starts: 100\n  buffer_size: 1000\n"
        f"  policy_kwargs:\n    net_arch: [8]\n  checkpoint_every: 300\n  eval_every: {eval_every}\n",
        encoding="utf-8")
    return out


class _Killed(Exception):
    """Stands for a process killed after its first checkpoint."""


def test_train_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    from paradox_gym import zoo

    out = _tiny_td3_zoo(tmp_path, eval_every=400)

    def killed_at_first_evaluation(message: str) -> None:
        if "return" in message:
            raise _Killed(message)

    with pytest.raises(_Killed, match="^400 steps"):
        zoo.train("TD3", "Pendulum-v1", out_dir=out, eval_episodes=1, progress=False, log=killed_at_first_evaluation)
    directory = checkpoints.run_dir(out, "td3-pendulum-v1.zip")
    state = checkpoints.read_state(directory)
    assert state is not None and state.num_timesteps == 300
    with np.load(directory / "replay.npz", allow_pickle=False) as arrays:
        # SB3 calls the callback before it stores the step's transition: the checkpoint holds 299 of them
        assert len(arrays["observations"]) == 299 and int(arrays["format"]) == checkpoints.REPLAY_FORMAT
    with pytest.raises(UserInputError, match="pass --resume to continue it"):
        zoo.train("TD3", "Pendulum-v1", out_dir=out, eval_episodes=1, progress=False)
    said: list[str] = []
    entry = zoo.train("TD3", "Pendulum-v1", out_dir=out, eval_episodes=1, progress=False, resume=True,
                      log=said.append)
    assert said[0] == "resuming TD3 on Pendulum-v1 at 300 of 600 steps"
    assert entry["num_timesteps"] == 600 and (out / "td3-pendulum-v1.zip").is_file()
    assert not directory.exists()


class _Terminated(Exception):
    """What the test's SIGTERM handler raises."""


def test_sigterm_while_training_checkpoints_the_step_it_arrives_at(tmp_path: Path) -> None:
    import os
    import signal

    from paradox_gym import zoo

    out = _tiny_td3_zoo(tmp_path, eval_every=250)

    def terminated(_signum: int, _frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminated)
    said: list[str] = []

    def log(message: str) -> None:
        said.append(message)
        if message.startswith("250 steps"):
            os.kill(os.getpid(), signal.SIGTERM)

    try:
        with pytest.raises(_Terminated):
            zoo.train("TD3", "Pendulum-v1", out_dir=out, eval_episodes=1, progress=False, log=log)
        assert signal.getsignal(signal.SIGTERM) is terminated  # the caller's handler is back
    finally:
        signal.signal(signal.SIGTERM, previous)
    directory = checkpoints.run_dir(out, "td3-pendulum-v1.zip")
    state = checkpoints.read_state(directory)
    assert state is not None and state.num_timesteps == 250  # the step the signal arrived at, not 0
    assert said[-1].startswith("stopped at 250 steps") and "--resume" in said[-1]
    entry = zoo.train("TD3", "Pendulum-v1", out_dir=out, eval_episodes=1, progress=False, resume=True)
    assert entry["num_timesteps"] == 600
