"""Shared test settings: one torch thread (the reference machine has 2 cores), headless plotting."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("MPLBACKEND", "Agg")
# Agents trained by tests go to a throw-away user agents directory, never into the user's real one.
os.environ["PARADOX_GYM_AGENTS"] = tempfile.mkdtemp(prefix="paradox-gym-test-agents-")

import torch  # noqa: E402

import paradox_gym  # noqa: E402,F401  (registers the environments)

torch.set_num_threads(1)
