"""Orders, the pure core: value types and their validation.

What a strategy sends is parsed from plain strings (the gRPC edge turns the proto into an
:class:`OrderDraft`; prices and quantities stay decimal strings until they are
:class:`~decimal.Decimal` here, never floats) and checked in two steps:

1. :func:`parse_order` / :func:`parse_bracket`: syntax and consistency that need no IB data
   (positive quantity, the prices an order type needs and only those, a bracket's prices on the
   right side of the entry). Returns the value and every :class:`FieldViolation` found.
2. :func:`check_increments`: the prices against the contract's minimum tick and the quantity
   against its size increment, once the contract is resolved (the tick is an argument).

The request's identity (idempotency key, parameter hash, orderRef) is
:mod:`broker_server.domain.order_identity`; its life cycle :mod:`broker_server.domain.order_state`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from broker_server.domain.errors import FieldViolation

MAX_DECIMAL_LENGTH = 32
"""Longest decimal string accepted: bounds the work of parsing and hashing a hostile value."""

_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_E = TypeVar("_E", bound=enum.StrEnum)


class Side(enum.StrEnum):
    """Buy or sell; the value is IB's action."""

    BUY = "BUY"
    SELL = "SELL"


class OrderType(enum.StrEnum):
    """The order types the broker supports; the value is IB's orderType."""

    MARKET = "MKT"
    LIMIT = "LMT"
    STOP = "STP"
    STOP_LIMIT = "STP LMT"

    @property
    def needs_limit(self) -> bool:
        """Whether IB needs a limit price (lmtPrice) for this type."""
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)

    @property
    def needs_stop(self) -> bool:
        """Whether IB needs a stop price (auxPrice) for this type."""
        return self in (OrderType.STOP, OrderType.STOP_LIMIT)


class TimeInForce(enum.StrEnum):
    """How long an order works; the value is IB's tif."""

    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"


class BracketRole(enum.StrEnum):
    """An order's place in a bracket; NONE for a single order."""

    NONE = "N"
    PARENT = "P"
    TAKE_PROFIT = "T"
    STOP_LOSS = "S"


@dataclass(frozen=True)
class ContractRef:
    """The instrument of an order as the caller named it (IB's Contract fields, as text)."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    """IB's secType ("STK", "FUT", ...); empty when the caller gave only con_id."""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    last_trade_date_or_contract_month: str = ""
    strike: str = ""
    right: str = ""
    multiplier: str = ""

    def canonical(self) -> dict[str, Any]:
        """The fields that name the instrument, normalised (decimals without trailing zeros)."""
        out: dict[str, Any] = {
            "con_id": self.con_id,
            "symbol": self.symbol.strip(),
            "sec_type": self.sec_type.strip().upper(),
            "exchange": self.exchange.strip().upper(),
            "primary_exchange": self.primary_exchange.strip().upper(),
            "currency": self.currency.strip().upper(),
            "local_symbol": self.local_symbol.strip(),
            "trading_class": self.trading_class.strip(),
            "expiry": self.last_trade_date_or_contract_month.strip(),
            "right": self.right.strip().upper(),
        }
        for name in ("strike", "multiplier"):
            text = getattr(self, name).strip()
            value = _to_decimal(text)
            out[name] = canonical_decimal(value) if value is not None else text
        return out


@dataclass(frozen=True)
class OrderDraft:
    """One order as it arrives from the edge: every field still text, nothing checked yet."""

    contract: ContractRef
    side: str
    """"BUY" or "SELL"; anything else is a violation."""
    quantity: str
    order_type: str
    """IB's orderType: "MKT", "LMT", "STP" or "STP LMT"."""
    limit_price: str = ""
    stop_price: str = ""
    time_in_force: str = ""
    """"DAY", "GTC", "IOC"; empty means DAY."""
    outside_rth: bool = False
    account: str = ""


@dataclass(frozen=True)
class OrderSpec:
    """A checked order: what the broker journals and sends."""

    contract: ContractRef
    side: Side
    quantity: Decimal
    order_type: OrderType
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    outside_rth: bool = False
    account: str = ""

    def prices(self) -> dict[str, Decimal]:
        """The prices this order carries, by field name."""
        out: dict[str, Decimal] = {}
        if self.limit_price is not None:
            out["limit_price"] = self.limit_price
        if self.stop_price is not None:
            out["stop_price"] = self.stop_price
        return out

    def canonical(self) -> dict[str, Any]:
        """A representation-independent form, the input of :func:`parameter_hash`."""
        return {
            "contract": self.contract.canonical(),
            "side": self.side.value,
            "quantity": canonical_decimal(self.quantity),
            "order_type": self.order_type.value,
            "limit_price": _opt(self.limit_price),
            "stop_price": _opt(self.stop_price),
            "tif": self.time_in_force.value,
            "outside_rth": self.outside_rth,
            "account": self.account.strip(),
        }


@dataclass(frozen=True)
class BracketDraft:
    """A bracket as it arrives from the edge."""

    parent: OrderDraft
    take_profit_limit_price: str
    stop_loss_stop_price: str
    stop_loss_limit_price: str = ""
    children_time_in_force: str = ""
    """Empty means the parent's time in force."""


