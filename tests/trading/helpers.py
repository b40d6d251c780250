"""Builders shared by the order-domain tests."""

from __future__ import annotations

from decimal import Decimal

from broker_server.domain.journal import JournalEntry, plan_entries
from broker_server.domain.order_identity import parameter_hash
from broker_server.domain.order_ids import OrderIdAllocator, OrderIdScope
from broker_server.domain.orders import (
    BracketDraft,
    BracketSpec,
    ContractRef,
    OrderDraft,
    OrderSpec,
    parse_bracket,
    parse_order,
)

AAPL = ContractRef(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")
NOW = 1_700_000_000.0


def limit_order(price: str = "150", quantity: str = "100", side: str = "BUY") -> OrderSpec:
    spec, found = parse_order(OrderDraft(AAPL, side, quantity, "LMT", limit_price=price))
    assert spec is not None, found
    return spec


def bracket_order() -> BracketSpec:
    parent = OrderDraft(AAPL, "BUY", "100", "LMT", limit_price="150")
    spec, found = parse_bracket(BracketDraft(parent, "160", "140"))
    assert spec is not None, found
    return spec


def journal(
    request: OrderSpec | BracketSpec,
    *,
    owner: str = "alice",
    key: str = "k1",
    client_id: int = 101,
    ids: OrderIdAllocator | None = None,
    now: float = NOW,
) -> tuple[JournalEntry, ...]:
    ids = ids or OrderIdAllocator()
    scope = OrderIdScope("paper", client_id)
    ids.observe_next_valid(scope, 1)
    count = 3 if isinstance(request, BracketSpec) else 1
    return plan_entries(
        owner=owner,
        key=key,
        request=request,
        param_hash=parameter_hash(request),
        gateway="paper",
        client_id=client_id,
        reservations=ids.reserve(scope, count),
        now=now,
    )


def q(text: str) -> Decimal:
    return Decimal(text)
