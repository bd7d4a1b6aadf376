"""Magnitude pruning of an SB3 policy's inference path (``torch.nn.utils.prune``).

- :func:`prune_unstructured`: L1 unstructured, per layer (``"l1"``) or over all inference-path weights
  at once (``"global"``); masks are made permanent with ``prune.remove``. Weights become zeros in
  dense tensors: dense kernels do exactly the same work as before.
- :func:`prune_structured`: structured pruning of hidden neurons ranked by the L2 (``norm=2``, the default)
  or L1 (``norm=1``) norm of their incoming weights (``prune.ln_structured``, ``n=norm, dim=0``) that then
  *physically removes* them: each hidden ``nn.Linear`` is rebuilt with fewer outputs and its consumers with
  fewer inputs; output layers keep their size. MACs really drop.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune

from paradox_gym.compression.inference_path import compressible_parts, get_attr_path, uses_sde
from paradox_gym.errors import UserInputError

PRUNINGS: tuple[str, ...] = ("l1", "global")
#: Norms a structured pruning may rank neurons by: 1 (L1, sum of |w|) or 2 (L2, Euclidean).
STRUCTURED_NORMS: tuple[int, ...] = (1, 2)


def _slots(policy: nn.Module, algo: str) -> list[tuple[nn.Module, str]]:
    """(parent, attribute) of every inference-path Linear, in forward order."""
    slots: list[tuple[nn.Module, str]] = []
    for part in compressible_parts(algo, policy):
        module = get_attr_path(policy, part.path)
        if isinstance(module, nn.Linear):
            parent_path, _, attr = part.path.rpartition(".")
            slots.append((get_attr_path(policy, parent_path) if parent_path else policy, attr))
        else:
            slots.extend((module, name) for name, m in module.named_children() if isinstance(m, nn.Linear))
    return slots


def prune_unstructured(policy: nn.Module, algo: str, amount: float, pruning: str) -> None:
    """Zero a fraction ``amount`` of the smallest-magnitude weights (biases untouched), in place."""
    layers = [getattr(parent, name) for parent, name in _slots(policy, algo)]
    if pruning == "l1":
        for layer in layers:
            prune.l1_unstructured(layer, "weight", amount=amount)
    elif pruning == "global":
        prune.global_unstructured(
            [(layer, "weight") for layer in layers], pruning_method=prune.L1Unstructured, amount=amount
        )
    else:
        raise UserInputError(f"unknown pruning {pruning!r}; valid: {', '.join(PRUNINGS)}")
    for layer in layers:
        prune.remove(layer, "weight")


def _structure(policy: nn.Module, algo: str) -> tuple[list[tuple[nn.Module, str]], list[tuple[nn.Module, str]]]:
    """(hidden layers in order, output heads fed by the last hidden layer) as (parent, attr) slots."""
    slots = _slots(policy, algo)
    if algo in ("PPO", "A2C", "TRPO"):
        # policy_net Linears are hidden; action_net is the head.
        return slots[:-1], slots[-1:]
    if algo in ("SAC", "TQC"):
        # latent_pi Linears are hidden; mu and log_std both read the last latent layer.
        return slots[:-2], slots[-2:]
    # DQN q_net and TD3/DDPG actor.mu: one Sequential, its last Linear is the output.
    return slots[:-1], slots[-1:]


def _rebuild(layer: nn.Linear, rows: torch.Tensor | None, cols: torch.Tensor | None) -> nn.Linear:
    weight = layer.weight.detach()
    bias = layer.bias.detach() if layer.bias is not None else None
    if rows is not None:
        weight = weight[rows]
        bias = bias[rows] if bias is not None else None
    if cols is not None:
        weight = weight[:, cols]
    new = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                    device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        new.weight.copy_(weight)
        if bias is not None:
            new.bias.copy_(bias)
    return new


def prune_structured(policy: Any, algo: str, amount: float, norm: int = 2) -> list[int]:
    """Remove ``round(amount x width)`` neurons (smallest L``norm`` norm of their weight row) from each
    hidden layer; ``norm`` is 2 (L2) or 1 (L1).

    At least one neuron per layer is kept. Returns the new hidden widths, in order.
    """
    if norm not in STRUCTURED_NORMS:
        raise UserInputError(f"unknown structured pruning norm {norm!r}; valid: {', '.join(map(str, STRUCTURED_NORMS))}")
    if uses_sde(policy):
        raise UserInputError(
            "structured pruning does not support use_sde=True (gSDE noise depends on the latent width)"
        )
    hidden, heads = _structure(policy, algo)
    widths: list[int] = []
    for index, (parent, name) in enumerate(hidden):
        layer = getattr(parent, name)
        width = layer.out_features
        n_prune = min(int(round(amount * width)), width - 1)
        if n_prune > 0:
            prune.ln_structured(layer, "weight", amount=n_prune, n=norm, dim=0)
            keep = torch.nonzero(layer.weight_mask.sum(dim=1) != 0).flatten()
            prune.remove(layer, "weight")
            setattr(parent, name, _rebuild(layer, keep, None))
            consumers = hidden[index + 1 : index + 2] if index + 1 < len(hidden) else heads
            for c_parent, c_name in consumers:
                setattr(c_parent, c_name, _rebuild(getattr(c_parent, c_name), None, keep))
        widths.append(getattr(parent, name).out_features)
    return widths
