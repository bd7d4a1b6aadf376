"""Reference returns of trained agents, and how an evaluated agent compares with them.

Findings about compressing a weak agent (one that, say, stands still) may not carry over to agents that
solve the task. :func:`baseline_reference` compares the baseline's mean return with the reference
return for its algorithm and environment; below :data:`WEAK_RATIO` of it, a warning says so.

The references are rl-zoo3's benchmark (``benchmark.md`` of DLR-RM/rl-baselines3-zoo, last changed in
commit 61a0d13, 2023-04-11): the mean return of one trained agent per algorithm and environment, with a
deterministic policy, over about 150k evaluation steps. Its MuJoCo figures were measured on the ``-v3``
environments; they serve our ``-v4`` and ``-v5`` ones, which differ in details (Hopper-v5 pays its healthy
reward only while healthy), and the source string names the environment measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Below this ratio to the reference return, findings may not carry over to trained agents.
WEAK_RATIO = 0.5

_SOURCE = ("rl-zoo3 benchmark (github.com/DLR-RM/rl-baselines3-zoo, benchmark.md at commit 61a0d13): "
           "one trained agent, deterministic policy, ~150k evaluation steps")

#: (algorithm, benchmark environment) -> (mean return, training steps), as rl-zoo3's benchmark.md gives them.
RL_ZOO3_BENCHMARK: dict[tuple[str, str], tuple[float, str]] = {
    ("a2c", "CartPole-v1"): (500.000, "500k"),
    ("dqn", "CartPole-v1"): (500.000, "50k"),
    ("ppo", "CartPole-v1"): (500.000, "100k"),
    ("qrdqn", "CartPole-v1"): (500.000, "50k"),
    ("trpo", "CartPole-v1"): (500.000, "100k"),
    ("a2c", "Pendulum-v1"): (-162.965, "1M"),
    ("ddpg", "Pendulum-v1"): (-152.099, "20k"),
    ("ppo", "Pendulum-v1"): (-172.225, "100k"),
    ("sac", "Pendulum-v1"): (-156.995, "20k"),
    ("td3", "Pendulum-v1"): (-151.855, "20k"),
    ("tqc", "Pendulum-v1"): (-151.340, "20k"),
    ("trpo", "Pendulum-v1"): (-174.631, "100k"),
    ("a2c", "Hopper-v3"): (733.454, "1M"),
    ("ppo", "Hopper-v3"): (2410.435, "1M"),
    ("sac", "Hopper-v3"): (2325.547, "1M"),
    ("td3", "Hopper-v3"): (3606.390, "1M"),
    ("tqc", "Hopper-v3"): (3754.199, "1M"),
    ("trpo", "Hopper-v3"): (3618.386, "1M"),
    ("a2c", "HalfCheetah-v3"): (3041.174, "1M"),
    ("ppo", "HalfCheetah-v3"): (5819.099, "1M"),
    ("sac", "HalfCheetah-v3"): (9535.451, "1M"),
    ("td3", "HalfCheetah-v3"): (9655.666, "1M"),
    ("tqc", "HalfCheetah-v3"): (12089.939, "1M"),
    ("trpo", "HalfCheetah-v3"): (1785.476, "1M"),
}

#: Our environment -> the benchmark's environment whose figure serves it.
BENCHMARK_ENV: dict[str, str] = {
    "CartPole-v1": "CartPole-v1",
    "Pendulum-v1": "Pendulum-v1",
    **{f"{name}-v{v}": f"{name}-v3" for name in ("Hopper", "HalfCheetah") for v in (3, 4, 5)},
}


@dataclass(frozen=True)
class BaselineReference:
    """The baseline's mean return against a reference return.

    ``ratio`` = baseline mean / reference for positive references; for negative ones (Pendulum: closer to 0
    is better) reference / baseline mean, so that below 1 means worse in both cases (``ratio_rule`` says
    which). None when the two have different signs or the baseline mean is 0."""

    reference: float
    baseline: float
    ratio: float | None
    ratio_rule: str
    source: str
    #: what the reference is, in a few words (``rl-zoo3's PPO on Hopper-v3``)
    label: str = "the reference"

    @property
    def weak(self) -> bool:
        """The baseline reaches less than :data:`WEAK_RATIO` of the reference (with a different sign: no
        ratio, and a negative baseline against a positive reference is weak)."""
        if self.ratio is not None:
            return self.ratio < WEAK_RATIO
        return self.reference > 0 >= self.baseline

    @property
    def warning(self) -> str | None:
        """One line for the report when the agent is weak, else None."""
        if not self.weak:
            return None
        share = f"{self.ratio:.2f}x" if self.ratio is not None else "of the opposite sign to"
        return (f"weak agent: its baseline return {self.baseline:.1f} is {share} {self.label} "
                f"({self.reference:.1f}); findings for this agent may not carry over to trained agents")

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``baseline_reference``: return, ratio, source, the ratio's rule and the warning."""
        return {"return": self.reference, "ratio": self.ratio, "source": self.source,
                "ratio_rule": self.ratio_rule, "warning": self.warning}


