"""Everything that defines an evaluation, validated once: :class:`EvalSettings`.

Units: ``amount`` is a fraction in [0, 1); ``episodes`` are per trial; ``warmup`` is a number of episodes
per configuration; ``cpu_tdp_w`` is watts per CPU package; ``threads`` is torch's intra-op thread count.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from paradox_gym import limits
from paradox_gym._util.checks import check_amount, check_choice, check_cpu_tdp, check_fraction, check_int, shown
from paradox_gym.compression.qat import DEFAULT_QAT_STEPS
from paradox_gym.compression.registry import ALIASES, METHOD_TABLE, canonical_method
from paradox_gym.compression.runtimes import RUNTIME_TABLE, SB3, check_runtime, config_name
from paradox_gym.energy.devices import DEFAULT_ENERGY_SCOPE, ENERGY_SCOPES, headline_scope
from paradox_gym.energy.emissions import carbon_intensity
from paradox_gym.energy.meters import METER_NAMES, METERS, default_meter_names
from paradox_gym.energy.placement import DEFAULT_DEVICE, POLICY_DEVICES, check_device
from paradox_gym.errors import UserInputError
from paradox_gym.sb3 import check_algo_env, normalize_algo
from paradox_gym.sb3.rlzoo import AgentSettingError, resolve_agent_settings
from paradox_gym.vocab import BASELINE, CONTROL

@dataclass(frozen=True)
class Setting:
    """What one :class:`EvalSettings` field is to the outside world, declared once beside the field.

    ``flag`` -- its command-line option (None: Python only); ``kind`` -- how the CLI parses it: ``int``,
    ``number``, ``str``, ``names`` (comma separated), ``flag`` (a switch that sets True), ``no-flag`` (a
    switch that sets False: ``--no-memory``), ``choice`` (one of ``choices``); ``bounds`` -- the range of an
    ``int`` (checked on construction; the maxima are :mod:`paradox_gym.limits`' caps); ``grid`` -- a study
    grid may set it for every cell (the grid key is the field's name). The CLI parser, the grid keys, the
    JSON round trip and the settings table of docs/evaluation.md are all generated from these.
    """

    help: str
    flag: str | None = None
    kind: str = "str"
    bounds: tuple[int, int] | None = None
    choices: tuple[str, ...] | None = None
    grid: bool = False
    metavar: str | None = None


def setting(default: Any, help: str, **declared: Any) -> Any:  # noqa: A002 - argparse's word
    """A dataclass field carrying its :class:`Setting` (``help`` and the keywords of :class:`Setting`)."""
    return field(default=default, metadata={"setting": Setting(help=help, **declared)})


DEFAULT_EPISODES = 10
DEFAULT_TRIALS = 2
DEFAULT_REPLICATES = 5
DEFAULT_MARGIN = 0.05
DEFAULT_RETURN_MARGIN = 0.10
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
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise UserInputError(f"{what} must be a list of names, got {shown(value)}")
    items = tuple(value)
    if not all(isinstance(v, str) for v in items):
        raise UserInputError(f"{what} must be names (strings), got {shown(list(items))}")
    return tuple(v.strip() for v in items if v.strip())


def _check_path_kind(name: str, value: str, kind: str) -> None:
    """Refuse an existing path of the wrong kind before anything opens it (``os.stat`` never blocks, even on
    a FIFO): ``kind`` is ``file`` (a regular file), ``dir`` (a directory) or ``file-or-dir``."""
    import stat

    try:
        mode = os.stat(value).st_mode
    except (FileNotFoundError, PermissionError):
        return  # missing (or unreadable): the loader says so, naming the path
    except (OSError, ValueError) as exc:  # a name too long, a file used as a folder, a link loop
        raise SettingsError(name, f"{name} {shown(value)} cannot be used "
                                  f"({getattr(exc, 'strerror', None) or exc})") from None
    if kind == "dir" and not stat.S_ISDIR(mode):
        raise SettingsError(name, f"{name} {shown(value)} is not a directory")
    if kind == "file" and not stat.S_ISREG(mode):
        what = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
        raise SettingsError(name, f"{name} {shown(value)} is {what}")
    if kind == "file-or-dir" and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise SettingsError(name, f"{name} {shown(value)} is not a regular file nor a directory (a FIFO, socket "
                                  "or device)")


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
        trials: trials per configuration in each replicate, interleaved across configurations in an
            order drawn afresh for every round.
        replicates: independent fresh processes, each loading, compressing, warming up and running its
            trials; intervals and verdicts rest on the variation between them.
        control: also measure ``none-copy``, a second independently loaded copy of the baseline (the A/A
            control that calibrates the run: its interval is the minimum detectable effect).
        margin: equivalence margin for energy (fraction: 0.05 = an interval inside +-5% is "equivalent").
        return_margin: return is "kept" when the ratio's lower bound is >= 1 - return_margin (the study's
            90% rule at 0.10).
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
        runtimes: inference runtimes each method runs on (``sb3``, ``torch``, ``onnxruntime``; see
            :mod:`paradox_gym.compression.runtimes`); the ``sb3`` float baseline is always measured.
        qat_steps: fine-tuning steps of the ``qat`` method.
        env_kwargs: keyword arguments of ``gymnasium.make`` (None: those the agent's rl-zoo3 run folder
            gives, else none).
        vecnormalize_path: observation-normalisation statistics (a ``VecNormalize.save`` pickle, read
            without unpickling; see :mod:`paradox_gym.sb3.vecnormalize`); None: found beside the agent zip,
            in its rl-zoo3 run folder or in the zoo manifest. Applied to every configuration alike.
        no_vecnormalize: evaluate without normalisation even when the agent was trained with it.
        best: with an rl-zoo3 run folder as ``agent_path``, load its ``best_model.zip``.
        stochastic: sample actions (seeded: torch's generator is seeded with each episode's seed) instead
            of the deterministic (mean / greedy) action.
        device: where the policy runs, ``cpu`` or ``cuda`` (CUDA: only the methods whose registry record
            lists it, on the ``sb3`` runtime; see :mod:`paradox_gym.energy.placement`).
        energy_scope: the devices the headline energy sums: ``total`` (every device measured), ``cpu`` or
            ``gpu``; a scope that leaves out the policy's device is refused.
        country: ISO 3166-1 alpha-3 code for the CO2e estimate (None: the world average, as CodeCarbon's
            offline tracker does for an unknown country).
    """

    env_id: str | None = setting(
        None, "Gymnasium env id (default: what --agent's rl-zoo3 run folder says, else CartPole-v1)", flag="--env")
    algo: str | None = setting(
        None, "PPO, A2C, DQN, SAC, TD3, DDPG, TRPO, TQC or QRDQN (default: the zoo's for --env, or read from "
              "--agent)", flag="--algo")
    agent_path: str | None = setting(
        None, "your own SB3 / sb3-contrib zip (loaded without unpickling), or an rl-zoo3 run folder "
              "(logs/ppo/Hopper-v4_1/: env, env_kwargs and normalisation read from its config)",
        flag="--agent", metavar="PATH")
    methods: tuple[str, ...] = setting(
        ("ptdq",), "compression methods, comma separated; the baseline 'none' is always included (default "
                   "ptdq). Methods: " + ", ".join(f"{m.name} ({m.summary})" for m in METHOD_TABLE.values()
                                                  if m.name != BASELINE)
                   + "; aliases: " + ", ".join(ALIASES), flag="--compress", kind="names")
    amount: float = setting(DEFAULT_AMOUNT, f"pruning amount in [0, 1) (default {DEFAULT_AMOUNT})", flag="--amount",
                            kind="number")
    episodes: int = setting(DEFAULT_EPISODES, "episodes per trial", flag="--episodes", kind="int",
                            bounds=(1, limits.MAX_EPISODES), grid=True)
    trials: int = setting(DEFAULT_TRIALS, "trials per configuration in each replicate", flag="--trials", kind="int",
                          bounds=(1, limits.MAX_TRIALS), grid=True)
    warmup: int = setting(DEFAULT_WARMUP, "warm-up episodes per configuration", flag="--warmup", kind="int",
                          bounds=(0, limits.MAX_WARMUP), grid=True)
    seed: int = setting(0, "seed of the first measured episode", flag="--seed", kind="int",
                        bounds=(0, limits.MAX_SEED), grid=True)
    meters: tuple[str, ...] | None = setting(
        None, f"energy meters, comma separated: {', '.join(METER_NAMES)} (default: cpu-model plus rapl/nvml where "
              "available)", flag="--meters", kind="names", grid=True)
    cpu_tdp_w: float | None = setting(None, "CPU TDP in W per package for cpu-model (default: CodeCarbon's table)",
                                      flag="--cpu-tdp", kind="number", grid=True, metavar="W")
    codecarbon: bool = setting(True, "CodeCarbon cross-check over the same windows (--no-codecarbon: skip it)",
                               flag="--no-codecarbon", kind="no-flag", grid=True)
    memory: bool = setting(True, "fresh-process memory probe per configuration (--no-memory: skip it)",
                           flag="--no-memory", kind="no-flag", grid=True)
    threads: int = setting(DEFAULT_THREADS, "torch threads", flag="--threads", kind="int",
                           bounds=(1, limits.MAX_THREADS), grid=True)
    out: str | None = setting(None, "output directory (default results/<time>-<env>/)", flag="--out", metavar="DIR")
    phase_clock: str = setting("wall", "per-step clock of the phase split: wall (cheapest, default) or cpu "
                                       "(per-thread CPU time)", flag="--phase-clock", kind="choice",
                               choices=PHASE_CLOCKS, grid=True)
    memory_episodes: int = setting(DEFAULT_MEMORY_EPISODES, "episodes played by each memory probe", kind="int",
                                   bounds=(1, limits.MAX_EPISODES), grid=True)
    train_missing: bool = setting(False, "train the zoo agent for --env/--algo first if it is not shipped",
                                  flag="--train-missing", kind="flag")
    agents_dir: str | None = setting(None, "your agents directory (default $PARADOX_GYM_AGENTS, else "
                                           "$XDG_DATA_HOME/paradox_gym/agents, ~/.local/share/... where unset)",
                                     flag="--agents-dir", metavar="DIR")
    replicates: int = setting(DEFAULT_REPLICATES, "independent replicates, each a fresh process",
                              flag="--replicates", kind="int", bounds=(1, limits.MAX_REPLICATES), grid=True)
    control: bool = setting(True, "the A/A control none-copy, a second copy of the baseline (--no-control: skip "
                                  "it)", flag="--no-control", kind="no-flag", grid=True)
    margin: float = setting(DEFAULT_MARGIN, f"energy equivalence margin as a fraction (default {DEFAULT_MARGIN})",
                            flag="--margin", kind="number", grid=True)
    return_margin: float = setting(DEFAULT_RETURN_MARGIN, "return is kept when its ratio's lower bound >= 1 - this "
                                                          f"(default {DEFAULT_RETURN_MARGIN})",
                                   flag="--return-margin", kind="number", grid=True)
    runtimes: tuple[str, ...] = setting(
        (SB3,), "inference runtimes, comma separated (default sb3); each method runs on each, as "
                "'<runtime>:<method>' beyond sb3, compared with its runtime's float baseline. Runtimes: "
                + ", ".join(f"{r.name} ({r.summary})" for r in RUNTIME_TABLE.values()),
        flag="--runtime", kind="names")
    qat_steps: int = setting(DEFAULT_QAT_STEPS, "fine-tuning steps of qat (distillation, batch 64)",
                             flag="--qat-steps", kind="int", bounds=(1, limits.MAX_QAT_STEPS), grid=True)
    env_kwargs: dict[str, Any] | None = setting(None, "keyword arguments of gymnasium.make (default: those the "
                                                      "agent's rl-zoo3 run folder gives, else none)")
    vecnormalize_path: str | None = setting(
        None, "VecNormalize statistics (vecnormalize.pkl; read without unpickling; default: found beside the zip "
              "or in its run folder), applied to every configuration alike", flag="--vecnormalize", metavar="PATH")
    no_vecnormalize: bool = setting(False, "evaluate on raw observations even if the agent was trained with "
                                           "VecNormalize", flag="--no-vecnormalize", kind="flag")
    best: bool = setting(False, "with an rl-zoo3 run folder: load its best_model.zip", flag="--best", kind="flag")
    stochastic: bool = setting(False, "sample actions (seeded per episode) instead of the deterministic action",
                               flag="--stochastic", kind="flag", grid=True)
    device: str = setting(DEFAULT_DEVICE, "where the policy runs (default cpu); cuda runs "
                          + ", ".join(m.name for m in METHOD_TABLE.values() if "cuda" in m.devices),
                          flag="--device", kind="choice", choices=POLICY_DEVICES, grid=True)
    energy_scope: str = setting(DEFAULT_ENERGY_SCOPE, "devices the headline energy sums: total (every device "
                                                      "measured), cpu or gpu", flag="--energy-scope",
                                kind="choice", choices=ENERGY_SCOPES, grid=True)
    country: str | None = setting(None, "ISO 3166-1 alpha-3 country for the CO2e estimate per 1000 episodes "
                                        "(default: the world average)", flag="--country", metavar="ISO3", grid=True)
    order_seed: int | None = setting(None, "seed of the configuration order of every round (default: drawn afresh "
                                           "and recorded; give a recorded one to replay a run's order)",
                                     flag="--order-seed", kind="int", bounds=(0, limits.MAX_SEED))
    strict: bool = setting(False, "stop at a method that cannot apply to this agent, instead of skipping it "
                                  "with its reason", flag="--strict", kind="flag", grid=True)
    #: True once :meth:`resolve` has run (replicate processes receive resolved settings and do not
    #: validate them again); never a flag or a grid key.
    resolved: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.resolved:
            return  # checked and resolved already (:meth:`resolve`)

        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("out", "agent_path", "agents_dir", "vecnormalize_path"):  # paths: None or a real path
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (str, os.PathLike)) or not str(value).strip()
                                      or "\0" in str(value)):
                raise SettingsError(name, f"{name} must be a path (a non-empty string), got {shown(value)}")
        for name, kind in (("agent_path", "file-or-dir"), ("vecnormalize_path", "file"), ("agents_dir", "dir"),
                           ("out", "dir")):
            if getattr(self, name) is not None:
                _check_path_kind(name, str(getattr(self, name)), kind)

        def checked(name: str, check: Any, *args: Any) -> Any:
            try:
                return check(*args)
            except UserInputError as exc:
                raise SettingsError(name, str(exc)) from None

        for name, minimum, maximum in int_fields(type(self)):
            if name == "order_seed" and self.order_seed is None:
                continue
            put(name, checked(name, check_int, name, getattr(self, name), minimum, maximum))
        put("amount", checked("amount", check_amount, self.amount))
        put("cpu_tdp_w", checked("cpu_tdp_w", check_cpu_tdp, self.cpu_tdp_w))
        put("margin", checked("margin", check_fraction, "margin", self.margin))
        put("return_margin", checked("return_margin", check_fraction, "return_margin", self.return_margin))
        put("phase_clock", checked("phase_clock", check_choice, "phase clock", self.phase_clock, PHASE_CLOCKS))
        methods = checked("methods", self._check_methods)
        put("methods", methods)
        put("runtimes", checked("runtimes", self._check_runtimes))
        put("meters", checked("meters", self._check_meters))
        put("device", checked("device", check_device, self.device, methods))
        if self.device != DEFAULT_DEVICE and any(r != SB3 for r in self.runtimes):
            raise SettingsError("device", f"--device {self.device} runs the sb3 runtime only; got runtimes "
                                          f"{', '.join(self.runtimes)}")
        measured = ("cpu", *(("gpu-0",) if "nvml" in (self.meters or ()) else ()))
        checked("energy_scope", headline_scope, self.energy_scope, measured, self.device)
        if self.country is not None:
            put("country", checked("country", carbon_intensity, self.country).country)
        for name, declared in settings_of(type(self)).items():
            if declared.kind in ("flag", "no-flag") and not isinstance(getattr(self, name), bool):
                raise SettingsError(name, f"{name} must be true or false, got {shown(getattr(self, name))}")
        if self.algo is not None:
            put("algo", normalize_algo(self.algo))
        if self.out is not None:
            put("out", str(self.out))
        if self.agents_dir is not None:
            put("agents_dir", str(self.agents_dir))

    def _check_methods(self) -> tuple[str, ...]:
        methods: list[str] = []
        given = _names(self.methods, "methods")
        if not given and isinstance(self.methods, str):
            raise UserInputError(f"methods names no compression method, got {shown(self.methods)}; valid: "
                                 f"{', '.join(METHOD_TABLE)} ('none' alone: the baseline only)")
        for m in given:
            if m == CONTROL:
                continue  # the control is set by ``control``, not listed as a method
            name = canonical_method(m)
            if name != BASELINE and name not in methods:
                methods.append(name)
        return tuple(methods)

    def _check_runtimes(self) -> tuple[str, ...]:
        runtimes: list[str] = []
        for r in _names(self.runtimes, "runtimes"):
            if check_runtime(r) not in runtimes:
                runtimes.append(r)
        if not runtimes:
            raise UserInputError("runtimes is empty; valid runtimes: sb3, torch, onnxruntime")
        return tuple(sorted(runtimes, key=lambda r: r != SB3))  # sb3 first, then as given

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
    def compressed(self) -> tuple[str, ...]:
        """The configurations built from the agent: the (``sb3``) baseline first, then ``methods``; then,
        per other runtime, ``<runtime>:none`` and ``<runtime>:<method>`` for each method."""
        configs = [BASELINE, *(self.methods if SB3 in self.runtimes else ())]
        for runtime in self.runtimes:
            if runtime != SB3:
                configs += [config_name(runtime, m) for m in (BASELINE, *self.methods)]
        return tuple(configs)

    @property
    def configs(self) -> tuple[str, ...]:
        """Every measured configuration: :attr:`compressed` with the A/A control ``none-copy`` (when
        ``control``) right after the baseline."""
        first, *rest = self.compressed
        return (first, *((CONTROL,) if self.control else ()), *rest)

    @property
    def baselines(self) -> dict[str, str]:
        """Configuration -> the configuration it is compared with: its runtime's float baseline
        (``onnxruntime:ptdq`` -> ``onnxruntime:none``), and for that float baseline the ``sb3`` one."""
        out: dict[str, str] = {CONTROL: BASELINE} if self.control else {}
        for runtime in self.runtimes:
            base = config_name(runtime, BASELINE)
            for m in self.methods:
                out[config_name(runtime, m)] = base
            if runtime != SB3:
                out[base] = BASELINE
        return out

    def resolve(self) -> "EvalSettings":
        """The one step that reads files: the agent's rl-zoo3 run folder (env, env_kwargs, the zip to load),
        its normalisation statistics, and whether the algorithm can act in the environment (which also
        reports a missing optional dependency: MuJoCo, Box2D). Returns resolved settings, which later steps
        (replicate processes included) trust without checking again; resolving them again changes nothing.

        Raises:
            SettingsError: naming the field (the CLI shows its flag).
        """
        if self.resolved:
            return self
        try:
            found = resolve_agent_settings(self)  # rl-zoo3 run folder, env, normalisation statistics
        except AgentSettingError as exc:
            raise SettingsError(exc.field, str(exc)) from None
        settings = dataclasses.replace(self, **found) if found else self
        if settings.algo is not None:
            check_algo_env(settings.algo, settings.env_id)
        return dataclasses.replace(settings, resolved=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, resolved: bool = False) -> "EvalSettings":
        """Settings from :meth:`to_dict` output: validated again, unless ``resolved`` (the caller vouches
        that they are :meth:`resolve` output, as the parent of a replicate process does)."""
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "resolved"}
        for key in ("methods", "meters", "runtimes"):
            if isinstance(values.get(key), list):
                values[key] = tuple(values[key])
        if resolved:
            values["methods"] = tuple(m for m in values.get("methods", ()) if m != BASELINE)
            values.pop("configs", None)
        return cls(**values, resolved=resolved)

    def replace(self, **changes: Any) -> "EvalSettings":
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON): the fields, with ``methods`` as given plus the baseline first (``none``,
        then the methods) and ``configs`` listing every measured configuration."""
        out = dataclasses.asdict(self)
        del out["resolved"]
        out["methods"] = [BASELINE, *self.methods]
        out["configs"] = list(self.configs)
        for key in ("meters", "runtimes"):
            out[key] = list(getattr(self, key) or ())
        return out


def int_fields(cls: type = EvalSettings) -> tuple[tuple[str, int, int], ...]:
    """(name, minimum, maximum) of every bounded integer setting of ``cls``."""
    return tuple((name, *s.bounds) for name, s in settings_of(cls).items() if s.bounds is not None)


def settings_of(cls: type = EvalSettings) -> dict[str, Setting]:
    """field name -> :class:`Setting` of ``cls`` (EvalSettings or a subclass declaring more settings)."""
    return {f.name: f.metadata["setting"] for f in dataclasses.fields(cls) if "setting" in f.metadata}


def flags(cls: type = EvalSettings) -> dict[str, str]:
    """field name -> its command-line flag (for error messages)."""
    return {name: s.flag for name, s in settings_of(cls).items() if s.flag is not None}


def settings_table(cls: type = EvalSettings) -> str:
    """The Markdown table of docs/evaluation.md ("Settings"): field, flag, grid key, default, meaning."""
    rows = ["| field | flag | grid key | default | meaning |", "|---|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        if "setting" not in f.metadata:
            continue
        s = f.metadata["setting"]
        default = f.default if not isinstance(f.default, tuple) else ",".join(f.default)
        bounds = f" ({s.bounds[0]}..{s.bounds[1]})" if s.bounds else ""
        rows.append(f"| `{f.name}` | {f'`{s.flag}`' if s.flag else ''} | {f'`{f.name}`' if s.grid else ''} | "
                    f"`{default}`{bounds} | {s.help.replace('|', '/')} |")
    return "\n".join(rows)
