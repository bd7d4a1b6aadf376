"""Shared test settings: one torch thread (the reference machine has 2 cores), headless plotting, a
throw-away home folder."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile

os.environ.setdefault("MPLBACKEND", "Agg")
# The suite never reads or writes the real user's home: HOME and the XDG folders point at a throw-away folder
# for the whole session (replicate processes inherit it), so an agent the user trained (the README's train
# example) is never found, and agents trained by tests go to a throw-away user agents directory.
_HOME = tempfile.mkdtemp(prefix="paradox-gym-test-home-")
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["HOME"] = _HOME
for _name, _sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache")):
    os.environ[_name] = os.path.join(_HOME, _sub)
    os.makedirs(os.environ[_name], exist_ok=True)
os.environ["PARADOX_GYM_AGENTS"] = os.path.join(_HOME, "agents")
os.makedirs(os.environ["PARADOX_GYM_AGENTS"])

import torch  # noqa: E402

import paradox_gym  # noqa: E402,F401  (registers the environments)


# A suite started in the background (`cmd &` in a script) inherits SIGINT ignored, and so would every process
# it starts; the tests that press Ctrl-C need it delivered as at a terminal (a handled signal is reset to its
# default in the processes the tests start, so they install their own KeyboardInterrupt handler).
signal.signal(signal.SIGINT, signal.default_int_handler)

torch.set_num_threads(1)
