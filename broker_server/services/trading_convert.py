"""Proto <-> domain for the TradingService: requests into drafts, journal entries into Orders.

The edge does no validation of its own: it copies the request's fields, enums as IB's words,
into :class:`~broker_server.domain.orders.OrderDraft` / ``BracketDraft`` (text stays text), and
the domain's parse functions report every bad field with its proto path. An UNSPECIFIED enum
becomes an empty word, which the domain reports as required (or takes as its default, for time
in force).

Used by :mod:`broker_server.services.trading_service`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_server.domain.errors import FieldViolation
from broker_server.domain.journal import JournalEntry
from broker_server.domain.order_events import OrderEventKind, OrderEventRecord
from broker_server.domain.order_state import OrderState
from broker_server.domain.orders import (
    BracketDraft,
    BracketRole,
    ContractRef,
    OrderDraft,
    OrderSpec,
    OrderType,
    Side,
    TimeInForce,
    canonical_decimal,
)
from broker_server.domain.reconcile import IbExecution
from broker_server.domain.trading_views import (
    AccountValueView,
    ContractDetailsView,
    ExecutionView,
    PositionView,
)
from broker_server.services.convert import timestamp

_SEC_TYPES: dict[pb.SecurityType.ValueType, str] = {
    pb.SECURITY_TYPE_STOCK: "STK",
    pb.SECURITY_TYPE_OPTION: "OPT",
    pb.SECURITY_TYPE_FUTURE: "FUT",
    pb.SECURITY_TYPE_FUTURE_OPTION: "FOP",
    pb.SECURITY_TYPE_FOREX: "CASH",
    pb.SECURITY_TYPE_INDEX: "IND",
    pb.SECURITY_TYPE_CFD: "CFD",
    pb.SECURITY_TYPE_BOND: "BOND",
    pb.SECURITY_TYPE_CRYPTO: "CRYPTO",
}
_SEC_TYPES_BACK = {v: k for k, v in _SEC_TYPES.items()}
_RIGHTS: dict[pb.OptionRight.ValueType, str] = {pb.OPTION_RIGHT_CALL: "C", pb.OPTION_RIGHT_PUT: "P"}
_RIGHTS_BACK = {v: k for k, v in _RIGHTS.items()}
_SIDES: dict[pb.OrderSide.ValueType, Side] = {
    pb.ORDER_SIDE_BUY: Side.BUY,
    pb.ORDER_SIDE_SELL: Side.SELL,
}
_SIDES_BACK = {v: k for k, v in _SIDES.items()}
_TYPES: dict[pb.OrderType.ValueType, OrderType] = {
    pb.ORDER_TYPE_MARKET: OrderType.MARKET,
    pb.ORDER_TYPE_LIMIT: OrderType.LIMIT,
    pb.ORDER_TYPE_STOP: OrderType.STOP,
    pb.ORDER_TYPE_STOP_LIMIT: OrderType.STOP_LIMIT,
}
_TYPES_BACK = {v: k for k, v in _TYPES.items()}
_TIFS: dict[pb.TimeInForce.ValueType, TimeInForce] = {
    pb.TIME_IN_FORCE_DAY: TimeInForce.DAY,
    pb.TIME_IN_FORCE_GTC: TimeInForce.GTC,
    pb.TIME_IN_FORCE_IOC: TimeInForce.IOC,
}
_TIFS_BACK = {v: k for k, v in _TIFS.items()}
_ROLES: dict[pb.BracketRole.ValueType, BracketRole] = {
    pb.BRACKET_ROLE_UNSPECIFIED: BracketRole.NONE,
    pb.BRACKET_ROLE_PARENT: BracketRole.PARENT,
    pb.BRACKET_ROLE_TAKE_PROFIT: BracketRole.TAKE_PROFIT,
    pb.BRACKET_ROLE_STOP_LOSS: BracketRole.STOP_LOSS,
}
_ROLES_BACK = {v: k for k, v in _ROLES.items()}


def _word(mapping: Mapping[Any, object], value: int, field: str) -> str:
    """IB's word for a proto enum value; an out-of-range number keeps its digits, so the domain
    reports it as an unknown value rather than as missing."""
    if value == 0:
        return ""
    found = mapping.get(value)
    return str(found) if found is not None else f"{field}#{value}"


def contract_ref(c: pb.Contract) -> ContractRef:
    """A proto Contract as the domain's ContractRef (IB's words for type and right)."""
    return ContractRef(
        con_id=c.con_id,
        symbol=c.symbol,
        sec_type=_SEC_TYPES.get(c.security_type, ""),
        exchange=c.exchange,
        primary_exchange=c.primary_exchange,
        currency=c.currency,
        local_symbol=c.local_symbol,
        trading_class=c.trading_class,
        last_trade_date_or_contract_month=c.last_trade_date_or_contract_month,
        strike=c.strike,
        right=_RIGHTS.get(c.right, ""),
        multiplier=c.multiplier,
    )


def contract_proto(c: ContractRef) -> pb.Contract:
    """The domain's ContractRef as a proto Contract."""
    return pb.Contract(
        con_id=c.con_id,
        symbol=c.symbol,
        security_type=_SEC_TYPES_BACK.get(c.sec_type.upper(), pb.SECURITY_TYPE_UNSPECIFIED),
        exchange=c.exchange,
        primary_exchange=c.primary_exchange,
        currency=c.currency,
        local_symbol=c.local_symbol,
        trading_class=c.trading_class,
        last_trade_date_or_contract_month=c.last_trade_date_or_contract_month,
        strike=c.strike,
        right=_RIGHTS_BACK.get(c.right.upper(), pb.OPTION_RIGHT_UNSPECIFIED),
        multiplier=c.multiplier,
    )


