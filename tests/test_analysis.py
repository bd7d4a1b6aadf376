"""Statistics of paradox_gym.analysis: t quantiles, intervals, bootstrap, decomposition, verdicts, checks."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from paradox_gym import analysis as an
from paradox_gym import stats as st
from paradox_gym.compression import Footprint
from paradox_gym.report.text import verdict
from paradox_gym.experiment.records import TrialRecord

def _fp(serialized_bytes: int) -> Footprint:
    return Footprint(parameters=100, nonzero_parameters=100, serialized_bytes=serialized_bytes, macs=100)


# two-sided 95% t quantiles (0.975) from standard tables
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 10: 2.228, 20: 2.086, 29: 2.045,
        30: 2.042, 60: 2.000, 120: 1.980}


@pytest.mark.parametrize("df,expected", sorted(T975.items()))
def test_t_quantile_matches_tables(df: int, expected: float) -> None:
    assert round(st.t_quantile(0.975, df), 3) == expected


def test_t_quantile_other_levels_and_symmetry() -> None:
    assert round(st.t_quantile(0.995, 4), 3) == 4.604
    assert round(st.t_quantile(0.95, 10), 3) == 1.812
    assert st.t_quantile(0.025, 7) == pytest.approx(-st.t_quantile(0.975, 7))
    assert st.t_quantile(0.5, 3) == 0.0
    assert st.t_quantile(0.975, 1e7) == pytest.approx(1.959964, abs=1e-5)  # normal limit
    with pytest.raises(ValueError):
        st.t_quantile(1.0, 3)


def test_mean_ci_known_values() -> None:
    ci = st.mean_ci([1, 2, 3, 4, 5])
    # mean 3, s = sqrt(2.5), half width = 2.776 * s / sqrt(5)
    half = 2.7764451 * math.sqrt(2.5) / math.sqrt(5)
    assert ci.mean == 3.0 and ci.n == 5
    assert ci.low == pytest.approx(3 - half, rel=1e-6)
    assert ci.high == pytest.approx(3 + half, rel=1e-6)


def test_mean_ci_degenerate_inputs() -> None:
    one = st.mean_ci([4.0])
    assert one.mean == 4.0 and one.low is None and one.high is None
    empty = st.mean_ci([])
    assert empty.mean is None and empty.n == 0
    dropped = st.mean_ci([1.0, None, float("nan"), 3.0])  # type: ignore[list-item]
    assert dropped.n == 2 and dropped.mean == 2.0
    assert st.mean_ci([2.0, 2.0, 2.0]).low == 2.0  # zero spread -> zero-width interval


def test_paired_bootstrap_reproducible_and_sensible() -> None:
    rng = np.random.default_rng(1)
    base = 10 + rng.normal(0, 1, size=12)
    treated = 2 * base + rng.normal(0, 0.1, size=12)  # a strongly paired doubling
    a = st.paired_bootstrap(treated, base, seed=7)
    b = st.paired_bootstrap(treated, base, seed=7)
    c = st.paired_bootstrap(treated, base, seed=8)
    assert a == b
    assert a != c
    assert a.ratio == pytest.approx(treated.mean() / base.mean())
    assert a.ratio_low < a.ratio < a.ratio_high
    assert 1.9 < a.ratio_low and a.ratio_high < 2.1  # pairing keeps the ratio interval tight
    assert a.diff_low > 0
    assert st.direction(a.ratio_low, a.ratio_high, 1.0) == "higher"


def test_paired_bootstrap_equal_samples_include_one() -> None:
    x = [3.0, 4.0, 5.0, 6.0]
    ci = st.paired_bootstrap(x, x)
    assert ci.ratio == 1.0 and ci.ratio_low == 1.0 and ci.ratio_high == 1.0
    assert st.direction(ci.ratio_low, ci.ratio_high, 1.0) == "unchanged"


def test_paired_bootstrap_edge_cases() -> None:
    single = st.paired_bootstrap([2.0], [1.0])
    assert single.ratio == 2.0 and single.ratio_low is None
    zero = st.paired_bootstrap([1.0, 2.0], [0.0, 0.0])
    assert zero.ratio is None and zero.diff == 1.5
    dropped = st.paired_bootstrap([1.0, float("nan"), 3.0], [1.0, 2.0, 3.0])
    assert dropped.n == 2
    with pytest.raises(ValueError):
        st.paired_bootstrap([1.0, 2.0], [1.0])


@pytest.mark.parametrize(
    "low,high,expected",
    [(1.1, 1.3, "higher"), (0.7, 0.95, "lower"), (0.9, 1.1, "unchanged"), (1.0, 1.2, "unchanged"),
     (None, 1.2, "undetermined")],
)
def test_direction_follows_the_interval(low: float | None, high: float | None, expected: str) -> None:
    assert st.direction(low, high, 1.0) == expected


# ---------------------------------------------------------------------------------------------------
# summaries, verdicts and checks on synthetic trial records
# ---------------------------------------------------------------------------------------------------
def _trial(config: str, trial: int, *, ret: float, length: int, e_step: float, policy_share: float,
           episodes: int = 4, jitter: float = 0.0) -> TrialRecord:
    steps = length * episodes
    energy = e_step * steps * (1 + jitter)
    policy_s = 1e-4 * steps * policy_share
    return TrialRecord(
        config=config, trial=trial, seeds=list(range(trial * episodes, (trial + 1) * episodes)),
        returns=[ret + jitter] * episodes, lengths=[length] * episodes, wall_s=1.0, cpu_s=1.0,
        energy_j={"cpu-model": energy}, energy_method={"cpu-model": "modelled"}, energy_status={"cpu-model": "ok"},
        phase_energy_j={"cpu-model": {"policy": energy * policy_share, "env": energy * (1 - policy_share) * 0.8,
                                      "overhead": energy * (1 - policy_share) * 0.2}},
        phase_wall_s={"policy": policy_s, "env": 5e-5 * steps, "overhead": 1e-5 * steps},
        phase_cpu_s={"policy": policy_s, "env": 5e-5 * steps, "overhead": 1e-5 * steps},
        policy_ns=np.full(steps, int(1e5 * policy_share), dtype=np.int64),
    )


JITTER = [0.0, 0.01, -0.01, 0.02, -0.02, 0.005]


def _analyse(compressed: dict[str, dict[str, float]]) -> an.Analysis:
    trials = {"none": [_trial("none", t, ret=500, length=500, e_step=1e-3, policy_share=0.5, jitter=j)
                       for t, j in enumerate(JITTER)]}
    for cfg, spec in compressed.items():
        trials[cfg] = [_trial(cfg, t, ret=spec["ret"], length=int(spec["length"]), e_step=spec["e_step"],
                              policy_share=spec["policy_share"], jitter=j * 0.5) for t, j in enumerate(JITTER)]
    footprints = {"none": _fp(20000), **{c: _fp(9000) for c in compressed}}
    return an.analyse(trials, meter="cpu-model", footprints=footprints)


def test_analyse_paradox_case_verdicts_and_checks() -> None:
    # smaller, same return, dearer steps (inference): the paper's finding
    res = _analyse({"ptdq": {"ret": 500, "length": 500, "e_step": 2.6e-3, "policy_share": 0.8}})
    comp = res.comparisons["ptdq"]
    assert an.energy_direction(comp.energy_per_episode) == "higher"
    assert an.return_direction(comp.ret) == "unchanged"
    assert (comp.verdict.energy, comp.verdict.return_, comp.verdict.saving) == ("higher", "kept", False)
    assert verdict(comp).startswith("ptdq vs none: size -55%, return kept")
    assert "modelled energy (CPU time x power) per episode higher" in verdict(comp)
    assert "no saving: it costs more" in verdict(comp)
    d = comp.decomposition
    assert d is not None and sum(e.log_change for e in d.effects.values()) == pytest.approx(d.total.log_change)
    assert comp.verdict.mechanism == "per-step"
    status = {c.claim: c.status for c in res.checks}
    assert status["size reduction did not bring energy reduction"] == an.HOLDS
    assert status["energy fell only where return fell"] == an.HOLDS
    assert status["compression adds inference overhead"] == an.HOLDS
    assert res.summaries["ptdq"].energy_method == "modelled"


def test_analyse_energy_falls_with_return() -> None:
    # pruned agent plays badly: episodes end early, energy per episode falls with the return
    res = _analyse({"prune": {"ret": 120, "length": 120, "e_step": 1e-3, "policy_share": 0.5}})
    comp = res.comparisons["prune"]
    assert an.energy_direction(comp.energy_per_episode) == "lower"
    # less energy per episode only because a worse agent's episodes are shorter: not called a saving
    assert (comp.verdict.energy, comp.verdict.return_, comp.verdict.saving) == ("lower", "lower", False)
    assert "fell because the agent plays worse: no saving at equal return" in verdict(comp)
    assert "saving with the return kept" not in verdict(comp)
    assert comp.decomposition is not None and comp.decomposition.effects["length"].log_change < 0
    assert comp.verdict.mechanism == "episode-length"
    status = {c.claim: c.status for c in res.checks}
    assert status["size reduction did not bring energy reduction"] == an.DOES_NOT_HOLD
    assert status["energy fell only where return fell"] == an.HOLDS
    assert status["compression adds inference overhead"] == an.INCONCLUSIVE


def test_analyse_energy_falls_without_return_loss_refutes_check() -> None:
    res = _analyse({"prune-structured": {"ret": 500, "length": 500, "e_step": 0.6e-3, "policy_share": 0.3}})
    status = {c.claim: c.status for c in res.checks}
    assert status["energy fell only where return fell"] == an.DOES_NOT_HOLD
    assert status["compression adds inference overhead"] == an.DOES_NOT_HOLD


def test_verdict_uses_interval_not_point_estimate() -> None:
    # +10% point estimate but noisy trials: the CI includes 1, so the verdict must say "no detectable change"
    trials = {
        "none": [_trial("none", t, ret=500, length=500, e_step=1e-3, policy_share=0.5, jitter=j)
                 for t, j in enumerate([0.2, -0.2, 0.25, -0.25])],
        "ptdq": [_trial("ptdq", t, ret=500, length=500, e_step=1.1e-3, policy_share=0.5, jitter=j)
                 for t, j in enumerate([-0.25, 0.25, -0.2, 0.2])],
    }
    res = an.analyse(trials, meter="cpu-model")
    comp = res.comparisons["ptdq"]
    assert comp.energy_per_episode.ratio > 1.0
    assert comp.energy_per_episode.ratio_low < 1.0 < comp.energy_per_episode.ratio_high
    assert "no detectable change" in verdict(comp)


def test_incomplete_and_missing_energy_trials() -> None:
    good = [_trial("none", t, ret=10, length=10, e_step=1e-3, policy_share=0.5) for t in range(3)]
    partial = _trial("none", 3, ret=10, length=10, e_step=1e-3, policy_share=0.5)
    partial.seeds.append(999)  # one seed never played: an interrupted trial
    failed = _trial("none", 4, ret=10, length=10, e_step=1e-3, policy_share=0.5)
    failed.energy_j["cpu-model"] = None
    s = an.analyse({"none": [*good, partial, failed]}, meter="cpu-model").summaries["none"]
    assert s.trials == 4  # the interrupted trial is dropped
    assert s.energy_windows == 3  # the failed reading is not counted as 0 J
    assert s.energy_per_step_j.mean == pytest.approx(1e-3)


def test_negative_returns_use_the_difference() -> None:
    # Pendulum-like returns (all negative): "lower" must come from the difference, and no ratio is shown
    trials = {
        "none": [_trial("none", t, ret=-150, length=200, e_step=1e-3, policy_share=0.5, jitter=j)
                 for t, j in enumerate(JITTER)],
        "prune": [_trial("prune", t, ret=-900, length=200, e_step=1e-3, policy_share=0.5, jitter=j)
                  for t, j in enumerate(JITTER)],
    }
    res = an.analyse(trials, meter="cpu-model")
    comp = res.comparisons["prune"]
    assert comp.ret.ratio > 1  # -900 / -150: a ratio above 1 that means a worse return
    assert an.return_direction(comp.ret) == "lower"
    assert "return lower -750 [-750, -750] (difference)" in verdict(comp)
    assert res.summaries["prune"].energy_per_return_j is None  # J per unit of a negative return is meaningless


def _with_returns(res_trials: dict[str, list[TrialRecord]], cfg: str, returns: list[float]) -> None:
    for t, r in zip(res_trials[cfg], returns):
        t.returns[:] = [r] * len(t.returns)


def _trials(spec: dict[str, dict[str, float]]) -> dict[str, list[TrialRecord]]:
    trials = {"none": [_trial("none", t, ret=500, length=500, e_step=1e-3, policy_share=0.5, jitter=j)
                       for t, j in enumerate(JITTER)]}
    for cfg, sp in spec.items():
        trials[cfg] = [_trial(cfg, t, ret=sp["ret"], length=500, e_step=sp["e_step"],
                              policy_share=sp["policy_share"], jitter=j * 0.5) for t, j in enumerate(JITTER)]
    return trials


def test_energy_fell_check_needs_the_return_interval() -> None:
    # energy clearly lower in both; "wide": the return interval includes 0 but also a large fall -> cannot
    # tell; "kept": a significant but tiny fall (the interval lies within 10% of |baseline|) -> refutes
    trials = _trials({"wide": {"ret": 500, "e_step": 0.5e-3, "policy_share": 0.3},
                      "kept": {"ret": 500, "e_step": 0.5e-3, "policy_share": 0.3}})
    _with_returns(trials, "wide", [500, 200, 520, 150, 510, 480])
    _with_returns(trials, "kept", [r - 1.0 for r in (500.0, 500.01, 499.99, 500.02, 499.98, 500.005)])
    res = an.analyse(trials, meter="cpu-model", footprints={"none": _fp(2), "wide": _fp(1), "kept": _fp(1)})
    wide, kept = res.comparisons["wide"], res.comparisons["kept"]
    assert an.return_direction(wide.ret) == "unchanged" and wide.ret.diff_low < -50
    assert an.return_direction(kept.ret) == "lower" and an.return_kept(kept.ret)
    check = {c.claim: c for c in res.checks}["energy fell only where return fell"]
    assert check.per_config == {"wide": an.INCONCLUSIVE, "kept": an.DOES_NOT_HOLD}
    assert check.status == an.DOES_NOT_HOLD
    assert check.evidence.startswith("does not hold for kept; inconclusive for wide. ")
    assert "not shown kept nor shown lower" in check.evidence and "kept within 10%" in check.evidence


def test_negative_return_margin_uses_magnitude() -> None:
    ci = st.paired_bootstrap([-150.5, -151.0, -149.8], [-150.0, -150.0, -150.0])
    assert an.return_kept(ci)  # within 10% of |-150|
    bad = st.paired_bootstrap([-300.0, -320.0, -310.0], [-150.0, -150.0, -150.0])
    assert not an.return_kept(bad) and an.return_direction(bad) == "lower"


def test_checks_name_configs_when_answers_differ_and_list_every_config() -> None:
    res = _analyse({"ptdq": {"ret": 500, "length": 500, "e_step": 2.6e-3, "policy_share": 0.8},
                    "prune-structured": {"ret": 500, "length": 500, "e_step": 0.6e-3, "policy_share": 0.3}})
    checks = {c.claim: c for c in res.checks}
    overhead = checks["compression adds inference overhead"]
    assert overhead.per_config == {"ptdq": an.HOLDS, "prune-structured": an.DOES_NOT_HOLD}
    assert overhead.evidence.startswith("holds for ptdq; does not hold for prune-structured. ")
    energy = checks["energy fell only where return fell"]
    assert energy.per_config["ptdq"] == an.NOT_APPLICABLE  # its energy did not fall
    assert energy.per_config["prune-structured"] == an.DOES_NOT_HOLD
    # a per-step saving with the return kept is called a saving, with its cause
    sentence = verdict(res.comparisons["prune-structured"])
    assert "return kept" in sentence and "modelled energy saving with the return kept" in sentence
    assert res.comparisons["prune-structured"].verdict.saving


def test_vacuous_energy_check_lists_configs_as_not_applicable() -> None:
    res = _analyse({"ptdq": {"ret": 500, "length": 500, "e_step": 2.6e-3, "policy_share": 0.8}})
    check = {c.claim: c for c in res.checks}["energy fell only where return fell"]
    assert check.status == an.HOLDS and check.evidence.startswith("vacuously")
    assert check.per_config == {"ptdq": an.NOT_APPLICABLE}


@pytest.mark.parametrize("ratio,text", [(1.0, "0%"), (0.996, "-0.4%"), (0.9999, "-<0.1%"), (1.0004, "+<0.1%"),
                                        (1.6, "+60%"), (0.05, "-95%"), (1.05, "+5.0%")])
def test_percent_never_shows_a_signed_zero(ratio: float, text: str) -> None:
    from paradox_gym.report import format as fmt

    assert fmt.pct(ratio) == text


def test_few_pairs_do_not_give_overconfident_intervals() -> None:
    # two trials, both a little lower: a percentile bootstrap would call this "lower" (its interval is just
    # the range of the two differences); the paired t interval (t_0.975,1 = 12.7) rightly cannot tell
    ci = st.paired_bootstrap([9.0, 8.0], [10.0, 10.0])
    assert ci.diff == -1.5
    half = 12.7062 * math.sqrt(0.5) / math.sqrt(2)
    assert ci.diff_low == pytest.approx(-1.5 - half, rel=1e-4) and ci.diff_high == pytest.approx(-1.5 + half, rel=1e-4)
    assert an.return_direction(ci) == "unchanged"
    assert an.energy_direction(ci) == "unchanged"  # the ratio interval contains the difference's
    assert ci.ratio_low <= 1 + ci.diff_low / 10 and ci.ratio_high >= 1 + ci.diff_high / 10


def test_paired_intervals_cover_at_about_the_nominal_level() -> None:
    # 5 paired trials with a true zero difference: the interval should exclude 0 in about 5% of cases
    rng = np.random.default_rng(3)
    misses = 0
    runs = 400
    for i in range(runs):
        base = 10 + rng.normal(0, 1, 5)
        treated = base + rng.normal(0, 0.5, 5)
        ci = st.paired_bootstrap(treated, base, resamples=400, seed=i)
        misses += an.energy_direction(ci) != "unchanged"
    assert misses / runs < 0.08


def test_nonnegative_quantities_never_get_negative_bounds() -> None:
    from paradox_gym.stats import mean_ci, paired_bootstrap

    wide = mean_ci([0.01, 0.5])  # 2 values: t(1) = 12.7, the plain interval reaches far below 0
    assert wide.low is not None and wide.low < 0
    clipped = mean_ci([0.01, 0.5], nonnegative=True)
    assert clipped.low == 0.0 and clipped.high == wide.high and clipped.mean == wide.mean
    ci = paired_bootstrap([0.05, 0.9], [0.4, 0.41], seed=0)  # energies: the ratio cannot be negative
    assert ci.ratio_low is not None and ci.ratio_low >= 0.0
    signed = paired_bootstrap([-0.05, 0.9], [0.4, 0.41], seed=0)  # a signed quantity keeps its bound
    assert signed.ratio_low is not None and signed.ratio_low < 0.0
