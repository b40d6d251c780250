"""Orders and read-only requests on an IB session, in the domain's terms.

The only module that knows how the client library spells orders, contracts, fills and order
events: it builds library ``Contract``/``Order`` objects from the domain's values, sends them,
reads IB's lists (open and completed orders, executions, positions, account summary, contract
details) into domain values, and turns the library's order events into :class:`OrderUpdate`,
fills and errors for the runtime (:class:`OrderFeed`).

Prices cross to IB as floats (the wire protocol carries doubles) and come back through
:func:`~broker_server.domain.trading_views.ib_decimal`; everything above this module is
decimal.

Every request is a CLIENT span (``ib.place_order``, ``ib.req_contract_details``...; see
docs/observability.md), a child of the RPC span that caused it, when a tracer is installed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from broker_server.aio import within
from broker_server.domain.journal import JournalEntry
from broker_server.domain.orders import ContractRef, OrderSpec, OrderType, Side, TimeInForce
from broker_server.domain.reconcile import IbCompletedOrder, IbExecution, IbOpenOrder
from broker_server.domain.trading_views import (
    AccountValueView,
    ContractDetailsView,
    ExecutionView,
    PositionView,
    ib_decimal,
)
from broker_server.ib import library
from broker_server.ib.session import IBSession
from broker_server.telemetry import ib_span

_SIDES = {"BOT": Side.BUY, "BUY": Side.BUY, "SLD": Side.SELL, "SELL": Side.SELL}


def _lib(session: IBSession) -> Any:
    return library.load(session.config.ib_library)


def _attributes(session: IBSession, **more: Any) -> dict[str, Any]:
    """A span's attributes: the gateway, the client ID, and ``more``."""
    return {"ib.gateway": session.config.name, "ib.client_id": session.client_id, **more}


def _order_attributes(session: IBSession, entry: JournalEntry) -> dict[str, Any]:
    """An order request's span attributes: the session's, the order ID, orderRef and role."""
    attributes = _attributes(session)
    attributes.update(
        {"ib.order_id": entry.order_id, "ib.order_ref": entry.order_ref, "ib.role": entry.role.name}
    )
    return attributes


def _num(text: str) -> float:
    return float(text) if text.strip() else 0.0


def ib_contract(session: IBSession, ref: ContractRef) -> Any:
    """A library Contract for ``ref``."""
    return _lib(session).Contract(
        conId=ref.con_id,
        symbol=ref.symbol,
        secType=ref.sec_type or ("" if ref.con_id else "STK"),
        exchange=ref.exchange or ("SMART" if not ref.con_id else ""),
        primaryExchange=ref.primary_exchange,
        currency=ref.currency,
        localSymbol=ref.local_symbol,
        tradingClass=ref.trading_class,
        lastTradeDateOrContractMonth=ref.last_trade_date_or_contract_month,
        strike=_num(ref.strike),
        right=ref.right,
        multiplier=ref.multiplier,
    )


def contract_ref(c: Any) -> ContractRef:
    """A library Contract as a domain ContractRef."""
    strike = ib_decimal(getattr(c, "strike", 0.0))
    return ContractRef(
        con_id=int(c.conId or 0),
        symbol=c.symbol or "",
        sec_type=c.secType or "",
        exchange=c.exchange or "",
        primary_exchange=c.primaryExchange or "",
        currency=c.currency or "",
        local_symbol=c.localSymbol or "",
        trading_class=c.tradingClass or "",
        last_trade_date_or_contract_month=c.lastTradeDateOrContractMonth or "",
        strike=str(strike) if strike else "",
        right=c.right or "",
        multiplier=c.multiplier or "",
    )


def ib_order(
    session: IBSession, entry: JournalEntry, *, transmit: bool = True, oca_group: str = ""
) -> Any:
    """A library Order for a journal entry: its order ID, orderRef, and the spec's fields."""
    spec = entry.spec
    order = _lib(session).Order(
        orderId=entry.order_id,
        clientId=entry.client_id,
        action=spec.side.value,
        totalQuantity=float(spec.quantity),
        orderType=spec.order_type.value,
        tif=spec.time_in_force.value,
        outsideRth=spec.outside_rth,
        account=spec.account,
        orderRef=entry.order_ref,
        transmit=transmit,
        parentId=entry.parent_order_id,
    )
    if spec.limit_price is not None:
        order.lmtPrice = float(spec.limit_price)
    if spec.stop_price is not None:
        order.auxPrice = float(spec.stop_price)
    if oca_group:
        order.ocaGroup = oca_group
        order.ocaType = 1  # cancel the other orders of the group when one fills
    return order


