"""The study at scale: a grid of cells (agent x method x amount), one :func:`paradox_gym.evaluate` per
cell, stored as resumable job files, run by an executor, merged into the study report.

- :mod:`~paradox_gym.study.grid`: grid file -> :class:`Grid` -> jobs;
- :mod:`~paradox_gym.study.jobs`: job identity (hash), the work of one job, the job store on disk;
- :mod:`~paradox_gym.study.executors`: the table of executors (serial, process, ray);
- :mod:`~paradox_gym.study.sweep`: :func:`run_sweep` (resume, failures, progress);
- :mod:`~paradox_gym.study.report`: job files -> results.parquet / results.csv / study.md / study.json / plots.
"""

from __future__ import annotations
