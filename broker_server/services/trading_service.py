"""The ``ibbroker.v1.TradingService`` gRPC edge: proto <-> domain, input checks, error mapping.

Every unary method is wrapped in :func:`unary_errors` and ``WatchOrderEvents`` in
:func:`stream_errors`, so a :class:`DomainError` becomes its rich status (ErrorInfo reason,
RetryInfo where a retry helps, BadRequest field violations). Every field a caller can get wrong
is checked here or by the domain's parse functions and answered INVALID_ARGUMENT with a
violation naming the field as sent. The caller is resolved once per call through
:class:`~broker_server.services.identity.Identity`; ``all_owners`` needs the admin token.
Market data (issue 11) is not served here yet: its RPCs answer UNIMPLEMENTED (the generated
base).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

import grpc

from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
from broker_server.domain.errors import FieldViolation, invalid_argument
from broker_server.domain.journal import JournalEntry
from broker_server.domain.order_events import visible
from broker_server.domain.order_identity import check_idempotency_key
from broker_server.domain.order_state import OrderState
from broker_server.domain.orders import (
    BracketDraft,
    BracketSpec,
    OrderDraft,
    OrderSpec,
    canonical_decimal,
    parse_bracket,
    parse_order,
)
from broker_server.domain.reconcile import IbCompletedOrder, IbOpenOrder
from broker_server.runtime.orders import OrderManager
from broker_server.services import trading_convert as tc
from broker_server.services.errors import stream_errors, unary_errors
from broker_server.services.identity import Caller, Identity

DEFAULT_DEADLINE = 10.0
"""Seconds an order call may wait (pacing, IB's answer) when the caller set no deadline."""
MAX_TEXT = 128
"""Longest owner, account or lease ID accepted."""

_EXTERNAL_STATES = {
    "presubmitted": OrderState.ACKNOWLEDGED,
    "submitted": OrderState.ACKNOWLEDGED,
    "pendingsubmit": OrderState.SUBMITTED,
    "pendingcancel": OrderState.PENDING_CANCEL,
    "filled": OrderState.FILLED,
    "cancelled": OrderState.CANCELLED,
    "apicancelled": OrderState.CANCELLED,
    "inactive": OrderState.REJECTED,
}


def _deadline(context: grpc.aio.ServicerContext) -> float:
    remaining = context.time_remaining()
    return DEFAULT_DEADLINE if remaining is None else max(float(remaining) - 0.05, 0.0)


def _text_field(name: str, value: str, violations: list[FieldViolation], *, required: bool) -> None:
    if required and not value.strip():
        violations.append(FieldViolation(name, "required"))
    elif len(value) > MAX_TEXT:
        violations.append(FieldViolation(name, f"{len(value)} characters; at most {MAX_TEXT}"))


def _fenced(request: object, violations: list[FieldViolation]) -> None:
    _text_field("lease_id", request.lease_id, violations, required=True)  # type: ignore[attr-defined]
    if request.epoch <= 0:  # type: ignore[attr-defined]
        violations.append(FieldViolation("epoch", "required: the lease's epoch (> 0)"))
    _text_field("owner", request.owner, violations, required=True)  # type: ignore[attr-defined]


def _external_state(status: str) -> OrderState:
    return _EXTERNAL_STATES.get(status.replace(" ", "").lower(), OrderState.ACKNOWLEDGED)


class TradingServicer(spb_grpc.TradingServiceServicer):
    """Serves ``ibbroker.v1.TradingService`` from an :class:`OrderManager`."""

    def __init__(
        self,
        orders: OrderManager,
        identity: Identity | None = None,
        market_data: spb_grpc.TradingServiceServicer | None = None,
    ) -> None:
        self._orders = orders
        self._reads = orders.reads
        self._identity = identity or Identity()
        self._market_data = market_data

    def _audience(self, request: object, context: grpc.aio.ServicerContext, rpc: str) -> Caller:
        """The caller of a listing; ``all_owners`` needs the admin token, else ``owner``."""
        caller = self._identity.resolve(request, context)
        violations: list[FieldViolation] = []
        _text_field("gateway", request.gateway, violations, required=False)  # type: ignore[attr-defined]
        if request.all_owners:  # type: ignore[attr-defined]
            self._identity.require_admin(caller, f"{rpc} with all_owners")
            _text_field("owner", caller.name, violations, required=False)
        else:
            _text_field("owner", caller.name, violations, required=True)
        if violations:
            raise invalid_argument(*violations)
        return caller

    # --- read-only ---------------------------------------------------------------------------

    @unary_errors
    async def GetCurrentTime(
        self, request: spb.GetCurrentTimeRequest, context: grpc.aio.ServicerContext
    ) -> spb.GetCurrentTimeResponse:
        when = await self._reads.current_time(request.gateway)
        return spb.GetCurrentTimeResponse(server_time=tc.timestamp(when))

    @unary_errors
    async def GetContractDetails(
        self, request: spb.GetContractDetailsRequest, context: grpc.aio.ServicerContext
    ) -> spb.GetContractDetailsResponse:
        ref = tc.contract_ref(request.contract)
        if ref.con_id < 0:
            raise invalid_argument(FieldViolation("contract.con_id", "must not be negative"))
        if not ref.con_id and not (ref.symbol.strip() or ref.local_symbol.strip()):
            raise invalid_argument(
                FieldViolation("contract", "give con_id, or symbol (or local_symbol)")
            )
        details = await self._reads.contract_details(
            request.gateway, ref, list_all=request.list_all
        )
        return spb.GetContractDetailsResponse(
            details=[tc.contract_details_proto(d) for d in details]
        )

    @unary_errors
    async def GetPositions(
        self, request: spb.GetPositionsRequest, context: grpc.aio.ServicerContext
    ) -> spb.GetPositionsResponse:
        rows = await self._reads.positions(request.gateway, request.account)
        return spb.GetPositionsResponse(positions=[tc.position_proto(p) for p in rows])

    @unary_errors
    async def GetAccountSummary(
        self, request: spb.GetAccountSummaryRequest, context: grpc.aio.ServicerContext
    ) -> spb.GetAccountSummaryResponse:
        violations = [
            FieldViolation(f"tags[{i}]", "must not be empty")
            for i, tag in enumerate(request.tags)
            if not tag.strip()
        ]
        if violations:
            raise invalid_argument(*violations)
        rows = await self._reads.account_summary(
            request.gateway, request.account, tuple(request.tags)
        )
        return spb.GetAccountSummaryResponse(values=[tc.account_value_proto(v) for v in rows])

    def _ours(
        self, order_ref: str, caller: Caller, all_owners: bool
    ) -> tuple[JournalEntry | None, bool]:
        """The broker's entry for an IB order, and whether the caller may see the order."""
        entry = self._orders.ledger.by_ref(order_ref) if order_ref else None
        if entry is None:
            return None, all_owners
        return entry, all_owners or entry.owner == caller.name

    def _listed(
        self,
        rows: Sequence[tuple[IbOpenOrder | IbCompletedOrder, OrderSpec | None, str]],
        request: spb.ListOpenOrdersRequest | spb.ListCompletedOrdersRequest,
        caller: Caller,
    ) -> list[pb.Order]:
        """IB's open or completed orders as the caller may see them: the journal's record for
        the broker's own orders, an external record for any other (``all_owners`` only)."""
        out = []
        for ib, spec, account in rows:
            if request.account and account != request.account:
                continue
            entry, shown = self._ours(ib.order_ref, caller, request.all_owners)
            if not shown:
                continue
            if entry is not None:
                out.append(tc.order_proto(entry))
                continue
            out.append(
                tc.external_order_proto(
                    gateway=request.gateway or self._orders.config.default_gateway.name,
                    client_id=ib.client_id,
                    order_id=ib.order_id,
                    perm_id=ib.perm_id,
                    order_ref=ib.order_ref,
                    spec=spec,
                    state=_external_state(ib.status),
                    filled=ib.filled,
                    average_fill_price=ib.average_fill_price,
                    message=ib.reason if isinstance(ib, IbCompletedOrder) else "",
                )
            )
        return out

    @unary_errors
    async def ListOpenOrders(
        self, request: spb.ListOpenOrdersRequest, context: grpc.aio.ServicerContext
    ) -> spb.ListOpenOrdersResponse:
        caller = self._audience(request, context, "ListOpenOrders")
        rows = await self._reads.open_orders(request.gateway)
        out = self._listed(rows, request, caller)
        return spb.ListOpenOrdersResponse(orders=out)

    @unary_errors
    async def ListCompletedOrders(
        self, request: spb.ListCompletedOrdersRequest, context: grpc.aio.ServicerContext
    ) -> spb.ListCompletedOrdersResponse:
        caller = self._audience(request, context, "ListCompletedOrders")
        rows = await self._reads.completed_orders(request.gateway)
        out = self._listed(rows, request, caller)
        return spb.ListCompletedOrdersResponse(orders=out)

    @unary_errors
    async def ListExecutions(
        self, request: spb.ListExecutionsRequest, context: grpc.aio.ServicerContext
    ) -> spb.ListExecutionsResponse:
        caller = self._audience(request, context, "ListExecutions")
        start = request.start_time.ToNanoseconds() / 1e9 if request.HasField("start_time") else None
        end = request.end_time.ToNanoseconds() / 1e9 if request.HasField("end_time") else None
        if start is not None and end is not None and end < start:
            raise invalid_argument(FieldViolation("end_time", "is before start_time"))
        if request.side and tc.side_of(request.side) is None:
            raise invalid_argument(FieldViolation("side", f"unknown OrderSide {request.side}"))
        sec_type = tc.sec_type_of(request.security_type)
        if request.security_type and not sec_type:
            raise invalid_argument(
                FieldViolation("security_type", f"unknown SecurityType {request.security_type}")
            )
        rows = await self._reads.executions(request.gateway, start)
        out = []
        for view in rows:
            e = view.execution
            if end is not None and e.time > end:
                continue
            if request.account and view.account != request.account:
                continue
            if request.symbol and view.contract.symbol.upper() != request.symbol.upper():
                continue
            if sec_type and view.contract.sec_type != sec_type:
                continue
            if request.side and view.side is not tc.side_of(request.side):
                continue
            entry, shown = self._ours(e.order_ref, caller, request.all_owners)
            if shown:
                out.append(tc.execution_proto(view, entry))
        return spb.ListExecutionsResponse(executions=out)

    # --- orders ------------------------------------------------------------------------------

    @unary_errors
    async def PlaceOrder(
        self, request: spb.PlaceOrderRequest, context: grpc.aio.ServicerContext
    ) -> spb.PlaceOrderResponse:
        owner = self._identity.resolve(request, context).name
        violations: list[FieldViolation] = []
        _fenced(request, violations)
        violations += check_idempotency_key(request.idempotency_key)
        draft, found = tc.place_draft(request)
        violations += found
        parsed: OrderSpec | BracketSpec | None = None
        if isinstance(draft, BracketDraft):
            parsed, found = parse_bracket(draft, prefix="bracket")
            violations += found
        elif isinstance(draft, OrderDraft):
            parsed, found = parse_order(draft, prefix="single")
            violations += found
        if violations or parsed is None:
            raise invalid_argument(*violations)
        request_spec = parsed
        prefix = "bracket" if isinstance(parsed, BracketSpec) else "single"

        async def check(gateway: str) -> None:
            await self._reads.check_order(gateway, request_spec, prefix)

        entries, replayed = await self._orders.place(
            lease_id=request.lease_id,
            epoch=request.epoch,
            owner=owner,
            key=request.idempotency_key,
            request=parsed,
            deadline=_deadline(context),
            check=check,
        )
        return spb.PlaceOrderResponse(
            order=tc.order_proto(entries[0]),
            children=[tc.order_proto(e) for e in entries[1:]],
            replayed=replayed,
        )

    @unary_errors
    async def ModifyOrder(
        self, request: spb.ModifyOrderRequest, context: grpc.aio.ServicerContext
    ) -> spb.ModifyOrderResponse:
        owner = self._identity.resolve(request, context).name
        violations: list[FieldViolation] = []
        _fenced(request, violations)
        violations += check_idempotency_key(
            request.order.idempotency_key, name="order.idempotency_key"
        )
        changes = [f for f in ("quantity", "limit_price", "stop_price", "time_in_force", "outside_rth")
                   if request.HasField(f)]  # fmt: skip
        if not changes:
            violations.append(FieldViolation("quantity", "set at least one field to change"))
        if violations:
            raise invalid_argument(*violations)
        role = tc.bracket_role(request.order.bracket_role)
        entry = self._orders.find(owner, request.order.idempotency_key, role)
        spec = _modified(entry.spec, request)
        await self._reads.check_order(entry.gateway, spec, "")
        order = await self._orders.modify(
            lease_id=request.lease_id,
            epoch=request.epoch,
            owner=owner,
            key=request.order.idempotency_key,
            role=role,
            spec=spec,
            deadline=_deadline(context),
        )
        return spb.ModifyOrderResponse(order=tc.order_proto(order))

    @unary_errors
    async def CancelOrder(
        self, request: spb.CancelOrderRequest, context: grpc.aio.ServicerContext
    ) -> spb.CancelOrderResponse:
        owner = self._identity.resolve(request, context).name
        violations: list[FieldViolation] = []
        _fenced(request, violations)
        violations += check_idempotency_key(
            request.order.idempotency_key, name="order.idempotency_key"
        )
        if violations:
            raise invalid_argument(*violations)
        order = await self._orders.cancel(
            lease_id=request.lease_id,
            epoch=request.epoch,
            owner=owner,
            key=request.order.idempotency_key,
            role=tc.bracket_role(request.order.bracket_role),
            deadline=_deadline(context),
        )
        return spb.CancelOrderResponse(order=tc.order_proto(order))

    @stream_errors
    async def WatchOrderEvents(
        self, request: spb.WatchOrderEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[spb.WatchOrderEventsResponse]:
        caller = self._audience(request, context, "WatchOrderEvents")
        gateway, all_owners = request.gateway, request.all_owners
        async for event in self._orders.ledger.events.subscribe(request.resume_after_sequence):
            if visible(event.record, caller.name, all_owners, gateway):
                yield spb.WatchOrderEventsResponse(
                    event=tc.order_event_proto(event.sequence, event.record, event.execution)
                )

    # --- market data: served by MarketDataEndpoints (services/market_data_service.py) --------

    async def _market_data_or_abort(
        self, context: grpc.aio.ServicerContext
    ) -> spb_grpc.TradingServiceServicer:
        if self._market_data is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "no market data on this broker")
        assert self._market_data is not None  # abort raised
        return self._market_data

    # A coroutine that writes with context.write, like MarketDataEndpoints.WatchMarketData: the
    # broker must be able to end a stream blocked on a reader that stopped (see that module).
    async def WatchMarketData(  # type: ignore[override]
        self, request: spb.WatchMarketDataRequest, context: grpc.aio.ServicerContext
    ) -> None:
        endpoints = await self._market_data_or_abort(context)
        await endpoints.WatchMarketData(request, context)  # type: ignore[misc]

    async def GetMarketDataLines(
        self, request: spb.GetMarketDataLinesRequest, context: grpc.aio.ServicerContext
    ) -> spb.GetMarketDataLinesResponse:
        endpoints = await self._market_data_or_abort(context)
        return await endpoints.GetMarketDataLines(request, context)  # type: ignore[misc]

    async def GetHistoricalBars(
        self, request: spb.GetHistoricalBarsRequest, context: grpc.aio.ServicerContext
    ) -> spb.GetHistoricalBarsResponse:
        endpoints = await self._market_data_or_abort(context)
        return await endpoints.GetHistoricalBars(request, context)  # type: ignore[misc]


def _modified(spec: OrderSpec, request: spb.ModifyOrderRequest) -> OrderSpec:
    """The order's spec with the request's changes, checked like a new order."""
    draft = OrderDraft(
        contract=spec.contract,
        side=spec.side.value,
        quantity=request.quantity
        if request.HasField("quantity")
        else canonical_decimal(spec.quantity),
        order_type=spec.order_type.value,
        limit_price=request.limit_price
        if request.HasField("limit_price")
        else _opt(spec.limit_price),
        stop_price=request.stop_price if request.HasField("stop_price") else _opt(spec.stop_price),
        time_in_force=(
            tc.time_in_force_word(request.time_in_force)
            if request.HasField("time_in_force")
            else spec.time_in_force.value
        ),
        outside_rth=request.outside_rth if request.HasField("outside_rth") else spec.outside_rth,
        account=spec.account,
    )
    parsed, found = parse_order(draft)
    if parsed is None:
        raise invalid_argument(*found)
    return dataclasses.replace(parsed, contract=spec.contract)


def _opt(value: Decimal | None) -> str:
    return "" if value is None else canonical_decimal(value)


__all__ = ["TradingServicer", "pb"]