def order_draft(spec: pb.OrderSpec) -> OrderDraft:
    """A proto OrderSpec as an unchecked draft."""
    return OrderDraft(
        contract=contract_ref(spec.contract),
        side=_word(_SIDES, spec.side, "side"),
        quantity=spec.quantity,
        order_type=_word(_TYPES, spec.order_type, "order_type"),
        limit_price=spec.limit_price,
        stop_price=spec.stop_price,
        time_in_force=_word(_TIFS, spec.time_in_force, "time_in_force"),
        outside_rth=spec.outside_rth,
        account=spec.account,
    )


def bracket_draft(bracket: pb.BracketOrder) -> BracketDraft:
    """A proto BracketOrder as an unchecked draft."""
    return BracketDraft(
        parent=order_draft(bracket.parent),
        take_profit_limit_price=bracket.take_profit_limit_price,
        stop_loss_stop_price=bracket.stop_loss_stop_price,
        stop_loss_limit_price=bracket.stop_loss_limit_price,
        children_time_in_force=_word(
            _TIFS, bracket.children_time_in_force, "children_time_in_force"
        ),
    )


def place_draft(
    request: spb.PlaceOrderRequest,
) -> tuple[OrderDraft | BracketDraft | None, list[FieldViolation]]:
    """The order or bracket of a PlaceOrder, or a violation when neither is set."""
    which = request.WhichOneof("order")
    if which == "single":
        return order_draft(request.single), []
    if which == "bracket":
        return bracket_draft(request.bracket), []
    return None, [FieldViolation("order", "set `single` or `bracket`")]


def time_in_force_word(value: pb.TimeInForce.ValueType) -> str:
    """IB's word for a proto TimeInForce ("" for UNSPECIFIED; an unknown number kept visible)."""
    return _word(_TIFS, value, "time_in_force")


def bracket_role(value: pb.BracketRole.ValueType) -> BracketRole:
    """A proto BracketRole as the domain's (unknown numbers as NONE: the single or parent)."""
    return _ROLES.get(value, BracketRole.NONE)


def _text(value: Decimal | None) -> str:
    return "" if value is None else canonical_decimal(value)


def order_spec_proto(spec: OrderSpec) -> pb.OrderSpec:
    """A checked OrderSpec as a proto OrderSpec (decimals in canonical form)."""
    return pb.OrderSpec(
        contract=contract_proto(spec.contract),
        side=_SIDES_BACK[spec.side],
        quantity=canonical_decimal(spec.quantity),
        order_type=_TYPES_BACK[spec.order_type],
        limit_price=_text(spec.limit_price),
        stop_price=_text(spec.stop_price),
        time_in_force=_TIFS_BACK[spec.time_in_force],
        outside_rth=spec.outside_rth,
        account=spec.account,
    )


def order_state(value: OrderState) -> pb.OrderState.ValueType:
    """The proto OrderState of a domain state (same names)."""
    return pb.OrderState.Value("ORDER_STATE_" + value.value)


def order_proto(entry: JournalEntry) -> pb.Order:
    """A journal entry as the proto Order the caller sees."""
    return pb.Order(
        idempotency_key=entry.key,
        owner=entry.owner,
        gateway=entry.gateway,
        client_id=entry.client_id,
        order_id=entry.order_id,
        perm_id=entry.perm_id,
        order_ref=entry.order_ref,
        spec=order_spec_proto(entry.spec),
        state=order_state(entry.state),
        filled_quantity=canonical_decimal(entry.filled_quantity),
        remaining_quantity=canonical_decimal(entry.remaining_quantity),
        average_fill_price=_text(entry.average_fill_price),
        bracket_role=_ROLES_BACK[entry.role],
        parent_order_id=entry.parent_order_id,
        create_time=timestamp(entry.created_at),
        update_time=timestamp(entry.updated_at),
        message=entry.message,
        ib_error_code=entry.ib_error_code,
        external=not entry.key,
    )


def side_of(value: pb.OrderSide.ValueType) -> Side | None:
    """A proto side (None for UNSPECIFIED or unknown)."""
    return _SIDES.get(value)


