"""The order manager: PlaceOrder / ModifyOrder / CancelOrder exactly once, order events.

Orders ride on the caller's PROXIED lease: the lease is checked (owner, epoch, live) through the
lease manager, the session of its client ID is taken as a generation-fenced
:class:`~broker_server.runtime.handles.SessionHandle` (breaker, reconnect and 1100 checks), the
message is paced on that session's :class:`~broker_server.runtime.pacing.SessionPacer` (lanes
CANCEL > ORDER > READ) and the durable intent is journaled **before** anything reaches IB
(``docs/trading.md``, "Exactly once"). Order IDs come from the domain's allocator:
``max(nextValidId, high-water + 1)``, the high-water persisted with the intent.

IB's answers arrive as events of the session that carried the order (:class:`OrderFeed`, one per
session generation) and move the journal entries through the ledger, which persists, logs and
publishes them. A drop (a GAP on a session), a restart, an IB 100/103 make outcomes unknown:
:mod:`~broker_server.runtime.order_reconcile` settles them from IB's lists, never by resending.
Only an entry reconciled NOT_SENT is sent again, when its PlaceOrder is retried with its key.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence

from broker_server.aio import within
from broker_server.config import BrokerConfig
from broker_server.domain.clock import Clock
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.events import ConnectionEvent, EventKind
from broker_server.domain.journal import (
    OUTCOME_RETRY_AFTER,
    IdempotencyDecision,
    IdempotencyOutcome,
    JournalEntry,
    check_amendable,
    check_order_lease,
    decide,
    find_entry,
    plan_entries,
    plan_resend,
)
from broker_server.domain.leases import LeaseMode, LeaseRecord
from broker_server.domain.order_events import OrderEventKind, OrderEventRecord, transition_event
from broker_server.domain.order_identity import parameter_hash
from broker_server.domain.order_ids import OrderIdAllocator, OrderIdScope
from broker_server.domain.order_state import OrderState, OrderTransition
from broker_server.domain.orders import BracketRole, BracketSpec, OrderSpec
from broker_server.domain.pacing import Lane
from broker_server.domain.reasons import FailureReason
from broker_server.ib import orders as ib_orders
from broker_server.logs import log_event
from broker_server.runtime.connections import ConnectionManager
from broker_server.runtime.handles import SessionHandle, StaleSessionError
from broker_server.runtime.leases import LeaseManager
from broker_server.runtime.order_feed import OrderFeedHandlers
from broker_server.runtime.order_ledger import OrderLedger
from broker_server.runtime.order_reconcile import Reconciler
from broker_server.runtime.session_pacing import SessionPacers
from broker_server.runtime.trading_reads import TradingReads
from broker_server.store.journal_base import OrderJournal

log = logging.getLogger("ibbroker.orders")

S = OrderState
_Session = tuple[str, int]


class OrderManager(OrderFeedHandlers):
    """Orders through PROXIED leases, exactly once (see the module docstring)."""

    def __init__(
        self,
        config: BrokerConfig,
        connections: ConnectionManager,
        leases: LeaseManager,
        journal: OrderJournal,
        clock: Clock,
    ) -> None:
        self.config = config
        self._tc = config.trading
        self._connections = connections
        self._leases = leases
        self._journal = journal
        self._clock = clock
        self.ledger = OrderLedger(
            journal,
            queue_size=config.server.watcher_queue_size,
            first_sequence=int(clock.wall() * 1000),
        )
        """The journal in memory and the order-event stream (``ledger.events``)."""
        self.ledger.clock_wall = clock.wall
        self._ids = OrderIdAllocator()
        self.pacers = SessionPacers(config.trading, clock)
        """One pacer per IB session, charged with the library's own messages too."""
        self._feeds: dict[_Session, tuple[int, ib_orders.OrderFeed]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._changed: dict[str, list[asyncio.Event]] = {}
        self._errors: dict[str, DomainError] = {}
        self._amending: set[str] = set()
        self._acked: set[str] = set()
        self._unregister: Callable[[], None] | None = None
        self._running = False
        self.after_journal: Callable[[Sequence[JournalEntry]], None] | None = None
        """Fault-injection point for tests: called right after an intent is durable, before
        anything is sent (a test makes it SIGKILL the process)."""
        self.reconciler = Reconciler(
            self.ledger, connections, clock, config.trading, on_done=self._reconciled
        )
        """Reconciliation per gateway, retried until IB can be read."""
        self.reads = TradingReads(config, connections, self.pacers.pace)
        """Read-only calls on the data session."""

    # --- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the journal; mark what a previous process left in flight UNKNOWN; reconcile."""
        snap = await asyncio.wrap_future(self._journal.load())
        self.ledger.events.continue_after(snap.last_sequence)  # stored numbers are never reused
        self._ids.load(snap.high_water)
        self.ledger.load(snap.entries, snap.reported_exec_ids)
        now = self._clock.wall()
        oldest: dict[str, float] = {}
        for entry in self.ledger.unsettled():
            if entry.state in (S.PENDING, S.SUBMITTED):
                self.ledger.change(entry, S.UNKNOWN, "broker restarted before knowing", now)
            oldest[entry.gateway] = min(oldest.get(entry.gateway, now), entry.updated_at)
        await self.ledger.flush()
        self._unregister = self._connections.register_state_callback(self._on_connection)
        self._running = True
        for gateway, since in oldest.items():
            self._schedule_reconcile(gateway, since, "broker restarted")
        for entry in self.ledger.unsettled():
            self._listen(entry.gateway, entry.client_id)
            self.reconciler.watch_orphans(entry.gateway, self._orphaned)

    async def stop(self, reason: str = "broker shutting down") -> None:
        """End the streams with FINAL, stop reconciling and pacing, flush the journal."""
        self._running = False
        self.ledger.close(self._clock.wall(), reason)
        if self._unregister is not None:
            self._unregister()
        await self.reconciler.stop()
        for _gen, feed in self._feeds.values():
            feed.detach()
        await self.pacers.close()
        await self.ledger.flush()

    def working_client_ids(self, gateway: str, owner: str) -> list[int]:
        """Client IDs of ``gateway`` holding ``owner``'s unfinished orders, newest first (the
        lease manager offers them first on a PROXIED acquire: only the placing client ID may
        modify or cancel an order)."""
        entries = sorted(
            (e for e in self.ledger.unsettled() if e.gateway == gateway and e.owner == owner),
            key=lambda e: e.created_at,
            reverse=True,
        )
        return list(dict.fromkeys(e.client_id for e in entries))

    def end_streams(self, reason: str) -> None:
        """End every WatchOrderEvents stream after FINAL (idempotent)."""
        self.ledger.close(self._clock.wall(), reason)

    # --- sessions --------------------------------------------------------------------------

    def _attach(self, handle: SessionHandle) -> None:
        """Listen to the order events of the handle's socket (once per generation)."""
        key = (handle.gateway, handle.client_id)
        held = self._feeds.get(key)
        if held is not None and held[0] == handle.generation:
            return
        if held is not None:
            held[1].detach()
        gateway, client_id = key
        feed = ib_orders.OrderFeed(
            handle.session,
            on_update=lambda u: self._on_update(gateway, u),
            on_fill=lambda v: self._on_fill(gateway, v),
            on_commission=lambda v: self._on_commission(gateway, v),
            on_error=lambda req_id, code, text: self._on_error(
                gateway, client_id, req_id, code, text
            ),
        )
        self._feeds[key] = (handle.generation, feed)
        scope = OrderIdScope(gateway, client_id)
        self._ids.observe_next_valid(scope, ib_orders.next_valid_id(handle.session))

    def _lease(self, lease_id: str, owner: str, epoch: int) -> LeaseRecord:
        lease = self._leases.check_fenced(lease_id, owner, epoch)
        check_order_lease(lease.lease_id, lease.mode is LeaseMode.PROXIED)
        return lease

    def _handle(self, lease: LeaseRecord) -> SessionHandle:
        handle = self._connections.acquire_handle(lease.gateway, lease.client_id, for_orders=True)
        self._attach(handle)
        return handle

    # --- PlaceOrder ------------------------------------------------------------------------

    async def place(
        self,
        *,
        lease_id: str,
        epoch: int,
        owner: str,
        key: str,
        request: OrderSpec | BracketSpec,
        deadline: float,
        check: Callable[[str], Awaitable[None]] | None = None,
    ) -> tuple[list[JournalEntry], bool]:
        """Place one order or a bracket under ``key``; returns its entries and ``replayed``.

        ``request`` is parsed; ``check(gateway)`` (the contract and its increments,
        :meth:`TradingReads.check_order`) runs for a new order before anything is journaled. Waits up to ``trading.ack_timeout`` (and the
        call's ``deadline`` in seconds) for IB's answer; returns the entries as they stand.
        """
        lease = self._lease(lease_id, owner, epoch)
        phash = parameter_hash(request)
        lock = self._locks.setdefault((owner, key), asyncio.Lock())
        wait = min(self._tc.ack_timeout, max(deadline, 0.0))
        for attempt in range(2):
            async with lock:
                decision = decide(phash, self.ledger.by_key(owner, key))
                if decision.outcome is not IdempotencyOutcome.REPLAY:
                    refs = await self._place_new(
                        lease, owner, key, request, phash, decision, deadline, check
                    )
                    await self._wait(refs, functools.partial(self._settled, refs), wait)
                    return [self._entry(r) for r in refs], False
                refs = [e.order_ref for e in decision.entries]
            if self._settled(refs) or attempt:
                break
            # A retry of an order whose outcome is being reconciled: wait for the verdict; if
            # it is NOT_SENT the loop sends it now, under the same key.
            await self._wait(refs, functools.partial(self._settled, refs), wait)
        return [self._entry(r) for r in refs], True

    def _settled(self, refs: Sequence[str]) -> bool:
        return all(not self._entry(r).state.needs_reconcile for r in refs)

    async def _place_new(
        self,
        lease: LeaseRecord,
        owner: str,
        key: str,
        request: OrderSpec | BracketSpec,
        phash: str,
        decision: IdempotencyDecision,
        deadline: float,
        check: Callable[[str], Awaitable[None]] | None,
    ) -> list[str]:
        """Check, pace, reserve IDs, then journal and send (shielded: a caller that gives up
        after the intent is durable never leaves it unsent or half sent)."""
        self._handle(lease)  # fail fast: breaker, reconnect, 1100
        if check is not None:
            await check(lease.gateway)
        handle = self._handle(lease)
        count = 3 if isinstance(request, BracketSpec) else 1
        await self.pacers.pace(handle, Lane.ORDER, deadline, cost=count)
        handle.check()  # before the intent: a stale handle leaves nothing behind
        scope = OrderIdScope(lease.gateway, lease.client_id)
        self._ids.observe_next_valid(scope, ib_orders.next_valid_id(handle.session))
        reservations = self._ids.reserve(scope, count)
        now = self._clock.wall()
        changes: list[OrderTransition] = []
        if decision.outcome is IdempotencyOutcome.NEW:
            entries = plan_entries(
                owner=owner, key=key, request=request, param_hash=phash,
                gateway=lease.gateway, client_id=lease.client_id,
                reservations=reservations, now=now,
            )  # fmt: skip
        else:  # RESEND: reconciled NOT_SENT; same key and orderRef, fresh order IDs
            resent = plan_resend(
                decision.entries, client_id=lease.client_id, reservations=reservations, now=now
            )
            entries = tuple(e for e, _c in resent)
            changes = [c for _e, c in resent]
        task = asyncio.get_running_loop().create_task(
            self._journal_and_send(handle, entries, changes)
        )
        await asyncio.shield(task)
        return [e.order_ref for e in entries]

    async def _journal_and_send(
        self,
        handle: SessionHandle,
        entries: Sequence[JournalEntry],
        changes: Sequence[OrderTransition] = (),
    ) -> None:
        await self.ledger.journal_intents(entries)
        now = self._clock.wall()
        for entry, change in zip(entries, changes, strict=False):  # a resend: NOT_SENT -> PENDING
            self.ledger.publish(transition_event(entry, change, now))
        if self.after_journal is not None:
            self.after_journal(entries)
        self._send(handle, entries)

    def _send(self, handle: SessionHandle, entries: Sequence[JournalEntry]) -> None:
        """Write the journaled entries to IB (a bracket: ``transmit`` on the last one only)."""
        try:
            session = handle.session
        except StaleSessionError:
            now = self._clock.wall()
            for e in entries:  # provably never written to any socket
                self.ledger.change(e, S.NOT_SENT, "session replaced before send", now)
            raise
        bracket = len(entries) > 1
        for index, entry in enumerate(entries):
            oca = entry.order_ref[:-2] + "-oca" if bracket and index > 0 else ""
            ib_orders.place(session, entry, transmit=index == len(entries) - 1, oca_group=oca)
            self.ledger.change(entry, S.SUBMITTED, "sent", self._clock.wall())

    def _entry(self, order_ref: str) -> JournalEntry:
        entry = self.ledger.by_ref(order_ref)
        assert entry is not None
        return entry

    async def _wait(self, refs: Sequence[str], done: Callable[[], bool], seconds: float) -> None:
        """Wait until ``done()`` (checked after each change of one of ``refs``) or ``seconds``."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while not done():
            remaining = end - loop.time()
            if remaining <= 0:
                return
            event = asyncio.Event()
            for ref in refs:
                self._changed.setdefault(ref, []).append(event)
            with contextlib.suppress(TimeoutError):
                await within(event.wait(), remaining)

    # --- ModifyOrder / CancelOrder ---------------------------------------------------------

    def find(self, owner: str, key: str, role: BracketRole) -> JournalEntry:
        """The caller's order (NOT_FOUND for another owner's or an unknown key)."""
        return find_entry(self.ledger.by_key(owner, key), owner, key, role)

    async def modify(
        self,
        *,
        lease_id: str,
        epoch: int,
        owner: str,
        key: str,
        role: BracketRole,
        spec: OrderSpec,
        deadline: float,
    ) -> JournalEntry:
        """Change a working order to ``spec`` (checked by the caller)."""
        lease = self._lease(lease_id, owner, epoch)
        entry = self.find(owner, key, role)
        check_amendable(entry, lease.client_id, "modify")
        new_spec = spec
        handle = self._handle(lease)
        await self.pacers.pace(handle, Lane.ORDER, deadline)
        entry = self._entry(entry.order_ref)
        check_amendable(entry, lease.client_id, "modify")
        ref = entry.order_ref
        self._errors.pop(ref, None)
        self._acked.discard(ref)
        self._amending.add(ref)
        try:
            ib_orders.modify(handle.session, entry, new_spec)
            await self._wait(
                [ref],
                lambda: ref in self._errors or ref in self._acked,
                min(self._tc.ack_timeout, max(deadline, 0.0)),
            )
        finally:
            self._amending.discard(ref)
        error = self._errors.pop(ref, None)
        if error is not None:
            raise error
        if ref not in self._acked:
            raise DomainError(
                ErrorKind.UNAVAILABLE, FailureReason.OUTCOME_UNKNOWN,
                f"IB has not answered the modify of {ref} yet; read the order or retry",
                retry_after=OUTCOME_RETRY_AFTER, metadata={"order_ref": ref},
            )  # fmt: skip
        self._acked.discard(ref)
        now = self._clock.wall()
        current = dataclasses.replace(self._entry(ref), spec=new_spec, updated_at=now)
        self.ledger.save([current])
        self.ledger.publish(
            OrderEventRecord(
                OrderEventKind.MODIFIED, now, current.gateway, entry=current, reason="modified"
            )
        )
        log_event(log, logging.INFO, "order_modified", order_ref=ref, gateway=current.gateway)
        return current

    async def cancel(
        self, *, lease_id: str, epoch: int, owner: str, key: str, role: BracketRole, deadline: float
    ) -> JournalEntry:
        """Cancel an order; a cancelled order is returned as it is (idempotent)."""
        lease = self._lease(lease_id, owner, epoch)
        entry = self.find(owner, key, role)
        if entry.state is S.CANCELLED:
            return entry
        check_amendable(entry, lease.client_id, "cancel")
        if entry.state is S.NOT_SENT:  # journal only: a retried PlaceOrder must not send it
            return self.ledger.change(
                entry, S.CANCELLED, "cancelled before it was sent", self._clock.wall()
            )
        handle = self._handle(lease)
        await self.pacers.pace(handle, Lane.CANCEL, deadline)
        entry = self._entry(entry.order_ref)
        check_amendable(entry, lease.client_id, "cancel")
        self._errors.pop(entry.order_ref, None)
        self._amending.add(entry.order_ref)
        try:
            ib_orders.cancel(handle.session, entry)
            self.ledger.change(entry, S.PENDING_CANCEL, "cancel sent", self._clock.wall())
            await self._wait(
                [entry.order_ref],
                lambda: (
                    entry.order_ref in self._errors or self._entry(entry.order_ref).state.terminal
                ),
                min(self._tc.ack_timeout, max(deadline, 0.0)),
            )
        finally:
            self._amending.discard(entry.order_ref)
        error = self._errors.pop(entry.order_ref, None)
        current = self._entry(entry.order_ref)
        if error is not None and not current.state.terminal:
            if current.state is S.PENDING_CANCEL:  # refused: back to working
                back = S.PARTIALLY_FILLED if current.filled_quantity > 0 else S.ACKNOWLEDGED
                self.ledger.change(current, back, "cancel refused", self._clock.wall())
            raise error
        return current

    def _on_connection(self, event: ConnectionEvent) -> None:
        """A session dropped: what it carried without an answer is UNKNOWN. A GAP (reconnect
        restored): reconcile that gateway's orders of the session's client ID."""
        if not self._running:
            return
        if event.kind is EventKind.TRANSITION and event.previous_state.value == "CONNECTED":
            now = self._clock.wall()
            for entry in self.ledger.unsettled():
                if (entry.gateway, entry.client_id) == (event.gateway, event.client_id) and (
                    entry.state is S.SUBMITTED
                ):
                    self.ledger.change(entry, S.UNKNOWN, f"session lost: {event.reason}", now)
                    self._notify(entry.order_ref)
        elif event.kind is EventKind.GAP:
            self._schedule_reconcile(
                event.gateway, event.gap_start or self._clock.wall(), "gateway reconnected"
            )
        if event.state is ConnectionState.CONNECTED:
            self._listen(event.gateway, event.client_id)
        elif event.state is ConnectionState.DISCONNECTED:  # closed: its lease ended
            self.reconciler.watch_orphans(event.gateway, self._orphaned)

    def _orphaned(self, gateway: str, client_id: int) -> bool:
        """Whether the broker holds no session of ``client_id`` on ``gateway`` any more."""
        try:
            self._connections.supervisor(gateway, client_id)
        except DomainError:
            return True
        return False

    def _listen(self, gateway: str, client_id: int) -> None:
        """Follow the order events of a session that carried orders still working (after a
        reconnect or a restart, before any new call through its lease)."""
        if not any(
            (e.gateway, e.client_id) == (gateway, client_id) for e in self.ledger.unsettled()
        ):
            return
        # Not usable now (DomainError): the next CONNECTED event tries again.
        with contextlib.suppress(DomainError):
            self._attach(self._connections.acquire_handle(gateway, client_id))

    # --- reconciliation --------------------------------------------------------------------

    def _schedule_reconcile(self, gateway: str, gap_start: float, reason: str) -> None:
        self.reconciler.schedule(gateway, gap_start, reason)

    def _reconciled(self) -> None:
        for ref in list(self._changed):
            self._notify(ref)

    async def reconcile_now(self, gateway: str, reason: str = "requested") -> None:
        """Reconcile ``gateway`` now and wait for it (tests, operators)."""
        await self.reconciler.run_now(gateway, reason)

    def __repr__(self) -> str:
        return f"<OrderManager orders={len(self.ledger.entries())} events={self.ledger.events.sequence}>"
