"""Where the policy runs: ``--device cpu`` (default) or ``cuda``, checked before anything slow happens.

Which compression methods run on CUDA is read from the compression registry (``Method.devices``):
today the float baseline ``none``, ``prune``, ``prune-structured`` and ``prune-structured-l1`` (plain float
``nn.Linear`` layers). The torch.ao int8 methods (``ptdq``, ``ptsq``, ``mixed``, ``qat``) have CPU kernels
only (fbgemm / qnnpack), so they are refused on CUDA with a one-line error that names the methods that do
run there.

On CUDA the policy's modules are moved with ``policy.to("cuda")``; SB3's ``predict`` then copies each
observation to the GPU and the action back (``.cpu().numpy()``), and that device-to-host copy waits
for the GPU's work, so the time the rollout loop charges to ``predict`` includes the GPU's compute
(the NVML meter also synchronises CUDA at every window edge).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from paradox_gym.compression.registry import METHOD_TABLE, canonical_method
from paradox_gym.errors import UserInputError

#: Devices a policy can run on.
POLICY_DEVICES: tuple[str, ...] = ("cpu", "cuda")
DEFAULT_DEVICE = "cpu"


def cuda_available() -> bool:
    """True when torch sees a usable CUDA device (torch answers False itself for a missing driver or GPU)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except (ImportError, OSError, RuntimeError):  # a broken CUDA install (a missing library, a CUDA error): no GPU
        return False


def methods_on(device: str) -> tuple[str, ...]:
    """Compression methods (registry names) whose compressed policy runs on ``device``."""
    return tuple(m.name for m in METHOD_TABLE.values() if device in m.devices)


def check_device(device: Any, methods: Sequence[str] = (), *, cuda: bool | None = None) -> str:
    """Validate ``device`` for the configurations ``methods``; return it.

    Args:
        device: ``"cpu"`` or ``"cuda"``.
        methods: compression methods (names or aliases) the evaluation will run.
        cuda: whether CUDA is available (None: ask torch).

    Raises:
        UserInputError: unknown device; ``cuda`` without a GPU; a method that does not run on the device.
    """
    if device not in POLICY_DEVICES:
        raise UserInputError(f"unknown device {device!r}; valid: {', '.join(POLICY_DEVICES)}")
    if device == "cuda":
        if cuda is None:
            cuda = cuda_available()
        if not cuda:
            raise UserInputError(
                "--device cuda: no CUDA GPU is available here (torch.cuda.is_available() is False); use --device cpu"
            )
    for m in methods:
        name = canonical_method(m)
        if device not in METHOD_TABLE[name].devices:
            raise UserInputError(
                f"method {name!r} does not run on {device} (torch.ao int8 kernels are CPU-only); "
                f"methods that run on {device}: {', '.join(methods_on(device))}"
            )
    return str(device)


def place_policy(agent: Any, device: str) -> Any:
    """Move ``agent``'s policy (``agent.policy``, an SB3 policy) to ``device``; returns the agent."""
    if device == "cpu":
        return agent
    policy = getattr(agent, "policy", None)
    if policy is None or not hasattr(policy, "to"):
        raise UserInputError(f"agent {agent!r} has no policy module to move to {device}")
    policy.to(device)
    return agent


def synchronize(device: str) -> None:
    """Wait for queued CUDA work (no-op on the CPU or when torch has not initialised CUDA)."""
    if device != "cuda":
        return
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.synchronize()


__all__ = ["DEFAULT_DEVICE", "POLICY_DEVICES", "check_device", "cuda_available", "methods_on", "place_policy",
           "synchronize"]
