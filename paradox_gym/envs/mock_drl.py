"""A controllable mock deep-RL environment: per-step compute cost and early termination are knobs.

``MockDRLEnv`` (continuous actions) and ``MockDRLDiscreteEnv`` (discrete actions, same mechanics) let the
mechanisms behind "compressing the policy did not save energy" be isolated:

* ``complexity`` (a real number >= 0) sets the environment's own CPU cost per step (a deterministic
  "physics" integration of ``complexity x 16384`` multiply-adds a step) without changing the dynamics,
  rewards or episode lengths;
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

from paradox_gym._util.checks import check_int, check_real, check_size
from paradox_gym.errors import UserInputError
from paradox_gym.limits import MAX_ACTIONS, MAX_MOCK_COMPLEXITY, MAX_SPACE_ENTRIES

#: Number of coupled oscillators in the "physics" integration driven by ``complexity``.
PHYSICS_BODIES = 64
#: Time step of one physics sub-step (dimensionless simulation time).
PHYSICS_DT = 0.05
#: Size of the physics state (positions then velocities) = rows and columns of the sub-step matrix.
PHYSICS_SIZE = 2 * PHYSICS_BODIES
#: Multiply-adds of one whole physics sub-step (one 128x128 matrix-vector product).
PHYSICS_SUBSTEP_MULTIPLY_ADDS = PHYSICS_SIZE * PHYSICS_SIZE
#: Smallest ``quality_scale``: below it ``1 / (action_dim * quality_scale)`` can overflow to inf (and the
#: quality of the exact target to ``exp(-0 * inf) = NaN``); at it any action off the target by more than
#: about 3e-3 per dimension already scores ~0.
MIN_QUALITY_SCALE = 1e-6
#: Largest ``state_bound``, ``coupling`` and ``state_noise``: the state is float32 (largest 3.4e38), and
#: with every scale at most 1e20 no sum or product of a step (nor the initial draw) can overflow to inf.
MAX_STATE_SCALE = 1e20
#: Smallest ``state_bound`` (float32 would round anything below ~1e-38 to a zero-width space).
MIN_STATE_BOUND = 1e-30
#: The discrete variant precomputes an ``n_actions x n_actions`` quality table up to this many actions
#: (8 MB of float64); above it each step computes the one entry it needs (the same value).
QUALITY_TABLE_MAX_ACTIONS = 1024
#: Most sign comparisons (``n_actions^2 x action_dim``) the codebook's spread search may make per
#: candidate; above it the first candidate is kept (see :func:`make_codebook`).
CODEBOOK_SEARCH_BUDGET = 2**25
#: Magnitude of every coordinate of a discrete-codebook action (each entry is +-this value).
CODEBOOK_MAGNITUDE = 0.8
#: Seed of the fixed codebook generator; the codebook never depends on the episode seed.
CODEBOOK_SEED = 20240704
#: Candidate codebooks drawn; the one with the largest minimum pairwise distance is kept.
CODEBOOK_CANDIDATES = 16


def _check_complexity(value: Any) -> int | float:
    """``complexity`` as an int (integers) or a float: a finite real number in ``[0, MAX_MOCK_COMPLEXITY]``."""
    message = (
        f"complexity must be a real number in [0, {MAX_MOCK_COMPLEXITY:g}] (physics sub-steps per step; "
        f"the upper bound is paradox_gym.limits.MAX_MOCK_COMPLEXITY), got {value!r}"
    )
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise UserInputError(message)
    if isinstance(value, numbers.Integral):
        if not 0 <= value <= MAX_MOCK_COMPLEXITY:
            raise UserInputError(message)
        return int(value)
    try:
        result = float(value)
    except (OverflowError, ValueError):
        raise UserInputError(message) from None
    if not (math.isfinite(result) and 0.0 <= result <= MAX_MOCK_COMPLEXITY):
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
        state_dim: size of the observation vector (int in ``[1, MAX_SPACE_ENTRIES]``).
        action_dim: size of the action vector (int in ``[1, state_dim]``).
        complexity: physics work per environment step, in sub-steps (a real number in
            ``[0, MAX_MOCK_COMPLEXITY]``). A whole sub-step is one 128x128 matrix-vector product (16384
            multiply-adds); ``c`` runs ``floor(c)`` whole sub-steps plus, for the fraction
            ``f = c - floor(c)``, the first ``round(128 f)`` rows of one more product, so a step does
            ``16384 floor(c) + 128 round(128 f)`` (~``16384 c``) multiply-adds and its CPU time grows
            linearly with ``c`` (see :attr:`physics_multiply_adds`). It changes only the cost and
            ``info["physics_checksum"]``, never observations, rewards or terminations.
        hazard: probability in ``[0, 1)`` that any step ends the episode regardless of play.
        quality_threshold: episode ends once the quality EMA falls below this (``[0, 1]``; 0 disables).
        grace_steps: steps before the quality rule can end an episode (int >= 0).
        ema_alpha: weight of the newest quality in the EMA (``(0, 1]``).
        quality_scale: width of the quality peak per action dimension (``>= 1e-6``); smaller is stricter.
        reward_noise: standard deviation of the Gaussian noise added to the reward (``>= 0``; the reward
            is clipped to ``[0, 1]`` whatever the noise).
        rho: autoregressive coefficient of the state (``[0, 1)``).
        coupling: how strongly the action pushes the first ``action_dim`` state dimensions
            (``[0, 1e20]``).
        state_noise: standard deviation of the state's Gaussian innovation (``[0, 1e20]``).
        state_bound: states are clipped to ``[-state_bound, state_bound]`` (``[1e-30, 1e20]``).
        render_mode: ``None``, ``"ansi"`` (one line of text) or ``"rgb_array"`` (a small image: the
            state as a colour strip above a bar showing the quality EMA).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 30}

    def __init__(
        self,
        state_dim: int = 64,
        action_dim: int = 8,
        complexity: float = 0,
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
        self.state_dim = check_size("state_dim", state_dim, 1, MAX_SPACE_ENTRIES, "MAX_SPACE_ENTRIES")
        self.action_dim = check_int("action_dim", action_dim, 1)
        if self.action_dim > self.state_dim:
            raise UserInputError(
                f"action_dim must be an int in [1, state_dim={self.state_dim}], got {action_dim!r}"
            )
        self.complexity = _check_complexity(complexity)
        self.hazard = check_real("hazard", hazard, 0.0, 1.0, high_open=True)
        self.quality_threshold = check_real("quality_threshold", quality_threshold, 0.0, 1.0)
        self.grace_steps = check_int("grace_steps", grace_steps, 0)
        self.ema_alpha = check_real("ema_alpha", ema_alpha, 0.0, 1.0, low_open=True)
        self.quality_scale = check_real("quality_scale", quality_scale, MIN_QUALITY_SCALE, math.inf)
        self.reward_noise = check_real("reward_noise", reward_noise, 0.0, math.inf)
        self.rho = check_real("rho", rho, 0.0, 1.0, high_open=True)
        self.coupling = check_real("coupling", coupling, 0.0, MAX_STATE_SCALE)
        self.state_noise = check_real("state_noise", state_noise, 0.0, MAX_STATE_SCALE)
        self.state_bound = check_real("state_bound", state_bound, MIN_STATE_BOUND, MAX_STATE_SCALE)
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
        # Physics: floor(complexity) whole sub-steps, then the first ``_physics_rows`` rows of one more.
        whole = math.floor(self.complexity)
        self._physics_steps = int(whole)
        self._physics_rows = min(int(round((self.complexity - whole) * PHYSICS_SIZE)), PHYSICS_SIZE)
        self._partial_matrix = _PHYSICS_MATRIX[: self._physics_rows]  # view: the leading rows
        # Two buffers of 2 x 128 values; a sub-step reads the head of one and writes the head of the
        # other. The partial sub-step writes its rows right after the head of the buffer holding the
        # state, so that the checksum is one dot product over ``head + partial rows``.
        self._slots = tuple(
            (buffer[:PHYSICS_SIZE], buffer[PHYSICS_SIZE : PHYSICS_SIZE + self._physics_rows],
             buffer[: PHYSICS_SIZE + self._physics_rows])
            for buffer in (np.zeros(2 * PHYSICS_SIZE), np.zeros(2 * PHYSICS_SIZE))
        )
        self._physics = self._slots[0][0]
        self._physics_next = self._slots[1][0]
        self._physics[:] = _PHYSICS_START
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

    @property
    def physics_multiply_adds(self) -> int:
        """Multiply-adds of the physics per step: ``16384 * floor(complexity) + 128 * round(128 * f)``
        (``f`` the fractional part of ``complexity``), i.e. ``~16384 * complexity``; the checksum's own
        dot product (128 values, plus the partial rows) is not counted."""
        return PHYSICS_SUBSTEP_MULTIPLY_ADDS * self._physics_steps + PHYSICS_SIZE * self._physics_rows

    def _simulate_physics(self, action: np.ndarray) -> None:
        """Advance the oscillator ring by ``floor(complexity)`` sub-steps, driven by the action, then
        compute a fraction of one more.

        Each whole sub-step is one 128x128 matrix-vector product (16384 multiply-adds). A fractional
        complexity ``f`` also computes the first ``round(128 f)`` rows of the next product (the leading
        coordinates advanced by one more sub-step: ``128 round(128 f)`` multiply-adds) into a scratch
        area; the state itself only advances by whole sub-steps, so it stays on the symplectic
        integrator's bounded orbit. The CPU time thus grows linearly with ``complexity``.
        ``info["physics_checksum"]`` is the sum of squared positions and velocities, plus (fractional
        complexity) the sum of squares of the partially advanced coordinates; it never feeds the state,
        so ``complexity`` changes the cost of a step but not the trajectory.
        """
        z, z_next = self._physics, self._physics_next
        drive = min(self.action_dim, PHYSICS_BODIES)
        z[PHYSICS_BODIES : PHYSICS_BODIES + drive] += PHYSICS_DT * action[:drive]
        for _ in range(self._physics_steps):
            np.dot(_PHYSICS_MATRIX, z, out=z_next)
            z, z_next = z_next, z
        self._physics, self._physics_next = z, z_next
        if self._physics_rows:
            _, partial, extended = self._slots[0] if z is self._slots[0][0] else self._slots[1]
            np.dot(self._partial_matrix, z, out=partial)
            self._physics_checksum = float(np.dot(extended, extended))
        else:
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
        n_actions: number of discrete actions (int in ``[2, MAX_ACTIONS]``, and the codebook
            ``n_actions x action_dim`` at most ``MAX_SPACE_ENTRIES`` values).
        **kwargs: every argument of :class:`MockDRLEnv`.
    """

    def __init__(
        self,
        state_dim: int = 64,
        action_dim: int = 8,
        complexity: float = 0,
        *,
        n_actions: int = 8,
        **kwargs: Any,
    ) -> None:
        self.n_actions = check_size("n_actions", n_actions, 2, MAX_ACTIONS, "MAX_ACTIONS")
        super().__init__(state_dim=state_dim, action_dim=action_dim, complexity=complexity, **kwargs)
        if self.n_actions * self.action_dim > MAX_SPACE_ENTRIES:
            raise UserInputError(
                f"the codebook of n_actions x action_dim = {self.n_actions} x {self.action_dim} values exceeds "
                f"{MAX_SPACE_ENTRIES} (paradox_gym.limits.MAX_SPACE_ENTRIES); use fewer actions or a smaller "
                "action_dim"
            )
        self.codebook = make_codebook(self.n_actions, self.action_dim)
        self.codebook.setflags(write=False)
        # quality of playing entry i when entry j is the target (precomputed up to
        # QUALITY_TABLE_MAX_ACTIONS actions: steps only index it; above, computed per step)
        self._quality_table: np.ndarray | None = None
        if self.n_actions <= QUALITY_TABLE_MAX_ACTIONS:
            # in blocks of rows: memory stays ~ n_actions x action_dim x rows, never n_actions^2 x action_dim
            n, k = self.n_actions, self.action_dim
            rows = max(1, (1 << 22) // (n * k))
            table = np.empty((n, n), dtype=np.float64)
            for start in range(0, n, rows):
                diff = self.codebook[start:start + rows, None, :] - self.codebook[None, :, :]
                table[start:start + rows] = np.exp(-np.sum(diff * diff, axis=-1, dtype=np.float64) * self._inv_width)
            self._quality_table = table
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
        if self._quality_table is not None:
            return self.codebook[index], float(self._quality_table[index, self._best_index()])
        diff = self.codebook[index] - self.codebook[self._best_index()]
        return self.codebook[index], float(np.exp(-np.sum(diff * diff, dtype=np.float64) * self._inv_width))

    def target_action(self) -> int:  # type: ignore[override]
        """Index of the discrete action of quality 1 in the current state."""
        return self._best_index()

    def action_quality(self, action: Any) -> float:
        return self._action_vector_and_quality(action)[1]


def make_codebook(n_actions: int, action_dim: int) -> np.ndarray:
    """Fixed codebook of the discrete variant: ``n_actions`` vectors with entries ``+-0.8``.

    Sign patterns are drawn by a generator with a fixed seed (``CODEBOOK_SEED``); of
    ``CODEBOOK_CANDIDATES`` draws the one whose closest pair of entries is farthest apart is kept (the
    first on ties), so wrong actions score poorly. Entries can only all differ when
    ``2**action_dim >= n_actions``: otherwise every draw has a repeated entry and the first is kept. The
    search compares ``n_actions^2 x action_dim`` signs per draw; above ``CODEBOOK_SEARCH_BUDGET`` the
    first draw is kept too (such codebooks are too large for the choice to matter much).

    Returns:
        float32 array of shape ``(n_actions, action_dim)``.
    """
    n_actions = check_size("n_actions", n_actions, 1, MAX_ACTIONS, "MAX_ACTIONS")
    action_dim = check_size("action_dim", action_dim, 1, MAX_SPACE_ENTRIES, "MAX_SPACE_ENTRIES")
    if n_actions * action_dim > MAX_SPACE_ENTRIES:
        raise UserInputError(f"a codebook of {n_actions} x {action_dim} values exceeds {MAX_SPACE_ENTRIES} "
                             "(paradox_gym.limits.MAX_SPACE_ENTRIES)")
    rng = np.random.default_rng(CODEBOOK_SEED)
    distinct = (n_actions - 1).bit_length() <= action_dim  # 2**action_dim >= n_actions
    search = distinct and n_actions * n_actions * action_dim <= CODEBOOK_SEARCH_BUDGET
    best: np.ndarray | None = None
    best_distance = -1
    for _ in range(CODEBOOK_CANDIDATES if search else 1):
        signs = rng.integers(0, 2, size=(n_actions, action_dim)) * 2 - 1
        distance = _min_hamming_distance(signs) if search else 0
        if distance > best_distance:
            best, best_distance = signs, distance
    assert best is not None
    return (best * CODEBOOK_MAGNITUDE).astype(np.float32)


def _min_hamming_distance(signs: np.ndarray) -> int:
    """Smallest number of differing signs between two rows of a ``+-1`` matrix (exact).

    For ``+-1`` rows ``hamming(i, j) = (k - s_i . s_j) / 2``; the dot products are exact in float32 for
    ``k < 2**24``. Computed in blocks of rows so that memory stays ``O(n_actions)`` per block row.
    """
    n, k = signs.shape
    matrix = signs.astype(np.float32)
    block = max(1, (1 << 22) // n)
    closest = -math.inf
    for start in range(0, n, block):
        products = matrix[start : start + block] @ matrix.T
        rows = np.arange(products.shape[0])
        products[rows, start + rows] = -math.inf  # not a pair
        closest = max(closest, float(products.max()))
    return int(round((k - closest) / 2))
