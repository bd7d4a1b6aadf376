"""Everything that defines an evaluation, validated once: :class:`EvalSettings`.

Units: ``amount`` is a fraction in [0, 1); ``episodes`` are per trial; ``warmup`` is a number of episodes
per configuration; ``cpu_tdp_w`` is watts per CPU package; ``threads`` is torch's intra-op thread count.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paradox_gym._util.checks import check_amount, check_choice, check_cpu_tdp, check_int
from paradox_gym.compression.registry import canonical_method
from paradox_gym.energy.meters import METER_NAMES, METERS, default_meter_names
from paradox_gym.envs import validate_env_id
from paradox_gym.errors import AgentNotFoundError, UserInputError
from paradox_gym.sb3 import check_algo_env, normalize_algo
from paradox_gym.vocab import BASELINE

DEFAULT_EPISODES = 10
DEFAULT_TRIALS = 5
DEFAULT_WARMUP = 2
DEFAULT_AMOUNT = 0.5
DEFAULT_THREADS = 1
DEFAULT_MEMORY_EPISODES = 3
PHASE_CLOCKS: tuple[str, ...] = ("wall", "cpu")


class SettingsError(UserInputError):
    """A bad value of one :class:`EvalSettings` field; ``field`` names it (the CLI shows its flag)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name

    def with_label(self, label: str) -> UserInputError:
        """The same error naming ``label`` (e.g. ``--episodes``) instead of the field."""
        text = str(self)
        if text.startswith(self.field):
            text = label + text[len(self.field):]
        return UserInputError(text)