def spec_of(contract: Any, order: Any) -> OrderSpec | None:
    """The domain spec of an order IB reports (an external order); None when not expressible."""
    try:
        order_type = OrderType(order.orderType)
        side = _SIDES[order.action]
        tif = TimeInForce(order.tif or "DAY")
    except (ValueError, KeyError):
        return None
    limit = ib_decimal(order.lmtPrice) if order_type.needs_limit else None
    stop = ib_decimal(order.auxPrice) if order_type.needs_stop else None
    return OrderSpec(
        contract=contract_ref(contract),
        side=side,
        quantity=ib_decimal(order.totalQuantity),
        order_type=order_type,
        limit_price=limit,
        stop_price=stop,
        time_in_force=tif,
        outside_rth=bool(order.outsideRth),
        account=order.account or "",
    )


def next_valid_id(session: IBSession) -> int:
    """The next order ID the library would hand out (from IB's nextValidId, kept by the library)."""
    return int(getattr(session.ib.client, "_reqIdSeq", 0) or 0)


def messages_sent(session: IBSession) -> int:
    """Messages the current socket has sent so far (the library's own count)."""
    return int(session.ib.client.connectionStats().numMsgSent)


def place(session: IBSession, entry: JournalEntry, *, transmit: bool, oca_group: str = "") -> Any:
    """Write one placeOrder to the socket (returns at once; the answer arrives as events)."""
    with ib_span("ib.place_order", _order_attributes(session, entry)):
        contract = ib_contract(session, entry.spec.contract)
        return session.ib.placeOrder(
            contract, ib_order(session, entry, transmit=transmit, oca_group=oca_group)
        )


def modify(session: IBSession, entry: JournalEntry, spec: OrderSpec) -> Any:
    """placeOrder with the entry's order ID and the new spec: a modify of the working order."""

    with ib_span("ib.modify_order", _order_attributes(session, entry)):
        changed = replace(entry, spec=spec)
        contract = ib_contract(session, spec.contract)
        return session.ib.placeOrder(contract, ib_order(session, changed, transmit=True))


def cancel(session: IBSession, entry: JournalEntry) -> None:
    """Write one cancelOrder for the entry's order ID."""
    with ib_span("ib.cancel_order", _order_attributes(session, entry)):
        session.ib.client.cancelOrder(entry.order_id, "")


# --- read-only requests ------------------------------------------------------------------------


async def _keyed(session: IBSession, key: str, start: Callable[[], Any], limit: float) -> Any:
    """A request the library keys by name (``openOrders``, ``completedOrders``, ``positions``):
    a second one in flight would orphan the first's future, so a caller arriving while one is
    pending shares its answer (both asked for the same list) instead of sending another."""
    pending = session.ib.wrapper._futures.get(key)
    future = pending if pending is not None and not pending.done() else start()
    return await within(asyncio.shield(future), limit)


async def current_time(session: IBSession, limit: float) -> float:
    """IB's clock, epoch seconds, on a session whose heartbeat also asks it.

    The library keys reqCurrentTime by name: a newer request (this one, or the session's
    heartbeat) takes over the older one's future, and IB's answer resolves only the newest. So
    a request already in flight is shared, and every future registered while waiting is
    watched: whichever is answered first carries IB's clock, at least as fresh as asked for.
    """
    with ib_span("ib.req_current_time", _attributes(session)):
        return await _current_time(session, limit)


