"""The lease runtime: the pure :class:`~broker_server.domain.leases.LeaseTable` decides, then this
module persists each decision, does the I/O (probe connects, PROXIED sessions), logs, counts and
publishes.

Everything runs on the event loop. A mutation of the table and the store call that persists it
happen in one step with no ``await`` between them, and the store commits in call order, so the
store always sees the table's history in the table's order. Acknowledgement waits for the commit:
a lease the caller has seen survives ``kill -9``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from opentelemetry import metrics

from broker_server.aio import within
from broker_server.config import BrokerConfig
from broker_server.domain.clock import Clock
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.lease_input import parse_lease_id, validate_filter
from broker_server.domain.lease_policy import LeasePolicy
from broker_server.domain.leases import (
    FINISHED_RETENTION,
    AcquireRequest,
    FencedRequest,
    LeaseEvent,
    LeaseEventKind,
    LeaseMode,
    LeaseRecord,
    LeaseState,
    LeaseTable,
    Quarantine,
    QuarantineReason,
)
from broker_server.domain.reasons import FailureReason
from broker_server.logs import log_event
from broker_server.runtime.events import EventHub
from broker_server.runtime.lease_events import LeasePublisher
from broker_server.runtime.lease_ports import ClientIdProber, GatewayAccounts, ProxiedSessionPool
from broker_server.store.base import Store, StoreError

__all__ = [
    "ClientIdProber",
    "GatewayAccounts",
    "LeaseEvent",
    "LeaseEventKind",
    "LeaseManager",
    "ProxiedSessionPool",
]

log = logging.getLogger("ibbroker.leases")

_Events = list[LeaseEvent]  # ``list`` is a LeaseManager method inside the class body

_meter = metrics.get_meter("ibbroker")
_active_counter = _meter.create_up_down_counter(
    "ibbroker.lease.active", unit="{lease}", description="Leases currently held, by gateway."
)


def _unavailable(
    reason: FailureReason, message: str, retry_after: float | None = 1.0
) -> DomainError:
    return DomainError(ErrorKind.UNAVAILABLE, reason, message, retry_after=retry_after)


class LeaseManager:
    """Client-ID leases of every gateway: acquire, renew, release, expiry and quarantine.

    ``prober`` proves a DIRECT lease's ID free after its cool-down; with None, the cool-down
    alone frees it. ``sessions`` opens and closes the broker's sessions of PROXIED leases; with
    None, PROXIED leases are granted without a session (tests, or a broker without a pool).
    ``on_event`` receives every :class:`LeaseEvent` on the loop, as published (it must not
    block).

    :attr:`events` publishes the same events to watch streams (``WatchLeases``), sequenced,
    after a snapshot of the active leases; :meth:`end_streams` ends them with a FINAL event.
    """

    def __init__(
        self,
        config: BrokerConfig,
        store: Store,
        clock: Clock,
        prober: ClientIdProber | None = None,
        sessions: ProxiedSessionPool | None = None,
        *,
        on_event: Callable[[LeaseEvent], None] | None = None,
        accounts: GatewayAccounts | None = None,
    ) -> None:
        self.config = config
        self._store = store
        self._clock = clock
        self._wall0 = clock.wall()
        self._mono0 = clock.monotonic()
        self._prober = prober
        self._sessions = sessions
        self._accounts = accounts
        self.policy: LeasePolicy = config.lease_policy()
        """What the lease core reads of ``config``; the gRPC edge validates input against it."""
        self._table = LeaseTable(self.policy)
        self._pending: dict[tuple[str, str], asyncio.Task[LeaseRecord]] = {}
        self._session_open: set[tuple[str, int]] = set()
        self._counted: set[str] = set()
        self._sweep_lock = asyncio.Lock()
        self._sweeper: asyncio.Task[None] | None = None
        self._running = False
        self._writes: set[asyncio.Future[Any]] = set()
        # Sequences start at wall-clock milliseconds so they keep rising across broker restarts.
        self.events: EventHub[LeaseEvent] = EventHub(
            self._snapshot,
            queue_size=config.server.watcher_queue_size,
            first_sequence=int(clock.wall() * 1000),
        )
        """Lease events for watchers: one SNAPSHOT per active lease first, then every event."""
        self._publisher = LeasePublisher(self.events, on_event)

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return f"<LeaseManager {state} {self._table!r}>"

    def _now(self) -> float:
        """Wall-clock seconds that never jump while the process runs: the wall reading at
        construction advanced by the monotonic clock. A system clock set forward or back
        neither expires leases early nor keeps them past their TTL; the times stay wall-clock
        for clients and the store, re-anchored at each start."""
        return self._wall0 + (self._clock.monotonic() - self._mono0)

    @property
    def table(self) -> LeaseTable:
        """The in-memory state (read it, do not mutate it)."""
        return self._table

    # --- life-cycle ------------------------------------------------------------------------

    async def start(self, *, sweeper: bool = True) -> None:
        """Open the store, reload the live leases extended by one TTL, reopen PROXIED sessions
        and start the sweeper (``sweeper=False``: the caller drives :meth:`sweep`, as tests do).

        Raises :class:`StoreError` when the store cannot be opened (corrupt, newer schema).
        """
        await self._store.open()  # a no-op when the composition root opened it already
        now = self._now()
        snapshot = await asyncio.wrap_future(self._store.load(since=now - FINISHED_RETENTION))
        extended, skipped = self._table.restore(snapshot.leases, snapshot.client_ids, now)
        for lease in skipped:
            log_event(
                log,
                logging.WARNING,
                "lease_skipped",
                reason="gateway not configured",
                gateway=lease.gateway,
                client_id=lease.client_id,
                lease_id=lease.lease_id,
            )
        if extended:
            await asyncio.wrap_future(self._store.save_leases(extended))
        for lease in extended:
            self._counted.add(lease.lease_id)
            _active_counter.add(1, {"gateway": lease.gateway})
            self._publisher.emit(
                LeaseEventKind.RESTORED, lease.gateway, lease.client_id, now, lease=lease
            )
            if lease.mode is LeaseMode.PROXIED and self._sessions is not None:
                try:
                    await self._sessions.open_session(
                        lease.gateway, lease.client_id, lease.lease_id
                    )
                    self._session_open.add(lease.key)
                except Exception as err:
                    log_event(
                        log,
                        logging.WARNING,
                        "lease_session_reopen_failed",
                        gateway=lease.gateway,
                        client_id=lease.client_id,
                        lease_id=lease.lease_id,
                        error=str(err),
                    )
        self._running = True
        log_event(
            log,
            logging.INFO,
            "leases_started",
            restored=len(extended),
            quarantined=len(self._table.quarantined()),
            schema_version=snapshot.schema_version,
        )
        if sweeper:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="lease-sweeper")

    async def stop(self) -> None:
        """Stop the sweeper, let in-flight acquires finish, flush and close the store (closing
        it again afterwards is a no-op).

        Leases stay in the store: they are restored, extended, on the next start.
        """
        self._running = False
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        pending = list(self._pending.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        await self._store.close()
        self.end_streams("lease manager stopped")  # a no-op after the broker's own call
        log_event(log, logging.INFO, "leases_stopped")

    def end_streams(self, reason: str = "broker shutting down") -> None:
        """End every watch stream after one FINAL event (idempotent). The FINAL event names the
        default gateway and passes every watcher's filter."""
        if self.events.closed:
            return
        now = self._now()
        gateway = self.config.default_gateway.name
        log_event(
            log,
            logging.INFO,
            "lease_streams_ended",
            reason=reason,
            watchers=self.events.watcher_count,
        )
        self.events.close(lambda seq: LeaseEvent(seq, now, LeaseEventKind.FINAL, gateway, 0))

    def _check_running(self) -> None:
        if not self._running:
            raise _unavailable(FailureReason.SHUTTING_DOWN, "the lease service is not running")

    # --- operations ------------------------------------------------------------------------

    async def acquire(self, request: AcquireRequest) -> LeaseRecord:
        """Grant a lease (durable before it returns); the same lease for a repeated
        (owner, request_id), also while the first call is still in flight."""
        self._check_running()
        key = (request.owner, request.request_id)
        if request.request_id and key in self._pending:
            return await asyncio.shield(self._pending[key])
        now = self._now()
        self._expire_due(now)
        if request.mode is LeaseMode.DIRECT:
            self._check_accounts(request.gateway)
        result = self._table.acquire(request, now)
        if result.repeated:
            return result.lease
        # Shielded: a caller that gives up (deadline) does not cut the write or the session
        # open in half; a retry with the same request_id joins the same task.
        task = asyncio.create_task(self._complete_acquire(result.lease))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        if request.request_id:
            self._pending[key] = task
            task.add_done_callback(lambda _t: self._pending.pop(key, None))
        return await asyncio.shield(task)

    def _account_mismatch(self, gateway: str) -> str | None:
        if self._accounts is None:
            return None
        try:
            return self._accounts.account_mismatch(gateway)
        except Exception:
            log.exception("lease_account_check_failed")
            return None

    def _check_accounts(self, gateway: str) -> None:
        """The paper/live guard: a DIRECT lease hands a strategy an ID to log in with, so it is
        refused (FAILED_PRECONDITION, no retry: an operator must fix the config or the gateway)
        while the gateway's accounts are known not to fit its configuration."""
        problem = self._account_mismatch(gateway)
        if problem is not None:
            log_event(log, logging.WARNING, "lease_refused", gateway=gateway, reason=problem)
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.LEASE_ACCOUNT_MISMATCH,
                f"gateway {gateway!r} is not leased: {problem}",
                metadata={"gateway": gateway},
            )

    async def _complete_acquire(self, lease: LeaseRecord) -> LeaseRecord:
        try:
            await asyncio.wrap_future(self._store.save_acquire(lease))
        except StoreError as err:
            self._abort_acquire(lease, persist=False)
            raise _unavailable(
                FailureReason.STORE_UNAVAILABLE, f"the lease could not be stored: {err}"
            ) from err
        if lease.mode is LeaseMode.PROXIED and self._sessions is not None:
            try:
                await self._sessions.open_session(lease.gateway, lease.client_id, lease.lease_id)
            except Exception as err:
                with contextlib.suppress(Exception):
                    await self._sessions.close_session(lease.gateway, lease.client_id)
                write = self._abort_acquire(lease, persist=True)
                with contextlib.suppress(StoreError):
                    await write
                if isinstance(err, DomainError):
                    raise DomainError(
                        ErrorKind.UNAVAILABLE,
                        err.reason,
                        f"PROXIED session not opened: {err.message}",
                        retry_after=err.retry_after if err.retry_after is not None else 1.0,
                        ib_error_code=err.ib_error_code,
                        metadata=err.metadata,
                    ) from err
                raise _unavailable(
                    FailureReason.NOT_CONNECTED, f"PROXIED session not opened: {err}"
                ) from err
            self._session_open.add(lease.key)
        self._counted.add(lease.lease_id)
        _active_counter.add(1, {"gateway": lease.gateway})
        self._publisher.emit(
            LeaseEventKind.ACQUIRED, lease.gateway, lease.client_id, self._now(), lease=lease
        )
        return lease

    def _abort_acquire(self, lease: LeaseRecord, *, persist: bool) -> asyncio.Future[None]:
        """End an acquire that could not complete; the ID is quarantined, never leaked."""
        now = self._now()
        ended, quarantine = self._table.abort_acquire(lease.lease_id, now)
        log_event(
            log,
            logging.WARNING,
            "lease_acquire_aborted",
            gateway=lease.gateway,
            client_id=lease.client_id,
            lease_id=lease.lease_id,
        )
        self._publisher.emit(
            LeaseEventKind.QUARANTINED, lease.gateway, lease.client_id, now, quarantine=quarantine
        )
        if persist:
            return asyncio.wrap_future(self._store.save_end(ended, quarantine))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def renew(self, request: FencedRequest) -> LeaseRecord:
        """Extend a live lease to now + TTL; checks owner (PERMISSION_DENIED) and epoch
        (ABORTED); an expired lease is LEASE_EXPIRED, a released one LEASE_RELEASED.
        ``request`` comes from :func:`~broker_server.domain.lease_input.validate_fenced`."""
        self._check_running()
        now = self._now()
        self._expire_due(now)
        lease = self._table.renew(request.lease_id, request.owner, request.epoch, now, request.ttl)
        await self._write(self._store.save_renew(lease))
        self._publisher.emit(
            LeaseEventKind.RENEWED, lease.gateway, lease.client_id, now, lease=lease
        )
        return lease

    async def release(self, request: FencedRequest) -> LeaseRecord:
        """Give a lease back; its ID is quarantined (a PROXIED lease's session is closed first).
        Releasing an already released lease succeeds again. ``request`` comes from
        :func:`~broker_server.domain.lease_input.validate_fenced`."""
        self._check_running()
        now = self._now()
        self._expire_due(now)
        lease, quarantine = self._table.release(request.lease_id, request.owner, request.epoch, now)
        if quarantine is None:
            return lease
        write = self._store.save_end(lease, quarantine)
        self._ended(lease, quarantine, now)
        await self._write(write)
        await self._close_session(lease.gateway, lease.client_id)
        return lease

    def check_fenced(self, lease_id: str, owner: str, epoch: int) -> LeaseRecord:
        """The live lease a fenced call (an order) rides on: NOT_FOUND when unknown,
        PERMISSION_DENIED for another owner, ABORTED (LEASE_STALE_EPOCH) for another epoch,
        FAILED_PRECONDITION (LEASE_EXPIRED / LEASE_RELEASED) once ended. Changes nothing."""
        lease_id = parse_lease_id(lease_id)
        self._check_running()
        now = self._now()
        self._expire_due(now)
        lease = self._table._fenced(lease_id, owner, epoch, now)
        self._table._check_not_ended(lease, now)
        return lease

    async def get(self, lease_id: str) -> LeaseRecord:
        """One lease, active or recently finished; NOT_FOUND when unknown."""
        lease_id = parse_lease_id(lease_id)
        self._check_running()
        self._expire_due(self._now())
        return self._table.get(lease_id)

    async def list(self, gateway: str = "", owner: str = "") -> list[LeaseRecord]:
        """The active leases, optionally of one gateway and/or one owner."""
        self.check_filter(gateway, owner)
        return self._table.active(gateway=gateway, owner=owner)

    def check_filter(self, gateway: str = "", owner: str = "") -> None:
        """Validate a ListLeases / WatchLeases filter (INVALID_ARGUMENT: unknown gateway,
        over-long owner), refuse when stopped and expire the leases that are due, so what a
        caller reads next (a list, a watch snapshot) holds only live leases."""
        validate_filter(self.policy, gateway=gateway, owner=owner)
        self._check_running()
        self._expire_due(self._now())

    # --- time ------------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Expire leases that are due, close sessions of ended PROXIED leases and free the
        quarantined IDs whose cool-down has passed and that are proven free. The sweeper task
        runs this every ``leases.sweep_interval``; tests call it after moving a ManualClock."""
        async with self._sweep_lock:
            now = self._now()
            self._expire_due(now)
            for gateway, client_id in sorted(self._session_open):
                if self._table.holder(gateway, client_id) is None:
                    await self._close_session(gateway, client_id)
            due = [q for q in self._table.due_quarantines(now) if q.key not in self._session_open]
            await asyncio.gather(*(self._prove_free(q) for q in due))
            self._table.prune(now)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.leases.sweep_interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("lease_sweep_failed")

    def _expire_due(self, now: float) -> None:
        for lease, quarantine in self._table.expire_due(now):
            self._track(self._store.save_end(lease, quarantine))
            self._ended(lease, quarantine, now)

    def _ended(self, lease: LeaseRecord, quarantine: Quarantine, now: float) -> None:
        kind = (
            LeaseEventKind.RELEASED
            if lease.state is LeaseState.RELEASED
            else LeaseEventKind.EXPIRED
        )
        if lease.lease_id in self._counted:
            self._counted.discard(lease.lease_id)
            _active_counter.add(-1, {"gateway": lease.gateway})
        self._publisher.emit(kind, lease.gateway, lease.client_id, now, lease=lease)
        self._publisher.emit(
            LeaseEventKind.QUARANTINED, lease.gateway, lease.client_id, now, quarantine=quarantine
        )

    async def _close_session(self, gateway: str, client_id: int) -> None:
        if (gateway, client_id) not in self._session_open or self._sessions is None:
            return
        try:
            await self._sessions.close_session(gateway, client_id)
        except Exception as err:
            # The ID stays quarantined; the next sweep tries again.
            log_event(
                log,
                logging.WARNING,
                "lease_session_close_failed",
                gateway=gateway,
                client_id=client_id,
                error=str(err),
            )
            return
        self._session_open.discard((gateway, client_id))

    async def _prove_free(self, quarantine: Quarantine) -> None:
        gateway, client_id = quarantine.key
        free: bool | None = True
        problem = self._account_mismatch(gateway)
        if quarantine.mode is LeaseMode.DIRECT and problem is not None:
            # Never log in to an account the config does not allow, not even to probe.
            log_event(
                log,
                logging.WARNING,
                "lease_probe_skipped",
                gateway=gateway,
                client_id=client_id,
                reason=problem,
            )
            free = None
        elif quarantine.mode is LeaseMode.DIRECT and self._prober is not None:
            try:
                free = await within(
                    self._prober.probe(gateway, client_id), self.config.leases.probe_timeout
                )
            except Exception as err:
                log_event(
                    log,
                    logging.WARNING,
                    "lease_probe_failed",
                    gateway=gateway,
                    client_id=client_id,
                    error=repr(err),
                )
                free = None
        if self._table.holder(gateway, client_id) is not None:
            return
        now = self._now()
        if free:
            if self._table.free(gateway, client_id):
                self._track(self._store.save_free(gateway, client_id))
                self._publisher.emit(LeaseEventKind.FREED, gateway, client_id, now)
            return
        reason = QuarantineReason.IN_USE if free is False else QuarantineReason.PROBE_FAILED
        again = self._table.requarantine(gateway, client_id, now, reason)
        self._track(self._store.save_quarantine(again))
        self._publisher.emit(LeaseEventKind.QUARANTINED, gateway, client_id, now, quarantine=again)

    def _snapshot(self, sequence: int) -> _Events:
        # Only leases whose ACQUIRED (or RESTORED) event was published: an acquire still in
        # flight (store write, session open) is announced by its own ACQUIRED event, or never
        # when it aborts, so a watcher neither sees it twice nor keeps a lease that never was.
        now = self._now()
        end = LeaseEvent(sequence, now, LeaseEventKind.SNAPSHOT_END, self.policy.default_gateway, 0)
        return [
            *(
                LeaseEvent(
                    sequence, now, LeaseEventKind.SNAPSHOT, lease.gateway, lease.client_id, lease
                )
                for lease in self._table.active()
                if lease.lease_id in self._counted
            ),
            end,
        ]

    # --- plumbing --------------------------------------------------------------------------

    async def _write(self, future: Future[None]) -> None:
        try:
            await asyncio.wrap_future(future)
        except StoreError as err:
            raise _unavailable(
                FailureReason.STORE_UNAVAILABLE, f"the lease store failed: {err}"
            ) from err

    def _track(self, future: Future[None]) -> None:
        """Keep a write nobody awaits, so stop() can wait for it and failures are logged."""
        wrapped = asyncio.wrap_future(future)
        self._writes.add(wrapped)

        def done(f: asyncio.Future[Any]) -> None:
            self._writes.discard(f)
            if not f.cancelled() and f.exception() is not None:
                log_event(log, logging.ERROR, "lease_store_write_failed", error=str(f.exception()))

        wrapped.add_done_callback(done)
