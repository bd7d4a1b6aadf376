"""Shared test settings: one torch thread (the reference machine has 2 cores), headless plotting."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

import paradox_gym  # noqa: E402,F401  (registers the environments)

torch.set_num_threads(1)
