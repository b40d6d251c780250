"""orders.py: parsing and validation with field violations, the canonical hash, orderRef."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker_server.domain.order_identity import (
    MAX_IDEMPOTENCY_KEY_BYTES,
    check_idempotency_key,
    derive_order_ref,
    is_broker_order_ref,
    parameter_hash,
)
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
    check_bracket_increments,
    check_increments,
    parse_bracket,
    parse_order,
)

AAPL = ContractRef(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")


def draft(**kw: object) -> OrderDraft:
    base: dict[str, object] = {
        "contract": AAPL,
        "side": "BUY",
        "quantity": "100",
        "order_type": "LMT",
        "limit_price": "150.25",
    }
    base.update(kw)
    return OrderDraft(**base)  # type: ignore[arg-type]


def fields(violations: list) -> list[str]:
    return [v.field for v in violations]


def test_a_limit_order_parses() -> None:
    spec, found = parse_order(draft(time_in_force="gtc", outside_rth=True, account=" DU1 "))
    assert found == []
    assert spec == OrderSpec(
        contract=AAPL,
        side=Side.BUY,
        quantity=Decimal("100"),
        order_type=OrderType.LIMIT,
        limit_price=Decimal("150.25"),
        time_in_force=TimeInForce.GTC,
        outside_rth=True,
        account="DU1",
    )


@pytest.mark.parametrize(
    ("order_type", "limit", "stop", "bad"),
    [
        ("MKT", "", "", []),
        ("MKT", "1", "", ["limit_price"]),
        ("MKT", "", "1", ["stop_price"]),
        ("LMT", "", "", ["limit_price"]),
        ("LMT", "1", "2", ["stop_price"]),
        ("STP", "", "1", []),
        ("STP", "", "", ["stop_price"]),
        ("STP", "1", "1", ["limit_price"]),
        ("STP LMT", "1", "1", []),
        ("STP LMT", "1", "", ["stop_price"]),
        ("STP LMT", "", "1", ["limit_price"]),
    ],
)
def test_prices_each_type_needs(order_type: str, limit: str, stop: str, bad: list[str]) -> None:
    spec, found = parse_order(
        draft(order_type=order_type, limit_price=limit, stop_price=stop), prefix="single"
    )
    assert fields(found) == [f"single.{name}" for name in bad]
    assert (spec is None) == bool(bad)


@pytest.mark.parametrize("quantity", ["0", "-5", "abc", "", "1e3", "NaN", "Infinity", "1" * 40])
def test_bad_quantities(quantity: str) -> None:
    spec, found = parse_order(draft(quantity=quantity))
    assert spec is None
    assert fields(found) == ["quantity"]


def test_unknown_enums_and_missing_contract_are_all_reported() -> None:
    spec, found = parse_order(
        draft(contract=ContractRef(), side="HOLD", order_type="TRAIL", time_in_force="GTD"),
        prefix="single",
    )
    assert spec is None
    assert fields(found) == [
        "single.contract",
        "single.side",
        "single.order_type",
        "single.time_in_force",
    ]
    assert "one of 'MKT', 'LMT', 'STP', 'STP LMT'" in found[2].description


def test_negative_price_and_con_id() -> None:
    _, found = parse_order(draft(limit_price="-1", contract=ContractRef(con_id=-3)))
    assert fields(found) == ["contract.con_id", "limit_price"]


def test_ticks() -> None:
    spec, _ = parse_order(draft(limit_price="150.255"))
    assert spec is not None
    (violation,) = check_increments(spec, Decimal("0.01"), prefix="single")
    assert violation.field == "single.limit_price"
    assert "not a multiple of the minimum tick 0.01" in violation.description
    assert check_increments(spec, Decimal("0.005")) == []
    # Same decimals as the tick, yet off the grid.
    spec, _ = parse_order(draft(limit_price="1.02"))
    assert spec is not None
    assert fields(check_increments(spec, Decimal("0.05"))) == ["limit_price"]
    assert fields(check_increments(spec, Decimal("0.01"), size_increment=Decimal("30"))) == [
        "quantity"
    ]
    with pytest.raises(ValueError):
        check_increments(spec, Decimal(0))


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("", False),
        ("k", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("é" * 64, True),
        ("é" * 65, False),
    ],
)
def test_idempotency_key(key: str, ok: bool) -> None:
    assert (check_idempotency_key(key) == []) is ok
    assert MAX_IDEMPOTENCY_KEY_BYTES == 128


def bracket(**kw: str) -> BracketDraft:
    base = {"take_profit_limit_price": "160", "stop_loss_stop_price": "140"}
    base.update(kw)
    parent = draft(side=base.pop("side", "BUY"), limit_price=base.pop("entry", "150"))
    return BracketDraft(parent=parent, **base)


def test_bracket_builds_children() -> None:
    spec, found = parse_bracket(
        bracket(stop_loss_limit_price="139.5", children_time_in_force="GTC")
    )
    assert found == []
    assert spec is not None
    roles = [role for role, _ in spec.orders()]
    assert roles == [BracketRole.PARENT, BracketRole.TAKE_PROFIT, BracketRole.STOP_LOSS]
    assert spec.take_profit.side is Side.SELL and spec.take_profit.order_type is OrderType.LIMIT
    assert spec.stop_loss.order_type is OrderType.STOP_LIMIT
    assert spec.stop_loss.stop_price == Decimal("140") and spec.stop_loss.limit_price == Decimal(
        "139.5"
    )
    assert spec.take_profit.time_in_force is TimeInForce.GTC
    assert spec.take_profit.quantity == spec.parent.quantity


@pytest.mark.parametrize(
    ("kw", "bad"),
    [
        ({"take_profit_limit_price": "149"}, ["bracket.take_profit_limit_price"]),
        ({"stop_loss_stop_price": "151"}, ["bracket.stop_loss_stop_price"]),
        ({"stop_loss_limit_price": "141"}, ["bracket.stop_loss_limit_price"]),
        (
            {"side": "SELL", "take_profit_limit_price": "160", "stop_loss_stop_price": "140"},
            ["bracket.take_profit_limit_price", "bracket.stop_loss_stop_price"],
        ),
        ({"side": "SELL", "take_profit_limit_price": "140", "stop_loss_stop_price": "160"}, []),
        ({"take_profit_limit_price": ""}, ["bracket.take_profit_limit_price"]),
        ({"entry": ""}, ["bracket.parent.limit_price"]),
    ],
)
def test_bracket_consistency(kw: dict[str, str], bad: list[str]) -> None:
    spec, found = parse_bracket(bracket(**kw))
    assert fields(found) == bad
    assert (spec is None) == bool(bad)


def test_market_bracket_checks_children_against_each_other() -> None:
    parent = draft(order_type="MKT", limit_price="")
    ok, found = parse_bracket(BracketDraft(parent, "160", "140"))
    assert ok is not None and found == []
    _, found = parse_bracket(BracketDraft(parent, "130", "140"))
    assert fields(found) == ["bracket.take_profit_limit_price"]


def test_bracket_ticks_name_the_bracket_fields() -> None:
    spec, _ = parse_bracket(bracket(take_profit_limit_price="160.001"))
    assert spec is not None
    assert fields(check_bracket_increments(spec, Decimal("0.01"))) == [
        "bracket.take_profit_limit_price"
    ]


def test_hash_ignores_representation() -> None:
    a, _ = parse_order(draft(limit_price="1.50", quantity="100"))
    b, _ = parse_order(draft(limit_price="1.5", quantity="100.000", time_in_force=""))
    c, _ = parse_order(draft(limit_price="1.5", quantity="100", time_in_force="DAY"))
    d, _ = parse_order(draft(limit_price="1.51", quantity="100"))
    assert a is not None and b is not None and c is not None and d is not None
    assert parameter_hash(a) == parameter_hash(b) == parameter_hash(c)
    assert parameter_hash(a) != parameter_hash(d)


def test_single_and_bracket_never_hash_alike() -> None:
    spec, _ = parse_bracket(bracket())
    assert spec is not None
    assert parameter_hash(spec) != parameter_hash(spec.parent)


def test_order_ref() -> None:
    ref = derive_order_ref("alice", "key-1")
    assert ref == derive_order_ref("alice", "key-1")
    assert ref != derive_order_ref("bob", "key-1")
    assert ref != derive_order_ref("alice", "key-1", BracketRole.PARENT)
    assert is_broker_order_ref(ref) and not is_broker_order_ref("manual")
    assert len(ref) == 33 and ref.isascii()


decimals = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999"), places=4)


@given(price=decimals, quantity=decimals, zeros=st.integers(0, 4), tif=st.sampled_from(["", "DAY"]))
def test_hash_property_same_value_same_hash(
    price: Decimal, quantity: Decimal, zeros: int, tif: str
) -> None:
    plain = format(price, "f")
    padded = plain + ("0" * zeros if "." in plain else "." + "0" * zeros if zeros else "")
    a, _ = parse_order(draft(limit_price=plain, quantity=format(quantity, "f")))
    b, _ = parse_order(draft(limit_price=padded, quantity=format(quantity, "f"), time_in_force=tif))
    assert a is not None and b is not None
    assert parameter_hash(a) == parameter_hash(b)
    assert canonical_decimal(Decimal(padded)) == canonical_decimal(price)


@given(a=decimals, b=decimals)
def test_hash_property_different_prices_differ(a: Decimal, b: Decimal) -> None:
    x, _ = parse_order(draft(limit_price=format(a, "f")))
    y, _ = parse_order(draft(limit_price=format(b, "f")))
    assert x is not None and y is not None
    assert (parameter_hash(x) == parameter_hash(y)) == (a == b)


@given(owner=st.text(max_size=50), key=st.text(min_size=1, max_size=128))
def test_order_ref_property_fits_and_is_stable(owner: str, key: str) -> None:
    ref = derive_order_ref(owner, key, BracketRole.STOP_LOSS)
    assert ref == derive_order_ref(owner, key, BracketRole.STOP_LOSS)
    assert len(ref) == 33 and ref.isascii() and ref.isprintable()


@given(
    text=st.text(max_size=40),
    order_type=st.sampled_from(["MKT", "LMT", "STP", "STP LMT", "X"]),
)
def test_parse_never_raises(text: str, order_type: str) -> None:
    spec, found = parse_order(
        draft(quantity=text, limit_price=text, stop_price=text, order_type=order_type, side=text)
    )
    assert (spec is None) == bool(found)
