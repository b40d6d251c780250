"""Client-ID leasing, the pure core: allocation policy, fencing epochs, expiry and quarantine.

No I/O, no clock of its own: every method that depends on time takes ``now`` (wall-clock epoch
seconds). Lease times are wall-clock on purpose: ``expire_time`` is a promise shown to clients
and written to the store, and it must keep its meaning across a broker restart, which a
monotonic reading does not.

:class:`LeaseTable` holds the state of every gateway and decides; the runtime
(:mod:`broker_server.runtime.leases`) persists each decision and does the I/O after it, the way
httpcore's pool decides first and connects after.

Rules (DESIGN.md, "Client IDs and leases"):

- A gateway leases from ``client_id_min..client_id_max``; never its monitor ID, never 0.
- TWS takes at most :data:`MAX_IB_CLIENTS` API clients. Gateways on the same ``host:port`` are
  one TWS, so the limit is shared: each gateway's monitor session counts as one client, and so
  does every held or quarantined ID (a quarantined ID may still have a zombie connected).
- ``epoch`` is strictly increasing per (gateway, client ID) from a high-water mark that the
  store keeps, so it is never reused, also across restarts. It is fixed for a lease's life.
- An expired or released ID is quarantined: it rests for ``quarantine_cooldown`` and is then
  proven free by the runtime (probe connect, or the broker's own session closed) before
  :meth:`LeaseTable.free` puts it back.
"""

from __future__ import annotations

import enum
import math
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from broker_server.config import MAX_IB_CLIENTS, BrokerConfig, GatewayConfig
from broker_server.domain.errors import DomainError, ErrorKind, FieldViolation, invalid_argument
from broker_server.domain.reasons import FailureReason

