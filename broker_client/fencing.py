"""Client-side lease fencing, written once for the async and the blocking holder.

The model is etcd's clientv3 session: the holder of a lease must stop believing it holds the
lease *before* the broker may give the client ID to someone else, whatever the network does.
So a lease is lost locally at::

    (monotonic time the last successful acquire or renew was SENT) + TTL

The broker counts its expiry from when it *received* that call, which is later, so the local
deadline always comes first, however long the answer took, the call hung or the process was
paused. Renew calls carry a deadline that is a fraction of the TTL (a third by default), so a
stalled connection cannot keep a renew pending past the lease's end, and every answer is checked:
an answer whose lease is not ACTIVE, belongs to another lease or epoch, or whose ``expire_time``
is already past by the local wall clock means the lease is lost.

The retry logic lives here once, as *plans* (:mod:`broker_client.plans`): generators that
yield :class:`Call` and :class:`Sleep` steps and receive each call's answer (the response, or a
:class:`BrokerError`). The async holder runs them with ``await`` and ``asyncio.sleep``, the
blocking holder with a blocking stub and ``threading.Event.wait``; the unit tests run them with
a scripted clock. Nothing here does I/O.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from broker_client.errors import BrokerError, LeaseExpiredError
from broker_client.ibbroker.v1 import lease_pb2, lease_service_pb2
from broker_client.plans import Call, Plan, Sleep

log = logging.getLogger("ibbroker.client.leases")

TRANSIENT = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)
"""Codes after which the same call may succeed: the renew (or acquire) is retried. CANCELLED is
never the holder's own doing here (its calls end by task cancellation, not a status): a server
that stops (a standby's stand-in giving way to the broker proper) cancels the calls in flight."""

ACTIVE = lease_pb2.LEASE_STATE_ACTIVE
ENDED_REASONS = frozenset({"LEASE_EXPIRED", "LEASE_RELEASED", "LEASE_NOT_FOUND"})
"""An acquire retried with the same ``request_id`` that gets one of these: the lease that
request got has ended, so a new one is acquired under a new ``request_id``."""


@dataclass(frozen=True)
class LeasePolicy:
    """Timing of a lease holder; every value is a fraction of the TTL or plain seconds."""

    renew_fraction: float = 1 / 3
    """Renew when this fraction of the TTL has passed since the last renewal was sent."""
    call_fraction: float = 1 / 3
    """Deadline of each renew call as a fraction of the TTL (never past the lease's end)."""
    acquire_timeout: float = 10.0
    """Deadline of each acquire call in seconds (capped at the requested TTL)."""
    acquire_attempts: int = 4
    """Acquire calls at most (transient failures are retried with the same request_id)."""
    release_timeout: float = 5.0
    """Deadline of the release call on exit in seconds."""
    initial_backoff: float = 0.05
    """First delay in seconds before retrying a transient failure; doubles per failure."""
    max_backoff: float = 1.0
    """Largest retry delay in seconds (a renew retry never waits past the lease's end)."""

    def __post_init__(self) -> None:
        if not 0 < self.renew_fraction < 1 or not 0 < self.call_fraction <= 1:
            raise ValueError("renew_fraction must be in (0, 1) and call_fraction in (0, 1]")
        if self.acquire_attempts < 1:
            raise ValueError("acquire_attempts must be at least 1")


class LeaseLostError(Exception):
    """The lease is gone: refused or ended by the broker, or its local deadline passed."""

    def __init__(
        self, lease: lease_pb2.Lease, cause: BaseException | None, why: str = "lost"
    ) -> None:
        because = f": {cause}" if cause is not None else ""
        super().__init__(f"lease {lease.lease_id} (client ID {lease.client_id}) {why}{because}")
        self.lease = lease
        """The lease as last granted."""
        self.cause = cause
        """The :class:`BrokerError` that ended it (the last failed renew when the deadline
        passed), or None."""
        self.why = why
        """What happened, in words."""


def seconds(duration: Any) -> float:
    """A ``google.protobuf.Duration`` in seconds."""
    return float(duration.seconds) + duration.nanos / 1e9


def _timestamp(ts: Any) -> float:
    return float(ts.seconds) + ts.nanos / 1e9


def ended(lease: lease_pb2.Lease, wall_now: float) -> str | None:
    """Why an answer's lease cannot be held (None when it can): an ended state, or an
    expire_time already past by the local wall clock."""
    if lease.state != ACTIVE:
        return f"answered with state {lease_pb2.LeaseState.Name(lease.state)}"
    if not lease.HasField("expire_time"):
        return "answered without an expire_time"
    if _timestamp(lease.expire_time) <= wall_now:
        return "answered with an expire_time in the past"
    return None


class Keeper:
    """The holder's view of one lease: the last granted proto, its local deadline, and whether
    it has ended. Thread-safe: the blocking holder's renew thread and the caller share it."""

    def __init__(
        self,
        lease: lease_pb2.Lease,
        sent: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_end: Callable[[], None] = lambda: None,
    ) -> None:
        self.lease = lease
        """The lease as last acquired or renewed."""
        self.sent = sent
        """Monotonic time the call that granted :attr:`lease` was sent."""
        self.deadline = sent + seconds(lease.ttl)
        """Monotonic time at which the lease is lost unless renewed."""
        self.acquired_at = clock()
        """Monotonic time the holder started to hold it (the acquire's answer arrived)."""
        self.ended_at: float | None = None
        """Monotonic time the holder stopped holding it: lost (at the deadline, if that is what
        ended it) or released; None while held."""
        self.error: LeaseLostError | None = None
        """Why it is no longer held, once it is not."""
        self.noticed_at: float | None = None
        """Monotonic time the end was noticed (may be after :attr:`ended_at`)."""
        self.release_error: BrokerError | None = None
        """Why the release on exit failed, if it did (the lease then ends at its expiry; a
        LEASE_EXPIRED here means the broker ended it before the holder's deadline)."""
        self.release_failed_at: float | None = None
        """Monotonic time :attr:`release_error` arrived."""
        self._clock = clock
        self._on_end = on_end
        self._lock = threading.Lock()

    @property
    def ttl(self) -> float:
        """The TTL of the last grant, in seconds."""
        return seconds(self.lease.ttl)

    def check(self) -> None:
        """Raise :class:`LeaseLostError` unless the lease is held at this moment: not ended,
        and its local deadline not reached (whatever a pending renew may still answer)."""
        if self.error is None and self._clock() >= self.deadline:
            self.lose(None, "expired locally: no renewal succeeded within its TTL")
        if self.error is not None:
            raise self.error

    def granted(self, lease: lease_pb2.Lease, sent: float, wall_now: float) -> str | None:
        """Take a renew answer for a call sent at ``sent``; returns why it does not hold (and
        the lease is then lost), or None. Answers after the lease ended change nothing."""
        with self._lock:
            if self.error is not None:
                return self.error.why
            expired = self._clock() >= self.deadline
        if expired:  # lost at the deadline, whatever arrives after it
            self.lose(None, "expired locally: no renewal succeeded within its TTL")
            return "expired locally"
        with self._lock:
            problem = ended(lease, wall_now)
            if problem is None and (lease.lease_id, lease.epoch) != (
                self.lease.lease_id,
                self.lease.epoch,
            ):
                problem = f"answered for lease {lease.lease_id} epoch {lease.epoch}"
            if problem is None and sent + seconds(lease.ttl) <= self._clock():
                problem = "answered after its TTL had run out"
            if problem is None:
                self.lease, self.sent = lease, sent
                self.deadline = max(self.deadline, sent + seconds(lease.ttl))
                return None
        self.lose(None, problem)
        return problem

    def lose(self, cause: BaseException | None, why: str = "lost", *, notify: bool = True) -> None:
        """End the lease (the first reason wins): :meth:`check` raises from now on. When the
        deadline has passed, the lease counts as ended at the deadline. ``notify`` runs the
        holder's ``on_end`` (its ``lost`` event), and logs a warning."""
        with self._lock:
            if self.error is not None:
                return
            self.error = LeaseLostError(self.lease, cause, why)
            self.noticed_at = self._clock()
            self.ended_at = min(self.noticed_at, self.deadline)
        if notify:
            log.warning("%s", self.error)
            self._on_end()

    def released(self) -> None:
        """The owner gave it back (or is giving it back): no longer held."""
        self.lose(None, "released", notify=False)


def acquire_plan(
    request: lease_service_pb2.AcquireLeaseRequest,
    policy: LeasePolicy,
    *,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> Plan:
    """AcquireLease, retried with the same ``request_id`` while the broker is unreachable.
    Returns ``(lease, sent)``: the lease and the monotonic time its call was sent.

    An answer that cannot be held (not ACTIVE, expire_time past, or too late for its TTL) is
    never taken as held: on a retry (our earlier call may have been granted, then ended) a new
    lease is acquired under a fresh request_id; on the first call it raises FAILED_PRECONDITION.
    """
    delay = policy.initial_backoff
    timeout = policy.acquire_timeout
    if request.HasField("ttl"):
        timeout = min(timeout, seconds(request.ttl))
    for attempt in range(policy.acquire_attempts):
        last = attempt == policy.acquire_attempts - 1
        sent = clock()
        # The request_id makes a repeated acquire the same acquire: safe to re-send.
        answer = yield Call("AcquireLease", request, timeout, repeatable=True)
        problem: str | None
        if isinstance(answer, BrokerError):
            if answer.code in TRANSIENT and not last:
                yield Sleep(answer.retry_after or delay)
                delay = min(delay * 2, policy.max_backoff)
                continue
            if not (attempt > 0 and answer.reason in ENDED_REASONS) or last:
                raise answer
            problem = answer.reason
        else:
            lease = answer.lease
            problem = ended(lease, wall())
            if problem is None and sent + seconds(lease.ttl) <= clock():
                problem = "answered after its TTL had run out"
            if problem is None:
                return lease, sent
            if attempt == 0 or last:
                raise LeaseExpiredError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"acquire {problem}; the lease is not held",
                    reason="LEASE_EXPIRED",
                )
        log.warning("acquire %s; acquiring anew", problem)
        fresh = lease_service_pb2.AcquireLeaseRequest()
        fresh.CopyFrom(request)
        fresh.request_id = str(uuid.uuid4())
        request = fresh
    raise AssertionError("unreachable")  # pragma: no cover


def renew_plan(keeper: Keeper, owner: str, policy: LeasePolicy, **clocks: Any) -> Plan:
    """Renew ``keeper``'s lease forever: at ``renew_fraction`` of the TTL after the last renewal
    was sent, each call with a deadline of ``call_fraction`` of the TTL (never past the local
    deadline), transient failures retried with backoff until the deadline. Ends when the lease
    is lost (refused, an answer that does not hold, or the deadline passed)."""
    clock: Callable[[], float] = clocks.get("clock", time.monotonic)
    wall: Callable[[], float] = clocks.get("wall", time.time)
    while keeper.error is None:
        wait = keeper.sent + keeper.ttl * policy.renew_fraction - clock()
        if wait > 0:
            yield Sleep(wait)
        delay = policy.initial_backoff
        failure: BrokerError | None = None
        while keeper.error is None:
            sent = clock()
            left = keeper.deadline - sent
            if left <= 0:
                keeper.lose(failure, "expired locally: no renewal succeeded within its TTL")
                return
            request = lease_service_pb2.RenewLeaseRequest(
                lease_id=keeper.lease.lease_id, epoch=keeper.lease.epoch, owner=owner
            )
            # Re-sent to the leader on a failover within this same deadline, never past ``left``:
            # the local deadline (last renewal SENT + TTL) is the keeper's and does not move.
            timeout = min(keeper.ttl * policy.call_fraction, left)
            answer = yield Call("RenewLease", request, timeout, repeatable=True)
            if isinstance(answer, BrokerError):
                if answer.code not in TRANSIENT:
                    keeper.lose(answer, "refused by the broker")
                    return
                failure = answer
                left = keeper.deadline - clock()
                if left > 0:
                    yield Sleep(min(answer.retry_after or delay, left))
                delay = min(delay * 2, policy.max_backoff)
                continue
            keeper.granted(answer.lease, sent, wall())
            break


def release_plan(keeper: Keeper, owner: str, policy: LeasePolicy) -> Plan:
    """Give the lease back if it is still held; a failed release is logged (the lease then
    expires on its own, and failing the caller's block for it would hide its result)."""
    with contextlib.suppress(LeaseLostError):
        keeper.check()  # past its deadline it is lost, not released: nothing to give back
    if keeper.error is not None:
        return
    lease = keeper.lease
    keeper.released()  # the owner stops believing it holds it before the release is sent
    request = lease_service_pb2.ReleaseLeaseRequest(
        lease_id=lease.lease_id, epoch=lease.epoch, owner=owner
    )
    answer = yield Call("ReleaseLease", request, policy.release_timeout, repeatable=True)
    if isinstance(answer, BrokerError):
        keeper.release_error, keeper.release_failed_at = answer, keeper._clock()
        log.warning("lease release failed: %s", answer)


__all__ = [
    "Call",
    "Keeper",
    "LeaseLostError",
    "LeasePolicy",
    "Plan",
    "Sleep",
    "acquire_plan",
    "release_plan",
    "renew_plan",
]
