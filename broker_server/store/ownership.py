"""Exclusive ownership of an SQLite store: an ``flock`` on ``<store>.lock``, held for as long as
the store is open.

The kernel drops the lock when its process dies (``kill -9`` included), so a stale owner never
blocks a restart, and a second broker on the same file learns of the first before it reads or
writes a row. ``flock`` and not ``fcntl`` record locks: SQLite itself takes ``fcntl`` locks on
the database, which a second ``close()`` in the same process would silently drop. The lock file
records the owner's pid for the refusal message; it is never deleted (deleting a lock file
races with a broker that has it open).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from broker_server.store.base import StoreError, StoreOwnedError


def lock_path(store_path: Path) -> Path:
    """Where the ownership lock of the store at ``store_path`` lives: beside it."""
    return store_path.with_name(store_path.name + ".lock")


class FileOwnership:
    """The ownership lock of one store file."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self.path = lock_path(store_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`StoreOwnedError` when a live process holds it."""
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise StoreError(f"{self.store_path}: cannot open its lock file: {err}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StoreOwnedError(
                f"{self.store_path}: owned by another live broker (pid {owner}, lock "
                f"{self.path}); this broker touched nothing",
                holder=f"pid {owner}",
            ) from None
        except OSError as err:
            os.close(fd)
            raise StoreError(f"{self.store_path}: cannot lock {self.path}: {err}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
