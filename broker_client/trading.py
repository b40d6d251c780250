"""TradingService for Python strategies: typed async methods (mixed into ``BrokerClient``), the
order-event watch, and a blocking facade (:class:`SyncTradingClient`).

Example::

    async with BrokerClient("127.0.0.1:50051") as broker:
        async with broker.lease(owner="momentum", mode=LEASE_MODE_PROXIED) as held:
            placed = await broker.place_order(held, limit("AAPL", "BUY", "10", "150.25"),
                                              owner="momentum")
            async for event in broker.watch_order_events(owner="momentum"):
                ...

Retries: reads, ``cancel_order`` (cancelling a cancelled order returns it) and ``place_order``
are repeated on UNAVAILABLE (and ``place_order`` also after DEADLINE_EXCEEDED) with backoff
and full jitter, honouring the broker's retry delay. ``place_order`` generates the idempotency
key once (unless given) and sends every attempt with it, so a retry after a drop, a broker
restart or a lost answer returns the one order the broker journaled instead of placing a second
one. ``modify_order`` is not repeated.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import grpc

from broker_client.channel import sync_channel
from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
from broker_client.watch import WatchOptions, _options, watch_rpc

T = TypeVar("T")
FINAL = pb.OrderEventKind.Value("ORDER_EVENT_KIND_FINAL")
"""The FINAL kind of the order-event stream."""
_PLACE_RETRY = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


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


def _selector(key: str, role: int) -> spb.OrderSelector:
    return spb.OrderSelector(idempotency_key=key, bracket_role=role)  # type: ignore[arg-type]


class TradingMethods:
    """TradingService calls of :class:`~broker_client.client.BrokerClient`."""

    trading: spb_grpc.TradingServiceStub
    channel: grpc.aio.Channel
    _call: Callable[..., Awaitable[Any]]
    _watch_kwargs: Callable[[dict[str, Any]], dict[str, Any]]
    timeout: float
    metadata: tuple[tuple[str, str], ...]

    async def get_current_time(self, gateway: str = "") -> dt.datetime:
        """TWS's clock."""
        reply = await self._call(
            self.trading.GetCurrentTime,
            spb.GetCurrentTimeRequest(gateway=gateway),
            safe_to_repeat=True,
        )
        return reply.server_time.ToDatetime(tzinfo=dt.UTC)

    async def get_contract_details(
        self, query: pb.Contract, *, gateway: str = "", list_all: bool = False
    ) -> list[pb.ContractDetails]:
        """The contract's details (exactly one unless ``list_all``)."""
        reply = await self._call(
            self.trading.GetContractDetails,
            spb.GetContractDetailsRequest(gateway=gateway, contract=query, list_all=list_all),
            safe_to_repeat=True,
        )
        return list(reply.details)

    async def get_positions(self, account: str = "", *, gateway: str = "") -> list[pb.Position]:
        """Positions of one account or all."""
        reply = await self._call(
            self.trading.GetPositions,
            spb.GetPositionsRequest(gateway=gateway, account=account),
            safe_to_repeat=True,
        )
        return list(reply.positions)

    async def get_account_summary(
        self, account: str = "", tags: Sequence[str] = (), *, gateway: str = ""
    ) -> list[pb.AccountValue]:
        """Account-summary values."""
        reply = await self._call(
            self.trading.GetAccountSummary,
            spb.GetAccountSummaryRequest(gateway=gateway, account=account, tags=list(tags)),
            safe_to_repeat=True,
        )
        return list(reply.values)

    async def list_open_orders(
        self, owner: str = "", *, all_owners: bool = False, account: str = "", gateway: str = ""
    ) -> list[pb.Order]:
        """Working orders (the owner's, or every owner's with the admin token)."""
        reply = await self._call(
            self.trading.ListOpenOrders,
            spb.ListOpenOrdersRequest(
                gateway=gateway, owner=owner, all_owners=all_owners, account=account
            ),
            safe_to_repeat=True,
        )
        return list(reply.orders)

    async def list_completed_orders(
        self, owner: str = "", *, all_owners: bool = False, account: str = "", gateway: str = ""
    ) -> list[pb.Order]:
        """The day's finished orders."""
        reply = await self._call(
            self.trading.ListCompletedOrders,
            spb.ListCompletedOrdersRequest(
                gateway=gateway, owner=owner, all_owners=all_owners, account=account
            ),
            safe_to_repeat=True,
        )
        return list(reply.orders)

    async def list_executions(
        self, owner: str = "", *, all_owners: bool = False, gateway: str = "", **filters: Any
    ) -> list[pb.Execution]:
        """Fills with commissions (filters: account, start_time, end_time, symbol, ...)."""
        request = spb.ListExecutionsRequest(
            gateway=gateway, owner=owner, all_owners=all_owners, **filters
        )
        reply = await self._call(self.trading.ListExecutions, request, safe_to_repeat=True)
        return list(reply.executions)

    async def place_order(
        self,
        lease: LeaseLike,
        order: pb.OrderSpec | pb.BracketOrder,
        *,
        owner: str,
        idempotency_key: str | None = None,
        attempts: int = 5,
        max_backoff: float = 2.0,
    ) -> spb.PlaceOrderResponse:
        """Place one order or a bracket exactly once: every attempt carries the same key."""
        request = place_request(
            lease, order, owner=owner, key=idempotency_key or new_idempotency_key()
        )
        ceiling = 0.1
        for attempt in range(1, attempts + 1):
            try:
                return await self.trading.PlaceOrder(
                    request, timeout=self.timeout, metadata=self.metadata
                )
            except grpc.aio.AioRpcError as err:
                error = BrokerError.from_rpc_error(err)
                if error.code not in _PLACE_RETRY or attempt == attempts:
                    raise error from err
            delay = error.retry_delay if error.retry_delay is not None else ceiling
            await asyncio.sleep(min(delay, max_backoff))
            ceiling = min(ceiling * 2, max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover

    async def modify_order(
        self, lease: LeaseLike, key: str, *, owner: str, role: int = 0, **changes: Any
    ) -> pb.Order:
        """Change a working order (quantity, limit_price, stop_price, time_in_force, outside_rth)."""
        request = spb.ModifyOrderRequest(
            lease_id=lease.lease_id,
            epoch=lease.epoch,
            owner=owner,
            order=_selector(key, role),
            **changes,
        )
        reply = await self._call(self.trading.ModifyOrder, request, safe_to_repeat=False)
        return reply.order

    async def cancel_order(
        self, lease: LeaseLike, key: str, *, owner: str, role: int = 0
    ) -> pb.Order:
        """Cancel an order (a cancelled order is returned as it is, so this is repeated)."""
        request = spb.CancelOrderRequest(
            lease_id=lease.lease_id, epoch=lease.epoch, owner=owner, order=_selector(key, role)
        )
        reply = await self._call(self.trading.CancelOrder, request, safe_to_repeat=True)
        return reply.order

    def watch_order_events(
        self, owner: str = "", *, all_owners: bool = False, gateway: str = "", **kwargs: Any
    ) -> AsyncGenerator[pb.OrderEvent, None]:
        """Order events (snapshot, SNAPSHOT_END, changes, GAP), resumed after the last sequence
        seen when the stream breaks or the broker restarts; options as :class:`WatchOptions`."""
        kwargs = self._watch_kwargs(kwargs)
        options = kwargs.pop("options", None)
        return watch_rpc(
            self.trading.WatchOrderEvents,
            lambda after: spb.WatchOrderEventsRequest(
                gateway=gateway, owner=owner, all_owners=all_owners, resume_after_sequence=after
            ),
            FINAL,
            _options(options, kwargs),
        )


class SyncTradingClient:
    """The blocking facade of the trading calls (its own channel); same retry rules."""

    def __init__(
        self, target: str, *, timeout: float = 10.0, metadata: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.channel = sync_channel(target)
        self.stub = spb_grpc.TradingServiceStub(self.channel)
        self.timeout = timeout
        self.metadata = tuple(metadata)

    def __enter__(self) -> SyncTradingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

    def _call(
        self,
        rpc: Callable[..., T],
        request: Any,
        *,
        retry: frozenset[grpc.StatusCode],
        attempts: int = 4,
    ) -> T:
        ceiling = 0.1
        for attempt in range(1, attempts + 1):
            try:
                return rpc(request, timeout=self.timeout, metadata=self.metadata)
            except grpc.RpcError as err:
                error = BrokerError.from_rpc_error(err)
                if error.code not in retry or attempt == attempts:
                    raise error from err
            time.sleep(min(error.retry_delay if error.retry_delay is not None else ceiling, 2.0))
            ceiling = min(ceiling * 2, 2.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def get_current_time(self, gateway: str = "") -> dt.datetime:
        """TWS's clock."""
        reply = self._call(
            self.stub.GetCurrentTime, spb.GetCurrentTimeRequest(gateway=gateway), retry=_READ
        )
        return reply.server_time.ToDatetime(tzinfo=dt.UTC)

    def get_positions(self, account: str = "", *, gateway: str = "") -> list[pb.Position]:
        """Positions of one account or all."""
        reply = self._call(
            self.stub.GetPositions,
            spb.GetPositionsRequest(gateway=gateway, account=account),
            retry=_READ,
        )
        return list(reply.positions)

    def list_open_orders(self, owner: str, *, gateway: str = "") -> list[pb.Order]:
        """The owner's working orders."""
        reply = self._call(
            self.stub.ListOpenOrders,
            spb.ListOpenOrdersRequest(gateway=gateway, owner=owner),
            retry=_READ,
        )
        return list(reply.orders)

    def place_order(
        self, lease: LeaseLike, order: pb.OrderSpec | pb.BracketOrder, *, owner: str,
        idempotency_key: str | None = None, attempts: int = 5,
    ) -> spb.PlaceOrderResponse:  # fmt: skip
        """Place exactly once: every attempt carries the same idempotency key."""
        request = place_request(
            lease, order, owner=owner, key=idempotency_key or new_idempotency_key()
        )
        return self._call(self.stub.PlaceOrder, request, retry=_PLACE_RETRY, attempts=attempts)

    def cancel_order(self, lease: LeaseLike, key: str, *, owner: str, role: int = 0) -> pb.Order:
        """Cancel an order (repeated on UNAVAILABLE)."""
        request = spb.CancelOrderRequest(
            lease_id=lease.lease_id, epoch=lease.epoch, owner=owner, order=_selector(key, role)
        )
        return self._call(self.stub.CancelOrder, request, retry=_READ).order


_READ = frozenset({grpc.StatusCode.UNAVAILABLE})

__all__ = [
    "SyncTradingClient",
    "TradingMethods",
    "WatchOptions",
    "limit",
    "market",
    "new_idempotency_key",
    "place_request",
]
