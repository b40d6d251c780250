"""The durable store interface: each method is one transaction, queued in call order.

Besides ``open`` and ``close``, every method returns a :class:`concurrent.futures.Future` at
once and runs on the store's own writer, in the order the calls were made. Async callers
``await asyncio.wrap_future(...)``; plain code calls ``.result()``. Because the call order is the commit order, the runtime can
mutate its in-memory table and enqueue the write in one step on the event loop, with no await in
between, and the store sees the same history the table did.

SQLite (:mod:`broker_server.store.sqlite`) is the default; a PostgreSQL implementation for
several replicas would implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from broker_server.domain.leases import ClientIdRow, LeaseRecord, Quarantine


class StoreError(Exception):
    """The store cannot be used: corrupt file, newer schema, unwritable path, closed store.

    Raised on open; the file is left exactly as it was found.
    """


@dataclass(frozen=True)
class StoreSnapshot:
    """What the store holds on open."""

    leases: tuple[LeaseRecord, ...]
    """Every active lease, plus finished ones that ended at or after the ``since`` asked for."""
    client_ids: tuple[ClientIdRow, ...]
    """Epoch high-water mark and quarantine per (gateway, client ID) ever leased."""
    schema_version: int
    """The schema version of the file after migrations."""


class Store(Protocol):
    """Durable lease state. Each method is one transaction; calls commit in call order."""

    async def open(self) -> None:
        """Open (creating and migrating when needed); idempotent. Raises :class:`StoreError`
        when the file is corrupt, foreign or of a newer schema, leaving it untouched."""
        ...

    def load(self, since: float) -> Future[StoreSnapshot]:
        """The state: every active lease, finished leases that ended at or after ``since``,
        every client ID's epoch high-water mark and quarantine."""
        ...

    def save_acquire(self, lease: LeaseRecord) -> Future[None]:
        """Insert a new lease and raise its ID's epoch high-water mark; clears any quarantine."""
        ...

    def save_renew(self, lease: LeaseRecord) -> Future[None]:
        """Store a renewed lease's ttl and expire_time."""
        ...

    def save_end(self, lease: LeaseRecord, quarantine: Quarantine) -> Future[None]:
        """Store a released or expired lease and quarantine its ID, in one transaction."""
        ...

    def save_quarantine(self, quarantine: Quarantine) -> Future[None]:
        """Store a (re-)quarantined ID."""
        ...

    def save_free(self, gateway: str, client_id: int) -> Future[None]:
        """Clear an ID's quarantine (it was proven free)."""
        ...

    def save_leases(self, leases: Sequence[LeaseRecord]) -> Future[None]:
        """Store several leases' expire_times at once (the extension after a restart)."""
        ...

    def load_live_leases(self) -> Future[tuple[LeaseRecord, ...]]:
        """The active leases as stored."""
        ...

    def epoch_high_water(self, gateway: str, client_id: int) -> Future[int]:
        """The largest epoch given out for (gateway, client_id); 0 when never leased."""
        ...

    async def close(self) -> None:
        """Commit everything queued, stop the writer and close the file. Idempotent."""
        ...
