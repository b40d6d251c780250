"""The broker's "last seen alive" mark: a tiny file next to the store, rewritten every tick.

On start, the lease manager reads it to learn how long the broker was down, so that downtime
does not count against leases (their time is broker uptime, docs/leases.md "Restarts"). A file
rather than a store row: it is rewritten a few times a second, needs no durability beyond the
page cache (a lost write only makes the next start count a little more downtime as uptime) and
must not queue behind lease commits.
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
        self._tmp = self.path.with_name(self.path.name + ".tmp")
        self._warned = False

    def read(self) -> float | None:
        """The last mark, or None when there is none (first start) or it cannot be read."""
        try:
            return float(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def write(self, wall: float) -> None:
        """Replace the mark atomically (a crash mid-write leaves the old one)."""
        try:
            self._tmp.write_text(f"{wall:.6f}\n")
            os.replace(self._tmp, self.path)
        except OSError as err:
            if not self._warned:  # once: a read-only folder would otherwise log every tick
                self._warned = True
                log_event(
                    log, logging.WARNING, "alive_mark_failed", path=str(self.path), error=str(err)
                )

    def remove(self) -> None:
        """Forget the mark (tests)."""
        with contextlib.suppress(OSError):
            self.path.unlink()

    def __repr__(self) -> str:
        return f"<AliveMark {self.path}>"


def alive_path(store_path: str) -> str:
    """Where the mark of the store at ``store_path`` lives: beside it."""
    return f"{store_path}.alive"
