"""Tests of the mock environments (paradox_gym/MockDRL-v0 and paradox_gym/MockDRLDiscrete-v0)."""

from __future__ import annotations

import math
import subprocess
import sys
import time
import warnings
from typing import Any, Callable

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import paradox_gym  # noqa: F401  (registers the environments)
from paradox_gym.envs import mock_drl
from paradox_gym.envs.mock_drl import MockDRLDiscreteEnv, MockDRLEnv, make_codebook
from paradox_gym.errors import UserInputError
from paradox_gym.limits import MAX_ACTIONS, MAX_MOCK_COMPLEXITY, MAX_SPACE_ENTRIES

CONTINUOUS = "paradox_gym/MockDRL-v0"
DISCRETE = "paradox_gym/MockDRLDiscrete-v0"
BOTH = [CONTINUOUS, DISCRETE]


def rollout(
    env: gymnasium.Env[Any, Any], seed: int, policy: Callable[[gymnasium.Env[Any, Any]], Any]
) -> tuple[int, float, bool, bool]:
    """Play one episode; return (steps, total reward, terminated, truncated)."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    steps, total = 0, 0.0
    while True:
        _, reward, terminated, truncated, _ = env.step(policy(env))
        steps += 1
        total += float(reward)
        if terminated or truncated:
            return steps, total, terminated, truncated


def oracle(env: gymnasium.Env[Any, Any]) -> Any:
    return env.unwrapped.target_action()  # type: ignore[attr-defined]


def uniform(env: gymnasium.Env[Any, Any]) -> Any:
    return env.action_space.sample()


# --- registration -----------------------------------------------------------------------------------


def test_make_with_kwargs() -> None:
    env = gymnasium.make(CONTINUOUS, state_dim=16, action_dim=4, complexity=3, hazard=0.0, rho=0.5)
    assert env.spec is not None and env.spec.max_episode_steps == 500
    assert env.observation_space.shape == (16,) and env.observation_space.dtype == np.float32
    assert env.action_space.shape == (4,) and env.action_space.dtype == np.float32
    assert np.all(env.action_space.low == -1.0) and np.all(env.action_space.high == 1.0)
    assert env.unwrapped.complexity == 3 and env.unwrapped.rho == 0.5  # type: ignore[attr-defined]

    denv = gymnasium.make(DISCRETE, state_dim=12, action_dim=6, n_actions=5, grace_steps=7)
    assert denv.spec is not None and denv.spec.max_episode_steps == 500
    assert denv.action_space == gymnasium.spaces.Discrete(5)
    assert denv.observation_space.shape == (12,)
    assert denv.unwrapped.grace_steps == 7  # type: ignore[attr-defined]
    assert denv.unwrapped.codebook.shape == (5, 6)  # type: ignore[attr-defined]


def test_make_by_module_prefix_without_prior_import() -> None:
    code = (
        "import sys, gymnasium\n"
        "assert 'paradox_gym' not in sys.modules\n"
        "for env_id in ('paradox_gym:paradox_gym/MockDRL-v0', 'paradox_gym:paradox_gym/MockDRLDiscrete-v0'):\n"
        "    env = gymnasium.make(env_id, state_dim=10, action_dim=3)\n"
        "    obs, _ = env.reset(seed=0)\n"
        "    env.step(env.action_space.sample())\n"
        "    print(env_id, obs.shape, env.spec.max_episode_steps)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "paradox_gym/MockDRL-v0 (10,) 500" in result.stdout
    assert "paradox_gym/MockDRLDiscrete-v0 (10,) 500" in result.stdout


# --- API conformance --------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", BOTH)
def test_env_checkers_pass_without_warnings(env_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gymnasium_check_env(gymnasium.make(env_id).unwrapped)
        gymnasium_check_env(gymnasium.make(env_id, complexity=2, render_mode="ansi").unwrapped)
        sb3_check_env(gymnasium.make(env_id).unwrapped)
        sb3_check_env(gymnasium.make(env_id, state_dim=5, action_dim=5, complexity=1).unwrapped)


@pytest.mark.parametrize("env_id", BOTH)
def test_render_ansi(env_id: str) -> None:
    env = gymnasium.make(env_id, render_mode="ansi")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    text = env.render()
    assert isinstance(text, str) and text.startswith("step=1 quality=")


@pytest.mark.parametrize("env_id", BOTH)
def test_render_rgb_array_and_sb3_make_from_id(env_id: str) -> None:
    env = gymnasium.make(env_id, state_dim=16, action_dim=4, render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.shape == (48, 64, 3) and image.dtype == np.uint8
    assert image[36:46, :, 1].max() == 220  # the quality EMA starts at 1: a full green bar
    # SB3 asks for render_mode="rgb_array" whenever it is given an environment id.
    from stable_baselines3.common.env_util import make_vec_env

    vec = make_vec_env(env_id, n_envs=1, seed=0)
    assert vec.reset().shape == (1, 64)


# --- reproducibility --------------------------------------------------------------------------------


def trajectory(env_id: str, seed: int, steps: int = 120, **kwargs: Any) -> list[Any]:
    env = gymnasium.make(env_id, hazard=0.0, quality_threshold=0.0, **kwargs)
    actions = np.random.default_rng(123)
    obs, info = env.reset(seed=seed)
    out: list[Any] = [obs, info]
    for _ in range(steps):
        if env_id == DISCRETE:
            action: Any = int(actions.integers(env.action_space.n))  # type: ignore[attr-defined]
        else:
            action = actions.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        out.append(env.step(action))
    return out


def same(a: Any, b: Any) -> bool:
    return bool(gymnasium.utils.env_checker.data_equivalence(a, b, exact=True))


@pytest.mark.parametrize("env_id", BOTH)
def test_seeded_rollouts_are_identical_and_seeds_differ(env_id: str) -> None:
    first, again, other = trajectory(env_id, 7), trajectory(env_id, 7), trajectory(env_id, 8)
    assert same(first, again)
    assert not np.array_equal(first[0], other[0])
    assert [step[1] for step in first[2:]] != [step[1] for step in other[2:]]


@pytest.mark.parametrize("env_id", BOTH)
def test_complexity_changes_cost_not_dynamics(env_id: str) -> None:
    plain, heavy = trajectory(env_id, 3, complexity=0), trajectory(env_id, 3, complexity=4)
    for a, b in zip(plain[2:], heavy[2:]):
        assert np.array_equal(a[0], b[0]) and a[1:4] == b[1:4]
        assert a[4]["quality"] == b[4]["quality"]
    checksums = [step[4]["physics_checksum"] for step in heavy[2:]]
    assert all(np.isfinite(checksums)) and len(set(checksums)) > 100
    assert same(heavy, trajectory(env_id, 3, complexity=4))  # the physics is deterministic too


# --- rewards, target action, termination ------------------------------------------------------------


def test_target_action_earns_quality_one() -> None:
    env = MockDRLEnv(state_dim=32, action_dim=6)
    env.reset(seed=1)
    for _ in range(50):
        target = env.target_action()
        assert target.dtype == np.float32 and target.shape == (6,)
        assert np.all(np.abs(target) <= 1.0)
        assert env.action_quality(target) == pytest.approx(1.0)
        assert env.action_quality(np.clip(target + 0.5, -1, 1)) < 0.9
        _, reward, _, _, info = env.step(target)
        assert info["quality"] == pytest.approx(1.0) and 0.9 <= reward <= 1.0

    denv = MockDRLDiscreteEnv()
    denv.reset(seed=1)
    for _ in range(50):
        best = denv.target_action()
        assert isinstance(best, int) and 0 <= best < 8
        assert denv.action_quality(best) == 1.0
        others = [denv.action_quality(i) for i in range(8) if i != best]
        assert max(others) < 0.5
        _, _, _, _, info = denv.step(best)
        assert info["quality"] == 1.0


@pytest.mark.parametrize("env_id", BOTH)
def test_oracle_survives_to_truncation(env_id: str) -> None:
    env = gymnasium.make(env_id, hazard=0.0)
    for seed in range(3):
        steps, total, terminated, truncated = rollout(env, seed, oracle)
        assert (steps, terminated, truncated) == (500, False, True)
        assert total / steps > 0.95


@pytest.mark.parametrize("env_id", BOTH)
def test_random_play_scores_poorly_and_ends_earlier(env_id: str) -> None:
    env = gymnasium.make(env_id)  # default hazard: the oracle is sometimes cut short too
    oracle_runs = [rollout(env, seed, oracle) for seed in range(20)]
    random_runs = [rollout(env, seed, uniform) for seed in range(20)]
    oracle_length = np.mean([run[0] for run in oracle_runs])
    random_length = np.mean([run[0] for run in random_runs])
    assert random_length < 0.5 * oracle_length
    assert all(run[2] for run in random_runs)  # every random episode terminates (not truncated)
    assert np.mean([run[1] / run[0] for run in random_runs]) < 0.3
    assert np.mean([run[1] / run[0] for run in oracle_runs]) > 0.95
    # fewer steps means less total reward (and less total cost) for the worse policy
    assert np.mean([run[1] for run in random_runs]) < 0.1 * np.mean([run[1] for run in oracle_runs])


def test_grace_period_and_hazard() -> None:
    def worst(e: gymnasium.Env[Any, Any]) -> Any:  # the far corner: quality <= exp(-4)
        return -np.sign(e.unwrapped.target_action()).astype(np.float32)  # type: ignore[attr-defined]

    env = gymnasium.make(CONTINUOUS, hazard=0.0, grace_steps=20, ema_alpha=1.0)
    steps, _, terminated, _ = rollout(env, 0, worst)
    assert terminated and steps == 20  # ends as soon as the grace period is over
    # the default EMA (alpha 0.05, starting at 1) needs 24 poor steps to fall below 0.3
    env = gymnasium.make(CONTINUOUS, hazard=0.0, grace_steps=0)
    steps, _, terminated, _ = rollout(env, 0, worst)
    assert terminated and steps == 24

    env = gymnasium.make(CONTINUOUS, hazard=0.2)
    lengths = [rollout(env, seed, oracle)[0] for seed in range(20)]
    assert np.mean(lengths) < 20  # geometric with mean 5


def test_state_stays_bounded_and_finite() -> None:
    env = MockDRLEnv(state_dim=8, action_dim=8, coupling=5.0, state_noise=3.0, state_bound=2.0, hazard=0.0,
                     quality_threshold=0.0)
    obs, _ = env.reset(seed=0)
    for _ in range(300):
        obs, reward, _, _, _ = env.step(np.ones(8, dtype=np.float32))
        assert obs.dtype == np.float32 and np.all(np.abs(obs) <= 2.0) and 0.0 <= reward <= 1.0
    assert np.max(np.abs(obs)) == pytest.approx(2.0)


def test_codebook_is_fixed_and_spread() -> None:
    book = make_codebook(8, 8)
    assert np.array_equal(book, MockDRLDiscreteEnv().codebook)
    assert np.array_equal(book, make_codebook(8, 8))
    assert set(np.unique(np.abs(book))) == {np.float32(0.8)}
    assert len({tuple(row) for row in book}) == 8


# --- cost --------------------------------------------------------------------------------------------


def per_step_seconds(complexity: int, steps: int = 200, repeats: int = 5) -> float:
    env = MockDRLEnv(complexity=complexity, hazard=0.0, quality_threshold=0.0)
    env.reset(seed=0)
    action = np.zeros(8, dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        for _ in range(steps):
            env.step(action)
        best = min(best, (time.thread_time() - start) / steps)
    return best


def test_step_time_grows_with_complexity() -> None:
    base, medium, heavy = per_step_seconds(0), per_step_seconds(50), per_step_seconds(200)
    assert medium > 2.0 * base
    assert heavy > 2.0 * medium  # roughly linear: 4x the sub-steps costs well over 2x
    assert base < 100e-6  # complexity 0 is cheap (about 10 us on a laptop core); CPU time: load does not count


# --- user errors -------------------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("state_dim", -3),
    ("state_dim", 0),
    ("state_dim", 4.0),
    ("state_dim", True),
    ("state_dim", "64"),
    ("action_dim", 0),
    ("action_dim", 65),  # > state_dim
    ("action_dim", 2.5),
    ("complexity", -1),
    ("complexity", -0.5),
    ("complexity", float("nan")),
    ("complexity", float("inf")),
    ("complexity", MAX_MOCK_COMPLEXITY + 1),
    ("complexity", 10**400),
    ("complexity", "1.5"),
    ("complexity", False),
    ("hazard", 1.0),
    ("hazard", -0.1),
    ("hazard", float("nan")),
    ("hazard", True),
    ("quality_threshold", 1.5),
    ("grace_steps", -1),
    ("ema_alpha", 0.0),
    ("ema_alpha", 1.1),
    ("quality_scale", 0.0),
    ("quality_scale", 1e-320),  # 1 / (k * scale) overflows: the exact target would score NaN
    ("quality_scale", float("inf")),
    ("reward_noise", -0.01),
    ("rho", 1.0),
    ("rho", -0.5),
    ("coupling", -1.0),
    ("coupling", 1e308),  # float32 state: would overflow to inf, then inf * 0 = NaN
    ("state_noise", -1.0),
    ("state_noise", 1e308),
    ("state_bound", 0.0),
    ("state_bound", 1e-320),  # rounds to 0 in float32
    ("state_bound", 1e308),
    ("state_dim", 10**12),  # capped before anything is allocated
    ("render_mode", "video"),
]


@pytest.mark.parametrize(("name", "value"), BAD_ARGUMENTS)
@pytest.mark.parametrize("env_id", BOTH)
def test_bad_arguments_raise_user_input_error(env_id: str, name: str, value: Any) -> None:
    with pytest.raises(UserInputError, match=name) as raised:
        (MockDRLEnv if env_id == CONTINUOUS else MockDRLDiscreteEnv)(**{name: value})
    assert isinstance(raised.value, ValueError)
    assert repr(value) in str(raised.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium.make warns about an unknown render_mode first
        with pytest.raises(UserInputError, match=name):
            gymnasium.make(env_id, **{name: value})


@pytest.mark.parametrize("name", ["rho", "quality_scale", "state_bound"])
def test_an_integer_too_large_for_a_float_is_refused_by_name(name: str) -> None:
    with pytest.raises(UserInputError, match=rf"{name} must be a number in .*, got 1000000000"):
        MockDRLEnv(**{name: 10**400})


@pytest.mark.parametrize("value", [1, 0, 2.0, True])
def test_bad_n_actions(value: Any) -> None:
    with pytest.raises(ValueError, match="n_actions must be an integer >= 2"):
        MockDRLDiscreteEnv(n_actions=value)


def test_bad_actions() -> None:
    env = MockDRLEnv(action_dim=3, state_dim=5)
    env.reset(seed=0)
    for action in (np.zeros(4, np.float32), [0.5], 0.5, np.array([0.0, np.nan, 0.0], np.float32)):
        with pytest.raises(UserInputError, match="action must"):
            env.step(action)
    for action in (["a", "b", "c"], np.array([1j, 0, 0]), [None, 0.0, 0.0]):  # not real numbers
        with pytest.raises(UserInputError, match="action must be an array of shape"):
            env.step(action)
    env.step([2.0, -2.0, 0.0])  # out-of-range actions are clipped, like SB3 does
    denv = MockDRLDiscreteEnv(n_actions=4)
    denv.reset(seed=0)
    for bad in (4, -1, 1.5, np.array([1, 2])):
        with pytest.raises(UserInputError, match=r"action must be an int in \[0, 3\]"):
            denv.step(bad)
    denv.step(np.array(2))
    denv.step(np.array([3]))


# --- fractional complexity ---------------------------------------------------------------------------


def test_fractional_complexity_work_is_linear() -> None:
    work = {c: MockDRLEnv(complexity=c).physics_multiply_adds for c in (0, 0.25, 0.5, 1, 1.5, 2, 2.75, 10)}
    assert work == {c: int(16384 * c) for c in work}  # 128 x 128 multiply-adds per sub-step, pro rata
    # a fraction that is not a multiple of 1/128 is rounded to the nearest row of the partial product
    assert MockDRLEnv(complexity=0.3).physics_multiply_adds == 128 * round(0.3 * 128)
    assert MockDRLEnv(complexity=MAX_MOCK_COMPLEXITY).physics_multiply_adds == 16384 * int(MAX_MOCK_COMPLEXITY)


@pytest.mark.parametrize("env_id", BOTH)
def test_fractional_complexity_changes_cost_not_dynamics(env_id: str) -> None:
    plain, half, one_and_half = (trajectory(env_id, 3, complexity=c) for c in (0, 0.5, 1.5))
    for a, b, c in zip(plain[2:], half[2:], one_and_half[2:]):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[0], c[0])
        assert a[1:4] == b[1:4] == c[1:4] and a[4]["quality"] == b[4]["quality"] == c[4]["quality"]
    checksums = [step[4]["physics_checksum"] for step in half[2:]]
    assert all(np.isfinite(checksums)) and len(set(checksums)) > 100
    assert same(half, trajectory(env_id, 3, complexity=0.5))


def test_fractional_checksum_is_the_partial_product() -> None:
    """complexity 1.5: one whole sub-step, then the first 64 rows of the next product, in the checksum."""
    matrix = mock_drl._physics_matrix(mock_drl.PHYSICS_BODIES, mock_drl.PHYSICS_DT)
    z = mock_drl._PHYSICS_START.copy()
    env = MockDRLEnv(complexity=1.5, state_dim=4, action_dim=2, hazard=0.0, quality_threshold=0.0)
    env.reset(seed=0)
    for action in (np.array([0.5, -0.25], np.float32), np.array([1.0, 0.75], np.float32)):
        _, _, _, _, info = env.step(action)
        z[64:66] += mock_drl.PHYSICS_DT * action
        z = matrix @ z
        partial = matrix[:64] @ z
        assert info["physics_checksum"] == pytest.approx(z @ z + partial @ partial, rel=1e-12)
    # integers and integral floats are the same environment (same checksums)
    ints, floats = trajectory(CONTINUOUS, 1, 30, complexity=2), trajectory(CONTINUOUS, 1, 30, complexity=2.0)
    assert same(ints, floats)


def test_complexity_accepts_real_numbers() -> None:
    from fractions import Fraction

    assert MockDRLEnv(complexity=np.float32(0.5)).physics_multiply_adds == 8192
    assert MockDRLEnv(complexity=Fraction(3, 2)).physics_multiply_adds == 16384 + 8192
    assert MockDRLEnv(complexity=np.int64(3)).complexity == 3
    with pytest.raises(UserInputError, match=r"complexity must be a real number in \[0, 100000\].*"
                                             r"MAX_MOCK_COMPLEXITY.*got nan"):
        MockDRLEnv(complexity=float("nan"))


# --- extreme but valid arguments, and caps --------------------------------------------------------------

EXTREMES = [
    {"reward_noise": 1e308},
    {"state_bound": 1e20, "coupling": 1e20, "state_noise": 1e20, "rho": 0.9999999999999999},
    {"state_bound": 1e-30, "coupling": 1e-320, "state_noise": 5e-324},
    {"quality_scale": 1e-6},
    {"quality_scale": 1e308},
    {"ema_alpha": 5e-324, "hazard": 5e-324, "grace_steps": 10**30},
    {"ema_alpha": 1.0, "quality_threshold": 1.0, "grace_steps": 0},
]


@pytest.mark.parametrize("kwargs", EXTREMES)
@pytest.mark.parametrize("cls", [MockDRLEnv, MockDRLDiscreteEnv])
def test_extreme_valid_arguments_keep_everything_finite(cls: type, kwargs: dict[str, Any]) -> None:
    env = cls(state_dim=8, action_dim=4, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        for seed in range(3):
            obs, _ = env.reset(seed=seed)
            assert np.all(np.isfinite(obs)) and env.observation_space.contains(obs)
            for _ in range(60):
                obs, reward, terminated, truncated, info = env.step(env.target_action())
                assert np.all(np.isfinite(obs)) and env.observation_space.contains(obs)
                assert math.isfinite(reward) and 0.0 <= reward <= 1.0
                assert math.isfinite(info["quality"]) and math.isfinite(info["quality_ema"])
                if terminated or truncated:
                    break
    # the exact target earns quality 1 (not NaN) even at the strictest width
    env.reset(seed=0)
    assert env.action_quality(env.target_action()) == 1.0


def test_sizes_are_capped_before_allocation() -> None:
    with pytest.raises(UserInputError, match=rf"state_dim must be an int in \[1, {MAX_SPACE_ENTRIES}\] "
                                             r"\(paradox_gym.limits.MAX_SPACE_ENTRIES\), got 1000000000000"):
        MockDRLEnv(state_dim=10**12, action_dim=2)
    with pytest.raises(UserInputError, match=r"action_dim must be an int in \[1, state_dim=64\]"):
        MockDRLEnv(action_dim=10**12)
    with pytest.raises(UserInputError, match=rf"n_actions must be an int in \[2, {MAX_ACTIONS}\] "
                                             r"\(paradox_gym.limits.MAX_ACTIONS\), got 1000000000"):
        MockDRLDiscreteEnv(n_actions=10**9)
    with pytest.raises(UserInputError, match=r"codebook of n_actions x action_dim = 65536 x 64 values exceeds "
                                             r"1000000 \(paradox_gym.limits.MAX_SPACE_ENTRIES\)"):
        MockDRLDiscreteEnv(n_actions=MAX_ACTIONS, action_dim=64)
    with pytest.raises(UserInputError, match="MAX_ACTIONS"):
        make_codebook(10**9, 8)  # the public helper checks too, before drawing anything
    with pytest.raises(UserInputError, match="MAX_SPACE_ENTRIES"):
        make_codebook(1000, 10**4)


def test_large_discrete_variant_is_cheap_and_consistent(monkeypatch: pytest.MonkeyPatch) -> None:
    # the largest action count: no n x n table, no quadratic codebook search (2**15 < 65536 actions)
    big = MockDRLDiscreteEnv(n_actions=MAX_ACTIONS, action_dim=15, state_dim=15)
    assert big._quality_table is None and big.codebook.shape == (MAX_ACTIONS, 15)
    big.reset(seed=0)
    assert big.step(big.target_action())[4]["quality"] == 1.0
    # the per-step quality (no table) equals the table's
    table = MockDRLDiscreteEnv(n_actions=40, action_dim=8)
    monkeypatch.setattr(mock_drl, "QUALITY_TABLE_MAX_ACTIONS", 1)
    computed = MockDRLDiscreteEnv(n_actions=40, action_dim=8)
    assert computed._quality_table is None and table._quality_table is not None
    table.reset(seed=4)
    computed.reset(seed=4)
    for action in np.random.default_rng(0).integers(40, size=100):
        a, b = table.step(int(action)), computed.step(int(action))
        assert a[1] == b[1] and a[4] == b[4] and np.array_equal(a[0], b[0])


def _codebook_by_pairwise_comparison(n_actions: int, action_dim: int) -> np.ndarray:
    """The codebook search as first written (an n x n x action_dim comparison), for small sizes."""
    rng = np.random.default_rng(mock_drl.CODEBOOK_SEED)
    best, best_distance = None, -1
    for _ in range(mock_drl.CODEBOOK_CANDIDATES):
        signs = rng.integers(0, 2, size=(n_actions, action_dim)) * 2 - 1
        hamming = np.count_nonzero(signs[:, None, :] != signs[None, :, :], axis=-1)
        np.fill_diagonal(hamming, action_dim + 1)
        if int(hamming.min()) > best_distance:
            best, best_distance = signs, int(hamming.min())
    return (best * mock_drl.CODEBOOK_MAGNITUDE).astype(np.float32)


@pytest.mark.parametrize(("n_actions", "action_dim"), [(2, 1), (8, 8), (5, 3), (16, 4), (100, 8), (300, 8),
                                                       (64, 20), (500, 12), (3, 30)])
def test_codebook_search_unchanged(n_actions: int, action_dim: int) -> None:
    assert np.array_equal(make_codebook(n_actions, action_dim),
                          _codebook_by_pairwise_comparison(n_actions, action_dim))
