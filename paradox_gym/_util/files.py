"""File-system helpers shared by the zoo, compression and report modules.

- :func:`write_bytes_atomic`: a file appears whole or not at all (temporary file in the same directory,
  ``fsync``, ``os.replace``), with the permissions a plain ``open()`` would give it.
- :func:`ensure_writable_dir`: create a directory and prove a file can be written there, before any long
  work is spent on results that could not be saved.
- :class:`DirectoryLock`: one run at a time per output directory (``flock``; the holder is named).
- :func:`remove_stale_temporaries`, :func:`refuse_non_files`: what a killed writer left, what no file can replace.
- :class:`DeferredSignals`: Ctrl-C / SIGTERM wait until a set of files is written.
- :func:`open_regular_file`, :func:`read_regular_file`: read a file someone else made, refusing FIFOs,
  devices and directories without blocking, and anything over a size cap before a byte is read.
- :func:`user_data_dir`: where the package keeps the user's files (agents, saved meter validations).
"""

from __future__ import annotations

import os
import stat
import time
import tempfile
from pathlib import Path
from typing import IO, Any, Iterable

from paradox_gym.errors import UserInputError


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME/paradox_gym``, or ``~/.local/share/paradox_gym`` where ``XDG_DATA_HOME`` is unset
    (the XDG base directory rule). It need not exist yet."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "paradox_gym"


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


#: Name of the lock file a run holds in its output directory (hidden; left in place, never deleted: deleting
#: a lock file that another process may have just opened would let two holders in).
LOCK_NAME = ".paradox_gym.lock"


def _holder_text() -> str:
    """Who holds a lock: pid, host, start time (UTC) and command line, as one line of JSON."""
    import datetime as _dt
    import json
    import socket
    import sys

    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                       "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                       "command": " ".join(sys.argv)[:500]})


def _describe_holder(text: str) -> str:
    import json

    try:
        info = json.loads(text)
        return (f"pid {int(info['pid'])} on {str(info['host'])[:100]}, started {str(info['started'])[:40]}, "
                f"command: {str(info['command'])[:200]}")
    except (ValueError, KeyError, TypeError):
        return "a process that left no description"


def _try_flock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


class DirectoryLock:
    """An exclusive lock on a directory for the duration of a run (``with DirectoryLock(...)``): refused at
    once when another holds it, or, with ``wait_s``, after waiting that long (the zoo's manifest updates).

    The lock is ``fcntl.flock`` on ``<directory>/.paradox_gym.lock`` (or ``name``), which the kernel releases
    when the holder exits, however it exits (a killed run never leaves a stale lock). The holder writes its
    pid, host, start time and command line into the file; a second run into the same directory is refused
    with a UserInputError naming that holder and ``label`` (e.g. ``"--out"``).
    """

    def __init__(self, directory: str | os.PathLike[str], label: str, name: str = LOCK_NAME, *,
                 wait_s: float = 0.0) -> None:
        self.directory = Path(directory)
        self.path = self.directory / name
        self.label = label
        self.wait_s = wait_s  # > 0: wait up to this long for the holder (a short read-modify-write) to finish
        self._fd: int | None = None

    def __enter__(self) -> "DirectoryLock":
        import fcntl

        import stat

        try:  # never through a link, never blocking on a FIFO planted under the lock's name
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            raise UserInputError(f"{self.label} {str(self.directory)!r}: cannot create the lock file "
                                 f"{self.path.name} ({exc.strerror or exc})") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UserInputError(f"{self.label} {str(self.directory)!r}: {self.path.name} exists and is not a "
                                 "regular file; remove it")
        deadline = time.monotonic() + self.wait_s
        while not _try_flock(fd) and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held already, or refused: who holds it is said
        except OSError:
            try:
                holder = os.pread(fd, 4096, 0).decode("utf-8", "replace")
            except OSError:
                holder = ""
            os.close(fd)
            raise UserInputError(f"{self.label} {str(self.directory)!r} is in use by another run "
                                 f"({_describe_holder(holder)}); wait for it to finish or choose another "
                                 f"{self.label}") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, _holder_text().encode(), 0)
        except OSError:  # the description is a courtesy; the lock itself is held
            pass
        self._fd = fd
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def remove_stale_temporaries(directory: str | os.PathLike[str], names: Iterable[str]) -> list[Path]:
    """Remove the temporary files a killed writer of ``names`` left in ``directory``; returns them.

    Only files of ours match: ``.<name>.<random>.tmp`` (from :func:`write_bytes_atomic`) for each of
    ``names``, and ``.write-test-*`` (from :func:`ensure_writable_dir`). Call it while holding the
    directory's :class:`DirectoryLock`, so that no live writer's temporary file is touched.
    """
    import re

    folder = Path(directory)
    patterns = [re.compile(r"^\." + re.escape(n) + r"\.[A-Za-z0-9_]+\.tmp$") for n in names]
    patterns.append(re.compile(r"^\.write-test-[A-Za-z0-9_]+$"))
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if any(p.match(entry.name) for p in patterns) and entry.is_file() and not entry.is_symlink():
            try:
                entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed


