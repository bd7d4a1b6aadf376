"""File-system helpers shared by the zoo, compression and report modules.

- :func:`write_bytes_atomic`: a file appears whole or not at all (temporary file in the same directory,
  ``fsync``, ``os.replace``), with the permissions a plain ``open()`` would give it.
- :func:`ensure_writable_dir`: create a directory and prove a file can be written there, before any long
  work is spent on results that could not be saved.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from paradox_gym.errors import UserInputError


def _default_file_mode() -> int:
    """``0o666`` less the process umask: the mode ``open()`` gives a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory and ``os.replace``.

    An interrupted write leaves the previous file (or none), never a truncated one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file 0600; give it the mode a plain open() would
        os.fchmod(fd, _default_file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # the new content is on disk before it replaces the old file
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def ensure_writable_dir(path: str | os.PathLike[str], label: str) -> Path:
    """Create ``path`` if needed and prove a file can be written there; return it as a Path.

    Raises UserInputError naming ``label`` (e.g. ``"--out"``) and the path otherwise.
    """
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserInputError(f"{label} {str(path)!r} is not a writable directory ({exc.strerror or exc})") from None
    return out