@dataclass(frozen=True)
class BracketSpec:
    """A checked bracket: an entry with a take-profit LIMIT and a stop-loss STOP (or STP LMT).

    :meth:`orders` gives the three orders in send order; IB needs ``transmit`` on the last
    child only, so that all three become active together or none does.
    """

    parent: OrderSpec
    take_profit: OrderSpec
    stop_loss: OrderSpec

    def orders(self) -> tuple[tuple[BracketRole, OrderSpec], ...]:
        """(role, order) in the order they must be sent."""
        return (
            (BracketRole.PARENT, self.parent),
            (BracketRole.TAKE_PROFIT, self.take_profit),
            (BracketRole.STOP_LOSS, self.stop_loss),
        )

    def canonical(self) -> dict[str, Any]:
        """A representation-independent form, the input of :func:`parameter_hash`."""
        return {
            "parent": self.parent.canonical(),
            "take_profit": self.take_profit.canonical(),
            "stop_loss": self.stop_loss.canonical(),
        }


@dataclass
class _Violations:
    prefix: str
    found: list[FieldViolation] = field(default_factory=list)

    def add(self, name: str, description: str) -> None:
        path = f"{self.prefix}.{name}" if self.prefix else name
        self.found.append(FieldViolation(path, description))


def canonical_decimal(value: Decimal) -> str:
    """``value`` as plain text without exponent or trailing zeros: "1.50" -> "1.5", "1E+2" -> "100"."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else canonical_decimal(value)


def _to_decimal(text: str) -> Decimal | None:
    if len(text) > MAX_DECIMAL_LENGTH or not _DECIMAL.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        return None


def _parse_price(text: str, name: str, needed: bool, why: str, v: _Violations) -> Decimal | None:
    text = text.strip()
    if not text:
        if needed:
            v.add(name, f"required for {why}")
        return None
    if not needed:
        v.add(name, f"not allowed for {why}")
        return None
    value = _to_decimal(text)
    if value is None:
        v.add(name, f"not a decimal number: {text[:MAX_DECIMAL_LENGTH]!r}")
        return None
    if value <= 0:
        v.add(name, f"must be positive, got {text}")
        return None
    return value


def _parse_enum(
    kind: type[_E], text: str, name: str, default: _E | None, v: _Violations
) -> _E | None:
    text = text.strip().upper()
    if not text and default is not None:
        return default
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)
        problem = f"unknown value {text[:32]!r}" if text else "required"
        v.add(name, f"{problem}; one of {allowed}")
        return None


def parse_order(
    draft: OrderDraft, *, prefix: str = ""
) -> tuple[OrderSpec | None, list[FieldViolation]]:
    """Check one order without IB data; returns the spec (None if any violation) and violations.

    ``prefix`` is the field path of the order in the request, for example ``single`` or
    ``bracket.parent``, so each violation names the field as the caller sent it.
    """
    v = _Violations(prefix)
    contract = draft.contract
    if contract.con_id < 0:
        v.add("contract.con_id", "must not be negative")
    if contract.con_id == 0 and not (contract.symbol.strip() or contract.local_symbol.strip()):
        v.add("contract", "give con_id, or symbol (or local_symbol) to look the contract up")
    side = _parse_enum(Side, draft.side, "side", None, v)
    order_type = _parse_enum(OrderType, draft.order_type, "order_type", None, v)
    tif = _parse_enum(TimeInForce, draft.time_in_force, "time_in_force", TimeInForce.DAY, v)
    quantity = _to_decimal(draft.quantity.strip())
    if quantity is None:
        v.add("quantity", f"not a decimal number: {draft.quantity[:MAX_DECIMAL_LENGTH]!r}")
    elif quantity <= 0:
        v.add("quantity", f"must be positive, got {draft.quantity.strip()}")
    limit = stop = None
    if order_type is not None:
        why = f"order type {order_type.value}"
        limit = _parse_price(draft.limit_price, "limit_price", order_type.needs_limit, why, v)
        stop = _parse_price(draft.stop_price, "stop_price", order_type.needs_stop, why, v)
    if v.found:
        return None, v.found
    assert side is not None and order_type is not None and tif is not None
    assert quantity is not None
    spec = OrderSpec(
        contract=contract,
        side=side,
        quantity=quantity,
        order_type=order_type,
        limit_price=limit,
        stop_price=stop,
        time_in_force=tif,
        outside_rth=draft.outside_rth,
        account=draft.account.strip(),
    )
    return spec, []


def entry_reference_price(parent: OrderSpec) -> Decimal | None:
    """The price a bracket's children are checked against: the entry's limit, else its stop.

    A MARKET entry has none; its children are then only checked against each other.
    """
    if parent.limit_price is not None:
        return parent.limit_price
    return parent.stop_price


def parse_bracket(
    draft: BracketDraft, *, prefix: str = "bracket"
) -> tuple[BracketSpec | None, list[FieldViolation]]:
    """Check a bracket: the parent as an order, then the children's prices against the entry.

    For a BUY entry the take-profit must be above the entry price and the stop below it (a
    SELL mirrors this); with a MARKET entry, the take-profit must still be on the profit side
    of the stop. A STOP_LIMIT stop-loss's limit must not be better than its stop (for the
    closing SELL of a long position: limit <= stop).
    """
    parent, found = parse_order(draft.parent, prefix=f"{prefix}.parent")
    v = _Violations(prefix, list(found))
    take = _parse_price(
        draft.take_profit_limit_price, "take_profit_limit_price", True, "a bracket", v
    )
    stop = _parse_price(draft.stop_loss_stop_price, "stop_loss_stop_price", True, "a bracket", v)
    stop_limit: Decimal | None = None
    if draft.stop_loss_limit_price.strip():
        stop_limit = _parse_price(
            draft.stop_loss_limit_price, "stop_loss_limit_price", True, "a stop-limit stop-loss", v
        )
    child_tif = _parse_enum(
        TimeInForce, draft.children_time_in_force, "children_time_in_force", TimeInForce.DAY, v
    )
    if parent is None or v.found:
        return None, v.found
    assert take is not None and stop is not None and child_tif is not None
    if not draft.children_time_in_force.strip():
        child_tif = parent.time_in_force
    long = parent.side is Side.BUY
    entry = entry_reference_price(parent)
    if entry is not None:
        if (take <= entry) if long else (take >= entry):
            word = "above" if long else "below"
            v.add(
                "take_profit_limit_price",
                f"must be {word} the entry price {entry} for a {parent.side}",
            )
        if (stop >= entry) if long else (stop <= entry):
            word = "below" if long else "above"
            v.add(
                "stop_loss_stop_price",
                f"must be {word} the entry price {entry} for a {parent.side}",
            )
    elif (take <= stop) if long else (take >= stop):
        word = "above" if long else "below"
        v.add("take_profit_limit_price", f"must be {word} the stop-loss price for a {parent.side}")
    if stop_limit is not None and ((stop_limit > stop) if long else (stop_limit < stop)):
        word = "at or below" if long else "at or above"
        v.add("stop_loss_limit_price", f"must be {word} the stop-loss stop price")
    if v.found:
        return None, v.found
    exit_side = Side.SELL if long else Side.BUY
    take_profit = OrderSpec(
        contract=parent.contract,
        side=exit_side,
        quantity=parent.quantity,
        order_type=OrderType.LIMIT,
        limit_price=take,
        time_in_force=child_tif,
        outside_rth=parent.outside_rth,
        account=parent.account,
    )
    stop_loss = OrderSpec(
        contract=parent.contract,
        side=exit_side,
        quantity=parent.quantity,
        order_type=OrderType.STOP if stop_limit is None else OrderType.STOP_LIMIT,
        limit_price=stop_limit,
        stop_price=stop,
        time_in_force=child_tif,
        outside_rth=parent.outside_rth,
        account=parent.account,
    )
    return BracketSpec(parent, take_profit, stop_loss), []


def _multiple_of(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def check_increments(
    spec: OrderSpec,
    min_tick: Decimal,
    *,
    size_increment: Decimal | None = None,
    prefix: str = "",
) -> list[FieldViolation]:
    """Check prices against the contract's minimum tick and the quantity against its increment.

    A price must be a whole multiple of ``min_tick`` (IB rejects the others: "does not conform
    to the minimum price variation"); so a price with more decimals than the tick always fails.
    """
    if min_tick <= 0:
        raise ValueError(f"min_tick must be positive, got {min_tick}")
    v = _Violations(prefix)
    for name, price in spec.prices().items():
        if not _multiple_of(price, min_tick):
            v.add(
                name,
                f"{canonical_decimal(price)} is not a multiple of the minimum tick {canonical_decimal(min_tick)}",
            )
    if (
        size_increment is not None
        and size_increment > 0
        and not _multiple_of(spec.quantity, size_increment)
    ):
        v.add(
            "quantity",
            f"{canonical_decimal(spec.quantity)} is not a multiple of the size increment {canonical_decimal(size_increment)}",
        )
    return v.found


def check_bracket_increments(
    bracket: BracketSpec,
    min_tick: Decimal,
    *,
    size_increment: Decimal | None = None,
    prefix: str = "bracket",
) -> list[FieldViolation]:
    """:func:`check_increments` for a bracket, naming the bracket's own fields."""
    found = check_increments(
        bracket.parent, min_tick, size_increment=size_increment, prefix=f"{prefix}.parent"
    )
    child_fields = (
        (bracket.take_profit.limit_price, "take_profit_limit_price"),
        (bracket.stop_loss.stop_price, "stop_loss_stop_price"),
        (bracket.stop_loss.limit_price, "stop_loss_limit_price"),
    )
    for price, name in child_fields:
        if price is not None and not _multiple_of(price, min_tick):
            found.append(
                FieldViolation(
                    f"{prefix}.{name}",
                    f"{canonical_decimal(price)} is not a multiple of the minimum tick {canonical_decimal(min_tick)}",
                )
            )
    return found