def refuse_non_files(directory: str | os.PathLike[str], names: Iterable[str], label: str) -> None:
    """Raise UserInputError if any of ``names`` exists in ``directory`` as something other than a regular
    file (a directory named ``result.json``, a FIFO, a dangling link): it could not be replaced by a file."""
    folder = Path(directory)
    for name in names:
        path = folder / name
        if (path.exists() or path.is_symlink()) and (path.is_symlink() or not path.is_file()):
            what = "a directory" if path.is_dir() and not path.is_symlink() else "not a regular file"
            raise UserInputError(f"{label} {str(directory)!r}: {name} exists there and is {what}; "
                                 "remove it or choose another directory")


class DeferredSignals:
    """``with DeferredSignals():`` SIGINT and SIGTERM received inside the block are held until it ends,
    then raised as ``KeyboardInterrupt`` (so a file set is never left half written by Ctrl-C).

    Only the main thread can install signal handlers; elsewhere the block runs with signals as they were.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self._old: dict[int, Any] = {}

    def __enter__(self) -> "DeferredSignals":
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    self._old[sig] = signal.signal(sig, lambda signum, _frame: self.received.append(signum))
                except (ValueError, OSError):
                    pass
        return self

    def __exit__(self, *_exc: object) -> None:
        import signal

        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        self._old.clear()
        if self.received:
            first = self.received[0]
            self.received.clear()
            handler = signal.getsignal(first)
            if callable(handler):
                handler(first, None)  # the handler the process had (Ctrl-C's default raises KeyboardInterrupt)
            else:
                raise KeyboardInterrupt


def open_regular_file(path: str | os.PathLike[str], what: str, max_bytes: int, *, cap: str | None = None,
                      allow_empty: bool = True, missing: type[Exception] = UserInputError,
                      too_big: type[Exception] = UserInputError) -> IO[bytes]:
    """Open ``path`` for reading (binary) after checking it is a regular file of at most ``max_bytes``.

    The file is opened non-blocking and checked with ``fstat`` on the open descriptor before a byte is read,
    so a FIFO, a socket or a device (or a symlink to one) is refused, never waited on. ``what`` names the
    file in messages (``"agent file"``), ``cap`` the limit's name in :mod:`paradox_gym.limits`. Raises
    ``missing`` (nothing at ``path``), ``too_big`` (over ``max_bytes``), UserInputError otherwise (a
    directory, a FIFO or device, an empty file when not ``allow_empty``, an unreadable file).
    """
    name = os.fspath(path)
    try:
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise missing(f"{what} {name!r} does not exist") from None
    except (OSError, ValueError) as exc:
        if os.path.isdir(name):
            raise UserInputError(f"{what} {name!r} is a directory, not a file") from None
        raise UserInputError(f"cannot open {what} {name!r}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UserInputError(f"{what} {name!r} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise UserInputError(f"{what} {name!r} is not a regular file (a FIFO, socket or device)")
        if info.st_size == 0 and not allow_empty:
            raise UserInputError(f"{what} {name!r} is empty")
        if info.st_size > max_bytes:
            named = f" ({cap})" if cap else ""
            raise too_big(f"{what} {name!r} is {info.st_size} bytes, over the {max_bytes}-byte limit{named}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: str | os.PathLike[str], max_bytes: int, what: str, cap: str) -> bytes:
    """The bytes of ``path``, a regular file of at most ``max_bytes`` (:func:`open_regular_file`), read at
    most ``max_bytes + 1`` bytes far: a file that grows past the limit while read is refused too.
    UserInputError names ``what``, the path and the limit ``cap``."""
    with open_regular_file(path, what, max_bytes, cap=cap) as fh:
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise UserInputError(f"{what} {os.fspath(path)!r} cannot be read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise UserInputError(f"{what} {os.fspath(path)!r} grew past {max_bytes} bytes while read ({cap})")
    return data
