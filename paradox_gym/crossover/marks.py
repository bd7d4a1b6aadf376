"""Where a real agent sits on a crossover map: its inference path's hidden width and the batch it plays at.

``--agent LABEL=WIDTH[@BATCH]`` gives them by hand; ``--agent SOURCE[@BATCH]`` reads them from an agent:
an SB3 / sb3-contrib zip or an rl-zoo3 run folder (read without unpickling, as ``evaluate`` reads it), or
``ALGO:ENV_ID`` for a zoo agent. The width is the widest hidden layer of the inference path (its last
layer, the output, excluded); the batch is how many observations one ``predict`` call takes (1 for one
environment, the number of vectorised environments otherwise).
"""

from __future__ import annotations

import os
from typing import Any

from paradox_gym.errors import UserInputError


def hidden_widths(model: Any) -> list[int]:
    """Output widths of the ``nn.Linear`` layers on ``model``'s inference path, in order, the output layer
    excluded."""
    from torch import nn

    from paradox_gym.compression.inference_path import identify_algo, inference_module

    layers = [m for m in inference_module(model.policy, identify_algo(model)).modules() if isinstance(m, nn.Linear)]
    return [int(m.out_features) for m in layers[:-1]]


def agent_mark(spec: str) -> tuple[str, int, int]:
    """``(label, width, batch)`` of ``--agent`` ``spec`` (see the module docstring); UserInputError naming
    the spec otherwise."""
    from paradox_gym._util.checks import check_int
    from paradox_gym.crossover.settings import MAX_BATCH
    from paradox_gym.limits import MAX_LAYER_WIDTH

    head, at, tail = spec.rpartition("@")
    body, batch_text = (head, tail) if at and tail.isascii() and tail.isdigit() else (spec, "1")
    batch = check_int("agent batch", int(batch_text), 1, MAX_BATCH)
    label, eq, width_text = body.rpartition("=")
    if eq:
        if not label.strip() or not width_text.isascii() or not width_text.isdigit():
            raise UserInputError(f"--agent {spec!r} is not LABEL=WIDTH[@BATCH] (e.g. 'PPO Hopper=64@1')")
        return label.strip(), check_int("agent width", int(width_text), 1, MAX_LAYER_WIDTH), batch
    from paradox_gym.loading import load_agent

    algo, colon, env_id = body.partition(":")
    if colon and not os.path.exists(body):
        model = load_agent(env_id, algo)
        label = f"{algo} {env_id}"
    else:
        model = load_agent(body)
        label = os.path.basename(os.path.normpath(body))
    widths = hidden_widths(model)
    if not widths:
        raise UserInputError(f"--agent {spec!r}: its inference path has no hidden layer to place on a width axis")
    shape = "x".join(str(w) for w in widths)
    return f"{label} ({shape})", max(widths), batch


__all__ = ["agent_mark", "hidden_widths"]