def _names(value: Any, what: str) -> tuple[str, ...]:
    """A comma-separated string or a sequence of strings -> a tuple of stripped names."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    try:
        items = tuple(value)
    except TypeError:
        raise UserInputError(f"{what} must be a list of names, got {value!r}") from None
    if not all(isinstance(v, str) for v in items):
        raise UserInputError(f"{what} must be names (strings), got {list(items)!r}")
    return tuple(v.strip() for v in items if v.strip())


@dataclass(frozen=True)
class EvalSettings:
    """One evaluation: which agent, which compressed configurations, how much measurement.

    Validated once, on construction (a bad value raises UserInputError naming it and the valid
    choices; nothing slow happens before that). Normalised on construction: method aliases become
    canonical names, ``algo`` is upper case, ``meters`` defaults to ``cpu-model`` plus the hardware
    counters available here, and CodeCarbon is added as the cross-check when ``codecarbon`` is true.

    Attributes:
        env_id: Gymnasium environment id.
        algo: PPO, A2C, DQN, SAC, TD3 or DDPG; None: the zoo's default for ``env_id`` (or, with
            ``agent_path``, read from the zip).
        agent_path: the user's SB3 zip (loaded without unpickling); None: the zoo agent.
        methods: compressed configurations compared against the float baseline ``none`` (which is
            always measured and need not be listed).
        amount: pruning amount in [0, 1) for the methods that use one.
        episodes: episodes per trial (one energy window).
        trials: trials per configuration, interleaved across configurations.
        warmup: warm-up episodes per configuration, before any trial.
        seed: seed of the first measured episode (episode seeds are shared by every configuration).
        meters: energy meters (None: the defaults for this machine).
        cpu_tdp_w: CPU TDP in W per package for the CPU-time model (None: CodeCarbon's table).
        codecarbon: run CodeCarbon over the same windows as a cross-check.
        memory: measure memory in a fresh process per configuration.
        threads: torch threads (1: a clean phase split).
        out: directory the files are written to (None: write nothing).
        phase_clock: per-step clock of the phase split, ``wall`` or ``cpu``.
        memory_episodes: episodes played by each memory probe.
        train_missing: train a missing zoo agent first (zoo hyperparameters).
        agents_dir: the user's agents directory (None: the default, see ``paradox_gym.zoo``).
    """

    env_id: str = "CartPole-v1"
    algo: str | None = None
    agent_path: str | None = None
    methods: tuple[str, ...] = ("ptdq",)
    amount: float = DEFAULT_AMOUNT
    episodes: int = DEFAULT_EPISODES
    trials: int = DEFAULT_TRIALS
    warmup: int = DEFAULT_WARMUP
    seed: int = 0
    meters: tuple[str, ...] | None = None
    cpu_tdp_w: float | None = None
    codecarbon: bool = True
    memory: bool = True
    threads: int = DEFAULT_THREADS
    out: str | None = None
    phase_clock: str = "wall"
    memory_episodes: int = DEFAULT_MEMORY_EPISODES
    train_missing: bool = False
    agents_dir: str | None = field(default=None)

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        def checked(name: str, check: Any, *args: Any) -> Any:
            try:
                return check(*args)
            except UserInputError as exc:
                raise SettingsError(name, str(exc)) from None

        for name, minimum in (("episodes", 1), ("trials", 1), ("warmup", 0), ("threads", 1), ("seed", 0),
                              ("memory_episodes", 1)):
            put(name, checked(name, check_int, name, getattr(self, name), minimum))
        put("amount", checked("amount", check_amount, self.amount))
        put("cpu_tdp_w", checked("cpu_tdp_w", check_cpu_tdp, self.cpu_tdp_w))
        put("phase_clock", check_choice("phase clock", self.phase_clock, PHASE_CLOCKS))
        methods: list[str] = []
        for m in _names(self.methods, "methods"):
            name = canonical_method(m)
            if name != BASELINE and name not in methods:
                methods.append(name)
        put("methods", tuple(methods))
        put("meters", self._check_meters())
        put("env_id", validate_env_id(self.env_id))
        if self.agent_path is not None:
            path = Path(self.agent_path)
            if not path.exists():
                raise AgentNotFoundError(f"agent file {str(path)!r} does not exist")
            if not path.is_file():
                raise UserInputError(f"agent {str(path)!r} is not a file (expected an SB3 agent zip)")
            put("agent_path", str(path))
        if self.algo is not None:
            put("algo", normalize_algo(self.algo))
            check_algo_env(self.algo, self.env_id)  # also reports a missing optional dependency (MuJoCo, Box2D)
        if self.out is not None:
            put("out", str(self.out))
        if self.agents_dir is not None:
            put("agents_dir", str(self.agents_dir))

    def _check_meters(self) -> tuple[str, ...]:
        given = self.meters is not None
        meters = list(_names(self.meters, "meters")) if given else default_meter_names()
        if not meters:
            raise UserInputError(f"meters is empty; valid meters: {', '.join(METER_NAMES)}")
        for m in meters:
            check_choice("meter", m, METER_NAMES)
        if len(set(meters)) != len(meters):
            raise UserInputError(f"meters lists a meter twice: {','.join(meters)}")
        energy = [m for m in meters if METERS[m].role == "energy"]
        if not energy:
            raise UserInputError(
                f"meters {','.join(meters)!r} has no energy meter: "
                f"{', '.join(m for m in meters if METERS[m].role != 'energy')} only cross-check; add one of "
                f"{', '.join(n for n, e in METERS.items() if e.role == 'energy')}"
            )
        cross = [n for n, e in METERS.items() if e.role == "cross-check"]
        if not self.codecarbon:
            meters = [m for m in meters if m not in cross]
        else:
            meters += [m for m in cross if m not in meters]
        return tuple(meters)

    @property
    def configs(self) -> tuple[str, ...]:
        """Every measured configuration: the baseline first, then ``methods``."""
        return (BASELINE, *self.methods)

    def replace(self, **changes: Any) -> "EvalSettings":
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON); ``methods`` lists every configuration, the baseline first."""
        out = dataclasses.asdict(self)
        out["methods"] = list(self.configs)
        out["meters"] = list(self.meters or ())
        return out
