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
- TWS takes at most :data:`~broker_server.domain.limits.MAX_IB_CLIENTS` API clients. Gateways on the same ``host:port`` are
  one TWS, so the limit is shared: each gateway's monitor session counts as one client, and so
  does every held or quarantined ID (a quarantined ID may still have a zombie connected).
- ``epoch`` is strictly increasing per (gateway, client ID) from a high-water mark that the
  store keeps, so it is never reused, also across restarts. It is fixed for a lease's life.
- An expired or released ID is quarantined: it rests for ``quarantine_cooldown`` and is then
  proven free by the runtime (probe connect, or the broker's own session closed) before
  :meth:`LeaseTable.free` puts it back.

The records live in :mod:`broker_server.domain.lease_records` (re-exported here), the input
checks in :mod:`broker_server.domain.lease_input`, what the table reads of the configuration in
:mod:`broker_server.domain.lease_policy`.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace

from broker_server.domain.errors import DomainError, ErrorKind, FieldViolation
from broker_server.domain.lease_policy import GatewayIds, LeasePolicy
from broker_server.domain.lease_records import (
    AcquireRequest,
    AcquireResult,
    ClientIdRow,
    FencedRequest,
    LeaseEvent,
    LeaseEventKind,
    LeaseMode,
    LeaseRecord,
    LeaseState,
    Quarantine,
    QuarantineReason,
)
from broker_server.domain.limits import MAX_IB_CLIENTS
from broker_server.domain.reasons import FailureReason

__all__ = [
    "FINISHED_RETENTION",
    "AcquireRequest",
    "AcquireResult",
    "ClientIdRow",
    "FencedRequest",
    "LeaseEvent",
    "LeaseEventKind",
    "LeaseMode",
    "LeaseRecord",
    "LeaseState",
    "LeaseTable",
    "Quarantine",
    "QuarantineReason",
]

FINISHED_RETENTION = 600.0
"""Seconds a released or expired lease stays known (GetLease, idempotent retries) in memory."""


# --- the table ---------------------------------------------------------------------------------


def _not_found(lease_id: str) -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, FailureReason.LEASE_NOT_FOUND, f"no lease {lease_id}")


