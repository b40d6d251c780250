"""The durable store interface.

Every method besides ``open`` and ``close`` is called on the event loop and *queues* its work at
call time, returning a :class:`concurrent.futures.Future` at once (thread-safe, so a store may
complete it from a thread, as SQLite does, or from the loop, as an asyncpg store would). Async
callers ``await asyncio.wrap_future(...)``; plain code calls ``.result()``.

The contract, which every store keeps and the runtime relies on:

- **Durable on resolve.** A write's future resolves only after the transaction holding it has
  committed durably; nothing acknowledged is lost to ``kill -9`` or a power cut.
- **All or nothing per call.** The statements of one call apply together or not at all; a call
  that fails fails alone (its future gets :class:`StoreError`), other calls are unaffected.
- **Call order per key.** Writes touching the same lease, client ID or (owner, request_id) take
  effect in call order, and a read sees every write called before it. Because of this the
  runtime mutates its in-memory table and queues the write in one step on the event loop, with
  no await between, and the store sees the table's history in the table's order.
- **No single writer assumed.** A store may commit several calls in one transaction (SQLite's
  group commit), or run calls on disjoint keys concurrently on a connection pool (PostgreSQL);
  callers never depend on how many transactions or fsyncs a call costs.
- **Bounded history.** Ended leases are pruned: a store keeps those that ended within its
  configured history (seconds and count); active leases, epoch high-water marks and quarantines
  are never pruned.

SQLite (:mod:`broker_server.store.sqlite`) is the default; a PostgreSQL store for several replicas
implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from broker_server.domain.leases import ClientIdRow, LeaseRecord, Quarantine


class StoreError(Exception):
    """The store cannot be used: corrupt file, newer schema, unwritable path, closed store, or
    one call's write failed (a constraint, an I/O error).

    Raised on open; the file is left exactly as it was found.
    """


class StoreOwnedError(StoreError):
    """Another live broker owns the store: this one refuses to start and touches nothing."""

    def __init__(self, message: str, holder: str = "", address: str = "") -> None:
        super().__init__(message)
        self.holder = holder
        """The owning broker's identity (a PostgreSQL leadership holder, an SQLite owner's pid)."""
        self.address = address
        """Where clients reach the owning broker, when it said."""


class NotLeaderError(StoreError):
    """A write was refused: a newer leader took the store over (this broker's epoch is stale).

    Nothing of the call was written."""

    def __init__(self, message: str, leader_address: str = "") -> None:
        super().__init__(message)
        self.leader_address = leader_address
        """Where the leader that took over listens ("" when unknown)."""


@dataclass(frozen=True)
class StoreSnapshot:
    """What the store holds on open."""

    leases: tuple[LeaseRecord, ...]
    """Every active lease, plus finished ones that ended at or after the ``since`` asked for."""
    client_ids: tuple[ClientIdRow, ...]
    """Epoch high-water mark and quarantine per (gateway, client ID) ever leased."""
    schema_version: int
    """The schema version of the store after migrations."""


class Store(Protocol):
    """Durable lease state; see the module docstring for the contract every method keeps."""

    async def open(self) -> None:
        """Open (creating and migrating when needed); idempotent. Raises :class:`StoreError`
        when the store is corrupt, foreign or of a newer schema, leaving it untouched."""
        ...

    def load(self, since: float) -> Future[StoreSnapshot]:
        """The state: every active lease, finished leases that ended at or after ``since``
        (as far as the history keeps them), every client ID's epoch high-water mark and
        quarantine."""
        ...

    def save_acquire(self, lease: LeaseRecord) -> Future[None]:
        """Insert a new lease and raise its ID's epoch high-water mark; clears any quarantine."""
        ...

    def save_renew(self, lease: LeaseRecord) -> Future[None]:
        """Store a renewed lease's ttl and expire_time."""
        ...

    def save_end(self, lease: LeaseRecord, quarantine: Quarantine) -> Future[None]:
        """Store a released or expired lease and quarantine its ID, all or nothing."""
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

    def downtime(self) -> float | None:
        """Seconds the store's leases went unserved before this open, when the store keeps the
        alive mark itself (PostgreSQL: the leadership row, so a standby that takes over on
        another host counts the old leader's downtime); None when it does not (SQLite: the
        lease runtime keeps a local file beside it). Read once, after :meth:`open`."""
        ...

    async def close(self) -> None:
        """Finish everything queued, then release the store (file, connections). Idempotent."""
        ...
