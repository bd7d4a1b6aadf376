"""The stand-still PPO Hopper-v5 agent (it returns ~1026 by standing still; kept in tests/fixtures after the
zoo moved to benchmark-level agents), pruned structurally at 0.5 with the MuJoCo study's budget: its
episodes end near step 430 instead of 1000, so the energy it saves comes from episode length."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("mujoco")

FIXTURE = Path(__file__).parent / "fixtures" / "standstill"


@pytest.mark.slow
def test_pruned_standstill_agent_saves_energy_through_episode_length(tmp_path: Path) -> None:
    import paradox_gym as pg

    settings = pg.EvalSettings(
        env_id="Hopper-v5", agent_path=str(FIXTURE / "ppo-hopper-v5.zip"),
        vecnormalize_path=str(FIXTURE / "ppo-hopper-v5.vecnormalize.pkl"), methods=("prune-structured",),
        amount=0.5, episodes=3, trials=2, replicates=3, warmup=1, memory=False, codecarbon=False)
    result = pg.evaluate(settings, progress=False)
    comp = result.analysis.comparisons["prune-structured"]
    d = comp.decomposition
    assert comp.verdict.energy == "lower" and comp.verdict.return_ == "lower"
    assert comp.verdict.mechanism == d.mechanism == "episode-length"
    assert d.f0_j >= 0 and d.f1_j >= 0 and d.n1 < 0.6 * d.n0
    assert math.isclose(sum(e.log_change for e in d.effects.values()), d.total.log_change, abs_tol=1e-12)
    assert math.isclose(d.total.ratio, comp.energy_per_episode.ratio, rel_tol=1e-9)  # the verdict's estimand
    assert result.baseline_reference is not None and result.baseline_reference.warning
