"""Typed TradingService calls for :class:`~broker_client.BrokerClient` and
:class:`~broker_client.BrokerClientSync` (mixed into both; the calls are described once).

Each method takes the generated request message, or its fields as keywords, and returns the
generated response::

    positions = (await broker.get_positions(account="DU1234567")).positions
    placed = await broker.place_order(request, lease=held)   # stamps lease_id/epoch/owner

Which calls are repeated on UNAVAILABLE (with the client's :class:`RetryPolicy`):

- the reads (time, contract details, positions, account summary, open/completed orders,
  executions, market-data lines, historical bars);
- ``place_order``: it always carries an idempotency key (one is generated when the request has
  none, and kept for every retry), and the broker places an order once per key, so a retry after
  UNAVAILABLE (breaker, reconnecting, OUTCOME_UNKNOWN) can never place it twice;
- ``cancel_order``: cancelling a cancelled order returns it.

``modify_order`` is never repeated by the client: a modification racing a fill is the caller's
decision. ``lease=`` takes a held lease (:func:`broker_client.lease`) whose ``fence`` stamps
``lease_id``, ``epoch`` and ``owner`` and raises :class:`LeaseLostError` once it is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from broker_client.ibbroker.v1 import trading_service_pb2 as tsvc

T = TypeVar("T")

READS: dict[str, tuple[str, type[Any]]] = {
    "get_current_time": ("GetCurrentTime", tsvc.GetCurrentTimeRequest),
    "get_contract_details": ("GetContractDetails", tsvc.GetContractDetailsRequest),
    "get_positions": ("GetPositions", tsvc.GetPositionsRequest),
    "get_account_summary": ("GetAccountSummary", tsvc.GetAccountSummaryRequest),
    "list_open_orders": ("ListOpenOrders", tsvc.ListOpenOrdersRequest),
    "list_executions": ("ListExecutions", tsvc.ListExecutionsRequest),
    "list_completed_orders": ("ListCompletedOrders", tsvc.ListCompletedOrdersRequest),
    "get_market_data_lines": ("GetMarketDataLines", tsvc.GetMarketDataLinesRequest),
    "get_historical_bars": ("GetHistoricalBars", tsvc.GetHistoricalBarsRequest),
}
"""Python name -> (RPC, request type) of every TradingService read."""


def build(request_type: type[T], request: T | None, fields: dict[str, Any]) -> T:
    """``request`` as given, or one built from ``fields`` (not both)."""
    if request is not None and fields:
        raise TypeError("pass a request message or its fields, not both")
    return request if request is not None else request_type(**fields)


def fenced(request: Any, lease: Any) -> Any:
    """A copy of ``request`` stamped by ``lease.fence`` (unchanged without a lease)."""
    if lease is None:
        return request
    copy = type(request)()
    copy.CopyFrom(request)
    lease.fence(copy)
    return copy


def with_idempotency_key(request: tsvc.PlaceOrderRequest) -> tsvc.PlaceOrderRequest:
    """``request`` with an idempotency key: its own, or a new random one (on a copy)."""
    if request.idempotency_key:
        return request
    copy = tsvc.PlaceOrderRequest()
    copy.CopyFrom(request)
    copy.idempotency_key = uuid.uuid4().hex
    return copy


class _TradingOps:
    """Turns each trading call into an ``Op`` of :mod:`broker_client.client` and runs it with
    ``self.call`` (async or blocking, as the client's)."""

    call: Callable[[Any], Any]

    def _read(self, name: str, request: Any, fields: dict[str, Any]) -> Any:
        from broker_client.client import Op  # client imports this module

        method, request_type = READS[name]
        return self.call(Op(method, build(request_type, request, fields), True, lambda r: r))

    def _write(self, method: str, request: Any, safe_to_repeat: bool) -> Any:
        from broker_client.client import Op

        return self.call(Op(method, request, safe_to_repeat, lambda r: r))

    def _place(self, request: Any, lease: Any, fields: dict[str, Any]) -> Any:
        built = with_idempotency_key(build(tsvc.PlaceOrderRequest, request, fields))
        return self._write("PlaceOrder", fenced(built, lease), True)

    def _modify(self, request: Any, lease: Any, fields: dict[str, Any]) -> Any:
        built = build(tsvc.ModifyOrderRequest, request, fields)
        return self._write("ModifyOrder", fenced(built, lease), False)

    def _cancel(self, request: Any, lease: Any, fields: dict[str, Any]) -> Any:
        built = build(tsvc.CancelOrderRequest, request, fields)
        return self._write("CancelOrder", fenced(built, lease), True)


class TradingCalls(_TradingOps):
    """The TradingService calls of :class:`~broker_client.BrokerClient` (awaitable)."""

    def get_current_time(
        self, request: tsvc.GetCurrentTimeRequest | None = None, **fields: Any
    ) -> Awaitable[tsvc.GetCurrentTimeResponse]:
        """TWS's clock (the cheapest round trip to the gateway)."""
        return self._read("get_current_time", request, fields)

    def get_contract_details(
        self, request: tsvc.GetContractDetailsRequest | None = None, **fields: Any
    ) -> Awaitable[tsvc.GetContractDetailsResponse]:
        """Resolve a contract query (ambiguous: ContractAmbiguousError unless ``list_all``)."""
        return self._read("get_contract_details", request, fields)

    def get_positions(
        self, request: tsvc.GetPositionsRequest | None = None, **fields: Any
    ) -> Awaitable[tsvc.GetPositionsResponse]:
        """Positions of one account or every managed account."""
        return self._read("get_positions", request, fields)

    def get_account_summary(
        self, request: tsvc.GetAccountSummaryRequest | None = None, **fields: Any
    ) -> Awaitable[tsvc.GetAccountSummaryResponse]:
        """Account summary tags."""
        return self._read("get_account_summary", request, fields)

    def list_open_orders(
        self, request: tsvc.ListOpenOrdersRequest | None = None, **fields: Any
    ) -> Awaitable[tsvc.ListOpenOrdersResponse]:
        """Working orders (the caller's own unless ``all_owners``)."""
        return self._read("list_open_orders", request, fields)

    def list_executions(
        self, request: tsvc.ListExecutionsRequest | None = None, **fields: Any
    ) -> Awaitable[tsvc.ListExecutionsResponse]:
        """Executions with commissions matching a filter."""
        return self._read("list_executions", request, fields)

    def list_completed_orders(
        self, request: tsvc.ListCompletedOrdersRequest | None = None, **fields: Any
    ) -> Awaitable[tsvc.ListCompletedOrdersResponse]:
        """The day's filled, cancelled and rejected orders."""
        return self._read("list_completed_orders", request, fields)

    def get_market_data_lines(
        self, request: tsvc.GetMarketDataLinesRequest | None = None, **fields: Any
    ) -> Awaitable[tsvc.GetMarketDataLinesResponse]:
        """IB market-data lines in use, their subscribers and the budget."""
        return self._read("get_market_data_lines", request, fields)

    def get_historical_bars(
        self, request: tsvc.GetHistoricalBarsRequest | None = None, **fields: Any
    ) -> Awaitable[tsvc.GetHistoricalBarsResponse]:
        """Historical bars (IB's pacing enforced by the broker)."""
        return self._read("get_historical_bars", request, fields)

    def place_order(
        self, request: tsvc.PlaceOrderRequest | None = None, *, lease: Any = None, **fields: Any
    ) -> Awaitable[tsvc.PlaceOrderResponse]:
        """Place an order or a bracket exactly once (idempotency key; retried on UNAVAILABLE)."""
        return self._place(request, lease, fields)

    def modify_order(
        self, request: tsvc.ModifyOrderRequest | None = None, *, lease: Any = None, **fields: Any
    ) -> Awaitable[tsvc.ModifyOrderResponse]:
        """Change a working order; never repeated by the client."""
        return self._modify(request, lease, fields)

    def cancel_order(
        self, request: tsvc.CancelOrderRequest | None = None, *, lease: Any = None, **fields: Any
    ) -> Awaitable[tsvc.CancelOrderResponse]:
        """Cancel a working order (idempotent; retried on UNAVAILABLE)."""
        return self._cancel(request, lease, fields)


class TradingCallsSync(_TradingOps):
    """The TradingService calls of :class:`~broker_client.BrokerClientSync` (blocking)."""

    def get_current_time(
        self, request: tsvc.GetCurrentTimeRequest | None = None, **fields: Any
    ) -> tsvc.GetCurrentTimeResponse:
        """TWS's clock (the cheapest round trip to the gateway)."""
        return self._read("get_current_time", request, fields)

    def get_contract_details(
        self, request: tsvc.GetContractDetailsRequest | None = None, **fields: Any
    ) -> tsvc.GetContractDetailsResponse:
        """Resolve a contract query (ambiguous: ContractAmbiguousError unless ``list_all``)."""
        return self._read("get_contract_details", request, fields)

    def get_positions(
        self, request: tsvc.GetPositionsRequest | None = None, **fields: Any
    ) -> tsvc.GetPositionsResponse:
        """Positions of one account or every managed account."""
        return self._read("get_positions", request, fields)

    def get_account_summary(
        self, request: tsvc.GetAccountSummaryRequest | None = None, **fields: Any
    ) -> tsvc.GetAccountSummaryResponse:
        """Account summary tags."""
        return self._read("get_account_summary", request, fields)

    def list_open_orders(
        self, request: tsvc.ListOpenOrdersRequest | None = None, **fields: Any
    ) -> tsvc.ListOpenOrdersResponse:
        """Working orders (the caller's own unless ``all_owners``)."""
        return self._read("list_open_orders", request, fields)

    def list_executions(
        self, request: tsvc.ListExecutionsRequest | None = None, **fields: Any
    ) -> tsvc.ListExecutionsResponse:
        """Executions with commissions matching a filter."""
        return self._read("list_executions", request, fields)

    def list_completed_orders(
        self, request: tsvc.ListCompletedOrdersRequest | None = None, **fields: Any
    ) -> tsvc.ListCompletedOrdersResponse:
        """The day's filled, cancelled and rejected orders."""
        return self._read("list_completed_orders", request, fields)

    def get_market_data_lines(
        self, request: tsvc.GetMarketDataLinesRequest | None = None, **fields: Any
    ) -> tsvc.GetMarketDataLinesResponse:
        """IB market-data lines in use, their subscribers and the budget."""
        return self._read("get_market_data_lines", request, fields)

    def get_historical_bars(
        self, request: tsvc.GetHistoricalBarsRequest | None = None, **fields: Any
    ) -> tsvc.GetHistoricalBarsResponse:
        """Historical bars (IB's pacing enforced by the broker)."""
        return self._read("get_historical_bars", request, fields)

    def place_order(
        self, request: tsvc.PlaceOrderRequest | None = None, *, lease: Any = None, **fields: Any
    ) -> tsvc.PlaceOrderResponse:
        """Place an order or a bracket exactly once (idempotency key; retried on UNAVAILABLE)."""
        return self._place(request, lease, fields)

    def modify_order(
        self, request: tsvc.ModifyOrderRequest | None = None, *, lease: Any = None, **fields: Any
    ) -> tsvc.ModifyOrderResponse:
        """Change a working order; never repeated by the client."""
        return self._modify(request, lease, fields)

    def cancel_order(
        self, request: tsvc.CancelOrderRequest | None = None, *, lease: Any = None, **fields: Any
    ) -> tsvc.CancelOrderResponse:
        """Cancel a working order (idempotent; retried on UNAVAILABLE)."""
        return self._cancel(request, lease, fields)


__all__ = ["READS", "TradingCalls", "TradingCallsSync"]