#: The zoo's agents on the benchmark's environments must reach this share of its return (docs/zoo.md).
ZOO_THRESHOLD_RATIO = 0.7

#: The zoo's own thresholds where the benchmark has no figure: DDPG hops forward on Hopper (1500) and runs
#: on HalfCheetah (3000).
ZOO_OWN_THRESHOLDS: dict[tuple[str, str], float] = {
    ("ddpg", "Hopper-v5"): 1500.0,
    ("ddpg", "HalfCheetah-v5"): 3000.0,
}


def zoo_threshold(algo: str, env_id: str) -> tuple[float, str] | None:
    """``(threshold, where it comes from)``: the return a zoo agent of ``algo`` on ``env_id`` must reach
    (over its 10 deterministic evaluation episodes), or None when neither table has one."""
    own = ZOO_OWN_THRESHOLDS.get((algo.lower(), env_id))
    if own is not None:
        return own, "the zoo's own threshold (no benchmark figure)"
    found = reference_return(algo, env_id)
    if found is None:
        return None
    what = f"rl-zoo3's benchmark {found[0]:.0f}, {algo.upper()} on {BENCHMARK_ENV[env_id]}"
    if found[0] < 0:  # closer to 0 is better: the ratio rule of BaselineReference
        return found[0] / ZOO_THRESHOLD_RATIO, f"{what} / {ZOO_THRESHOLD_RATIO:g} (negative returns)"
    return ZOO_THRESHOLD_RATIO * found[0], f"{ZOO_THRESHOLD_RATIO:g}x {what}"


def reference_return(algo: str | None, env_id: str) -> tuple[float, str] | None:
    """``(reference return, source)`` for ``algo`` (any case) on ``env_id``, or None when there is none
    (the benchmark's environment is ``BENCHMARK_ENV[env_id]``)."""
    bench_env = BENCHMARK_ENV.get(env_id)
    if algo is None or bench_env is None:
        return None
    entry = RL_ZOO3_BENCHMARK.get((algo.lower(), bench_env))
    if entry is None:
        return None
    value, steps = entry
    env_note = "" if bench_env == env_id else f"; measured on {bench_env}, this run uses {env_id}"
    return value, f"{_SOURCE}: {algo.lower()} on {bench_env} after {steps} training steps{env_note}"


def baseline_reference(algo: str | None, env_id: str, baseline_return: float | None) -> BaselineReference | None:
    """The baseline's mean return against the reference for ``algo`` on ``env_id`` (None without a
    reference or a finite baseline return)."""
    found = reference_return(algo, env_id)
    if found is None or baseline_return is None or not math.isfinite(baseline_return):
        return None
    reference, source = found
    label = f"rl-zoo3's {algo.upper() if algo else ''} on {BENCHMARK_ENV[env_id]}"
    baseline = float(baseline_return)
    if reference > 0 and baseline > 0:
        ratio, rule = baseline / reference, "baseline mean / reference"
    elif reference < 0 and baseline < 0:
        ratio, rule = reference / baseline, "reference / baseline mean (negative returns: closer to 0 is better)"
    else:
        ratio, rule = None, "none: the baseline mean and the reference differ in sign or one is 0"
    return BaselineReference(reference, baseline, ratio, rule, source, label)


__all__ = ["BENCHMARK_ENV", "RL_ZOO3_BENCHMARK", "WEAK_RATIO", "ZOO_OWN_THRESHOLDS", "ZOO_THRESHOLD_RATIO",
           "BaselineReference", "baseline_reference", "reference_return", "zoo_threshold"]
