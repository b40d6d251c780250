"""Lease records of the pure core: modes, states, leases, quarantines, events and requests.

Plain frozen values shared by the lease table (:mod:`broker_server.domain.leases`), the input
checks (:mod:`broker_server.domain.lease_input`), the store and the gRPC edge.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class LeaseMode(enum.Enum):
    """Who opens the IB session on a leased client ID (mirrors ``ibbroker.v1.LeaseMode``)."""

    DIRECT = "DIRECT"
    """The strategy connects to TWS itself."""
    PROXIED = "PROXIED"
    """The broker opens the session in its pool."""


class LeaseState(enum.Enum):
    """Life-cycle stage of a lease (mirrors ``ibbroker.v1.LeaseState``)."""

    ACTIVE = "ACTIVE"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


class QuarantineReason(enum.Enum):
    """Why a client ID rests before it is handed out again."""

    RELEASED = "released"
    """Its lease was released."""
    EXPIRED = "expired"
    """Its lease expired."""
    IN_USE = "in_use"
    """A probe connect got IB error 326: something still uses it."""
    PROBE_FAILED = "probe_failed"
    """The probe could not tell (timeout, gateway down); try again after another cool-down."""
    ACQUIRE_FAILED = "acquire_failed"
    """The acquire could not complete (PROXIED session not opened, store write failed)."""


class LeaseEventKind(enum.Enum):
    """What happened to a lease or a client ID (mirrors ``ibbroker.v1.LeaseEventKind``).

    SNAPSHOT, SNAPSHOT_END and FINAL exist only on the watch stream; the others are also logged, counted and
    passed to the lease manager's ``on_event`` callback.
    """

    SNAPSHOT = "snapshot"
    """A lease active when the watcher subscribed (or was coalesced)."""
    ACQUIRED = "acquired"
    RENEWED = "renewed"
    RELEASED = "released"
    EXPIRED = "expired"
    QUARANTINED = "quarantined"
    FREED = "freed"
    RESTORED = "restored"
    """Reloaded from the store on start, its downtime added and its one grace given."""
    FINAL = "final"
    """The broker is shutting down: the last event of every watch stream."""
    SNAPSHOT_END = "snapshot_end"
    """Ends the snapshot, also an empty one, so a watcher can tell "no leases" from "not yet"."""


def _fmt_time(t: float) -> str:
    return f"{t:.3f}"


@dataclass(frozen=True)
class LeaseRecord:
    """One lease, as held in memory, written to the store and sent to clients."""

    lease_id: str
    """Canonical UUID string."""
    gateway: str
    """Gateway name."""
    client_id: int
    """The IB API client ID leased."""
    epoch: int
    """Fencing token, strictly increasing per (gateway, client_id), fixed for this lease."""
    owner: str
    """Who holds the lease."""
    mode: LeaseMode
    """DIRECT or PROXIED."""
    state: LeaseState
    """ACTIVE, RELEASED or EXPIRED."""
    ttl: float
    """Time-to-live in seconds applied on acquire and each renew."""
    acquire_time: float
    """Wall-clock epoch seconds of the acquire."""
    expire_time: float
    """Wall-clock epoch seconds when the lease expires unless renewed."""
    request_id: str = ""
    """The idempotency key of the acquire; empty when the caller gave none."""
    end_time: float | None = None
    """When it was released or expired; None while active."""
    grace_until: float | None = None
    """Set after a broker restart or a detected pause: the lease holds until then although
    ``expire_time`` has passed (one grace of a third of the TTL, see docs/leases.md). Never
    stored: a restart computes it again from the stored ``expire_time``, so graces do not add up
    over restarts. Cleared by a renew."""

    @property
    def key(self) -> tuple[str, int]:
        """(gateway, client_id)."""
        return (self.gateway, self.client_id)

    @property
    def deadline(self) -> float:
        """When the broker ends the lease unless renewed: ``expire_time`` or its grace."""
        if self.grace_until is None:
            return self.expire_time
        return max(self.expire_time, self.grace_until)

    @property
    def grace(self) -> float:
        """The one grace a lease gets after a restart or a pause: one renew interval (clients
        renew at a third of the TTL)."""
        return self.ttl / 3

    def live(self, now: float) -> bool:
        """True while the lease holds its client ID at ``now``."""
        return self.state is LeaseState.ACTIVE and now < self.deadline

    def __repr__(self) -> str:
        end = f" end={_fmt_time(self.end_time)}" if self.end_time is not None else ""
        grace = f" grace={_fmt_time(self.grace_until)}" if self.grace_until is not None else ""
        return (
            f"<Lease {self.gateway}/{self.client_id} e{self.epoch} {self.owner!r} "
            f"{self.mode.value} {self.state.value} ttl={self.ttl:g}s "
            f"expire={_fmt_time(self.expire_time)}{grace}{end} id={self.lease_id[:8]}>"
        )


@dataclass(frozen=True)
class Quarantine:
    """A client ID resting after its lease ended, until it is proven free."""

    gateway: str
    """Gateway name."""
    client_id: int
    """The resting client ID."""
    until: float
    """Wall-clock epoch seconds when the cool-down ends and the ID may be proven free."""
    mode: LeaseMode
    """Mode of the lease that last held it: PROXIED needs the broker's session closed, DIRECT
    needs a probe connect that does not get 326."""
    reason: QuarantineReason
    """Why it rests."""

    @property
    def key(self) -> tuple[str, int]:
        """(gateway, client_id)."""
        return (self.gateway, self.client_id)

    def __repr__(self) -> str:
        return (
            f"<Quarantine {self.gateway}/{self.client_id} until={_fmt_time(self.until)} "
            f"{self.mode.value} {self.reason.value}>"
        )


@dataclass(frozen=True)
class LeaseEvent:
    """One lease event: what is logged, counted, passed to the lease manager's ``on_event``
    callback and sent on the watch stream (``WatchLeases``). The one record of an event."""

    sequence: int
    """Strictly increasing per broker process (seeded from the wall clock in ms)."""
    event_time: float
    """Wall-clock epoch seconds."""
    kind: LeaseEventKind
    """What happened."""
    gateway: str
    """Gateway name."""
    client_id: int
    """The client ID concerned (0 for FINAL and SNAPSHOT_END)."""
    lease: LeaseRecord | None = None
    """The lease after the event; None for QUARANTINED, FREED, SNAPSHOT_END and FINAL."""
    quarantine: Quarantine | None = None
    """QUARANTINED only: the ID's quarantine."""

    @property
    def rest_until(self) -> float | None:
        """QUARANTINED only: wall-clock epoch seconds when the ID may be proven free."""
        return self.quarantine.until if self.quarantine is not None else None

    def passes(self, gateway: str = "", owner: str = "") -> bool:
        """True when a watcher filtering on ``gateway`` and ``owner`` (empty: all) gets it.

        FINAL and SNAPSHOT_END pass every filter (they frame the stream). ID-level events
        without a lease (QUARANTINED, FREED) carry no owner: they pass every owner filter, still
        only for their gateway, so an owner's watcher sees its released ID rest and come back.
        """
        if self.kind in (LeaseEventKind.FINAL, LeaseEventKind.SNAPSHOT_END):
            return True
        if gateway and self.gateway != gateway:
            return False
        return not owner or self.lease is None or self.lease.owner == owner

    def __repr__(self) -> str:
        what = repr(self.lease) if self.lease is not None else ""
        if self.quarantine is not None:
            what = repr(self.quarantine)
        return (
            f"<LeaseEvent #{self.sequence} {self.kind.value} "
            f"{self.gateway}/{self.client_id} {what}>"
        )


