"""IB order-ID allocation that never goes backwards, per (gateway, client ID).

TWS keeps the order-ID sequence of each client ID and tells a new session the next free one
(nextValidId), but a user can reset it in TWS's API settings, and an ID used before for an order
that is no longer working is refused (error 103). The broker therefore takes
``max(nextValidId, stored high-water + 1)`` and reserves the ID (journals the intent that
carries it) before the order is sent, so a crash between reservation and send can never make it
hand out the same ID twice: the store's high-water is the largest reserved ID, reloaded on
start-up (:meth:`OrderIdAllocator.load`).

Pure: the runtime feeds it nextValidId from each session and the IDs it sees in openOrder and
execDetails, and persists every reservation in the same commit as the journal entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason

MAX_ORDER_ID = 2**31 - 1
"""IB order IDs are signed 32-bit integers."""


@dataclass(frozen=True, order=True)
class OrderIdScope:
    """Order IDs are a sequence per client ID of a gateway (one TWS)."""

    gateway: str
    client_id: int


@dataclass(frozen=True)
class Reservation:
    """A reserved order ID: persist ``order_id`` (as the new high-water) before sending."""

    scope: OrderIdScope
    order_id: int


def next_order_id(next_valid_id: int, high_water: int) -> int:
    """The next ID to use: at or above nextValidId and above everything reserved before."""
    return max(next_valid_id, high_water + 1, 1)


class OrderIdAllocator:
    """Hands out order IDs per :class:`OrderIdScope`, strictly increasing, also across restarts."""

    def __init__(self, high_water: Mapping[OrderIdScope, int] | None = None) -> None:
        self._high: dict[OrderIdScope, int] = dict(high_water or {})
        self._next_valid: dict[OrderIdScope, int] = {}

    def load(self, high_water: Iterable[tuple[OrderIdScope, int]]) -> None:
        """Merge stored high-water marks (start-up); a mark only ever rises."""
        for scope, value in high_water:
            self._high[scope] = max(self._high.get(scope, 0), value)

    def observe_next_valid(self, scope: OrderIdScope, next_valid_id: int) -> None:
        """A session of ``scope`` received nextValidId (on connect, or after reqIds)."""
        self._next_valid[scope] = max(self._next_valid.get(scope, 0), next_valid_id)

    def observe_used(self, scope: OrderIdScope, order_id: int) -> None:
        """An order ID of ``scope`` was seen at IB (openOrder, execDetails, completedOrder).

        IB refuses an ID at or below one it has seen used, so the next one must be above it,
        even when the order was placed by something other than this broker.
        """
        if order_id > self._high.get(scope, 0):
            self._high[scope] = order_id

    def high_water(self, scope: OrderIdScope) -> int:
        """The largest ID reserved or seen for ``scope``; 0 when none."""
        return self._high.get(scope, 0)

    def peek(self, scope: OrderIdScope) -> int:
        """The ID :meth:`reserve` would return, without reserving it."""
        return next_order_id(self._next_valid.get(scope, 0), self.high_water(scope))

    def reserve(self, scope: OrderIdScope, count: int = 1) -> tuple[Reservation, ...]:
        """Reserve ``count`` consecutive IDs (a bracket takes three) and raise the high-water.

        Raises ORDER_IDS_EXHAUSTED (RESOURCE_EXHAUSTED) past :data:`MAX_ORDER_ID`; the
        high-water is unchanged then.
        """
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        first = self.peek(scope)
        last = first + count - 1
        if last > MAX_ORDER_ID:
            raise DomainError(
                ErrorKind.RESOURCE_EXHAUSTED,
                FailureReason.ORDER_IDS_EXHAUSTED,
                f"no order ID left for client ID {scope.client_id} on {scope.gateway}: "
                f"{first} + {count} exceeds {MAX_ORDER_ID}; reset the API order-ID sequence "
                "in TWS and the broker's high-water mark",
                metadata={"gateway": scope.gateway, "client_id": str(scope.client_id)},
            )
        self._high[scope] = last
        return tuple(Reservation(scope, order_id) for order_id in range(first, last + 1))

    def __repr__(self) -> str:
        marks = ", ".join(f"{s.gateway}/{s.client_id}={v}" for s, v in sorted(self._high.items()))
        return f"<OrderIdAllocator {marks or 'empty'}>"
