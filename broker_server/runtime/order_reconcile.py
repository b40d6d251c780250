"""Reconciliation at run time: read IB's lists on the gateway's data session, decide with the
pure :func:`~broker_server.domain.reconcile.reconcile`, persist, publish GAP + fills + changes.

Runs at start-up (every entry a previous process left unsettled) and after each reconnect of a
session (a GAP: fills may have been missed, orders sent on the old socket have an unknown
outcome). The lists are read on the data session, opened after the socket that carried the
orders (a session's generation is newer after any reconnect), so nothing sent on the old
socket can still be in flight. With real TWS, give the data session's client ID the "master
API client ID" setting so that its reqExecutions and reqCompletedOrders cover every client ID.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from opentelemetry import trace

from broker_server.config import TradingConfig
from broker_server.domain.clock import Clock
from broker_server.domain.errors import DomainError
from broker_server.domain.order_events import recovery_events
from broker_server.domain.order_state import OrderState
from broker_server.domain.reconcile import reconcile
from broker_server.domain.trading_views import ExecutionView
from broker_server.ib import orders as ib_orders
from broker_server.logs import log_event
from broker_server.runtime.connections import ConnectionManager
from broker_server.runtime.handles import SessionHandle
from broker_server.runtime.order_ledger import OrderLedger
from broker_server.telemetry import ib_span

log = logging.getLogger("ibbroker.orders")


async def reconcile_gateway(
    ledger: OrderLedger,
    handle: SessionHandle,
    *,
    gateway: str,
    gap_start: float,
    now: Callable[[], float],
    limit: float,
    reason: str,
    client_id: int | None = None,
    quiet: bool = False,
) -> int:
    """Reconcile ``gateway``'s unsettled entries (of one client ID, or all); returns how many
    changed. Raises what the reads raise (stale handle, timeout): the caller retries."""
    entries = [
        e
        for e in ledger.unsettled()
        if e.gateway == gateway and (client_id is None or e.client_id == client_id)
    ]
    session = handle.session
    attributes = {"ib.gateway": gateway, "orders.unsettled": len(entries), "reason": reason}
    with ib_span("orders.reconcile", attributes, trace.SpanKind.INTERNAL):
        open_rows = await ib_orders.open_orders(session, limit)
        done_rows = await ib_orders.completed_orders(session, limit)
        views = await ib_orders.executions(session, limit)
    handle.check()  # the lists came from one socket, opened after the orders' socket
    result = reconcile(
        entries,
        [o for o, _t in open_rows],
        [c for c, _t in done_rows],
        [v.execution for v in views],
        already_reported=frozenset(ledger.reported),
    )
    at = now()
    updated, events = recovery_events(
        result, gateway=gateway, gap_start=gap_start, now=at, reason=reason
    )
    by_exec: dict[str, ExecutionView] = {v.execution.exec_id: v for v in views}
    if quiet and not updated and not result.new_fills:
        return 0  # a periodic look found nothing new: no GAP for watchers
    changed = 0
    for entry in updated:
        ledger.save([entry])
    for record in events:
        if record.fill is not None and record.entry is not None:
            view = by_exec.get(record.fill.exec_id)
            if view is not None:
                ledger.publish_fill(record.entry, view)
                ledger.publish_commission(record.entry, view)
            continue
        if record.previous_state is not None:
            changed += 1
            log_event(
                log,
                logging.INFO,
                "order_state",
                gateway=gateway,
                order_ref=record.entry.order_ref if record.entry else "",
                previous_state=record.previous_state.value,
                state=record.entry.state.value if record.entry else "",
                reason=record.reason,
            )
        ledger.publish(record)
    log_event(
        log,
        logging.INFO,
        "orders_reconciled",
        gateway=gateway,
        entries=len(entries),
        changed=changed,
        new_fills=len(result.new_fills),
        unknown=sum(1 for d in result.decisions if d.state is OrderState.UNKNOWN),
        reason=reason,
    )
    return changed


class Reconciler:
    """Runs :func:`reconcile_gateway` per gateway in the background, one run at a time, retried
    every ``trading.reconcile_retry`` seconds until IB's lists could be read."""

    def __init__(
        self,
        ledger: OrderLedger,
        connections: ConnectionManager,
        clock: Clock,
        config: TradingConfig,
        *,
        on_done: Callable[[], None],
    ) -> None:
        self._ledger = ledger
        self._connections = connections
        self._clock = clock
        self._config = config
        self._on_done = on_done
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._orphans: dict[str, asyncio.Task[None]] = {}
        self._running = True

    def schedule(self, gateway: str, gap_start: float, reason: str) -> None:
        """Reconcile ``gateway`` soon (no-op when nothing there is unsettled or a run is on)."""
        if not self._running or not any(e.gateway == gateway for e in self._ledger.unsettled()):
            return  # nothing IB could have changed behind the broker's back
        task = self._tasks.get(gateway)
        if task is not None and not task.done():
            return
        self._tasks[gateway] = asyncio.get_running_loop().create_task(
            self._until_done(gateway, gap_start, reason), name=f"reconcile {gateway}"
        )

    def watch_orphans(self, gateway: str, is_orphan: Callable[[str, int], bool]) -> None:
        """While ``gateway`` has unsettled orders whose session the broker no longer holds
        (``is_orphan(gateway, client_id)``), reconcile it every ``orphan_poll_interval``."""
        task = self._orphans.get(gateway)
        if not self._running or (task is not None and not task.done()):
            return
        self._orphans[gateway] = asyncio.get_running_loop().create_task(
            self._poll_orphans(gateway, is_orphan), name=f"orphan orders {gateway}"
        )

    async def _poll_orphans(self, gateway: str, is_orphan: Callable[[str, int], bool]) -> None:
        while self._running:
            if not any(
                e.gateway == gateway and is_orphan(gateway, e.client_id)
                for e in self._ledger.unsettled()
            ):
                return
            # The poll period from the configuration: IB sends nothing for these orders.
            await asyncio.sleep(self._config.orphan_poll_interval)
            try:
                handle = await self._connections.data_handle(gateway)
                await reconcile_gateway(
                    self._ledger, handle, gateway=gateway, gap_start=self._clock.wall(),
                    now=self._clock.wall, limit=self._config.request_timeout,
                    reason="orders of an ended session", quiet=True,
                )  # fmt: skip
                self._on_done()
            except (DomainError, TimeoutError, ConnectionError) as err:
                log_event(
                    log,
                    logging.WARNING,
                    "orphan_poll_failed",
                    gateway=gateway,
                    error=str(err)[:300],
                )

    async def run_now(self, gateway: str, reason: str) -> None:
        """Schedule and wait for the run."""
        self.schedule(gateway, self._clock.wall(), reason)
        task = self._tasks.get(gateway)
        if task is not None:
            await task

    async def _until_done(self, gateway: str, gap_start: float, reason: str) -> None:
        while self._running:
            try:
                handle = await self._connections.data_handle(gateway)
                await reconcile_gateway(
                    self._ledger, handle, gateway=gateway, gap_start=gap_start,
                    now=self._clock.wall, limit=self._config.request_timeout, reason=reason,
                )  # fmt: skip
                self._on_done()
                return
            except (DomainError, TimeoutError, ConnectionError) as err:
                log_event(
                    log, logging.WARNING, "reconcile_retry", gateway=gateway, error=str(err)[:300]
                )
            # A retry interval from the configuration, not a blind wait for a condition.
            await asyncio.sleep(self._config.reconcile_retry)

    async def stop(self) -> None:
        """Cancel the runs in progress."""
        self._running = False
        tasks = [*self._tasks.values(), *self._orphans.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
