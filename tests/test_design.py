"""The run's order design: randomised Latin squares within replicates, replay by order seed, and the
position effect (first in the round against later) at replicate level."""

from __future__ import annotations

import math

import numpy as np
import pytest

from paradox_gym.experiment.design import (
    OrderPlan,
    check_orders,
    design_record,
    first_vs_later,
    position_counts,
    position_effect,
)
from paradox_gym.experiment.records import TrialRecord

CONFIGS = ("none", "none-copy", "ptdq")


def _trial(config: str, replicate: int, trial: int, position: int, energy: float, steps: int = 100) -> TrialRecord:
    return TrialRecord(config=config, trial=trial, seeds=[0], returns=[1.0], lengths=[steps], wall_s=1.0, cpu_s=1.0,
                       energy_j={"headline": energy}, energy_method={"headline": "modelled"},
                       energy_status={"headline": "ok"}, phase_energy_j={}, phase_wall_s={}, phase_cpu_s={},
                       policy_ns=np.zeros(0, dtype=np.int64), replicate=replicate, position=position)


@pytest.mark.parametrize("order_seed", range(20))
def test_three_configurations_three_rounds_is_a_latin_square(order_seed: int) -> None:
    plan = OrderPlan(CONFIGS, 3, order_seed)
    for _ in range(4):
        orders = plan.draw()
        check_orders(orders, CONFIGS, 3)
        counts = position_counts(orders, CONFIGS)
        assert counts.tolist() == [[1, 1, 1]] * 3  # each configuration first (and second, third) exactly once


@pytest.mark.parametrize(("n", "trials", "replicates"), [(3, 2, 5), (4, 6, 3), (5, 3, 4), (2, 3, 3), (6, 12, 2)])
def test_counts_are_as_even_as_possible_within_each_replicate_and_over_the_run(n: int, trials: int,
                                                                             replicates: int) -> None:
    configs = [f"c{i}" for i in range(n)]
    for order_seed in range(10):
        plan = OrderPlan(configs, trials, order_seed)
        for _ in range(replicates):
            counts = position_counts(plan.draw(), configs)
            if trials % n == 0:
                assert (counts == trials // n).all()
            assert counts.max() - counts.min() <= 1
        run = position_counts([o for rep in plan.orders for o in rep], configs)
        assert run.max() - run.min() <= 1


def test_an_order_seed_replays_the_orders_and_none_draws_a_recorded_one() -> None:
    a, b = OrderPlan(CONFIGS, 3, 12345), OrderPlan(CONFIGS, 3, 12345)
    assert [a.draw() for _ in range(5)] == [b.draw() for _ in range(5)]
    fresh1, fresh2 = OrderPlan(CONFIGS, 3), OrderPlan(CONFIGS, 3)
    orders1 = [fresh1.draw() for _ in range(5)]
    orders2 = [fresh2.draw() for _ in range(5)]
    assert fresh1.order_seed != fresh2.order_seed
    assert orders1 != orders2  # 12 Latin squares of order 3, five replicates: equal by chance ~1 in 250,000
    replay = OrderPlan(CONFIGS, 3, fresh1.order_seed)
    assert [replay.draw() for _ in range(5)] == orders1


def test_for_settings_reads_the_order_seed_when_the_settings_have_one() -> None:
    class Settings:
        configs = CONFIGS
        trials = 2
        order_seed = 7

    assert OrderPlan.for_settings(Settings()).order_seed == 7
    del Settings.order_seed
    assert isinstance(OrderPlan.for_settings(Settings()).order_seed, int)


def test_bad_orders_and_plans_are_refused() -> None:
    with pytest.raises(ValueError, match="must hold 2 rounds"):
        check_orders([list(CONFIGS)], CONFIGS, 2)
    with pytest.raises(ValueError, match="round 1"):
        check_orders([list(CONFIGS), ["none", "none", "ptdq"]], CONFIGS, 2)
    with pytest.raises(ValueError, match="distinct"):
        OrderPlan(("a", "a"), 2, 0)


def test_first_vs_later_recovers_a_planted_effect_and_covers_none() -> None:
    rng = np.random.default_rng(0)
    planted, null = [], []
    for replicate in range(6):
        for config in CONFIGS:
            noise = rng.normal(0, 0.01, size=3)
            base = {"none": 1.0, "none-copy": 1.0, "ptdq": 2.0}[config]  # configurations differ: it must not matter
            for position in range(3):
                planted.append((replicate, config, position, base * (1.10 if position == 0 else 1.0) * math.exp(noise[position])))
                null.append((replicate, config, position, base * math.exp(noise[position])))
    effect = first_vs_later(planted, metric="J per step")
    assert effect.ratio == pytest.approx(1.10, rel=0.02)
    assert effect.low is not None and effect.high is not None and effect.low > 1.0
    assert effect.word == "higher" and effect.units == 6 and effect.comparisons == 18
    assert "+10" in effect.note() and "first trials used more" in effect.note()
    none = first_vs_later(null)
    assert none.low is not None and none.high is not None and none.low <= 1.0 <= none.high
    assert none.word == "unchanged"


def test_first_vs_later_without_enough_replicates_is_unresolved() -> None:
    one = first_vs_later([(0, "a", 0, 2.0), (0, "a", 1, 1.0)])
    assert one.ratio == pytest.approx(2.0) and one.low is None and one.word == "unresolved"
    assert "unresolved" in one.note()
    empty = first_vs_later([(0, "a", 0, 2.0), (0, "b", 1, 1.0)])  # no configuration both first and later
    assert empty.ratio is None and empty.word == "unresolved" and "unresolved" in empty.note()


def test_position_effect_and_design_record_from_trials() -> None:
    plan = OrderPlan(CONFIGS, 3, 99)
    trials: dict[str, list[TrialRecord]] = {c: [] for c in CONFIGS}
    for replicate in range(3):
        for k, order in enumerate(plan.draw()):
            for position, config in enumerate(order):
                energy = 12.0 if position == 0 else 10.0
                trials[config].append(_trial(config, replicate, k, position, energy * (1 + 0.01 * replicate)))
    effect = position_effect(trials, "headline")
    assert effect.ratio == pytest.approx(1.2) and effect.units == 3
    record = design_record(dict(enumerate(plan.orders)), plan.order_seed, CONFIGS, trials, "headline")
    assert record["order_seed"] == 99
    assert record["orders"] == plan.orders and record["orders"][2][1] == plan.orders[2][1]
    assert record["rounds_played"] == 9 and record["first_counts"] == {c: 3 for c in CONFIGS}
    assert record["position_effect"]["ratio"] == pytest.approx(1.2)
    assert record["position_effect"]["word"] == "higher"
