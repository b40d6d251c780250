"""TradingService for Python strategies: one :class:`~broker_client.client.Op` per call, typed
methods mixed into ``BrokerClient`` (async) and ``BrokerClientSync`` (blocking), and the
order-event watch (async).

Example::

    async with BrokerClient("127.0.0.1:50051") as broker:
        async with broker.lease(owner="momentum", mode=LEASE_MODE_PROXIED) as held:
            placed = await broker.place_order(held, limit("AAPL", "BUY", "10", "150.25"),
                                              owner="momentum")
            async for event in broker.watch_order_events(owner="momentum"):
                ...

Retries follow the client's ``RetryPolicy``: reads, ``cancel_order`` (cancelling a cancelled
order returns it) and ``place_order`` are repeated on UNAVAILABLE. ``place_order`` generates
the idempotency key once (unless given) and every attempt carries it, so a retry after a drop,
a broker restart or a lost answer returns the one order the broker journaled instead of placing
a second; after DEADLINE_EXCEEDED call it again with the same ``idempotency_key``.
``modify_order`` is never repeated.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from broker_client.ibbroker.v1 import market_data_pb2
from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
from broker_client.watch import WatchOptions, _options, stream_method, watch_rpc

if TYPE_CHECKING:
    from broker_client.client import Op

T = TypeVar("T")
FINAL = pb.OrderEventKind.Value("ORDER_EVENT_KIND_FINAL")
"""The FINAL kind of the order-event stream."""


class LeaseLike(Protocol):
    """A lease: ``lease_pb2.Lease`` or a held lease of :mod:`broker_client.leases`."""

    @property
    def lease_id(self) -> str: ...

    @property
    def epoch(self) -> int: ...


def new_idempotency_key() -> str:
    """A fresh idempotency key (random, 32 hex characters)."""
    return uuid.uuid4().hex


def contract(symbol: str, *, exchange: str = "SMART", currency: str = "USD") -> pb.Contract:
    """A stock contract query."""
    return pb.Contract(
        symbol=symbol, security_type=pb.SECURITY_TYPE_STOCK, exchange=exchange, currency=currency
    )


def limit(symbol: str, side: str, quantity: str, price: str, **fields: Any) -> pb.OrderSpec:
    """A LIMIT order spec on a stock (``side`` "BUY" or "SELL"; decimals as strings)."""
    return pb.OrderSpec(
        contract=contract(symbol), side=pb.OrderSide.Value(f"ORDER_SIDE_{side}"),
        quantity=quantity, order_type=pb.ORDER_TYPE_LIMIT, limit_price=price, **fields,
    )  # fmt: skip


def market(symbol: str, side: str, quantity: str, **fields: Any) -> pb.OrderSpec:
    """A MARKET order spec on a stock."""
    return pb.OrderSpec(
        contract=contract(symbol), side=pb.OrderSide.Value(f"ORDER_SIDE_{side}"),
        quantity=quantity, order_type=pb.ORDER_TYPE_MARKET, **fields,
    )  # fmt: skip


def _op(method: str, request: Any, safe: bool, result: Callable[[Any], T]) -> Op[T]:
    from broker_client.client import Op  # client.py imports this module

    return Op(method, request, safe, result)


# --- one Op per call -------------------------------------------------------------------------


def get_current_time(gateway: str = "") -> Op[dt.datetime]:
    """TWS's clock."""
    return _op(
        "GetCurrentTime",
        spb.GetCurrentTimeRequest(gateway=gateway),
        True,
        lambda r: r.server_time.ToDatetime(tzinfo=dt.UTC),
    )


def get_contract_details(
    query: pb.Contract, gateway: str = "", list_all: bool = False
) -> Op[list[pb.ContractDetails]]:
    """The contract's details (exactly one unless ``list_all``)."""
    request = spb.GetContractDetailsRequest(gateway=gateway, contract=query, list_all=list_all)
    return _op("GetContractDetails", request, True, lambda r: list(r.details))


def get_positions(account: str = "", gateway: str = "") -> Op[list[pb.Position]]:
    """Positions of one account or all."""
    request = spb.GetPositionsRequest(gateway=gateway, account=account)
    return _op("GetPositions", request, True, lambda r: list(r.positions))


def get_account_summary(
    account: str = "", tags: Sequence[str] = (), gateway: str = ""
) -> Op[list[pb.AccountValue]]:
    """Account-summary values."""
    request = spb.GetAccountSummaryRequest(gateway=gateway, account=account, tags=list(tags))
    return _op("GetAccountSummary", request, True, lambda r: list(r.values))


def list_open_orders(
    owner: str = "", all_owners: bool = False, account: str = "", gateway: str = ""
) -> Op[list[pb.Order]]:
    """Working orders (the owner's, or every owner's with the admin token)."""
    request = spb.ListOpenOrdersRequest(
        gateway=gateway, owner=owner, all_owners=all_owners, account=account
    )
    return _op("ListOpenOrders", request, True, lambda r: list(r.orders))


