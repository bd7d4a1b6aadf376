"""L1 structured pruning (``prune-structured-l1``) beside the L2 one (``prune-structured``), on a real agent.

The shipped PPO CartPole agent's first hidden layer is given rows whose L1 and L2 rankings disagree: half
the neurons spread their weight over every input (``c x [1, 1, 1, 1]``: L1 4c, L2 2c), half put it on one
input (``s x [1, 0, 0, 0]``: L1 = L2 = s), with c about 1 and s about 3. L1 ranks the concentrated rows
smallest and removes them; L2 ranks the spread rows smallest and removes those. Each neuron's bias is its
index, so the kept neurons can be named after pruning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from paradox_gym.compression import METHODS, compress, load_compressed
from paradox_gym.compression.registry import canonical_method, get_method
from paradox_gym.compression.runtimes import build_runtime_agent
from paradox_gym.compression.runtimes.ort import ONNX_PLANS
from paradox_gym.zoo import load_agent

WIDTH = 64  # the shipped PPO CartPole agent's hidden width
SPREAD = list(range(0, WIDTH, 2))  # neurons with weight spread over every input
SPIKE = list(range(1, WIDTH, 2))  # neurons with weight on one input


@pytest.fixture(scope="module")
def agent() -> Any:
    """The shipped PPO CartPole agent with the first hidden layer's rows set as the module docstring says."""
    model = load_agent("CartPole-v1", "PPO")
    first = model.policy.mlp_extractor.policy_net[0]
    weight = torch.zeros_like(first.weight)
    for i in SPREAD:
        weight[i, :] = 1.0 + 0.001 * i  # L1 ~4, L2 ~2
    for i in SPIKE:
        weight[i, 0] = 3.0 + 0.001 * i  # L1 = L2 ~3
    with torch.no_grad():
        first.weight.copy_(weight)
        first.bias.copy_(torch.arange(WIDTH, dtype=first.bias.dtype))
    return model


def _kept_neurons(compressed: Any) -> list[int]:
    """Indices (biases) of the first hidden layer's neurons left after pruning."""
    return sorted(int(b) for b in compressed.policy_module.policy_net[0].bias.detach().round())


def _widths(compressed: Any) -> list[int]:
    return [m.out_features for m in compressed.policy_module.policy_net if isinstance(m, nn.Linear)]


def test_l1_and_l2_remove_different_neurons(agent: Any) -> None:
    l1 = compress(agent, "prune-structured-l1", amount=0.5)
    l2 = compress(agent, "prune-structured", amount=0.5)
    assert _kept_neurons(l1) == SPREAD  # L1 removed the concentrated rows (L1 3 < 4)
    assert _kept_neurons(l2) == SPIKE  # L2 removed the spread rows (L2 2 < 3)
    kept_l1 = l1.policy_module.policy_net[0].weight.detach()
    assert torch.all(kept_l1 != 0)  # every kept row is a spread row
    kept_l2 = l2.policy_module.policy_net[0].weight.detach()
    assert torch.all(kept_l2[:, 1:] == 0) and torch.all(kept_l2[:, 0] > 2.9)


@pytest.mark.parametrize("method", ["prune-structured-l1", "prune-structured"])
def test_shapes_shrink_and_the_output_layer_is_kept(agent: Any, method: str) -> None:
    compressed = compress(agent, method, amount=0.25)
    assert _widths(compressed) == [48, 48]
    head = compressed.policy_module.action_net
    assert (head.in_features, head.out_features) == (48, 2)
    assert compressed.footprint.macs == 4 * 48 + 48 * 48 + 48 * 2
    assert compressed.footprint.macs < compressed.baseline_footprint.macs
    # the second layer kept exactly the input columns of the first layer's kept neurons
    original = agent.policy.mlp_extractor.policy_net[2].weight.detach()
    kept = _kept_neurons(compressed)
    second = compressed.policy_module.policy_net[2].weight.detach()
    rows = [torch.nonzero(torch.all(original[:, kept] == row, dim=1)).numel() for row in second]
    assert all(n >= 1 for n in rows)


def test_second_layer_ranked_by_the_l1_norm(agent: Any) -> None:
    """After the first cut, each later layer keeps its neurons of largest L1 norm over the inputs left."""
    compressed = compress(agent, "prune-structured-l1", amount=0.5)
    kept = _kept_neurons(compressed)
    original = agent.policy.mlp_extractor.policy_net[2].weight.detach()[:, kept]
    l1 = original.abs().sum(dim=1)
    second = compressed.policy_module.policy_net[2].weight.detach()
    assert torch.allclose(second.abs().sum(dim=1).sort().values, l1.sort().values[WIDTH // 2:])


def test_saved_and_loaded_through_the_compressed_agent_file(agent: Any, tmp_path: Path) -> None:
    compressed = compress(agent, "prune-structured-l1", amount=0.5)
    path = tmp_path / "ppo-cartpole-l1.zip"
    compressed.save(path)
    loaded = load_compressed(path)
    assert loaded.method == "prune-structured-l1" and loaded.recipe == compressed.recipe
    assert _kept_neurons(loaded) == SPREAD and _widths(loaded) == _widths(compressed)
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    assert np.array_equal(loaded.predict(obs)[0], compressed.predict(obs)[0])
    assert loaded.footprint == compressed.footprint


@pytest.mark.parametrize("runtime", ["torch", "onnxruntime"])
def test_every_runtime_runs_the_l1_pruned_path(agent: Any, runtime: str) -> None:
    compressed = compress(agent, "prune-structured-l1", amount=0.5)
    built = build_runtime_agent(compressed, runtime)
    obs = np.random.default_rng(1).normal(size=(64, 4)).astype(np.float32)
    assert np.array_equal(built.predict(obs)[0], compressed.predict(obs)[0])
    assert built.footprint.parameters == compressed.footprint.parameters


def test_method_table_names() -> None:
    assert "prune-structured-l1" in METHODS and "prune-structured-l1" in ONNX_PLANS
    assert canonical_method("prune-structured-l2") == "prune-structured"
    assert get_method("prune-structured-l1").structured and get_method("prune-structured").structured
    assert get_method("prune-structured-l1").uses_amount and not get_method("prune").structured