MAX_OWNER_LENGTH = 256
"""Longest owner string accepted."""
MAX_REQUEST_ID_LENGTH = 256
"""Longest request_id accepted."""
FINISHED_RETENTION = 600.0
"""Seconds a released or expired lease stays known (GetLease, idempotent retries) in memory."""


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
    """Reloaded from the store on start and extended by one TTL."""
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

    @property
    def key(self) -> tuple[str, int]:
        """(gateway, client_id)."""
        return (self.gateway, self.client_id)

    def live(self, now: float) -> bool:
        """True while the lease holds its client ID at ``now``."""
        return self.state is LeaseState.ACTIVE and now < self.expire_time

    def __repr__(self) -> str:
        end = f" end={_fmt_time(self.end_time)}" if self.end_time is not None else ""
        return (
            f"<Lease {self.gateway}/{self.client_id} e{self.epoch} {self.owner!r} "
            f"{self.mode.value} {self.state.value} ttl={self.ttl:g}s "
            f"expire={_fmt_time(self.expire_time)}{end} id={self.lease_id[:8]}>"
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
class LeaseEventRecord:
    """One event of the lease watch stream (``WatchLeases``)."""

    sequence: int
    """Strictly increasing per broker process (seeded from the wall clock in ms)."""
    event_time: float
    """Wall-clock epoch seconds."""
    kind: LeaseEventKind
    """What happened."""
    gateway: str
    """Gateway name."""
    client_id: int
    """The client ID concerned (0 for FINAL)."""
    lease: LeaseRecord | None = None
    """The lease after the event; None for QUARANTINED, FREED and FINAL."""
    rest_until: float | None = None
    """QUARANTINED only: wall-clock epoch seconds when the ID may be proven free."""

    def passes(self, gateway: str = "", owner: str = "") -> bool:
        """True when a watcher filtering on ``gateway`` and ``owner`` (empty: all) gets it.

        FINAL and SNAPSHOT_END pass every filter (they frame the stream). ID-level events without a lease
        (QUARANTINED, FREED) carry no owner: they pass every owner filter, still only for their
        gateway, so an owner's watcher sees its released ID rest and come back.
        """
        if self.kind in (LeaseEventKind.FINAL, LeaseEventKind.SNAPSHOT_END):
            return True
        if gateway and self.gateway != gateway:
            return False
        return not owner or self.lease is None or self.lease.owner == owner

    def __repr__(self) -> str:
        what = repr(self.lease) if self.lease is not None else ""
        if self.rest_until is not None:
            what = f"rest_until={_fmt_time(self.rest_until)}"
        return (
            f"<LeaseEventRecord #{self.sequence} {self.kind.value} "
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
class AcquireResult:
    """The outcome of :meth:`LeaseTable.acquire`."""

    lease: LeaseRecord
    """The lease granted (or, for a repeated request_id, the one granted before)."""
    repeated: bool
    """True when the request_id was seen before and nothing changed."""


# --- validation ------------------------------------------------------------------------------


def _check_owner(owner: str, violations: list[FieldViolation]) -> None:
    if not owner.strip():
        violations.append(FieldViolation("owner", "must not be empty"))
    elif len(owner) > MAX_OWNER_LENGTH:
        violations.append(FieldViolation("owner", f"must be at most {MAX_OWNER_LENGTH} characters"))


def _check_ttl(ttl: float | None, config: BrokerConfig, violations: list[FieldViolation]) -> None:
    lc = config.leases
    if ttl is not None and (not math.isfinite(ttl) or not lc.min_ttl <= ttl <= lc.max_ttl):
        violations.append(
            FieldViolation(
                "ttl", f"must be between {lc.min_ttl:g} s and {lc.max_ttl:g} s, got {ttl:g} s"
            )
        )


def parse_lease_id(lease_id: str, field: str = "lease_id") -> str:
    """The canonical form of ``lease_id``; INVALID_ARGUMENT when it is not a UUID."""
    try:
        return str(uuid.UUID(lease_id))
    except (ValueError, TypeError, AttributeError):
        raise invalid_argument(
            FieldViolation(field, f"must be a UUID, got {lease_id[:64]!r}")
        ) from None


def validate_filter(config: BrokerConfig, *, gateway: str = "", owner: str = "") -> None:
    """Check a ListLeases or WatchLeases filter (empty means all); INVALID_ARGUMENT with a
    violation per bad field: unknown ``gateway``, over-long ``owner``."""
    violations: list[FieldViolation] = []
    if gateway and gateway not in {g.name for g in config.gateways}:
        known = ", ".join(g.name for g in config.gateways)
        violations.append(
            FieldViolation("gateway", f"no gateway named {gateway[:64]!r} (known: {known})")
        )
    if len(owner) > MAX_OWNER_LENGTH:
        violations.append(FieldViolation("owner", f"must be at most {MAX_OWNER_LENGTH} characters"))
    if violations:
        raise invalid_argument(*violations)


def validate_acquire(
    config: BrokerConfig,
    *,
    owner: str,
    gateway: str = "",
    ttl: float | None = None,
    mode: LeaseMode = LeaseMode.DIRECT,
    client_id: int | None = None,
    request_id: str = "",
    extra: Iterable[FieldViolation] = (),
) -> AcquireRequest:
    """Check an acquire's fields, all at once; INVALID_ARGUMENT lists every bad one.

    ``extra`` carries violations found while decoding (for example an unknown ``mode`` number).
    """
    violations = list(extra)
    _check_owner(owner, violations)
    _check_ttl(ttl, config, violations)
    gw: GatewayConfig | None = None
    try:
        gw = config.gateway(gateway) if gateway else config.default_gateway
    except KeyError:
        known = ", ".join(g.name for g in config.gateways)
        violations.append(
            FieldViolation("gateway", f"no gateway named {gateway[:64]!r} (known: {known})")
        )
    if client_id is not None and gw is not None:
        if not gw.client_id_min <= client_id <= gw.client_id_max:
            violations.append(
                FieldViolation(
                    "client_id",
                    f"must be within gateway {gw.name!r}'s range "
                    f"{gw.client_id_min}-{gw.client_id_max}, got {client_id}",
                )
            )
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        violations.append(
            FieldViolation("request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters")
        )
    if violations:
        raise invalid_argument(*violations)
    assert gw is not None
    return AcquireRequest(
        owner=owner,
        gateway=gw.name,
        ttl=config.leases.default_ttl if ttl is None else ttl,
        mode=mode,
        client_id=client_id,
        request_id=request_id,
    )


def validate_fenced(
    config: BrokerConfig,
    *,
    lease_id: str,
    epoch: int,
    owner: str,
    ttl: float | None = None,
    extra: Iterable[FieldViolation] = (),
) -> str:
    """Check a renew's or release's fields; returns the canonical lease_id."""
    violations = list(extra)
    canonical = ""
    try:
        canonical = parse_lease_id(lease_id)
    except DomainError as err:
        violations.extend(err.violations)
    if epoch < 1:
        violations.append(FieldViolation("epoch", "must be the lease's epoch (>= 1)"))
    _check_owner(owner, violations)
    _check_ttl(ttl, config, violations)
    if violations:
        raise invalid_argument(*violations)
    return canonical


# --- the table ---------------------------------------------------------------------------------


def _not_found(lease_id: str) -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, FailureReason.LEASE_NOT_FOUND, f"no lease {lease_id}")


class LeaseTable:
    """Every gateway's leases, quarantines and epoch high-water marks. Mutable, I/O-free.

    Each mutating method returns the new records; the caller persists them. The ``repr`` reads
    like the state, for logs and as a test oracle.
    """

    def __init__(self, config: BrokerConfig, new_id: Callable[[], str] | None = None) -> None:
        self.config = config
        self._new_id = new_id or (lambda: str(uuid.uuid4()))
        self._gateways = {g.name: g for g in config.gateways}
        self._leases: dict[str, LeaseRecord] = {}
        self._holders: dict[tuple[str, int], str] = {}
        self._quarantine: dict[tuple[str, int], Quarantine] = {}
        self._high_water: dict[tuple[str, int], int] = {}
        self._requests: dict[tuple[str, str], str] = {}
        # Finished leases in end order, so pruning costs what it removes, not the history.
        self._finished: deque[tuple[float, str]] = deque()

    # --- reading ---------------------------------------------------------------------------

    def get(self, lease_id: str) -> LeaseRecord:
        """The lease ``lease_id`` (canonical form); NOT_FOUND when unknown."""
        try:
            return self._leases[lease_id]
        except KeyError:
            raise _not_found(lease_id) from None

    def find(self, lease_id: str) -> LeaseRecord | None:
        """The lease ``lease_id`` or None."""
        return self._leases.get(lease_id)

    def active(self, gateway: str = "", owner: str = "") -> list[LeaseRecord]:
        """The active leases, optionally filtered, ordered by gateway and client ID."""
        leases = (self._leases[lid] for lid in self._holders.values())
        return sorted(
            (
                lease
                for lease in leases
                if (not gateway or lease.gateway == gateway) and (not owner or lease.owner == owner)
            ),
            key=lambda lease: (lease.gateway, lease.client_id),
        )

    def quarantined(self) -> list[Quarantine]:
        """Every resting client ID, ordered by gateway and client ID."""
        return [self._quarantine[k] for k in sorted(self._quarantine)]

    def holder(self, gateway: str, client_id: int) -> LeaseRecord | None:
        """The active lease on (gateway, client_id), or None."""
        lid = self._holders.get((gateway, client_id))
        return None if lid is None else self._leases[lid]

    def high_water(self, gateway: str, client_id: int) -> int:
        """The largest epoch given out for (gateway, client_id); 0 when never leased."""
        return self._high_water.get((gateway, client_id), 0)

    def free_ids(self, gateway: str) -> list[int]:
        """Client IDs of ``gateway`` that are neither held nor quarantined, ascending."""
        gw = self._gateways[gateway]
        return [
            cid
            for cid in range(max(1, gw.client_id_min), gw.client_id_max + 1)
            if cid != gw.monitor_client_id
            and (gateway, cid) not in self._holders
            and (gateway, cid) not in self._quarantine
        ]

    def _endpoint_peers(self, gateway: str) -> list[GatewayConfig]:
        gw = self._gateways[gateway]
        return [g for g in self.config.gateways if (g.host, g.port) == (gw.host, gw.port)]

    def tws_clients(self, gateway: str) -> int:
        """API clients counted against TWS's limit on ``gateway``'s host:port.

        One monitor session per gateway there, plus every held or quarantined ID (PROXIED
        sessions are broker sessions, but they are the lease, so they are not counted twice).
        """
        names = {g.name for g in self._endpoint_peers(gateway)}
        used = sum(1 for k in self._holders if k[0] in names)
        used += sum(1 for k in self._quarantine if k[0] in names)
        return len(names) + used

    # --- acquiring ---------------------------------------------------------------------------

    def acquire(self, request: AcquireRequest, now: float) -> AcquireResult:
        """Grant a lease, or return the one granted before for the same (owner, request_id).

        RESOURCE_EXHAUSTED (CLIENT_ID_EXHAUSTED, ``retry_after`` = the earliest expiry or
        quarantine end) when no ID is free or TWS's client limit is reached.
        """
        if request.request_id:
            seen = self._requests.get((request.owner, request.request_id))
            if seen is not None:
                lease = self._leases[seen]
                if (lease.gateway, lease.mode) != (request.gateway, request.mode):
                    raise DomainError(
                        ErrorKind.INVALID_ARGUMENT,
                        FailureReason.IDEMPOTENCY_CONFLICT,
                        f"request_id {request.request_id!r} was used for another acquire "
                        f"(gateway {lease.gateway!r}, mode {lease.mode.value})",
                        violations=(
                            FieldViolation("request_id", "already used with other parameters"),
                        ),
                    )
                return AcquireResult(lease, repeated=True)
        free = self.free_ids(request.gateway)
        if not free or self.tws_clients(request.gateway) >= MAX_IB_CLIENTS:
            raise self._exhausted(request.gateway, now, bool(free))
        client_id = request.client_id if request.client_id in free else free[0]
        key = (request.gateway, client_id)
        epoch = self._high_water.get(key, 0) + 1
        lease = LeaseRecord(
            lease_id=self._new_id(),
            gateway=request.gateway,
            client_id=client_id,
            epoch=epoch,
            owner=request.owner,
            mode=request.mode,
            state=LeaseState.ACTIVE,
            ttl=request.ttl,
            acquire_time=now,
            expire_time=now + request.ttl,
            request_id=request.request_id,
        )
        self._put(lease)
        return AcquireResult(lease, repeated=False)

    def _exhausted(self, gateway: str, now: float, limit_bound: bool) -> DomainError:
        names = {g.name for g in self._endpoint_peers(gateway)} if limit_bound else {gateway}
        ends = [self._leases[lid].expire_time for k, lid in self._holders.items() if k[0] in names]
        ends += [q.until for k, q in self._quarantine.items() if k[0] in names]
        # A quarantine that has ended still needs a sweep (and a probe) to free its ID.
        retry_after = max(0.0, min(ends, default=now) - now) + self.config.leases.sweep_interval
        what = (
            f"TWS's {MAX_IB_CLIENTS}-client limit is reached on {self._gateways[gateway].address}"
            if limit_bound
            else f"every client ID of gateway {gateway!r} is leased or quarantined"
        )
        return DomainError(
            ErrorKind.RESOURCE_EXHAUSTED,
            FailureReason.CLIENT_ID_EXHAUSTED,
            what,
            retry_after=retry_after,
            metadata={"gateway": gateway},
        )

    def _put(self, lease: LeaseRecord) -> None:
        previous = self._leases.get(lease.lease_id)
        if lease.end_time is not None and (previous is None or previous.end_time is None):
            self._finished.append((lease.end_time, lease.lease_id))
        self._leases[lease.lease_id] = lease
        key = lease.key
        self._high_water[key] = max(self._high_water.get(key, 0), lease.epoch)
        if lease.state is LeaseState.ACTIVE:
            self._holders[key] = lease.lease_id
            self._quarantine.pop(key, None)
        elif self._holders.get(key) == lease.lease_id:
            del self._holders[key]
        if lease.request_id:
            self._requests[(lease.owner, lease.request_id)] = lease.lease_id

    # --- fenced operations -------------------------------------------------------------------

    def _fenced(self, lease_id: str, owner: str, epoch: int, now: float) -> LeaseRecord:
        """The lease, after the owner and epoch checks (owner first: a stranger learns nothing)."""
        lease = self.get(lease_id)
        if lease.owner != owner:
            raise DomainError(
                ErrorKind.PERMISSION_DENIED,
                FailureReason.LEASE_NOT_OWNER,
                f"lease {lease_id} is not held by {owner!r}",
            )
        if epoch != lease.epoch:
            raise DomainError(
                ErrorKind.ABORTED,
                FailureReason.LEASE_STALE_EPOCH,
                f"epoch {epoch} is not lease {lease_id}'s epoch {lease.epoch}",
                metadata={"epoch": str(lease.epoch)},
            )
        return lease

    def renew(
        self, lease_id: str, owner: str, epoch: int, now: float, ttl: float | None = None
    ) -> LeaseRecord:
        """Extend a live lease to ``now + ttl`` (its own TTL when None)."""
        lease = self._fenced(lease_id, owner, epoch, now)
        if lease.state is LeaseState.RELEASED:
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.LEASE_RELEASED,
                f"lease {lease_id} was released",
            )
        if not lease.live(now):
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.LEASE_EXPIRED,
                f"lease {lease_id} has expired",
            )
        new_ttl = lease.ttl if ttl is None else ttl
        renewed = replace(lease, ttl=new_ttl, expire_time=max(lease.expire_time, now + new_ttl))
        self._put(renewed)
        return renewed

    def release(
        self, lease_id: str, owner: str, epoch: int, now: float
    ) -> tuple[LeaseRecord, Quarantine | None]:
        """Give a lease back; its ID is quarantined. Releasing a released lease again is a no-op
        (Quarantine None), so a retried release succeeds; an expired lease is LEASE_EXPIRED."""
        lease = self._fenced(lease_id, owner, epoch, now)
        if lease.state is LeaseState.RELEASED:
            return lease, None
        if not lease.live(now):
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.LEASE_EXPIRED,
                f"lease {lease_id} has expired",
            )
        return self._end(lease, LeaseState.RELEASED, QuarantineReason.RELEASED, now)

    def _end(
        self, lease: LeaseRecord, state: LeaseState, reason: QuarantineReason, now: float
    ) -> tuple[LeaseRecord, Quarantine]:
        ended = replace(lease, state=state, end_time=now)
        self._put(ended)
        quarantine = Quarantine(
            lease.gateway,
            lease.client_id,
            now + self.config.leases.quarantine_cooldown,
            lease.mode,
            reason,
        )
        self._quarantine[quarantine.key] = quarantine
        return ended, quarantine

    def abort_acquire(self, lease_id: str, now: float) -> tuple[LeaseRecord, Quarantine]:
        """Undo an acquire that could not complete: the lease ends RELEASED, its ID is quarantined
        (it may have been touched) and its request_id is forgotten so a retry starts afresh."""
        lease = self.get(lease_id)
        if lease.request_id and self._requests.get((lease.owner, lease.request_id)) == lease_id:
            del self._requests[(lease.owner, lease.request_id)]
        ended, quarantine = self._end(
            replace(lease, request_id=""), LeaseState.RELEASED, QuarantineReason.ACQUIRE_FAILED, now
        )
        return ended, quarantine

    # --- time --------------------------------------------------------------------------------

    def expire_due(self, now: float) -> list[tuple[LeaseRecord, Quarantine]]:
        """End every active lease whose expire_time has passed; their IDs are quarantined."""
        due = [
            self._leases[lid] for lid in self._holders.values() if not self._leases[lid].live(now)
        ]
        return [
            self._end(lease, LeaseState.EXPIRED, QuarantineReason.EXPIRED, now) for lease in due
        ]

    def next_deadline(self) -> float | None:
        """The earliest expire_time or quarantine end, or None when nothing waits."""
        times = [self._leases[lid].expire_time for lid in self._holders.values()]
        times += [q.until for q in self._quarantine.values()]
        return min(times, default=None)

    def due_quarantines(self, now: float) -> list[Quarantine]:
        """Quarantined IDs whose cool-down has passed: ready to be proven free."""
        return [q for q in self.quarantined() if q.until <= now]

    def free(self, gateway: str, client_id: int) -> bool:
        """Put a quarantined ID back in the pool (it was proven free); False if not quarantined."""
        return self._quarantine.pop((gateway, client_id), None) is not None

    def requarantine(
        self, gateway: str, client_id: int, now: float, reason: QuarantineReason
    ) -> Quarantine:
        """Rest a quarantined ID for another cool-down (its probe said in use, or failed)."""
        old = self._quarantine[(gateway, client_id)]
        quarantine = replace(old, until=now + self.config.leases.quarantine_cooldown, reason=reason)
        self._quarantine[quarantine.key] = quarantine
        return quarantine

    def prune(self, now: float, retention: float = FINISHED_RETENTION) -> int:
        """Forget finished leases that ended more than ``retention`` seconds ago; returns how many."""
        pruned = 0
        while self._finished and self._finished[0][0] + retention < now:
            _, lease_id = self._finished.popleft()
            lease = self._leases.pop(lease_id, None)
            if lease is None:
                continue
            pruned += 1
            if self._requests.get((lease.owner, lease.request_id)) == lease_id:
                del self._requests[(lease.owner, lease.request_id)]
        return pruned

    # --- restart -----------------------------------------------------------------------------

    def restore(
        self, leases: Iterable[LeaseRecord], rows: Iterable[ClientIdRow], now: float
    ) -> tuple[list[LeaseRecord], list[LeaseRecord]]:
        """Load the store's state after a restart. Returns (extended, skipped).

        Every active lease is extended by one TTL from ``max(expire_time, now)`` so no client
        loses its ID to a restart, even one that outlasted the TTL; epochs are kept. Leases of
        gateways no longer configured are skipped. Epoch high-water marks and quarantines are
        taken as stored.
        """
        for row in rows:
            key = (row.gateway, row.client_id)
            self._high_water[key] = max(self._high_water.get(key, 0), row.epoch_high_water)
            if row.quarantine is not None and row.gateway in self._gateways:
                self._quarantine[key] = row.quarantine
        extended: list[LeaseRecord] = []
        skipped: list[LeaseRecord] = []
        for lease in sorted(leases, key=lambda lease: lease.end_time or 0.0):
            if lease.gateway not in self._gateways:
                skipped.append(lease)
                continue
            if lease.state is LeaseState.ACTIVE:
                lease = replace(lease, expire_time=max(lease.expire_time, now) + lease.ttl)
                extended.append(lease)
            self._put(lease)
        return extended, skipped

    def __repr__(self) -> str:
        parts = []
        for name in self._gateways:
            held = [
                f"{lease.client_id}:e{lease.epoch}:{lease.owner}"
                for lease in self.active(gateway=name)
            ]
            resting = [f"{q.client_id}" for q in self.quarantined() if q.gateway == name]
            parts.append(
                f"{name}: held=[{' '.join(held)}] quarantined=[{' '.join(resting)}] "
                f"free={len(self.free_ids(name))}"
            )
        return f"<LeaseTable {'; '.join(parts)}>"