def list_completed_orders(
    owner: str = "", all_owners: bool = False, account: str = "", gateway: str = ""
) -> Op[list[pb.Order]]:
    """The day's finished orders."""
    request = spb.ListCompletedOrdersRequest(
        gateway=gateway, owner=owner, all_owners=all_owners, account=account
    )
    return _op("ListCompletedOrders", request, True, lambda r: list(r.orders))


def list_executions(
    owner: str = "", all_owners: bool = False, gateway: str = "", **filters: Any
) -> Op[list[pb.Execution]]:
    """Fills with commissions (filters: account, start_time, end_time, symbol, side, ...)."""
    request = spb.ListExecutionsRequest(
        gateway=gateway, owner=owner, all_owners=all_owners, **filters
    )
    return _op("ListExecutions", request, True, lambda r: list(r.executions))


def place_request(
    lease: LeaseLike, order: pb.OrderSpec | pb.BracketOrder, *, owner: str, key: str
) -> spb.PlaceOrderRequest:
    """The PlaceOrderRequest of one order or a bracket."""
    request = spb.PlaceOrderRequest(
        lease_id=lease.lease_id, epoch=lease.epoch, owner=owner, idempotency_key=key
    )
    if isinstance(order, pb.BracketOrder):
        request.bracket.CopyFrom(order)
    else:
        request.single.CopyFrom(order)
    return request


def place_order(
    lease: LeaseLike,
    order: pb.OrderSpec | pb.BracketOrder,
    owner: str,
    idempotency_key: str | None = None,
) -> Op[spb.PlaceOrderResponse]:
    """One order or a bracket; safe to repeat: every attempt carries the same key."""
    request = place_request(lease, order, owner=owner, key=idempotency_key or new_idempotency_key())
    return _op("PlaceOrder", request, True, lambda r: r)


def _selector(key: str, role: int) -> spb.OrderSelector:
    return spb.OrderSelector(idempotency_key=key, bracket_role=role)  # type: ignore[arg-type]


def modify_order(
    lease: LeaseLike, key: str, owner: str, role: int = 0, **changes: Any
) -> Op[pb.Order]:
    """Change a working order (quantity, limit_price, stop_price, time_in_force, outside_rth)."""
    request = spb.ModifyOrderRequest(
        lease_id=lease.lease_id, epoch=lease.epoch, owner=owner, order=_selector(key, role),
        **changes,
    )  # fmt: skip
    return _op("ModifyOrder", request, False, lambda r: r.order)


def cancel_order(lease: LeaseLike, key: str, owner: str, role: int = 0) -> Op[pb.Order]:
    """Cancel an order (a cancelled order is returned as it is, so it is repeated)."""
    request = spb.CancelOrderRequest(
        lease_id=lease.lease_id, epoch=lease.epoch, owner=owner, order=_selector(key, role)
    )
    return _op("CancelOrder", request, True, lambda r: r.order)


# --- the client methods ------------------------------------------------------------------------


class TradingMethods:
    """TradingService calls of :class:`~broker_client.client.BrokerClient` (async)."""

    trading: Any
    _targets: Any
    call: Callable[..., Any]
    _watch_kwargs: Callable[[dict[str, Any]], dict[str, Any]]

    async def get_current_time(self, gateway: str = "") -> dt.datetime:
        """TWS's clock."""
        return await self.call(get_current_time(gateway))

    async def get_contract_details(
        self, query: pb.Contract, *, gateway: str = "", list_all: bool = False
    ) -> list[pb.ContractDetails]:
        """The contract's details (exactly one unless ``list_all``)."""
        return await self.call(get_contract_details(query, gateway, list_all))

    async def get_positions(self, account: str = "", *, gateway: str = "") -> list[pb.Position]:
        """Positions of one account or all."""
        return await self.call(get_positions(account, gateway))

    async def get_account_summary(
        self, account: str = "", tags: Sequence[str] = (), *, gateway: str = ""
    ) -> list[pb.AccountValue]:
        """Account-summary values."""
        return await self.call(get_account_summary(account, tags, gateway))

    async def list_open_orders(
        self, owner: str = "", *, all_owners: bool = False, account: str = "", gateway: str = ""
    ) -> list[pb.Order]:
        """Working orders."""
        return await self.call(list_open_orders(owner, all_owners, account, gateway))

    async def list_completed_orders(
        self, owner: str = "", *, all_owners: bool = False, account: str = "", gateway: str = ""
    ) -> list[pb.Order]:
        """The day's finished orders."""
        return await self.call(list_completed_orders(owner, all_owners, account, gateway))

    async def list_executions(
        self, owner: str = "", *, all_owners: bool = False, gateway: str = "", **filters: Any
    ) -> list[pb.Execution]:
        """Fills with commissions."""
        return await self.call(list_executions(owner, all_owners, gateway, **filters))

    async def place_order(
        self,
        lease: LeaseLike,
        order: pb.OrderSpec | pb.BracketOrder,
        *,
        owner: str,
        idempotency_key: str | None = None,
    ) -> spb.PlaceOrderResponse:
        """Place one order or a bracket exactly once (see the module docstring)."""
        return await self.call(place_order(lease, order, owner, idempotency_key))

    async def modify_order(
        self, lease: LeaseLike, key: str, *, owner: str, role: int = 0, **changes: Any
    ) -> pb.Order:
        """Change a working order."""
        return await self.call(modify_order(lease, key, owner, role, **changes))

    async def cancel_order(
        self, lease: LeaseLike, key: str, *, owner: str, role: int = 0
    ) -> pb.Order:
        """Cancel an order."""
        return await self.call(cancel_order(lease, key, owner, role))

    def watch_order_events(
        self, owner: str = "", *, all_owners: bool = False, gateway: str = "", **kwargs: Any
    ) -> AsyncGenerator[pb.OrderEvent, None]:
        """Order events (snapshot, SNAPSHOT_END, changes, GAP), resumed after the last sequence
        seen when the stream breaks or the broker restarts; options as ``WatchOptions``."""
        kwargs = self._watch_kwargs(kwargs)
        options = kwargs.pop("options", None)
        return watch_rpc(
            stream_method(self._targets, spb_grpc.TradingServiceStub, "WatchOrderEvents"),
            lambda after: spb.WatchOrderEventsRequest(
                gateway=gateway, owner=owner, all_owners=all_owners, resume_after_sequence=after
            ),
            FINAL,
            _options(options, kwargs),
        )


