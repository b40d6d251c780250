"""The edge's encoding of market data events (one shared encoding per line update)."""

from __future__ import annotations

from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
from broker_server.domain.md_events import DEFAULT_FIELDS, MdEvent, MdKind, QuoteField
from broker_server.domain.md_lines import LineKey
from broker_server.services.market_data_service import SharedEncoder, event_proto

F = QuoteField
QUOTE = {F.BID: "190.01", F.ASK: "190.02", F.LAST: "190.02", F.VOLUME: "100"}


def _update(
    seq: int, version: int, conflated: int = 0, changed: tuple[QuoteField, ...] = (F.BID,)
) -> MdEvent:
    return MdEvent(
        seq, MdKind.UPDATE, 1_700_000_000.5, quote=QUOTE, fields=DEFAULT_FIELDS,
        last_trade_time=1_700_000_000.25, changed=changed, conflated=conflated,
        version=version,
    )  # fmt: skip


def test_shared_encoding_equals_the_direct_one_with_each_sequence() -> None:
    encoder = SharedEncoder()
    line = LineKey("paper", 1)
    for seq in (10, 11, 500):
        shared = encoder.response(line, _update(seq, version=7)).event
        assert shared == event_proto(_update(seq, version=7))
        assert shared.sequence == seq
    # A new version is encoded afresh; conflated updates of it share the encoding too, each
    # with its own count and, when other fields changed in between, its own changed set.
    assert encoder.response(line, _update(3, version=8)).event.sequence == 3
    for seq, conflated, changed in ((4, 2, (F.BID,)), (5, 7, (F.BID, F.LAST)), (6, 0, (F.BID,))):
        event = _update(seq, version=8, conflated=conflated, changed=changed)
        got = encoder.response(line, event).event
        assert got == event_proto(event)
        assert (got.sequence, got.conflated_updates) == (seq, conflated)


def test_only_the_wanted_fields_are_sent() -> None:
    event = event_proto(_update(1, 1))
    assert (event.quote.bid, event.quote.ask, event.quote.volume) == ("190.01", "190.02", "")
    assert list(event.changed) == [md_pb.MARKET_DATA_FIELD_BID]
    assert event.quote.last_trade_time.ToNanoseconds() == 1_700_000_000_250_000_000
