"""One writer per output: an exclusive lock beside the file, naming the process holding it.

Two `batch create` runs on one journal each sent every row the other had not journaled
yet: 870 of 1,000 rows got two tokens. The lock is `flock` on `OUTPUT.lock`, a file
that is never removed (removing it would let a third run lock a new file while the
second still holds the old one). It holds the holder's PID, only to say who it is; the
operating system releases the lock when that process ends, however it ends.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._errors._exceptions import PlaidLinkError


class LockedError(PlaidLinkError, ValueError):
    """Another process holds the lock; nothing was done."""


class OutputLock:
    """Hold `path.lock` exclusively until `release()` (or the process ends)."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + ".lock")
        self._fd: int | None = None

    def acquire(self, what: str) -> None:
        """Take the lock, or raise `LockedError` naming `what` and the holder's PID."""
        try:
            import fcntl
        except ImportError:  # no advisory locks here (Windows): run unguarded
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
            os.close(fd)
            raise LockedError(
                f"{what} is in use by another plaid-link process (PID {holder or 'unknown'}); "
                "wait for it to end, or choose another output"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing releases the flock
