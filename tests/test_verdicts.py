"""Verdicts that replicate: Holm, the verdict word table, the fixed-cost decomposition, replicate-level
intervals, the A/A control, the contention switch and the randomised configuration order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from paradox_gym import analysis as an
from paradox_gym import stats as st
from paradox_gym.energy.measurement import PhaseTimes, WindowMeasurement
from paradox_gym.experiment.records import EpisodeRecord, TrialRecord
from paradox_gym.experiment.runner import _trial_record, episode_seed
from paradox_gym.report.text import verdict
from paradox_gym.vocab import CONTROL, ENERGY_WORDS, RETURN_WORDS


# ---------------------------------------------------------------------------------------------------
# Holm
# ---------------------------------------------------------------------------------------------------
def test_holm_adjusts_step_down_and_keeps_missing_tests_out() -> None:
    adjusted = st.holm([0.01, 0.04, 0.03, 0.005, None])
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> max(0.06, 0.04) = 0.06
    assert adjusted[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjusted[4] is None
    assert st.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    levels = st.holm_levels([0.01, 0.04, 0.03, 0.005])
    # 0.005 and 0.01 are rejected at 0.05/4 and 0.05/3; 0.03 > 0.05/2 stops the procedure: it and every later
    # hypothesis are shown at 97.5%, so no interval excludes no change that Holm did not reject
    assert levels == pytest.approx([1 - 0.05 / 3, 1 - 0.05 / 2, 1 - 0.05 / 2, 1 - 0.05 / 4])
    assert st.holm_levels([0.0, 0.0, 0.5]) == pytest.approx([1 - 0.05 / 3, 1 - 0.05 / 3, 1 - 0.05])  # ties alike


def test_holm_controls_the_family_wise_error_rate_under_the_null() -> None:
    rng = np.random.default_rng(0)
    runs, m = 2000, 8
    spurious = sum(any(p < 0.05 for p in st.holm(list(rng.uniform(size=m)))) for _ in range(runs))
    assert spurious / runs <= 0.06  # <= alpha (plus sampling error); unadjusted it would be ~34%


# ---------------------------------------------------------------------------------------------------
# the verdict word table
# ---------------------------------------------------------------------------------------------------
def _ci(ratio: float, low: float, high: float, p: float, base: float = 100.0) -> st.PairedCI:
    return st.PairedCI(ratio, low, high, (ratio - 1) * base, (low - 1) * base, (high - 1) * base, 5, 0, 0,
                       baseline_mean=base, p_value=p)


ENERGY_CASES = {
    "lower": _ci(0.80, 0.75, 0.85, 0.001),
    "higher": _ci(1.30, 1.20, 1.40, 0.001),
    "equivalent": _ci(1.00, 0.97, 1.03, 0.9),
    "no detectable change": _ci(1.05, 0.90, 1.20, 0.4),
    "unresolved": st.PairedCI(1.05, None, None, 5.0, None, None, 1, 0, 0, baseline_mean=100.0),  # no interval
}
RETURN_CASES = {
    "kept": _ci(0.99, 0.95, 1.02, 0.5),
    "lower": _ci(0.40, 0.30, 0.50, 0.001),
    "not shown kept": _ci(0.95, 0.60, 1.30, 0.7),
    "higher": _ci(1.20, 1.10, 1.30, 0.001),
}


@pytest.mark.parametrize("energy,ret", list(itertools.product(ENERGY_WORDS, RETURN_WORDS)))
def test_every_combination_of_energy_and_return_words(energy: str, ret: str) -> None:
    e_ci, r_ci = ENERGY_CASES[energy], RETURN_CASES[ret]
    assert an.energy_word(e_ci, e_ci.p_value, 0.05) == energy
    assert an.return_word(r_ci, r_ci.p_value, 0.10) == ret
    comp = an.Comparison("x", "none", 5, 0.5, r_ci, r_ci, e_ci, e_ci, e_ci, e_ci, None)
    saving = energy == "lower" and ret in ("kept", "higher")
    comp.verdict = an.Verdict(energy, ret, saving, "none", "modelled", False, e_ci.p_value, r_ci.p_value, None,
                              0.95, 0.95, 0.05, 0.10, 2)
    sentence = verdict(comp)
    assert f"per episode {energy} " in sentence and f"return {ret} " in sentence
    assert "modelled energy (CPU time x power)" in sentence  # a model is never called plain energy
    assert ("saving with the return kept" in sentence) == saving
    if energy == "lower" and ret == "lower":
        assert "fell because the agent plays worse" in sentence
    if energy == "lower" and ret == "not shown kept":
        assert "not a saving" in sentence


def test_unresolved_when_the_run_cannot_resolve_twice_the_margin() -> None:
    wide = ENERGY_CASES["no detectable change"]
    assert an.energy_word(wide, wide.p_value, 0.05, mde_pct=9.0) == "no detectable change"
    assert an.energy_word(wide, wide.p_value, 0.05, mde_pct=12.0) == "unresolved"  # MDE > 2 x 5%
    assert an.energy_word(ENERGY_CASES["lower"], 0.001, 0.05, mde_pct=40.0) == "lower"  # a resolved change stays


def test_significance_needs_the_adjusted_p_value() -> None:
    ci = ENERGY_CASES["lower"]
    assert an.energy_word(ci, 0.2, 0.05) == "no detectable change"  # the interval alone is not enough
    kept_but_significant = _ci(0.97, 0.95, 0.99, 0.001)
    assert an.return_word(kept_but_significant, 0.001, 0.10) == "kept"  # >= 90% kept wins over "lower"
    negative = st.PairedCI(1.02, None, None, -3.0, -6.0, -1.0, 5, 0, 0, baseline_mean=-150.0, p_value=0.01)
    assert an.return_word(negative, 0.01, 0.10) == "kept"  # within 10% of |-150|


# ---------------------------------------------------------------------------------------------------
# replicates, the control, contention
# ---------------------------------------------------------------------------------------------------
def _trial(config: str, replicate: int, trial: int, energy: float, *, share: float = 1.0) -> TrialRecord:
    steps = 4 * 100
    return TrialRecord(
        config=config, trial=trial, seeds=[episode_seed(0, trial, i, 4, replicate, 2) for i in range(4)],
        returns=[100.0] * 4, lengths=[100] * 4, wall_s=1.0, cpu_s=1.0, energy_j={"cpu-model": energy},
        energy_method={"cpu-model": "modelled"}, energy_status={"cpu-model": "ok"},
        phase_energy_j={"cpu-model": {"policy": energy * 0.8, "env": energy * 0.15, "overhead": energy * 0.05}},
        phase_wall_s={"policy": 0.8, "env": 0.15, "overhead": 0.05}, phase_cpu_s={},
        policy_ns=np.full(steps, 1000), replicate=replicate, rollout_cpu_share=share,
        phase_split_reliable=share >= 0.9,
    )


def _run(effects: dict[str, float], replicate_noise: list[float], *, share: float = 1.0) -> an.Analysis:
    trials: dict[str, list[TrialRecord]] = {c: [] for c in ["none", *effects]}
    for r, noise in enumerate(replicate_noise):
        for t in range(2):
            trials["none"].append(_trial("none", r, t, 1.0 * (1 + noise), share=share))
            for cfg, effect in effects.items():
                trials[cfg].append(_trial(cfg, r, t, effect * (1 + noise) * (1 + 0.01 * ((r + t) % 3 - 1)),
                                          share=share))
    return an.analyse(trials, meter="cpu-model")


def test_an_incomplete_replicate_is_paired_by_trial() -> None:
    # replicate 2 of the compressed configuration lost its second trial: only shared trials are compared
    base = [_trial("none", r, t, 1.0 + 0.3 * t) for r in range(3) for t in range(2)]
    comp = [_trial("ptdq", r, t, 1.0 + 0.3 * t) for r in range(3) for t in range(2) if (r, t) != (2, 1)]
    out = an.analyse({"none": base, "ptdq": comp}, meter="cpu-model")
    assert out.comparisons["ptdq"].energy_per_episode.ratio == pytest.approx(1.0)


def test_intervals_rest_on_replicates() -> None:
    res = _run({"ptdq": 1.5, CONTROL: 1.0}, [0.0, 0.05, -0.04, 0.02])
    comp = res.comparisons["ptdq"]
    assert comp.energy_per_episode.unit == "replicates" and comp.energy_per_episode.n == 4
    assert comp.verdict.energy == "higher" and comp.verdict.family_size == 3
    assert res.replicates == 4 and any("4 replicates" in n for n in res.notes)
    assert res.control is not None and not res.control.noisy
    assert 0 < res.control.mde_per_episode_pct < 10
    doc = res.to_dict()
    assert doc["control"]["noisy"] is False and doc["multiplicity"]["family_size"] == 3
    assert doc["comparisons"]["ptdq"]["verdict"]["energy"] == "higher"


def test_a_differing_control_flags_the_run_noisy() -> None:
    res = _run({"ptdq": 1.5, CONTROL: 1.2}, [0.0, 0.01, -0.01, 0.005])
    assert res.control.noisy and res.comparisons["ptdq"].verdict.noisy
    assert "NOISY: the A/A control differed" in verdict(res.comparisons["ptdq"])


def test_contention_marks_the_phase_split_unreliable() -> None:
    phases = PhaseTimes(env_wall_s=0.2, env_cpu_s=0.1, policy_wall_s=0.6, policy_cpu_s=0.3,
                        overhead_wall_s=0.2, overhead_cpu_s=0.1, clock="wall")
    window = WindowMeasurement("trial", 0, 100, 1.0, 0.5, {}, phases, {})
    record = _trial_record("none", 0, [0], [1.0], [100], window, [10], "cpu-model", None, 0, 0)
    assert record.rollout_cpu_share == pytest.approx(0.5) and not record.phase_split_reliable
    assert record.phase_cpu_s == {}  # no per-phase CPU time exists with the wall clock: none is reported
    cpu_phases = PhaseTimes(**{**phases.__dict__, "clock": "cpu"})
    timed = _trial_record("none", 0, [0], [1.0], [100], WindowMeasurement("trial", 0, 100, 1.0, 0.5, {}, cpu_phases, {}),
                          [10], "cpu-model", None, 0, 0)
    assert timed.phase_split_reliable and timed.phase_cpu_s["policy"] == pytest.approx(0.3)
    res = _run({"ptdq": 1.5}, [0.0, 0.02], share=0.6)
    assert any(n.startswith("CPU contention: in 8 of 8 trials") for n in res.notes)


def test_replicates_play_their_own_seeds() -> None:
    seeds = {episode_seed(0, t, i, 10, r, 2) for r in range(3) for t in range(2) for i in range(10)}
    assert len(seeds) == 60


def test_records_round_trip_through_json() -> None:
    t = _trial("none", 2, 1, 0.5, share=0.7)
    again = TrialRecord.from_dict(t.to_dict())
    assert again.replicate == 2 and again.rollout_cpu_share == 0.7 and list(again.policy_ns) == list(t.policy_ns)
    e = EpisodeRecord("none", 1, 0, 5, 10.0, 10, 0.1, {"cpu-model.energy_j": 0.25}, 2)
    assert EpisodeRecord.from_dict(e.to_dict()) == e and e.energy_j("cpu-model") == 0.25


def test_policy_timer_synchronizes_inside_the_timed_span() -> None:
    from paradox_gym.envs.rollout import PolicyTimer

    calls: list[str] = []
    recorded: list[tuple[int, int]] = []

    def predict(obs, deterministic=True):  # noqa: ANN001, ANN202
        calls.append("predict")
        return obs, None

    for cpu_clock in (False, True):
        calls.clear()
        timer = PolicyTimer(lambda w, c: recorded.append((w, c)), cpu_clock=cpu_clock,
                            synchronize=lambda: calls.append("sync"))
        assert timer(predict, 1, True) == 1
        assert calls == ["predict", "sync"] and len(timer.latencies_ns) == 1
