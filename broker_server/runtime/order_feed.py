"""The IB side of the order manager: what a session's order events do to the journal.

A mixin of :class:`~broker_server.runtime.orders.OrderManager` (one concern per module): an
openOrder/orderStatus moves the entry through the state table (the library's own "Cancelled"
after an IB error is read through the error table), a fill and its commission are published
once per exec ID, and an IB error about an order sets its state (201 REJECTED, 100/103 UNKNOWN
then reconciliation) or fails the modify/cancel waiting for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from broker_server.domain.clock import Clock
from broker_server.domain.errors import DomainError
from broker_server.domain.journal import JournalEntry
from broker_server.domain.order_errors import classify_order_error
from broker_server.domain.order_ids import OrderIdAllocator, OrderIdScope
from broker_server.domain.order_state import OrderState
from broker_server.domain.order_status import status_state
from broker_server.domain.trading_views import ExecutionView
from broker_server.ib import orders as ib_orders
from broker_server.logs import log_event
from broker_server.runtime.order_ledger import OrderLedger

log = logging.getLogger("ibbroker.orders")

S = OrderState


class OrderFeedHandlers:
    """IB order events -> journal (mixed into the order manager, which sets the fields)."""

    ledger: OrderLedger
    _clock: Clock
    _ids: OrderIdAllocator
    _amending: set[str]
    _acked: set[str]
    _errors: dict[str, DomainError]
    _changed: dict[str, list[asyncio.Event]]
    _schedule_reconcile: Callable[[str, float, str], None]

    def _notify(self, order_ref: str) -> None:
        for event in self._changed.pop(order_ref, ()):
            event.set()

    def _find_ib(
        self, gateway: str, order_ref: str, client_id: int, order_id: int
    ) -> JournalEntry | None:
        entry = self.ledger.by_ref(order_ref) if order_ref else None
        if entry is None and order_id:
            entry = self.ledger.by_order_id(gateway, client_id, order_id)
        return entry

    def _on_update(self, gateway: str, u: ib_orders.OrderUpdate) -> None:
        if u.order_id > 0 and u.client_id > 0:
            self._ids.observe_used(OrderIdScope(gateway, u.client_id), u.order_id)
        entry = self._find_ib(gateway, u.order_ref, u.client_id, u.order_id)
        if entry is None:
            return
        state = status_state(u.status, u.error_code, entry, u.filled)
        if state is None or (entry.order_ref in self._amending and state is S.REJECTED):
            state = entry.state
        self.ledger.change(
            entry, state, f"IB {u.status}", self._clock.wall(),
            perm_id=u.perm_id or None, filled_quantity=u.filled,
            average_fill_price=u.average_fill_price,
            message=u.message if u.error_code else None,
            ib_error_code=u.error_code or None,
        )  # fmt: skip
        if entry.order_ref in self._amending:
            self._acked.add(entry.order_ref)
        self._notify(entry.order_ref)

    def _on_fill(self, gateway: str, view: ExecutionView) -> None:
        e = view.execution
        entry = self._find_ib(gateway, e.order_ref, e.client_id, e.order_id)
        if entry is not None:
            self.ledger.publish_fill(entry, view)

    def _on_commission(self, gateway: str, view: ExecutionView) -> None:
        e = view.execution
        entry = self._find_ib(gateway, e.order_ref, e.client_id, e.order_id)
        if entry is not None:
            self.ledger.publish_commission(entry, view)

    def _on_error(self, gateway: str, client_id: int, req_id: int, code: int, text: str) -> None:
        entry = self.ledger.by_order_id(gateway, client_id, req_id) if req_id > 0 else None
        if entry is None:
            return
        outcome = classify_order_error(code, text, entry.order_ref)
        if outcome.warning and outcome.state is None:
            return
        now = self._clock.wall()
        amending = entry.order_ref in self._amending
        if outcome.error is not None and amending:
            self._errors[entry.order_ref] = outcome.error
        state = outcome.state
        if state is not None and not (amending and state in (S.REJECTED, S.UNKNOWN)):
            self.ledger.change(
                entry, state, f"IB error {code}", now, message=text, ib_error_code=code
            )
            if state is S.UNKNOWN:
                self._schedule_reconcile(gateway, now, f"IB error {code}")
        log_event(log, logging.INFO, "order_ib_error", gateway=gateway, client_id=client_id,
                  order_id=req_id, order_ref=entry.order_ref, code=code, text=text[:200])  # fmt: skip
        self._notify(entry.order_ref)
