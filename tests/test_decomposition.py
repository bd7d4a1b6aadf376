"""The decomposition E = F + N x e: measured fixed cost, exact additivity, replicate-level intervals at the
verdict's level, the mechanism rule, and coverage of zero on null (A/A) data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from paradox_gym import analysis as an
from paradox_gym.experiment.records import TrialRecord


def _trial(config: str, replicate: int, *, length: float, e_step: float, reset_s: float = 0.0,
           fixed_j: float = 0.0, episodes: int = 5, noise: float = 0.0) -> TrialRecord:
    """One trial: ``episodes`` of ``length`` steps at ``e_step`` J a step, plus ``fixed_j`` per episode spent
    in reset (its wall-time share of the trial equals its energy share, as the CPU model charges it)."""
    steps = int(round(length)) * episodes
    step_j = e_step * steps * (1 + noise)
    fixed = fixed_j * episodes * (1 + noise)
    energy = step_j + fixed
    wall = 1.0
    return TrialRecord(
        config=config, trial=0, seeds=list(range(episodes)), returns=[100.0] * episodes,
        lengths=[int(round(length))] * episodes, wall_s=wall, cpu_s=wall, energy_j={"m": energy},
        energy_method={"m": "modelled"}, energy_status={"m": "ok"}, phase_energy_j={"m": {}},
        phase_wall_s={"policy": 0.5, "env": 0.4, "overhead": 0.1}, phase_cpu_s={},
        policy_ns=np.zeros(steps, dtype=np.int64), replicate=replicate,
        reset_wall_s=wall * fixed / energy if energy else 0.0,
    )


def test_fixed_cost_is_measured_non_negative_and_effects_sum_to_the_change() -> None:
    base = [_trial("none", r, length=1000, e_step=1e-3, fixed_j=0.05, noise=0.01 * (r - 2)) for r in range(5)]
    short = [_trial("p", r, length=431, e_step=1.016e-3, fixed_j=0.05, noise=0.01 * (2 - r)) for r in range(5)]
    d = an.decompose(short, base, meter="m", confidence=0.983)
    assert d is not None and d.unit == "replicates" and d.units == 5
    assert d.f0_j == pytest.approx(0.05, rel=0.05) and d.f1_j >= 0
    assert sum(e.log_change for e in d.effects.values()) == pytest.approx(d.total.log_change, abs=1e-12)
    assert d.effects["length"].ratio < 0.6 and d.effects["length"].excludes_zero(-1.0)
    assert an.mechanism(d, "lower", length_change=0.431, mde=0.05) == "episode-length"


def test_shapley_split_is_exact_per_unit() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = an.UnitCosts(*rng.uniform(1, 10, 1), *rng.uniform(0, 1, 1), *rng.uniform(1, 1000, 1))
        a = an.UnitCosts(a.energy_per_episode + a.fixed_per_episode, a.fixed_per_episode, a.length)
        b = an.UnitCosts(a.energy_per_episode * rng.uniform(0.2, 5), a.fixed_per_episode * rng.uniform(0, 2), rng.uniform(1, 1000))
        if b.energy_per_episode <= b.fixed_per_episode:
            continue
        effects = an.shapley_log_effects(a, b)
        assert sum(effects.values()) == pytest.approx(math.log(b.energy_per_episode / a.energy_per_episode), abs=1e-12)


def test_per_step_change_is_per_step() -> None:
    base = [_trial("none", r, length=500, e_step=1e-3, noise=0.005 * (r % 3 - 1)) for r in range(5)]
    dear = [_trial("q", r, length=500, e_step=1.5e-3, noise=0.005 * ((r + 1) % 3 - 1)) for r in range(5)]
    d = an.decompose(dear, base, meter="m")
    assert an.mechanism(d, "higher") == "per-step"
    assert an.mechanism(d, "no detectable change") == "none"
    assert not d.fixed_cost_measured  # no reset time recorded: F taken as 0, said so


def test_null_effect_intervals_cover_zero_at_the_nominal_rate() -> None:
    """A/A: 200 simulated runs of 5 replicates; each effect's 95% interval covers 0 in >= 90% of them."""
    rng = np.random.default_rng(1)
    covered = {k: 0 for k in an.EFFECTS}
    runs = 200
    for _ in range(runs):
        def side(config: str) -> list[TrialRecord]:
            return [_trial(config, r, length=200 * (1 + 0.05 * rng.standard_normal()),
                           e_step=1e-3 * (1 + 0.03 * rng.standard_normal()),
                           fixed_j=0.01 * (1 + 0.1 * rng.standard_normal())) for r in range(5)]
        d = an.decompose(side("copy"), side("none"), meter="m", confidence=0.95)
        for k in an.EFFECTS:
            e = d.effects[k]
            covered[k] += e.low <= 0 <= e.high
    assert all(c / runs >= 0.90 for c in covered.values()), covered


def test_mixed_when_two_effects_carry_the_change() -> None:
    base = [_trial("none", r, length=500, e_step=1e-3, noise=0.004 * (r % 3 - 1)) for r in range(6)]
    both = [_trial("x", r, length=300, e_step=0.6e-3, noise=0.004 * ((r + 1) % 3 - 1)) for r in range(6)]
    d = an.decompose(both, base, meter="m")
    assert an.mechanism(d, "lower") == "mixed"


def test_budget_warning_names_a_budget_that_resolves() -> None:
    warning = an.budget_warning(2, 3)
    assert warning is not None and "--replicates 2" in warning and "use --replicates 4" in warning
    assert an.budget_warning(5, 3) is None
    assert an.mde_multiplier(1, 3) == math.inf