async def _current_time(session: IBSession, limit: float) -> float:
    futures = session.ib.wrapper._futures
    pending = futures.get("currentTime")
    seen: set[asyncio.Future[Any]] = set()
    if pending is not None and not pending.done():
        seen.add(pending)
    else:
        seen.add(session.ib.reqCurrentTimeAsync())
    async with asyncio.timeout(limit):
        while True:
            latest = futures.get("currentTime")
            if latest is not None:
                seen.add(latest)
            for future in seen:
                if future.done() and not future.cancelled() and future.exception() is None:
                    return float(future.result().timestamp())
            # Woken by an answer; the slice only notices a future replaced meanwhile.
            await asyncio.wait(seen, timeout=0.005, return_when=asyncio.FIRST_COMPLETED)


def _split(text: str) -> tuple[str, ...]:
    return tuple(p for p in (text or "").split(",") if p)


def _text_decimal(value: Any) -> str:
    number = ib_decimal(value)
    return str(number) if number else ""


async def contract_details(
    session: IBSession, ref: ContractRef, limit: float
) -> list[ContractDetailsView]:
    """Every match of the query (empty for IB's 200)."""
    query = ref.symbol or ref.local_symbol or str(ref.con_id)
    with ib_span("ib.req_contract_details", _attributes(session, **{"ib.contract": query})) as span:
        contract = ib_contract(session, ref)
        details = await within(session.ib.reqContractDetailsAsync(contract), limit)
        if span is not None:
            span.set_attribute("ib.matches", len(details or []))
    return [
        ContractDetailsView(
            contract=contract_ref(d.contract),
            min_tick=_text_decimal(d.minTick),
            long_name=d.longName or "",
            market_name=d.marketName or "",
            order_types=_split(d.orderTypes),
            valid_exchanges=_split(d.validExchanges),
            time_zone_id=d.timeZoneId or "",
            trading_hours=d.tradingHours or "",
            liquid_hours=d.liquidHours or "",
            industry=d.industry or "",
            category=d.category or "",
            min_size=_text_decimal(getattr(d, "minSize", 0)),
            size_increment=_text_decimal(getattr(d, "sizeIncrement", 0)),
        )
        for d in details or []
    ]


def _open_order(trade: Any) -> IbOpenOrder:
    o, s = trade.order, trade.orderStatus
    return IbOpenOrder(
        order_ref=o.orderRef or "",
        perm_id=int(o.permId or s.permId or 0),
        client_id=int(o.clientId or 0),
        order_id=int(o.orderId or 0),
        status=s.status or "",
        filled=ib_decimal(s.filled),
        average_fill_price=ib_decimal(s.avgFillPrice) or None,
    )


async def open_orders(session: IBSession, limit: float) -> list[tuple[IbOpenOrder, Any]]:
    """Every API client's working orders (reqAllOpenOrders), with their library trades."""
    with ib_span("ib.req_all_open_orders", _attributes(session)):
        trades = await _keyed(session, "openOrders", session.ib.reqAllOpenOrdersAsync, limit)
    return [(_open_order(t), t) for t in trades or []]


async def completed_orders(session: IBSession, limit: float) -> list[tuple[IbCompletedOrder, Any]]:
    """The day's completed orders (reqCompletedOrders), with their library trades."""
    with ib_span("ib.req_completed_orders", _attributes(session)):
        trades = await _keyed(
            session, "completedOrders", lambda: session.ib.reqCompletedOrdersAsync(False), limit
        )
    out = []
    for t in trades or []:
        o, s = t.order, t.orderStatus
        out.append(
            (
                IbCompletedOrder(
                    order_ref=o.orderRef or "",
                    perm_id=int(o.permId or 0),
                    client_id=int(o.clientId or 0),
                    order_id=int(o.orderId or 0),
                    status=s.status or "",
                    filled=ib_decimal(getattr(o, "filledQuantity", 0.0)),
                    reason=getattr(o, "completedStatus", "") or "",
                ),
                t,
            )
        )
    return out


