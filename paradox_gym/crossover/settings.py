"""The settings of a crossover map, frozen and validated once on construction.

A map is a grid of cells: policy width x batch size x runtime, each cell measuring every method against
its runtime's float baseline and an A/A copy of that baseline. The policies are synthetic: an SB3 MLP
policy of ``depth`` hidden layers of ``width`` units (the algorithm's layout and activation, e.g. PPO:
``obs -> w -> ... -> w -> actions``, Tanh), built for the spaces of ``env_id``, which also supplies the
observations (drawn from its episodes). The map measures cost per decision, never return.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from paradox_gym._util.checks import check_choice, check_cpu_tdp, check_int, shown
from paradox_gym.errors import UserInputError
from paradox_gym.limits import MAX_LAYER_WIDTH, MAX_REPLICATES, MAX_SEED, MAX_THREADS

#: The most observations one forward pass takes (a batch of vectorised environments or queued requests).
MAX_BATCH = 4096
#: Hidden layers of a synthetic policy (SB3's default MLPs have 2; rl-zoo3's larger ones 2-3).
MAX_DEPTH = 4
#: Values per axis of one map (widths, batches, methods, runtimes).
MAX_AXIS_VALUES = 16
#: Seconds of float work per trial: at least twice the CPU model's minimum CPU time (10 ms), at most a minute;
#: on cuda at least :data:`MIN_GPU_TRIAL_S` (NVML's counter updates about every 0.1 s).
MIN_TRIAL_S, MAX_TRIAL_S, MIN_GPU_TRIAL_S = 0.02, 60.0, 0.5
#: Default seconds of float work per trial, per device.
DEFAULT_TRIAL_S = {"cpu": 0.1, "cuda": 1.0}

#: Methods that cast the float policy to a lower float precision (GPU only: CPU kernels gain nothing).
CAST_METHODS: dict[str, str] = {"fp16": "float16", "bf16": "bfloat16"}
#: The compression methods a map measures by default (on the CPU), and on a GPU.
DEFAULT_METHODS = ("ptdq", "ptsq")
DEFAULT_GPU_METHODS = ("fp16", "prune-structured")
#: Runtimes a map may measure (``sb3``: batch 1 only, as SB3's predict plays one environment here).
MAP_RUNTIMES = ("torch", "onnxruntime", "sb3")
DEVICES = ("cpu", "cuda")
#: Algorithms whose MLP layout a synthetic policy can take (see :mod:`paradox_gym.crossover.synthetic`).
SYNTHETIC_ALGOS = ("PPO", "A2C", "SAC", "TD3", "DDPG", "DQN")


def _axis(name: str, values: Any, minimum: int, maximum: int) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise UserInputError(f"{name} must be a list of integers, got {shown(values)}")
    out = tuple(check_int(name, v, minimum, maximum) for v in list(values)[:MAX_AXIS_VALUES + 1])
    if not out:
        raise UserInputError(f"{name} must name at least one value")
    if len(out) > MAX_AXIS_VALUES:
        raise UserInputError(f"{name} holds more than {MAX_AXIS_VALUES} values")
    if len(set(out)) != len(out):
        raise UserInputError(f"{name} names a value twice: {shown(list(out))}")
    return tuple(sorted(out))


def _names(name: str, values: Any) -> tuple[str, ...]:
    if isinstance(values, str):
        values = tuple(v.strip() for v in values.split(",") if v.strip())
    out = tuple(values)
    if not out or len(out) > MAX_AXIS_VALUES or not all(isinstance(v, str) for v in out):
        raise UserInputError(f"{name} must be 1 to {MAX_AXIS_VALUES} names, got {shown(values)}")
    if len(set(out)) != len(out):
        raise UserInputError(f"{name} names a value twice: {shown(list(out))}")
    return out


def check_methods(methods: Any, device: str) -> tuple[str, ...]:
    """Canonical method names for ``device``: compression methods of the registry (``none`` excluded: it
    is every cell's baseline) plus, on cuda, the casts of :data:`CAST_METHODS`; one line naming the valid
    ones otherwise (the int8 methods are refused on cuda as ``evaluate`` refuses them)."""
    from paradox_gym.compression.registry import canonical_method
    from paradox_gym.energy.placement import check_device

    out = []
    for m in _names("methods", methods):
        if m in CAST_METHODS:
            if device != "cuda":
                from paradox_gym.compression.registry import METHOD_TABLE
                from paradox_gym.vocab import BASELINE

                on_cpu = [name for name, method in METHOD_TABLE.items() if name != BASELINE and "cpu" in method.devices]
                raise UserInputError(f"method {m!r} (a float cast) runs on --device cuda only; on the CPU use "
                                     f"{', '.join(on_cpu[:-1])} or {on_cpu[-1]}")
            out.append(m)
            continue
        name = canonical_method(m)
        if name == "none":
            raise UserInputError("method 'none' is every cell's baseline; name compressed methods only")
        check_device(device, (name,), cuda=True)
        out.append(name)
    return tuple(out)


@dataclass(frozen=True)
class CrossoverSettings:
    """What a crossover map measures and how.

    Attributes:
        widths: hidden-layer widths of the synthetic policies (units).
        batches: observations per forward pass.
        methods: compression methods (registry names; ``fp16`` / ``bf16`` casts on cuda).
        runtimes: ``torch``, ``onnxruntime``, ``sb3`` (``sb3`` cells exist at batch 1 only).
        depth: hidden layers.
        env_id: the environment whose spaces shape the policy and whose episodes supply the observations.
        algo: the SB3 algorithm whose MLP layout and activation the policy takes (its actor for SAC/TD3).
        amount: fraction removed by the pruning methods.
        replicates: fresh processes per cell (the independent units of every interval).
        rounds: balanced rounds per replicate; each round runs every configuration once, in the order of a
            randomised Latin square (so trials per configuration per replicate = ``rounds``).
        trial_s: seconds of float work per trial (the call count is fixed from the float baseline, so every
            configuration of a trial makes the same decisions); None: 0.1 on the CPU, 1.0 on cuda.
        threads: torch / ONNX Runtime intra-op threads.
        seed: seeds the weights, the observations and the order.
        device: ``cpu`` or ``cuda`` (torch runtime only; NVML energy, net of idle power).
        cpu_tdp_w: TDP of one CPU package for the CPU-time model (None: CodeCarbon's table).
        agents: real agents to mark on the map, ``(label, width, batch)``.
    """

    widths: tuple[int, ...] = (64, 256, 1024, 4096)
    batches: tuple[int, ...] = (1, 8, 64, 256)
    methods: tuple[str, ...] = DEFAULT_METHODS
    runtimes: tuple[str, ...] = ("torch", "onnxruntime")
    depth: int = 2
    env_id: str = "HalfCheetah-v5"
    algo: str = "PPO"
    amount: float = 0.5
    replicates: int = 5
    rounds: int = 2
    trial_s: float | None = None
    threads: int = 1
    seed: int = 0
    device: str = "cpu"
    cpu_tdp_w: float | None = None
    agents: tuple[tuple[str, int, int], ...] = field(default=())

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "device", check_choice("device", self.device, DEVICES))
        set_(self, "widths", _axis("widths", self.widths, 1, MAX_LAYER_WIDTH))
        set_(self, "batches", _axis("batches", self.batches, 1, MAX_BATCH))
        set_(self, "methods", check_methods(self.methods, self.device))
        runtimes = _names("runtimes", self.runtimes)
        for r in runtimes:
            check_choice("runtime", r, MAP_RUNTIMES)
            if self.device == "cuda" and r != "torch":
                raise UserInputError(f"runtime {r!r} does not run on --device cuda here; the GPU map measures the "
                                     "torch runtime only (--runtimes torch)")
        if "sb3" in runtimes and 1 not in self.batches:
            raise UserInputError("runtime 'sb3' plays one observation at a time: include batch 1 (--batches 1,...)")
        set_(self, "runtimes", runtimes)
        set_(self, "depth", check_int("depth", self.depth, 1, MAX_DEPTH))
        set_(self, "algo", check_choice("algo", self.algo, SYNTHETIC_ALGOS))
        from paradox_gym._util.checks import check_amount

        set_(self, "amount", check_amount(self.amount))
        set_(self, "replicates", check_int("replicates", self.replicates, 2, MAX_REPLICATES))
        set_(self, "rounds", check_int("rounds", self.rounds, 1, 1000))
        trial = DEFAULT_TRIAL_S[self.device] if self.trial_s is None else self.trial_s
        low = MIN_GPU_TRIAL_S if self.device == "cuda" else MIN_TRIAL_S
        if isinstance(trial, bool) or not isinstance(trial, (int, float)) or not math.isfinite(trial) \
                or not low <= trial <= MAX_TRIAL_S:
            raise UserInputError(f"trial_s must be a number of seconds in [{low}, {MAX_TRIAL_S}] on {self.device}, "
                                 f"got {shown(trial)}")
        set_(self, "trial_s", float(trial))
        set_(self, "threads", check_int("threads", self.threads, 1, MAX_THREADS))
        set_(self, "seed", check_int("seed", self.seed, 0, MAX_SEED))
        set_(self, "cpu_tdp_w", check_cpu_tdp(self.cpu_tdp_w))
        agents = []
        for a in self.agents:
            if not (isinstance(a, (tuple, list)) and len(a) == 3 and isinstance(a[0], str)):
                raise UserInputError(f"an agent mark is (label, width, batch), got {shown(a)}")
            agents.append((a[0], check_int("agent width", a[1], 1, MAX_LAYER_WIDTH),
                           check_int("agent batch", a[2], 1, MAX_BATCH)))
        set_(self, "agents", tuple(agents))

    def cells(self) -> list[tuple[int, int, str]]:
        """``(width, batch, runtime)`` of every cell, runtime-major (``sb3`` at batch 1 only)."""
        return [(w, b, r) for r in self.runtimes for w in self.widths for b in self.batches
                if r != "sb3" or b == 1]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["agents"] = [list(a) for a in self.agents]
        for key in ("widths", "batches", "methods", "runtimes"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CrossoverSettings":
        kwargs = dict(d)
        for key in ("widths", "batches", "methods", "runtimes"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        if "agents" in kwargs:
            kwargs["agents"] = tuple(tuple(a) for a in kwargs["agents"])
        return cls(**kwargs)


__all__ = ["CAST_METHODS", "DEFAULT_GPU_METHODS", "DEFAULT_METHODS", "DEVICES", "MAP_RUNTIMES", "MAX_BATCH",
           "SYNTHETIC_ALGOS",
           "CrossoverSettings", "check_methods"]
