"""A controllable mock deep-RL environment: per-step compute cost and early termination are knobs.

``MockDRLEnv`` (continuous actions) and ``MockDRLDiscreteEnv`` (discrete actions, same mechanics) let the
mechanisms behind "compressing the policy did not save energy" be isolated:

* ``complexity`` sets the environment's own CPU cost per step (a deterministic "physics" integration whose
  cost grows linearly with the knob) without changing the dynamics, rewards or episode lengths;
* the termination rule ends an episode early when the policy plays poorly, so a worse policy runs fewer
  steps and therefore costs less in total (the episode-length effect).

Dynamics (``k = action_dim``, ``n = state_dim``; full description in ``docs/environments.md``)::

    target_t  = tanh(s_t[:k])                                  (continuous variant)
    quality_t = exp(-||a_t - target_t||^2 / (k * quality_scale))         in (0, 1]
    reward_t  = clip(quality_t + reward_noise * xi_t, 0, 1)
    s_{t+1}   = clip(rho * s_t + coupling * pad(a_t) + state_noise * eps_t, -state_bound, state_bound)
    ema_t     = (1 - ema_alpha) * ema_{t-1} + ema_alpha * quality_t,      ema_0 = 1
    terminated when (t >= grace_steps and ema_t < quality_threshold) or u_t < hazard

Every random draw comes from ``self.np_random``, so ``reset(seed=...)`` makes rollouts exactly reproducible.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from paradox_gym.errors import UserInputError

#: Number of coupled oscillators in the "physics" integration driven by ``complexity``.
PHYSICS_BODIES = 64
#: Time step of one physics sub-step (dimensionless simulation time).
PHYSICS_DT = 0.05
#: Magnitude of every coordinate of a discrete-codebook action (each entry is +-this value).
CODEBOOK_MAGNITUDE = 0.8
#: Seed of the fixed codebook generator; the codebook never depends on the episode seed.
CODEBOOK_SEED = 20240704
#: Candidate codebooks drawn; the one with the largest minimum pairwise distance is kept.
CODEBOOK_CANDIDATES = 16


def _check_int(name: str, value: Any, minimum: int, what: str) -> int:
    """Return ``value`` as an int if it is an integer (not a bool) >= ``minimum``; else raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise UserInputError(f"{name} must be {what}, got {value!r}")
    return int(value)