class LeaseTable:
    """Every gateway's leases, quarantines and epoch high-water marks. Mutable, I/O-free.

    Each mutating method returns the new records; the caller persists them. The ``repr`` reads
    like the state, for logs and as a test oracle.
    """

    def __init__(self, policy: LeasePolicy, new_id: Callable[[], str] | None = None) -> None:
        self.policy = policy
        self._new_id = new_id or (lambda: str(uuid.uuid4()))
        self._gateways = {g.name: g for g in policy.gateways}
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

    def _endpoint_peers(self, gateway: str) -> list[GatewayIds]:
        gw = self._gateways[gateway]
        return [g for g in self.policy.gateways if (g.host, g.port) == (gw.host, gw.port)]

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
                self._check_not_ended(lease, now, "the acquire with this request_id")
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
        ends = [self._leases[lid].deadline for k, lid in self._holders.items() if k[0] in names]
        ends += [q.until for k, q in self._quarantine.items() if k[0] in names]
        # A quarantine that has ended still needs a sweep (and a probe) to free its ID.
        retry_after = max(0.0, min(ends, default=now) - now) + self.policy.times.sweep_interval
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

    @staticmethod
    def _check_not_ended(lease: LeaseRecord, now: float, what: str = "") -> None:
        """FAILED_PRECONDITION (LEASE_RELEASED / LEASE_EXPIRED) unless ``lease`` is live.

        Also for an idempotent retry of an acquire (``what`` says so): answering OK with an ended
        lease would let the retrying client believe it holds an ID someone else may hold now."""
        prefix = f"{what}: " if what else ""
        if lease.state is LeaseState.RELEASED:
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.LEASE_RELEASED,
                f"{prefix}lease {lease.lease_id} was released",
                metadata={"lease_id": lease.lease_id},
            )
        if not lease.live(now):
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.LEASE_EXPIRED,
                f"{prefix}lease {lease.lease_id} has expired",
                metadata={"lease_id": lease.lease_id},
            )

    def renew(
        self, lease_id: str, owner: str, epoch: int, now: float, ttl: float | None = None
    ) -> LeaseRecord:
        """Extend a live lease to ``now + ttl`` (its own TTL when None)."""
        lease = self._fenced(lease_id, owner, epoch, now)
        self._check_not_ended(lease, now)
        new_ttl = lease.ttl if ttl is None else ttl
        renewed = replace(
            lease,
            ttl=new_ttl,
            expire_time=max(lease.expire_time, now + new_ttl),
            grace_until=None,
        )
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
            now + self.policy.times.quarantine_cooldown,
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
        """End every active lease whose deadline has passed; their IDs are quarantined."""
        due = [
            self._leases[lid] for lid in self._holders.values() if not self._leases[lid].live(now)
        ]
        return [
            self._end(lease, LeaseState.EXPIRED, QuarantineReason.EXPIRED, now) for lease in due
        ]

    def next_deadline(self) -> float | None:
        """The earliest expire_time or quarantine end, or None when nothing waits."""
        times = [self._leases[lid].deadline for lid in self._holders.values()]
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
        quarantine = replace(old, until=now + self.policy.times.quarantine_cooldown, reason=reason)
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
        self,
        leases: Iterable[LeaseRecord],
        rows: Iterable[ClientIdRow],
        now: float,
        downtime: float = 0.0,
    ) -> tuple[list[LeaseRecord], list[LeaseRecord]]:
        """Load the store's state after a restart. Returns (restored active leases, skipped).

        A lease's time is broker uptime: every active lease's ``expire_time`` moves on by
        ``downtime`` (the caller stores the moved leases, so the next restart moves them from
        there), and it gets one grace on top (see
        :meth:`_graced`): it holds until ``max(expire_time, min(now, expire_time) + grace)``, so a
        client whose renewals failed while the broker was down has one renew interval to come
        back, and however often the broker restarts, an abandoned lease ends by
        ``expire_time + grace``. A lease already past that is restored dead: the next
        :meth:`expire_due` ends it. Epochs are kept. Leases of gateways no longer configured are
        skipped. Epoch high-water marks and quarantines are taken as stored.
        """
        for row in rows:
            key = (row.gateway, row.client_id)
            self._high_water[key] = max(self._high_water.get(key, 0), row.epoch_high_water)
            if row.quarantine is not None and row.gateway in self._gateways:
                self._quarantine[key] = row.quarantine
        restored: list[LeaseRecord] = []
        skipped: list[LeaseRecord] = []
        for lease in sorted(leases, key=lambda lease: lease.end_time or 0.0):
            if lease.gateway not in self._gateways:
                skipped.append(lease)
                continue
            if lease.state is LeaseState.ACTIVE:
                moved = replace(lease, expire_time=lease.expire_time + downtime, grace_until=None)
                lease = self._graced(moved, now)
                restored.append(lease)
            self._put(lease)
        return restored, skipped

    @staticmethod
    def _graced(lease: LeaseRecord, now: float) -> LeaseRecord:
        """``lease`` with its one grace: until ``min(now, expire_time) + grace``, when that is
        later than ``expire_time`` (a lease with more than a grace left needs none)."""
        until = min(now, lease.expire_time) + lease.grace
        return replace(lease, grace_until=until) if until > lease.expire_time else lease

    def grant_pause_grace(self, now: float) -> list[LeaseRecord]:
        """After a detected pause of the broker (it could not serve renewals): every active lease
        that has not had its grace since its last renew and would end within one grace holds
        until ``now + grace``. Returns the leases changed.

        The paused time does not count against a lease whose client renewed on time, and a lease
        gets one grace per renewal, so pauses do not keep an abandoned lease alive either."""
        changed = []
        for lid in list(self._holders.values()):
            lease = self._leases[lid]
            if lease.grace_until is not None or lease.expire_time >= now + lease.grace:
                continue
            graced = replace(lease, grace_until=now + lease.grace)
            self._put(graced)
            changed.append(graced)
        return changed

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