def sec_type_of(value: pb.SecurityType.ValueType) -> str:
    """IB's secType for a proto SecurityType ("" for UNSPECIFIED)."""
    return _SEC_TYPES.get(value, "")


def execution_proto(view: ExecutionView, entry: JournalEntry | None) -> pb.Execution:
    """A fill as the proto Execution (with the idempotency key when it is the broker's order)."""
    e = view.execution
    return pb.Execution(
        exec_id=e.exec_id,
        time=timestamp(e.time),
        account=view.account,
        contract=contract_proto(view.contract),
        side=_SIDES_BACK[view.side],
        quantity=canonical_decimal(e.shares),
        price=canonical_decimal(e.price),
        exchange=view.exchange,
        order_id=e.order_id,
        perm_id=e.perm_id,
        client_id=e.client_id,
        order_ref=e.order_ref,
        cumulative_quantity=canonical_decimal(view.cumulative_quantity),
        average_price=canonical_decimal(view.average_price),
        commission=_text(view.commission),
        commission_currency=view.commission_currency,
        realized_pnl=_text(view.realized_pnl),
        idempotency_key=entry.key if entry is not None else "",
    )


def bare_execution_proto(e: IbExecution, entry: JournalEntry | None) -> pb.Execution:
    """A fill known only by its reconciliation fields."""
    return pb.Execution(
        exec_id=e.exec_id,
        time=timestamp(e.time),
        quantity=canonical_decimal(e.shares),
        price=canonical_decimal(e.price),
        order_id=e.order_id,
        perm_id=e.perm_id,
        client_id=e.client_id,
        order_ref=e.order_ref,
        idempotency_key=entry.key if entry is not None else "",
    )


def order_event_proto(
    sequence: int, record: OrderEventRecord, execution: ExecutionView | None
) -> pb.OrderEvent:
    """One sequenced order event as the proto OrderEvent."""
    event = pb.OrderEvent(
        sequence=sequence,
        event_time=timestamp(record.time),
        kind=pb.OrderEventKind.Value("ORDER_EVENT_KIND_" + record.kind.value),
        reason=record.reason,
        gateway=record.gateway,
    )
    if record.entry is not None:
        event.order.CopyFrom(order_proto(record.entry))
    if execution is not None:
        event.execution.CopyFrom(execution_proto(execution, record.entry))
    elif record.fill is not None:
        event.execution.CopyFrom(bare_execution_proto(record.fill, record.entry))
    if record.previous_state is not None:
        event.previous_state = order_state(record.previous_state)
    if record.kind is OrderEventKind.GAP:
        start, end = timestamp(record.gap_start), timestamp(record.gap_end)
        if start is not None:
            event.gap_start.CopyFrom(start)
        if end is not None:
            event.gap_end.CopyFrom(end)
    return event


def position_proto(p: PositionView) -> pb.Position:
    """A position."""
    return pb.Position(
        account=p.account,
        contract=contract_proto(p.contract),
        quantity=canonical_decimal(p.quantity),
        average_cost=canonical_decimal(p.average_cost),
    )


def account_value_proto(v: AccountValueView) -> pb.AccountValue:
    """An account-summary value."""
    return pb.AccountValue(account=v.account, tag=v.tag, value=v.value, currency=v.currency)


def contract_details_proto(d: ContractDetailsView) -> pb.ContractDetails:
    """Contract details."""
    return pb.ContractDetails(
        contract=contract_proto(d.contract),
        market_name=d.market_name,
        min_tick=d.min_tick,
        long_name=d.long_name,
        order_types=list(d.order_types),
        valid_exchanges=list(d.valid_exchanges),
        time_zone_id=d.time_zone_id,
        trading_hours=d.trading_hours,
        liquid_hours=d.liquid_hours,
        industry=d.industry,
        category=d.category,
        min_size=d.min_size,
        size_increment=d.size_increment,
    )


def external_order_proto(
    *,
    gateway: str,
    client_id: int,
    order_id: int,
    perm_id: int,
    order_ref: str,
    spec: OrderSpec | None,
    state: OrderState,
    filled: Decimal,
    average_fill_price: Decimal | None,
    message: str = "",
) -> pb.Order:
    """An order IB reports that the broker did not place (``external`` set)."""
    order = pb.Order(
        gateway=gateway,
        client_id=client_id,
        order_id=order_id,
        perm_id=perm_id,
        order_ref=order_ref,
        state=order_state(state),
        filled_quantity=canonical_decimal(filled),
        average_fill_price=_text(average_fill_price),
        message=message,
        external=True,
    )
    if spec is not None:
        order.spec.CopyFrom(order_spec_proto(spec))
        remaining = spec.quantity - filled if not state.terminal else Decimal(0)
        order.remaining_quantity = canonical_decimal(max(remaining, Decimal(0)))
    return order
