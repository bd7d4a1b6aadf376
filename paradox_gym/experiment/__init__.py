"""Running an evaluation: settings (validated once), loading and compressing the agents, the runner
(warm-up, interleaved trials), the fresh-process memory probe, and the records they produce."""

from __future__ import annotations

from paradox_gym.experiment.records import EpisodeRecord, MemoryProbe, TrialRecord
from paradox_gym.experiment.settings import EvalSettings

__all__ = ["EpisodeRecord", "EvalSettings", "MemoryProbe", "TrialRecord"]
