"""The arithmetic floor of a policy step: how long its multiply-accumulates would take at this CPU's
measured dense matrix-product rate, and how far the measured inference time is above it.

- :func:`measure_macs_per_s`: multiply-accumulates per second of one large float32 matrix product
  (``n x n @ n x n`` = ``n**3`` MACs, :data:`MATMUL_N` = 1024) with torch at the given thread count, best of
  :data:`MATMUL_REPEATS` runs after one warm-up run; measured once per process and thread count (cached).
- :func:`inference_floor`: ``floor_s = macs / macs_per_s``; ``multiple = policy_s / floor_s``;
  ``dispatch_fraction = 1 - floor_s / policy_s`` (the share of the measured per-step inference time not
  explained by arithmetic at the peak rate: interpreter, framework dispatch, quantize / dequantize calls,
  memory traffic of tiny tensors).

The floor counts dense float32 MACs (``Footprint.macs``) at the float32 rate for every configuration, int8
ones included (int8 kernels can be faster per MAC, so their true floor is lower still and the multiple a
lower bound). Only the inference path is counted; the environment step is not.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

MATMUL_N = 1024
MATMUL_REPEATS = 5


@functools.lru_cache(maxsize=None)
def measure_macs_per_s(threads: int = 1, n: int = MATMUL_N, repeats: int = MATMUL_REPEATS) -> float:
    """Dense float32 multiply-accumulates per second of this CPU (``n**3`` MACs per ``n x n`` matmul,
    best of ``repeats`` after a warm-up), with ``threads`` torch threads (restored afterwards)."""
    return matmul_rate(threads, n, repeats, clock=time.perf_counter)


def matmul_rate(threads: int, n: int, repeats: int, *, clock: Callable[[], float]) -> float:
    """``n**3`` over the best of ``repeats`` timings by ``clock`` of one ``n x n`` float32 matrix product (after
    a warm-up), with ``threads`` torch threads (restored afterwards). ``time.perf_counter`` gives the rate
    per second of wall time, ``time.process_time`` per CPU-second of this process (all its threads)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        generator = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=generator)
        b = torch.randn(n, n, generator=generator)
        out = torch.empty(n, n)
        torch.matmul(a, b, out=out)
        best = float("inf")
        for _ in range(repeats):
            t0 = clock()
            torch.matmul(a, b, out=out)
            best = min(best, clock() - t0)
    finally:
        torch.set_num_threads(previous)
    return n**3 / max(best, 1e-9)


@dataclass(frozen=True)
class InferenceFloor:
    """A configuration's per-step inference time against its arithmetic floor.

    Attributes:
        macs: dense multiply-accumulates per step (one observation through the inference path).
        macs_per_s: the measured float32 matmul rate (:func:`measure_macs_per_s`).
        floor_s: ``macs / macs_per_s``, seconds per step.
        policy_s: measured mean policy inference time per step, seconds.
        multiple: ``policy_s / floor_s`` (None when ``floor_s`` is 0).
        dispatch_fraction: ``1 - floor_s / policy_s``, the share of inference time above the floor.
    """

    macs: int
    macs_per_s: float
    floor_s: float
    policy_s: float
    multiple: float | None
    dispatch_fraction: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def inference_floor(macs: int, policy_s: float, macs_per_s: float) -> InferenceFloor:
    """:class:`InferenceFloor` of ``macs`` per step measured at ``policy_s`` seconds per step."""
    floor_s = macs / macs_per_s if macs_per_s > 0 else 0.0
    multiple = policy_s / floor_s if floor_s > 0 else None
    dispatch = 1.0 - floor_s / policy_s if policy_s > 0 else None
    return InferenceFloor(int(macs), float(macs_per_s), floor_s, float(policy_s), multiple, dispatch)
