"""The broker's "last seen alive" mark: a tiny file next to the store, rewritten every tick.

On start, the lease manager reads it to learn how long the broker was down, so that downtime
does not count against leases (their time is broker uptime, docs/leases.md "Restarts"). A file
rather than a store row: it is rewritten a few times a second, needs no durability beyond the
page cache (a lost write only makes the next start count a little more downtime as uptime) and
must not queue behind lease commits.

Written in place through one open descriptor (one ``pwrite`` of a few bytes at offset 0), not by
writing a temporary file and renaming it: at a short sweep interval the open/write/close/rename
of a replacement took several percent of a busy broker's loop. A write this small into the page
cache is all or nothing for a reader and across the process's death (``kill -9`` included), so
a start reads the old mark or the new one. If the mark ever cannot be parsed, :meth:`read` says
None and the start counts no downtime: leases then end early rather than late.

SQLite only: a PostgreSQL store keeps the mark in its leadership row instead
(:mod:`broker_server.store.postgres_leader`), so a standby on another host counts the old
leader's downtime; the lease runtime then neither reads nor writes this file
(:meth:`broker_server.runtime.lease_time.LeaseTime.kept_by_store`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from broker_server.logs import log_event

log = logging.getLogger("ibbroker.leases")


class AliveMark:
    """Reads and writes the wall-clock time at which the broker was last known alive."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._size = 0
        self._warned = False

    def read(self) -> float | None:
        """The last mark, or None when there is none (first start) or it cannot be read."""
        try:
            return float(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def write(self, wall: float) -> None:
        """Overwrite the mark in place (see the module doc: all or nothing)."""
        data = f"{wall:.6f}\n".encode()
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                self._size = os.fstat(self._fd).st_size
            if len(data) != self._size:  # the first write, or a mark of another width
                os.ftruncate(self._fd, len(data))
                self._size = len(data)
            os.pwrite(self._fd, data, 0)
        except OSError as err:
            self.close()
            if not self._warned:  # once: a read-only folder would otherwise log every tick
                self._warned = True
                log_event(
                    log, logging.WARNING, "alive_mark_failed", path=str(self.path), error=str(err)
                )

    def close(self) -> None:
        """Close the descriptor (the next write opens the file again)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def remove(self) -> None:
        """Forget the mark (tests)."""
        self.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def __repr__(self) -> str:
        return f"<AliveMark {self.path}>"


def alive_path(store_path: str) -> str:
    """Where the mark of the store at ``store_path`` lives: beside it."""
    return f"{store_path}.alive"
