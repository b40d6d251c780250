"""The lease runtime: the pure :class:`~broker_server.domain.leases.LeaseTable` decides, then this
module persists each decision, does the I/O (probe connects, PROXIED sessions), logs, counts and
publishes.

Everything runs on the event loop. A mutation of the table and the store call that persists it
happen in one step with no ``await`` between them, and the store commits in call order, so the
store always sees the table's history in the table's order. Acknowledgement waits for the commit:
a lease the caller has seen survives ``kill -9``.

Why this file is over 500 lines: every path that mutates the table (acquire, renew, release,
sweep, expiry, restart) is here, because the invariant above (mutate and persist in one step)
is only checkable when they sit side by side; what does not mutate already lives beside it
(``lease_time``, ``lease_gateway``, ``lease_writes``, ``lease_events``, ``lease_reopen``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable

from opentelemetry import metrics

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
from broker_server.runtime.alive import AliveMark, alive_path
from broker_server.runtime.events import EventHub
from broker_server.runtime.lease_events import LeasePublisher, active_tally
from broker_server.runtime.lease_gateway import GatewayChecks
from broker_server.runtime.lease_ports import (
    ClientIdProber,
    GatewayAccounts,
    OrderClientIds,
    ProxiedSessionPool,
)
from broker_server.runtime.lease_reopen import SessionReopener
from broker_server.runtime.lease_time import LeaseTime
from broker_server.runtime.lease_writes import Writes, store_failed
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
_pauses_counter = _meter.create_counter(
    "ibbroker.lease.pauses",
    unit="{pause}",
    description="Detected broker pauses after which every lease got its one grace.",
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
        self._time = LeaseTime(
            clock,
            AliveMark(alive_path(config.store.path)),
            tick=config.leases.sweep_interval,
            pause_threshold=config.leases.pause_threshold,
        )
        self._gateway = GatewayChecks(prober, accounts, probe_timeout=config.leases.probe_timeout)
        self._sessions = sessions
        self._orders: OrderClientIds | None = None
        self._reopener = SessionReopener(sessions, self._reopen_delay)
        self.policy: LeasePolicy = config.lease_policy()
        """What the lease core reads of ``config``; the gRPC edge validates input against it."""
        self._table = LeaseTable(self.policy)
        self._pending: dict[tuple[str, str], asyncio.Task[LeaseRecord]] = {}
        self._session_open: set[tuple[str, int]] = set()
        self._counted: set[str] = set()
        self._sweep_lock = asyncio.Lock()
        self._sweeper: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._running = False
        self._writes = Writes()
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
        return self._time.now()

    def _reopen_delay(self, gateway: str, attempt: int) -> float:
        """The gateway's reconnect backoff (retry_delay doubling to backoff_cap)."""
        gw = self.config.gateway(gateway)
        return min(gw.backoff_cap, gw.retry_delay * 2 ** (attempt - 1))

    @property
    def table(self) -> LeaseTable:
        """The in-memory state (read it, do not mutate it)."""
        return self._table

    # --- life-cycle ------------------------------------------------------------------------

    async def start(self, *, sweeper: bool = True) -> None:
        """Open the store, reload the active leases with one grace each (those past it end at
        once), reopen PROXIED sessions and start the sweeper (``sweeper=False``: the caller
        drives :meth:`sweep`, as tests do, and no pause is ever detected).

        Raises :class:`StoreError` when the store cannot be opened (corrupt, newer schema).
        """
        await self._store.open()  # a no-op when the composition root opened it already
        kept = self._store.downtime()  # PostgreSQL: from the leadership row, not a local file
        if kept is not None:
            self._time.kept_by_store(kept)
        now = self._now()
        snapshot = await asyncio.wrap_future(self._store.load(since=now - FINISHED_RETENTION))
        downtime = self._time.downtime(now)
        # Marked before the shift below is stored: a crash in between loses that downtime (the
        # leases end a little early) instead of counting it twice (leases held too long).
        self._time.mark_alive(now)
        restored, skipped = self._table.restore(
            snapshot.leases, snapshot.client_ids, now, downtime=downtime
        )
        if downtime > 0 and restored:
            await asyncio.wrap_future(self._store.save_leases(restored))
        extended = [lease for lease in restored if lease.live(now)]
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
        # The grace itself is not stored: it is computed again on every start.
        self._expire_due(now)  # the leases already past their grace end now, with their events
        for lease in extended:
            self._counted.add(lease.lease_id)
            active_tally.add(1, lease.gateway)
            self._publisher.emit(
                LeaseEventKind.RESTORED, lease.gateway, lease.client_id, now, lease=lease
            )
            if lease.mode is LeaseMode.PROXIED and await self._reopener.open(lease, now):
                self._session_open.add(lease.key)
        self._running = True
        log_event(
            log,
            logging.INFO,
            "leases_started",
            restored=len(extended),
            expired=len(restored) - len(extended),
            downtime=round(downtime, 3),
            alive_mark="store" if kept is not None else "file",
            quarantined=len(self._table.quarantined()),
            schema_version=snapshot.schema_version,
        )
        if sweeper:
            self._time.watch_pauses(True)
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="lease-sweeper")
            self._ticker = asyncio.create_task(self._tick_forever(), name="lease-ticker")

    async def stop(self) -> None:
        """Stop the sweeper, let in-flight acquires finish, flush and close the store (closing
        it again afterwards is a no-op).

        Leases stay in the store: they are restored on the next start, and the time until then
        does not count against them (the alive mark says when the broker stopped).
        """
        self._running = False
        for task in (self._sweeper, self._ticker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._sweeper = self._ticker = None
        self._time.watch_pauses(False)
        self._time.mark_alive(self._now())
        self._time.close()
        pending = list(self._pending.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        await self._writes.flush()
        await self._store.close()
        self.end_streams("lease manager stopped")  # a no-op after the broker's own call
        log_event(log, logging.INFO, "leases_stopped")

    def end_streams(self, reason: str = "broker shutting down") -> None:
        """End every watch stream after one FINAL event (idempotent). The FINAL event names the
        default gateway and passes every watcher's filter."""
        self._publisher.end(reason, self._now(), self.policy.default_gateway)

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
            self._gateway.check_accounts(request.gateway)
        request = self._prefer_order_client_id(request)
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

    def prefer_client_ids_of(self, orders: OrderClientIds) -> None:
        """Offer a PROXIED acquire that names no client ID the one its owner's working orders
        were placed with (set once by the composition root, after the order runtime exists)."""
        self._orders = orders

    def _prefer_order_client_id(self, request: AcquireRequest) -> AcquireRequest:
        if self._orders is None or request.mode is not LeaseMode.PROXIED:
            return request
        if request.client_id is not None:
            return request
        for client_id in self._orders.working_client_ids(request.gateway, request.owner):
            if self._table.holder(request.gateway, client_id) is None:
                # Honoured when free (not resting in quarantine); else any free ID, and a later
                # modify or cancel answers ORDER_OWNED_BY_OTHER_CLIENT_ID naming this one.
                return dataclasses.replace(request, client_id=client_id)
        return request

    async def _complete_acquire(self, lease: LeaseRecord) -> LeaseRecord:
        try:
            await self._writes.bridge(self._store.save_acquire(lease))
        except StoreError as err:
            self._abort_acquire(lease, persist=False)
            raise store_failed(err, "the lease could not be stored") from err
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
        active_tally.add(1, lease.gateway)
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
        await self._writes.wait(self._store.save_renew(lease))
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
        await self._writes.wait(write)
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
        """Expire leases that are due, close sessions of ended PROXIED leases, retry the sessions
        that failed to reopen after a restart, and free the quarantined IDs whose cool-down has
        passed and that are proven free. The sweeper task
        runs this every ``leases.sweep_interval``; tests call it after moving a ManualClock."""
        async with self._sweep_lock:
            now = self._now()
            self._expire_due(now)
            for gateway, client_id in sorted(self._session_open):
                if self._table.holder(gateway, client_id) is None:
                    await self._close_session(gateway, client_id)
            self._session_open.update(await self._reopener.retry_due(now, self._table.holder))
            due = [q for q in self._table.due_quarantines(now) if q.key not in self._session_open]
            await asyncio.gather(*(self._prove_free(q) for q in due))
            self._table.prune(now)

    async def _tick_forever(self) -> None:
        """Every ``sweep_interval``: notice a pause, and mark the broker alive. Apart from the
        sweeper, whose probes may take seconds."""
        while True:
            await asyncio.sleep(self.config.leases.sweep_interval)
            now = self._now()
            try:
                self._expire_due(now)
            except Exception:
                log.exception("lease_tick_failed")
            self._time.mark_alive(now)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.leases.sweep_interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("lease_sweep_failed")

    def _detect_pause(self, now: float) -> None:
        """Give every lease its one grace when the broker was paused (SIGSTOP, a stalled host or
        loop): the sweeper ticks every ``sweep_interval``, and every expiry passes here first,
        so a gap of more than ``pause_threshold`` since the last pass means the broker could not
        serve renewals that clients sent on time. Only with the sweeper running."""
        gap = self._time.pause()
        if gap is None:
            return
        graced = self._table.grant_pause_grace(now)
        _pauses_counter.add(1)
        log_event(
            log,
            logging.WARNING,
            "lease_pause_detected",
            paused=round(gap, 3),
            graced=len(graced),
            threshold=self.config.leases.pause_threshold,
        )

    def _expire_due(self, now: float) -> None:
        self._detect_pause(now)
        for lease, quarantine in self._table.expire_due(now):
            self._writes.track(self._store.save_end(lease, quarantine))
            self._ended(lease, quarantine, now)

    def _ended(self, lease: LeaseRecord, quarantine: Quarantine, now: float) -> None:
        kind = (
            LeaseEventKind.RELEASED
            if lease.state is LeaseState.RELEASED
            else LeaseEventKind.EXPIRED
        )
        if lease.lease_id in self._counted:
            self._counted.discard(lease.lease_id)
            active_tally.add(-1, lease.gateway)
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
        free = await self._gateway.is_free(quarantine)
        if self._table.holder(gateway, client_id) is not None:
            return
        now = self._now()
        if free:
            if self._table.free(gateway, client_id):
                self._writes.track(self._store.save_free(gateway, client_id))
                self._publisher.emit(LeaseEventKind.FREED, gateway, client_id, now)
            return
        reason = QuarantineReason.IN_USE if free is False else QuarantineReason.PROBE_FAILED
        again = self._table.requarantine(gateway, client_id, now, reason)
        self._writes.track(self._store.save_quarantine(again))
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