class SyncTradingMethods:
    """TradingService calls of :class:`~broker_client.client.BrokerClientSync` (blocking)."""

    call: Callable[..., Any]

    def get_current_time(self, gateway: str = "") -> dt.datetime:
        """TWS's clock."""
        return self.call(get_current_time(gateway))

    def get_positions(self, account: str = "", *, gateway: str = "") -> list[pb.Position]:
        """Positions of one account or all."""
        return self.call(get_positions(account, gateway))

    def list_open_orders(
        self, owner: str = "", *, all_owners: bool = False, account: str = "", gateway: str = ""
    ) -> list[pb.Order]:
        """Working orders."""
        return self.call(list_open_orders(owner, all_owners, account, gateway))

    def list_executions(
        self, owner: str = "", *, all_owners: bool = False, gateway: str = "", **filters: Any
    ) -> list[pb.Execution]:
        """Fills with commissions."""
        return self.call(list_executions(owner, all_owners, gateway, **filters))

    def place_order(
        self,
        lease: LeaseLike,
        order: pb.OrderSpec | pb.BracketOrder,
        *,
        owner: str,
        idempotency_key: str | None = None,
    ) -> spb.PlaceOrderResponse:
        """Place one order or a bracket exactly once."""
        return self.call(place_order(lease, order, owner, idempotency_key))

    def modify_order(
        self, lease: LeaseLike, key: str, *, owner: str, role: int = 0, **changes: Any
    ) -> pb.Order:
        """Change a working order."""
        return self.call(modify_order(lease, key, owner, role, **changes))

    def cancel_order(self, lease: LeaseLike, key: str, *, owner: str, role: int = 0) -> pb.Order:
        """Cancel an order."""
        return self.call(cancel_order(lease, key, owner, role))


__all__ = [
    "SyncTradingMethods",
    "TradingMethods",
    "limit",
    "market",
    "new_idempotency_key",
    "place_request",
]


# Watches on a bare channel or stub, for code that does not use BrokerClient.


def watch_order_events(
    target: Any,
    gateway: str = "",
    owner: str = "",
    *,
    all_owners: bool = False,
    options: WatchOptions | None = None,
    **overrides: Any,
) -> AsyncGenerator[pb.OrderEvent, None]:
    """Order events of ``gateway`` and ``owner`` (``all_owners`` for every owner's), across
    broker restarts. ``target`` is a ``grpc.aio.Channel``, a ``TradingServiceStub`` or a
    client's Targets (following the leader);
    ``options`` (or its field names as keywords) as for every watch."""
    return watch_rpc(
        stream_method(target, spb_grpc.TradingServiceStub, "WatchOrderEvents"),
        lambda after: spb.WatchOrderEventsRequest(
            gateway=gateway, owner=owner, all_owners=all_owners, resume_after_sequence=after
        ),
        pb.ORDER_EVENT_KIND_FINAL,
        (options or WatchOptions()).with_overrides(**overrides),
    )


def watch_market_data(
    target: Any,
    request: spb.WatchMarketDataRequest,
    *,
    options: WatchOptions | None = None,
    **overrides: Any,
) -> AsyncGenerator[market_data_pb2.MarketDataEvent, None]:
    """Market-data events for ``request`` (gateway, contract, fields, ...), across broker
    restarts: each reopened stream is ``request`` with ``resume_after_sequence`` set."""

    def resume(after: int) -> spb.WatchMarketDataRequest:
        again = spb.WatchMarketDataRequest()
        again.CopyFrom(request)
        again.resume_after_sequence = after
        return again

    opts = (options or WatchOptions()).with_overrides(**overrides)
    if request.resume_after_sequence and not opts.resume_after_sequence:
        opts = opts.with_overrides(resume_after_sequence=request.resume_after_sequence)
    method = stream_method(target, spb_grpc.TradingServiceStub, "WatchMarketData")
    return watch_rpc(method, resume, market_data_pb2.MARKET_DATA_EVENT_KIND_FINAL, opts)