def _check_float(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it is a finite real number (not a bool) in the given interval."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if math.isinf(high):
        interval = f"{'(' if low_open else '['}{low:g}, inf)"
    message = f"{name} must be a number in {interval}, got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise UserInputError(message)
    result = float(value)
    if not math.isfinite(result):
        raise UserInputError(message)
    if result < low or (low_open and result == low):
        raise UserInputError(message)
    if result > high or (high_open and result == high):
        raise UserInputError(message)
    return result


def _physics_matrix(bodies: int, dt: float) -> np.ndarray:
    """One symplectic-Euler step of a ring of unit masses joined by unit springs and tied to rest.

    The state is ``z = [x, v]`` (positions then velocities, ``2 * bodies`` values). With
    ``K = -(L + I)`` (``L`` the ring graph Laplacian), the step ``v' = v + dt K x``, ``x' = x + dt v'``
    is the linear map ``z' = M z`` returned here. Its eigenvalues lie on the unit circle
    (``dt * omega_max = 0.05 * sqrt(5) < 2``), so repeated application neither blows up nor decays
    towards subnormal numbers.
    """
    eye = np.eye(bodies)
    laplacian = 2.0 * eye - np.roll(eye, 1, axis=1) - np.roll(eye, -1, axis=1)
    stiffness = -(laplacian + eye)
    matrix = np.zeros((2 * bodies, 2 * bodies))
    matrix[:bodies, :bodies] = eye + dt * dt * stiffness
    matrix[:bodies, bodies:] = dt * eye
    matrix[bodies:, :bodies] = dt * stiffness
    matrix[bodies:, bodies:] = eye
    return np.ascontiguousarray(matrix)


_PHYSICS_MATRIX = _physics_matrix(PHYSICS_BODIES, PHYSICS_DT)
_PHYSICS_MATRIX.setflags(write=False)
_PHYSICS_START = np.concatenate(
    [np.sin(2.0 * np.pi * 3.0 * np.arange(PHYSICS_BODIES) / PHYSICS_BODIES), np.zeros(PHYSICS_BODIES)]
)
_PHYSICS_START.setflags(write=False)
_ONE = np.float32(1.0)
_MINUS_ONE = np.float32(-1.0)


class MockDRLEnv(gymnasium.Env[np.ndarray, np.ndarray]):
    """Continuous-action mock environment (``paradox_gym/MockDRL-v0``).

    Observation ``Box(-state_bound, state_bound, (state_dim,), float32)``; action
    ``Box(-1, 1, (action_dim,), float32)``; reward per step in ``[0, 1]`` (the action's quality plus small
    noise). An agent that always plays :meth:`target_action` earns about 1 per step and, with
    ``hazard=0``, is only ever truncated (at 500 steps when made through ``gymnasium.make``); uniformly
    random actions earn about 0.1 per step and terminate soon after the grace period.

    Args:
        state_dim: size of the observation vector (int >= 1).
        action_dim: size of the action vector (int in ``[1, state_dim]``).
        complexity: physics sub-steps per environment step (int >= 0); each is one 128x128
            matrix-vector product, so the environment's CPU time per step grows linearly with it. It
            changes only the cost and ``info["physics_checksum"]``, never observations, rewards or
            terminations.
        hazard: probability in ``[0, 1)`` that any step ends the episode regardless of play.
        quality_threshold: episode ends once the quality EMA falls below this (``[0, 1]``; 0 disables).
        grace_steps: steps before the quality rule can end an episode (int >= 0).
        ema_alpha: weight of the newest quality in the EMA (``(0, 1]``).
        quality_scale: width of the quality peak per action dimension (``> 0``); smaller is stricter.
        reward_noise: standard deviation of the Gaussian noise added to the reward (``>= 0``).
        rho: autoregressive coefficient of the state (``[0, 1)``).
        coupling: how strongly the action pushes the first ``action_dim`` state dimensions (``>= 0``).
        state_noise: standard deviation of the state's Gaussian innovation (``>= 0``).
        state_bound: states are clipped to ``[-state_bound, state_bound]`` (``> 0``).
        render_mode: ``None``, ``"ansi"`` (one line of text) or ``"rgb_array"`` (a small image: the
            state as a colour strip above a bar showing the quality EMA).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 30}

    def __init__(
        self,
        state_dim: int = 64,
        action_dim: int = 8,
        complexity: int = 0,
        hazard: float = 0.001,
        quality_threshold: float = 0.3,
        grace_steps: int = 50,
        ema_alpha: float = 0.05,
        quality_scale: float = 0.25,
        reward_noise: float = 0.02,
        rho: float = 0.9,
        coupling: float = 0.05,
        state_noise: float = 0.4,
        state_bound: float = 5.0,
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        self.state_dim = _check_int("state_dim", state_dim, 1, "a positive int")
        self.action_dim = _check_int("action_dim", action_dim, 1, "a positive int")
        if self.action_dim > self.state_dim:
            raise UserInputError(
                f"action_dim must be an int in [1, state_dim={self.state_dim}], got {action_dim!r}"
            )
        self.complexity = _check_int("complexity", complexity, 0, "an int >= 0")
        self.hazard = _check_float("hazard", hazard, 0.0, 1.0, high_open=True)
        self.quality_threshold = _check_float("quality_threshold", quality_threshold, 0.0, 1.0)
        self.grace_steps = _check_int("grace_steps", grace_steps, 0, "an int >= 0")
        self.ema_alpha = _check_float("ema_alpha", ema_alpha, 0.0, 1.0, low_open=True)
        self.quality_scale = _check_float("quality_scale", quality_scale, 0.0, math.inf, low_open=True)
        self.reward_noise = _check_float("reward_noise", reward_noise, 0.0, math.inf)
        self.rho = _check_float("rho", rho, 0.0, 1.0, high_open=True)
        self.coupling = _check_float("coupling", coupling, 0.0, math.inf)
        self.state_noise = _check_float("state_noise", state_noise, 0.0, math.inf)
        self.state_bound = _check_float("state_bound", state_bound, 0.0, math.inf, low_open=True)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise UserInputError(
                f"render_mode must be None, 'ansi' or 'rgb_array', got {render_mode!r}"
            )
        self.render_mode = render_mode

        bound = np.float32(self.state_bound)
        self.observation_space = spaces.Box(-bound, bound, shape=(self.state_dim,), dtype=np.float32)
        self.action_space = self._make_action_space()

        # Stationary standard deviation of the unclipped AR(1) state: the initial state is drawn from it.
        self._initial_std = self.state_noise / math.sqrt(1.0 - self.rho * self.rho)
        self._inv_width = 1.0 / (self.action_dim * self.quality_scale)

        # Preallocated buffers: a step allocates only the returned observation copy and the info dict.
        self._state = np.zeros(self.state_dim, dtype=np.float32)
        self._state_head = self._state[: self.action_dim]  # view: the dimensions the action targets
        self._noise = np.zeros(self.state_dim + 1, dtype=np.float32)  # state innovation + reward noise
        self._innovation = self._noise[: self.state_dim]  # view
        self._low = np.float32(-self.state_bound)
        self._rho32 = np.float32(self.rho)
        self._state_noise32 = np.float32(self.state_noise)
        self._coupling32 = np.float32(self.coupling)
        self._high = np.float32(self.state_bound)
        self._action = np.zeros(self.action_dim, dtype=np.float32)
        self._work = np.zeros(self.action_dim, dtype=np.float32)
        self._physics = _PHYSICS_START.copy()
        self._physics_next = np.zeros_like(self._physics)
        self._physics_checksum = float(np.dot(self._physics, self._physics))
        self._steps = 0
        self._ema = 1.0
        self._last_quality = float("nan")

    # ----------------------------------------------------------------------------------------------
    # Variant-specific parts (the discrete variant overrides these three).

    def _make_action_space(self) -> spaces.Space[Any]:
        return spaces.Box(-1.0, 1.0, shape=(self.action_dim,), dtype=np.float32)

    def _action_vector_and_quality(self, action: Any) -> tuple[np.ndarray, float]:
        """Continuous action (clipped to [-1, 1]) and its quality in the current state."""
        a = self._action
        if getattr(action, "shape", None) != a.shape and np.shape(action) != a.shape:
            raise UserInputError(
                f"action must be an array of shape ({self.action_dim},) in [-1, 1], got {action!r}"
            )
        try:
            np.maximum(action, _MINUS_ONE, out=a)
        except (TypeError, ValueError):  # strings, objects, complex numbers: no real-valued action
            raise UserInputError(
                f"action must be an array of shape ({self.action_dim},) of real numbers in [-1, 1], got {action!r}"
            ) from None
        np.minimum(a, _ONE, out=a)
        work = self._work
        np.tanh(self._state_head, out=work)
        np.subtract(a, work, out=work)
        squared = float(np.dot(work, work))
        if squared != squared:  # NaN in the action
            raise UserInputError(f"action must contain finite numbers in [-1, 1], got {action!r}")
        return a, math.exp(-squared * self._inv_width)

    def target_action(self) -> Any:
        """The action of maximal quality (1.0) in the current state: ``tanh(state[:action_dim])``.

        Returns:
            float32 array of shape ``(action_dim,)`` with values in ``[-1, 1]``.
        """
        return np.tanh(self._state[: self.action_dim]).astype(np.float32)

    # ----------------------------------------------------------------------------------------------

    def action_quality(self, action: Any) -> float:
        """Noise-free quality in ``(0, 1]`` that ``action`` would earn in the current state."""
        saved = self._action.copy()
        quality = self._action_vector_and_quality(action)[1]
        self._action[:] = saved
        return quality

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.np_random.standard_normal(dtype=np.float32, out=self._noise)
        np.multiply(self._noise[: self.state_dim], self._initial_std, out=self._state)
        np.maximum(self._state, self._low, out=self._state)
        np.minimum(self._state, self._high, out=self._state)
        self._steps = 0
        self._ema = 1.0
        self._last_quality = float("nan")
        self._physics[:] = _PHYSICS_START
        self._physics_checksum = float(np.dot(self._physics, self._physics))
        info = {"quality_ema": self._ema, "physics_checksum": self._physics_checksum}
        return self._state.copy(), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a, quality = self._action_vector_and_quality(action)
        noise = self._noise
        self.np_random.standard_normal(dtype=np.float32, out=noise)
        hazard_draw = self.np_random.random()

        if self.complexity:
            self._simulate_physics(a)

        reward = quality + self.reward_noise * float(noise[-1])
        reward = 0.0 if reward < 0.0 else (1.0 if reward > 1.0 else reward)
        self._ema += self.ema_alpha * (quality - self._ema)
        self._steps += 1
        self._last_quality = quality

        # State transition: s' = clip(rho * s + coupling * pad(a) + state_noise * eps).
        state = self._state
        state *= self._rho32
        innovation = self._innovation
        innovation *= self._state_noise32
        state += innovation
        if self.coupling:
            work = self._work
            np.multiply(a, self._coupling32, out=work)
            self._state_head += work
        np.maximum(state, self._low, out=state)
        np.minimum(state, self._high, out=state)

        info: dict[str, Any] = {
            "quality": quality,
            "quality_ema": self._ema,
            "physics_checksum": self._physics_checksum,
        }
        terminated = False
        if self._steps >= self.grace_steps and self._ema < self.quality_threshold:
            terminated = True
            info["terminated_by"] = "quality"
        elif hazard_draw < self.hazard:
            terminated = True
            info["terminated_by"] = "hazard"
        return state.copy(), reward, terminated, False, info

    def _simulate_physics(self, action: np.ndarray) -> None:
        """Advance the oscillator ring by ``complexity`` sub-steps, driven by the action.

        Each sub-step is one 128x128 matrix-vector product (about 16k multiply-adds), so the CPU time
        grows linearly with ``complexity``. The result is reported as ``info["physics_checksum"]``
        (sum of squared positions and velocities) and never feeds the state, so ``complexity``
        changes the cost of a step but not the trajectory.
        """
        z, z_next = self._physics, self._physics_next
        drive = min(self.action_dim, PHYSICS_BODIES)
        z[PHYSICS_BODIES : PHYSICS_BODIES + drive] += PHYSICS_DT * action[:drive]
        for _ in range(self.complexity):
            np.dot(_PHYSICS_MATRIX, z, out=z_next)
            z, z_next = z_next, z
        self._physics, self._physics_next = z, z_next
        self._physics_checksum = float(np.dot(z, z))

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        if self.render_mode != "ansi":
            return None
        return (
            f"step={self._steps} quality={self._last_quality:.3f} ema={self._ema:.3f} "
            f"physics_checksum={self._physics_checksum:.6g}"
        )


    def _render_rgb(self) -> np.ndarray:
        """A ``(48, 4 * state_dim, 3)`` uint8 image: state strip (blue < 0 < red), quality EMA bar (green)."""
        width = 4 * self.state_dim
        image = np.zeros((48, width, 3), dtype=np.uint8)
        level = np.repeat(np.clip(self._state / self.state_bound, -1.0, 1.0), 4)
        image[:32, :, 0] = (255 * np.clip(level, 0.0, 1.0)).astype(np.uint8)
        image[:32, :, 2] = (255 * np.clip(-level, 0.0, 1.0)).astype(np.uint8)
        filled = int(round(width * min(max(self._ema, 0.0), 1.0)))
        image[36:46, :filled, 1] = 220
        return image


class MockDRLDiscreteEnv(MockDRLEnv):
    """Discrete-action variant (``paradox_gym/MockDRLDiscrete-v0``), e.g. for DQN.

    Action ``i`` in ``Discrete(n_actions)`` plays the continuous action ``codebook[i]``: a fixed vector of
    ``+-0.8`` entries (the same for every seed). The target is the codebook entry closest to the
    continuous target ``tanh(state[:action_dim])``, so the best discrete action earns quality 1 and the
    others ``exp(-||codebook[i] - codebook[best]||^2 / (action_dim * quality_scale))``. State dynamics,
    reward noise, termination and ``complexity`` are those of :class:`MockDRLEnv`.

    Args:
        n_actions: number of discrete actions (int >= 2).
        **kwargs: every argument of :class:`MockDRLEnv`.
    """

    def __init__(
        self,
        state_dim: int = 64,
        action_dim: int = 8,
        complexity: int = 0,
        *,
        n_actions: int = 8,
        **kwargs: Any,
    ) -> None:
        self.n_actions = _check_int("n_actions", n_actions, 2, "an int >= 2")
        super().__init__(state_dim=state_dim, action_dim=action_dim, complexity=complexity, **kwargs)
        self.codebook = make_codebook(self.n_actions, self.action_dim)
        self.codebook.setflags(write=False)
        # quality of playing entry i when entry j is the target (precomputed: steps only index it)
        diff = self.codebook[:, None, :] - self.codebook[None, :, :]
        self._quality_table = np.exp(-np.sum(diff * diff, axis=-1, dtype=np.float64) * self._inv_width)
        self._scores = np.zeros(self.n_actions, dtype=np.float32)

    def _make_action_space(self) -> spaces.Space[Any]:
        return spaces.Discrete(self.n_actions)

    def _action_index(self, action: Any) -> int:
        if isinstance(action, (int, np.integer)) and not isinstance(action, (bool, np.bool_)):
            index = int(action)
        else:
            array = np.asarray(action)
            if array.size != 1 or not np.issubdtype(array.dtype, np.integer):
                raise UserInputError(f"action must be an int in [0, {self.n_actions - 1}], got {action!r}")
            index = int(array.reshape(()))
        if not 0 <= index < self.n_actions:
            raise UserInputError(f"action must be an int in [0, {self.n_actions - 1}], got {action!r}")
        return index

    def _best_index(self) -> int:
        work = self._work
        np.tanh(self._state_head, out=work)
        # All entries have the same norm, so the closest entry is the one most aligned with the target.
        np.dot(self.codebook, work, out=self._scores)
        return int(np.argmax(self._scores))

    def _action_vector_and_quality(self, action: Any) -> tuple[np.ndarray, float]:
        index = self._action_index(action)
        return self.codebook[index], float(self._quality_table[index, self._best_index()])

    def target_action(self) -> int:  # type: ignore[override]
        """Index of the discrete action of quality 1 in the current state."""
        return self._best_index()

    def action_quality(self, action: Any) -> float:
        return self._action_vector_and_quality(action)[1]


def make_codebook(n_actions: int, action_dim: int) -> np.ndarray:
    """Fixed codebook of the discrete variant: ``n_actions`` vectors with entries ``+-0.8``.

    Sign patterns are drawn by a generator with a fixed seed (``CODEBOOK_SEED``); of
    ``CODEBOOK_CANDIDATES`` draws the one whose closest pair of entries is farthest apart is kept, so
    wrong actions score poorly. Entries can only all differ when ``2**action_dim >= n_actions``.

    Returns:
        float32 array of shape ``(n_actions, action_dim)``.
    """
    rng = np.random.default_rng(CODEBOOK_SEED)
    best: np.ndarray | None = None
    best_distance = -1
    for _ in range(CODEBOOK_CANDIDATES):
        signs = rng.integers(0, 2, size=(n_actions, action_dim)) * 2 - 1
        hamming = np.count_nonzero(signs[:, None, :] != signs[None, :, :], axis=-1)
        np.fill_diagonal(hamming, action_dim + 1)
        distance = int(hamming.min())
        if distance > best_distance:
            best, best_distance = signs, distance
    assert best is not None
    return (best * CODEBOOK_MAGNITUDE).astype(np.float32)
