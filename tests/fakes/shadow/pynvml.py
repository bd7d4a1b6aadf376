"""A stand-in ``pynvml`` for child processes: put this directory (and ``tests/``) first on ``PYTHONPATH``
and ``import pynvml`` gives :func:`fakes.fake_pynvml.make_fake_pynvml` with one GPU drawing a constant
``$FAKE_NVML_WATTS`` W (default 100 W; counter = watts x time since the import).

Used by tests whose evaluation runs its replicates in fresh processes, where a ``sys.modules`` patch of
the test process does not reach.
"""

import os
import sys

from fakes.fake_pynvml import constant_power_gpu, make_fake_pynvml

sys.modules[__name__] = make_fake_pynvml([constant_power_gpu(watts=float(os.environ.get("FAKE_NVML_WATTS", "100")))])
