"""``python -m paradox_gym.cli``: the ``paradox-gym`` command without its console script."""

from __future__ import annotations

from paradox_gym.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