def execution_view(fill: Any) -> ExecutionView:
    """A library Fill as the domain's ExecutionView."""
    e = fill.execution
    report = fill.commissionReport
    has_commission = bool(report is not None and report.execId)
    return ExecutionView(
        execution=IbExecution(
            exec_id=e.execId,
            time=e.time.timestamp() if isinstance(e.time, dt.datetime) else float(e.time or 0),
            order_ref=e.orderRef or "",
            perm_id=int(e.permId or 0),
            client_id=int(e.clientId or 0),
            order_id=int(e.orderId or 0),
            shares=ib_decimal(e.shares),
            price=ib_decimal(e.price),
        ),
        account=e.acctNumber or "",
        contract=contract_ref(fill.contract),
        side=_SIDES.get(e.side, Side.BUY),
        exchange=e.exchange or "",
        cumulative_quantity=ib_decimal(e.cumQty),
        average_price=ib_decimal(e.avgPrice),
        commission=ib_decimal(report.commission) if has_commission else None,
        commission_currency=report.currency if has_commission else "",
        realized_pnl=ib_decimal(report.realizedPNL) if has_commission else None,
    )


async def executions(
    session: IBSession,
    limit: float,
    since: float | None = None,
) -> list[ExecutionView]:
    """Executions (all the session may see) since ``since`` (epoch seconds), with commissions."""
    exec_filter = _lib(session).ExecutionFilter()
    if since is not None:
        exec_filter.time = dt.datetime.fromtimestamp(since, dt.UTC).strftime("%Y%m%d-%H:%M:%S")
    with ib_span("ib.req_executions", _attributes(session)):
        fills = await within(session.ib.reqExecutionsAsync(exec_filter), limit)
    return [execution_view(f) for f in fills or []]


async def positions(session: IBSession, limit: float) -> list[PositionView]:
    """Every position of every managed account."""
    with ib_span("ib.req_positions", _attributes(session)):
        rows = await _keyed(session, "positions", session.ib.reqPositionsAsync, limit)
    return [
        PositionView(
            p.account, contract_ref(p.contract), ib_decimal(p.position), ib_decimal(p.avgCost)
        )
        for p in rows or []
    ]


async def account_summary(
    session: IBSession,
    limit: float,
    account: str = "",
) -> list[AccountValueView]:
    """The account summary of one account or all."""
    with ib_span("ib.req_account_summary", _attributes(session)):
        rows = await within(session.ib.accountSummaryAsync(account), limit)
    return [AccountValueView(v.account, v.tag, v.value, v.currency) for v in rows or []]


# --- live order events -------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderUpdate:
    """An openOrder/orderStatus of one order, as the runtime needs it."""

    order_ref: str
    client_id: int
    order_id: int
    perm_id: int
    status: str
    """IB's status text (Submitted, Filled, ...)."""
    filled: Decimal
    average_fill_price: Decimal | None
    error_code: int = 0
    """Set when the library marked the order Cancelled because of an IB error (201, ...)."""
    message: str = ""


def order_update(trade: Any) -> OrderUpdate:
    """A library trade's current order status as an :class:`OrderUpdate`."""
    info = _open_order(trade)
    code, message = 0, ""
    if trade.log:
        last = trade.log[-1]
        code, message = int(last.errorCode or 0), last.message or ""
    return OrderUpdate(
        info.order_ref, info.client_id, info.order_id, info.perm_id, info.status, info.filled,
        info.average_fill_price, code, message,
    )  # fmt: skip


class OrderFeed:
    """Subscribes to one library ``IB`` object's order events until :meth:`detach`."""

    def __init__(
        self,
        session: IBSession,
        *,
        on_update: Callable[[OrderUpdate], None],
        on_fill: Callable[[ExecutionView], None],
        on_commission: Callable[[ExecutionView], None],
        on_error: Callable[[int, int, str], None],
    ) -> None:
        self._ib = session.ib
        self._handlers: list[tuple[Any, Callable[..., None]]] = [
            (self._ib.openOrderEvent, lambda trade: on_update(order_update(trade))),
            (self._ib.orderStatusEvent, lambda trade: on_update(order_update(trade))),
            (self._ib.execDetailsEvent, lambda trade, fill: on_fill(execution_view(fill))),
            (
                self._ib.commissionReportEvent,
                lambda trade, fill, report: on_commission(execution_view(fill)),
            ),
            (self._ib.errorEvent, lambda req_id, code, text, *_: on_error(req_id, code, text)),
        ]
        for event, handler in self._handlers:
            event += handler

    def detach(self) -> None:
        """Stop listening (idempotent)."""
        for event, handler in self._handlers:
            event -= handler
        self._handlers = []