@dataclass(frozen=True)
class ClientIdRow:
    """What the store keeps per (gateway, client ID): the epoch high-water mark and quarantine."""

    gateway: str
    """Gateway name."""
    client_id: int
    """The client ID."""
    epoch_high_water: int
    """Largest epoch ever given out for this ID (0: never leased)."""
    quarantine: Quarantine | None = None
    """The ID's quarantine, or None when it is not resting."""


@dataclass(frozen=True)
class AcquireRequest:
    """A validated acquire: the service and tests build one with :func:`validate_acquire`."""

    owner: str
    """Who will hold the lease."""
    gateway: str
    """Gateway name (already resolved from the default)."""
    ttl: float
    """Time-to-live in seconds, within the configured range."""
    mode: LeaseMode = LeaseMode.DIRECT
    """DIRECT or PROXIED."""
    client_id: int | None = None
    """Preferred client ID, honoured when free."""
    request_id: str = ""
    """Idempotency key; empty means none."""


@dataclass(frozen=True)
class FencedRequest:
    """A validated renew or release: built by :func:`~broker_server.domain.lease_input.validate_fenced`."""

    lease_id: str
    """Canonical UUID string."""
    owner: str
    """Who claims to hold the lease."""
    epoch: int
    """The epoch the caller holds (>= 1)."""
    ttl: float | None = None
    """Renew only: the new TTL in seconds, within the configured range; None keeps the lease's."""


@dataclass(frozen=True)
class AcquireResult:
    """The outcome of :meth:`LeaseTable.acquire`."""

    lease: LeaseRecord
    """The lease granted (or, for a repeated request_id, the one granted before)."""
    repeated: bool
    """True when the request_id was seen before and nothing changed."""
