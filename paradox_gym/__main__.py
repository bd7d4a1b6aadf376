"""``python -m paradox_gym``: the ``paradox-gym`` command."""

from paradox_gym.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
