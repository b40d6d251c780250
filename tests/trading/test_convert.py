"""services/trading_convert.py: proto requests into drafts, journal entries into Orders."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_server.domain.order_state import OrderState
from broker_server.domain.orders import (
    BracketDraft,
    BracketRole,
    OrderDraft,
    parse_bracket,
    parse_order,
)
from broker_server.services.trading_convert import (
    bracket_role,
    contract_proto,
    contract_ref,
    order_proto,
    order_spec_proto,
    place_draft,
)
from tests.trading.helpers import NOW, bracket_order, journal

CONTRACT = pb.Contract(
    symbol="ES",
    security_type=pb.SECURITY_TYPE_FUTURE_OPTION,
    exchange="CME",
    currency="USD",
    last_trade_date_or_contract_month="202612",
    strike="5000.0",
    right=pb.OPTION_RIGHT_PUT,
    multiplier="50",
)
SINGLE = pb.OrderSpec(
    contract=CONTRACT,
    side=pb.ORDER_SIDE_SELL,
    quantity="2",
    order_type=pb.ORDER_TYPE_STOP_LIMIT,
    limit_price="12.50",
    stop_price="12.75",
    time_in_force=pb.TIME_IN_FORCE_GTC,
    outside_rth=True,
    account="DU123",
)


def test_contract_round_trip() -> None:
    ref = contract_ref(CONTRACT)
    assert (ref.sec_type, ref.right) == ("FOP", "P")
    assert contract_proto(ref) == CONTRACT


def test_a_single_order_becomes_a_draft_that_parses() -> None:
    draft, found = place_draft(spb.PlaceOrderRequest(idempotency_key="k", single=SINGLE))
    assert found == [] and isinstance(draft, OrderDraft)
    assert (draft.side, draft.order_type, draft.time_in_force) == ("SELL", "STP LMT", "GTC")
    spec, violations = parse_order(draft, prefix="single")
    assert spec is not None and violations == []
    back = order_spec_proto(spec)
    assert back.limit_price == "12.5"  # canonical decimals
    back.limit_price = "12.50"
    assert back == SINGLE


def test_unset_enums_are_reported_as_required() -> None:
    draft, _ = place_draft(
        spb.PlaceOrderRequest(single=pb.OrderSpec(contract=CONTRACT, quantity="1"))
    )
    assert isinstance(draft, OrderDraft)
    spec, violations = parse_order(draft, prefix="single")
    assert spec is None
    described = {v.field: v.description for v in violations}
    assert described["single.side"].startswith("required")
    assert described["single.order_type"].startswith("required")
    assert "single.time_in_force" not in described  # unset means DAY


def test_out_of_range_enum_numbers_are_unknown_values() -> None:
    raw = pb.OrderSpec(contract=CONTRACT, quantity="1", side=pb.ORDER_SIDE_BUY)
    raw.order_type = 99  # type: ignore[assignment]
    draft, _ = place_draft(spb.PlaceOrderRequest(single=raw))
    assert isinstance(draft, OrderDraft)
    _, violations = parse_order(draft)
    assert [v.field for v in violations] == ["order_type"]
    assert "unknown value" in violations[0].description


def test_a_bracket_and_a_missing_order() -> None:
    parent = pb.OrderSpec(
        contract=CONTRACT,
        side=pb.ORDER_SIDE_BUY,
        quantity="1",
        order_type=pb.ORDER_TYPE_LIMIT,
        limit_price="10",
    )
    request = spb.PlaceOrderRequest(
        bracket=pb.BracketOrder(
            parent=parent, take_profit_limit_price="11", stop_loss_stop_price="9"
        )
    )
    draft, _ = place_draft(request)
    assert isinstance(draft, BracketDraft)
    spec, violations = parse_bracket(draft)
    assert spec is not None and violations == []
    none, violations = place_draft(spb.PlaceOrderRequest(idempotency_key="k"))
    assert none is None and [v.field for v in violations] == ["order"]


def test_order_proto_from_a_journal_entry() -> None:
    _, take, _ = journal(bracket_order())
    take = replace(
        take,
        state=OrderState.PARTIALLY_FILLED,
        filled_quantity=Decimal("40"),
        average_fill_price=Decimal("160.00"),
        perm_id=77,
        updated_at=NOW + 2,
    )
    order = order_proto(take)
    assert order.state == pb.ORDER_STATE_PARTIALLY_FILLED
    assert order.bracket_role == pb.BRACKET_ROLE_TAKE_PROFIT
    assert (order.filled_quantity, order.remaining_quantity, order.average_fill_price) == (
        "40",
        "60",
        "160",
    )
    assert (order.order_id, order.parent_order_id, order.perm_id, order.client_id) == (
        2,
        1,
        77,
        101,
    )
    assert order.spec.side == pb.ORDER_SIDE_SELL and order.spec.limit_price == "160"
    assert order.update_time.seconds - order.create_time.seconds == 2
    assert order.order_ref == take.order_ref and order.idempotency_key == "k1"


def test_every_state_has_a_proto_state() -> None:
    from broker_server.services.trading_convert import order_state

    assert {order_state(s) for s in OrderState} == set(pb.OrderState.values()) - {
        pb.ORDER_STATE_UNSPECIFIED
    }


def test_roles() -> None:
    assert bracket_role(pb.BRACKET_ROLE_STOP_LOSS) is BracketRole.STOP_LOSS
    assert bracket_role(pb.BRACKET_ROLE_UNSPECIFIED) is BracketRole.NONE
