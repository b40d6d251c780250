"""Read-only trading calls on the gateway's shared data session (never the monitor session).

Every call takes a generation-fenced handle on the data session
(:meth:`ConnectionManager.data_handle`: breaker OPEN / reconnecting -> UNAVAILABLE with a retry
hint, 1100 active -> FAILED_PRECONDITION IB_LINK_LOST, never queued), waits its turn on the
session's pacer in the READ lane, and bounds IB's answer by ``trading.request_timeout``. It also
resolves an order's contract and checks its prices against the contract's minimum tick before
anything is journaled (:meth:`check_order`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

from broker_server.config import BrokerConfig
from broker_server.domain.contracts import ContractMatch, min_tick, resolve
from broker_server.domain.errors import DomainError, ErrorKind, invalid_argument
from broker_server.domain.orders import (
    BracketSpec,
    ContractRef,
    OrderSpec,
    check_bracket_increments,
    check_increments,
)
from broker_server.domain.pacing import Lane
from broker_server.domain.reasons import FailureReason
from broker_server.domain.reconcile import IbCompletedOrder, IbOpenOrder
from broker_server.domain.trading_views import (
    AccountValueView,
    ContractDetailsView,
    ExecutionView,
    PositionView,
)
from broker_server.ib import orders as ib_orders
from broker_server.ib.session import IBSession
from broker_server.runtime.connections import ConnectionManager
from broker_server.runtime.handles import SessionHandle

T = TypeVar("T")
CONTRACT_CACHE = 1024
"""Resolved contracts kept (oldest dropped first)."""
OpenOrderRow = tuple[IbOpenOrder, OrderSpec | None, str]
"""An open or completed order as IB reports it, its spec when expressible, its account."""


class TradingReads:
    """Read-only IB requests of the TradingService (see the module docstring)."""

    def __init__(
        self,
        config: BrokerConfig,
        connections: ConnectionManager,
        pace: Callable[[SessionHandle, Lane, float], Awaitable[None]],
    ) -> None:
        self._limit = config.trading.request_timeout
        self._connections = connections
        self._pace = pace
        # A contract's tick and size increment, once resolved: orders on a known contract go
        # to IB without a contract-details round trip first.
        self._increments: dict[tuple[str, ContractRef], tuple[Decimal, Decimal | None]] = {}

    async def _run(self, gateway: str, call: Callable[[IBSession], Awaitable[T]]) -> T:
        handle = await self._connections.data_handle(gateway or None, for_orders=True)
        await self._pace(handle, Lane.READ, self._limit)
        try:
            return await call(handle.session)
        except TimeoutError:
            raise DomainError(
                ErrorKind.UNAVAILABLE,
                FailureReason.NOT_CONNECTED,
                f"IB did not answer within {self._limit} s on {handle.name}",
                retry_after=1.0,
                metadata={"gateway": handle.gateway, "session": handle.name},
            ) from None

    async def current_time(self, gateway: str) -> float:
        """TWS's clock, epoch seconds."""
        return await self._run(gateway, lambda s: ib_orders.current_time(s, self._limit))

    async def contract_details(
        self, gateway: str, ref: ContractRef, *, list_all: bool = False, field: str = "contract"
    ) -> list[ContractDetailsView]:
        """The contract's details: exactly one unless ``list_all`` (ambiguous: INVALID_ARGUMENT
        naming the candidates; none: NOT_FOUND with IB code 200)."""
        views = await self._run(gateway, lambda s: ib_orders.contract_details(s, ref, self._limit))
        matches = [ContractMatch(v.contract, v.min_tick or "0", v.long_name) for v in views]
        chosen = {m.contract.con_id for m in resolve(ref, matches, list_all=list_all, field=field)}
        out: dict[int, ContractDetailsView] = {}
        for v in views:
            if v.contract.con_id in chosen:
                out.setdefault(v.contract.con_id, v)
        return list(out.values())

    async def check_order(
        self, gateway: str, request: OrderSpec | BracketSpec, prefix: str
    ) -> None:
        """Resolve the order's contract (exactly one) and check its prices and quantity against
        the contract's minimum tick and size increment: INVALID_ARGUMENT with field violations."""
        spec = request.parent if isinstance(request, BracketSpec) else request
        field = (
            f"{prefix}.parent.contract"
            if isinstance(request, BracketSpec)
            else f"{prefix}.contract"
        )
        cached = self._increments.get((gateway, spec.contract))
        if cached is None:
            (view,) = await self.contract_details(gateway, spec.contract, field=field)
            tick = min_tick(ContractMatch(view.contract, view.min_tick or "0"))
            increment = Decimal(view.size_increment) if view.size_increment else None
            if len(self._increments) >= CONTRACT_CACHE:
                self._increments.pop(next(iter(self._increments)))
            self._increments[(gateway, spec.contract)] = (tick, increment)
        else:
            tick, increment = cached
        if isinstance(request, BracketSpec):
            found = check_bracket_increments(request, tick, size_increment=increment, prefix=prefix)
        else:
            found = check_increments(request, tick, size_increment=increment, prefix=prefix)
        if found:
            raise invalid_argument(*found)

    async def positions(self, gateway: str, account: str = "") -> list[PositionView]:
        """Positions of one account or all."""
        rows = await self._run(gateway, lambda s: ib_orders.positions(s, self._limit))
        return [p for p in rows if not account or p.account == account]

    async def account_summary(
        self, gateway: str, account: str = "", tags: tuple[str, ...] = ()
    ) -> list[AccountValueView]:
        """Account-summary values of one account or all, optionally only ``tags``."""
        rows = await self._run(
            gateway, lambda s: ib_orders.account_summary(s, self._limit, account)
        )
        wanted = set(tags)
        return [r for r in rows if not wanted or r.tag in wanted]

    async def executions(self, gateway: str, since: float | None = None) -> list[ExecutionView]:
        """Executions since ``since`` (epoch seconds), time order, each exec ID once."""
        rows = await self._run(gateway, lambda s: ib_orders.executions(s, self._limit, since))
        unique = {r.execution.exec_id: r for r in rows}
        return sorted(unique.values(), key=lambda r: (r.execution.time, r.execution.exec_id))

    async def open_orders(self, gateway: str) -> list[OpenOrderRow]:
        """Every API client's working orders."""
        rows = await self._run(gateway, lambda s: ib_orders.open_orders(s, self._limit))
        return [(o, ib_orders.spec_of(t.contract, t.order), t.order.account or "") for o, t in rows]

    async def completed_orders(
        self, gateway: str
    ) -> list[tuple[IbCompletedOrder, OrderSpec | None, str]]:
        """The day's completed orders."""
        rows = await self._run(gateway, lambda s: ib_orders.completed_orders(s, self._limit))
        return [(c, ib_orders.spec_of(t.contract, t.order), t.order.account or "") for c, t in rows]
