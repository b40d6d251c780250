"""A subscriber's outbox: conflation, bounded memory, ordering, too-slow (unit + property)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker_server.domain.errors import DomainError
from broker_server.domain.md_events import (
    DEFAULT_FIELDS,
    BarValue,
    MdKind,
    QuoteField,
    parse_data_type,
    parse_fields,
)
from broker_server.domain.md_lines import DataType
from broker_server.domain.md_outbox import Outbox
from broker_server.domain.reasons import FailureReason

F = QuoteField
LIVE = DataType.LIVE


def test_snapshot_first_then_updates_with_sequence() -> None:
    box = Outbox(DEFAULT_FIELDS, first_sequence=10)
    box.request_snapshot(0)
    quote = {F.BID: "1", F.ASK: "2", F.VOLUME: "9"}
    snap = box.take(quote, None, LIVE, 100)
    assert snap is not None and snap.kind is MdKind.SNAPSHOT and snap.sequence == 10
    assert snap.wanted() == {F.BID: "1", F.ASK: "2"}  # VOLUME was not asked for
    assert box.take(quote, None, LIVE, 100) is None
    assert not box.update({F.VOLUME: "10"}, 1)  # not wanted: nothing to send
    assert box.update({F.BID: "1.5"}, 1)
    upd = box.take({**quote, F.BID: "1.5"}, 5.0, LIVE, 101)
    assert upd is not None and upd.kind is MdKind.UPDATE and upd.sequence == 11
    assert upd.changed == (F.BID,) and upd.conflated == 0 and upd.last_trade_time == 5.0


def test_latest_value_wins_and_the_count_is_reported() -> None:
    box = Outbox(DEFAULT_FIELDS)
    for i in range(5):
        box.update({F.BID: str(i)}, i)
    box.update({F.ASK: "9"}, 5)
    event = box.take({F.BID: "4", F.ASK: "9"}, None, LIVE, 0)
    assert event is not None
    assert event.changed == (F.BID, F.ASK) and event.conflated == 5
    assert box.conflated_total == 5


def test_gap_drops_waiting_update_then_snapshot_absorbs_later_ones() -> None:
    box = Outbox(DEFAULT_FIELDS)
    box.update({F.BID: "1"}, 0)
    box.gap(10.0, 12.0, "1101 data lost", 1)
    box.gap(11.0, 15.0, "2103 farm broken", 2)
    box.request_snapshot(3)
    box.update({F.BID: "2"}, 4)
    gap = box.take({}, None, LIVE, 0)
    assert gap is not None and gap.kind is MdKind.GAP
    assert (gap.gap_start, gap.gap_end) == (10.0, 15.0)
    assert "1101" in gap.reason and "2103" in gap.reason
    snap = box.take({F.BID: "2"}, None, LIVE, 0)
    assert snap is not None and snap.kind is MdKind.SNAPSHOT and snap.wanted() == {F.BID: "2"}
    assert snap.conflated == 2 and box.take({}, None, LIVE, 0) is None


def test_final_is_last_and_alone() -> None:
    box = Outbox(DEFAULT_FIELDS)
    box.update({F.BID: "1"}, 0)
    box.bar(BarValue(0, "1", "1", "1", "1"), 0)
    box.final("broker shutting down", 1)
    box.update({F.BID: "2"}, 2)
    final = box.take({}, None, LIVE, 0)
    assert final is not None and final.kind is MdKind.FINAL
    assert box.finished and box.take({}, None, LIVE, 0) is None


def test_bars_are_bounded_and_dropped_ones_counted() -> None:
    box = Outbox(DEFAULT_FIELDS, max_bars=2)
    for i in range(5):
        box.bar(BarValue(float(i), "1", "1", "1", "1"), 0)
    times = []
    while (e := box.take({}, None, LIVE, 0)) is not None:
        assert e.bar is not None
        times.append(e.bar.time)
    assert times == [3.0, 4.0]


def test_too_slow_only_when_nothing_is_taken_for_too_long() -> None:
    box = Outbox(DEFAULT_FIELDS, too_slow_after=3)
    box.update({F.BID: "1"}, 0)
    box.check(3)
    box.take({}, None, LIVE, 0)  # a reader that takes, however slowly, starts over
    box.update({F.BID: "2"}, 3.5)
    box.update({F.BID: "3"}, 6)
    box.check(6.5)
    with pytest.raises(DomainError) as err:
        box.check(6.6)
    assert err.value.reason is FailureReason.SUBSCRIBER_TOO_SLOW


def test_bad_fields_and_types_are_field_violations() -> None:
    assert parse_fields([]) == DEFAULT_FIELDS
    with pytest.raises(DomainError) as err:
        parse_fields([1, 0, 99])
    assert [v.field for v in err.value.violations] == ["fields[1]", "fields[2]"]
    assert parse_data_type(0) is DataType.LIVE
    with pytest.raises(DomainError) as err2:
        parse_data_type(7)
    assert err2.value.violations[0].field == "market_data_type"


events = st.one_of(
    st.tuples(st.just("update"), st.sampled_from(list(F)), st.integers(0, 99)),
    st.tuples(st.just("gap"), st.just(F.BID), st.integers(0, 99)),
    st.tuples(st.just("snap"), st.just(F.BID), st.just(0)),
    st.tuples(st.just("bar"), st.just(F.BID), st.integers(0, 99)),
    st.tuples(st.just("take"), st.just(F.BID), st.just(0)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(events, max_size=200))
def test_property_bounded_ordered_and_latest_value_wins(
    ops: list[tuple[str, QuoteField, int]],
) -> None:
    """Memory is bounded whatever the producer does; sequences strictly increase; an UPDATE
    always carries the line's latest value of every changed field."""
    box = Outbox(frozenset(F), max_bars=4)
    quote: dict[QuoteField, str] = {}
    last_seq = 0
    for op, fld, value in ops:
        if op == "update":
            quote[fld] = str(value)
            box.update({fld: str(value)}, 0)
        elif op == "gap":
            box.gap(float(value), float(value + 1), "x", 0)
        elif op == "snap":
            box.request_snapshot(0)
        elif op == "bar":
            box.bar(BarValue(float(value), "1", "1", "1", "1"), 0)
        else:
            event = box.take(quote, None, LIVE, 0)
            if event is not None:
                assert event.sequence > last_seq
                last_seq = event.sequence
                if event.kind is MdKind.UPDATE:
                    assert all(event.wanted()[f] == quote[f] for f in event.changed)
                    assert set(event.changed) <= event.fields
        assert len(box._changed) <= len(F) and len(box._bars) <= 4
