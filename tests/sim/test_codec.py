"""Property tests of the codec: framing and field encoding round-trip."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker_server.sim import versions
from broker_server.sim.codec import (
    UNSET_DOUBLE,
    UNSET_DOUBLE_STR,
    UNSET_INT,
    FieldReader,
    FrameDecoder,
    MalformedMessage,
    ProtocolError,
    encode_field,
    encode_fields,
    encode_msg,
    parse_bool,
    parse_float,
    parse_hello,
    parse_int,
    split_fields,
)
from broker_server.sim.versions import F

text_field = st.text(
    alphabet=st.characters(exclude_characters="\0", exclude_categories=["Cs"]), max_size=40
)


@given(st.lists(text_field, max_size=30))
def test_fields_round_trip(fields: list[str]) -> None:
    assert split_fields(encode_fields(fields)) == fields


@given(st.lists(st.lists(text_field, max_size=8), max_size=10), st.data())
def test_frames_survive_any_chunking(messages: list[list[str]], data: st.DataObject) -> None:
    stream = b"".join(encode_msg(*m) for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = FrameDecoder()
    got: list[list[str]] = []
    prev = 0
    for cut in [*cuts, len(stream)]:
        got += [split_fields(b) for b in decoder.feed(stream[prev:cut])]
        prev = cut
    assert got == messages
    assert decoder.pending() == 0


def test_oversized_frame_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        FrameDecoder(max_frame=10).feed(b"\x00\x00\x00\x0b")


@given(st.floats(allow_nan=False))
def test_floats_round_trip(value: float) -> None:
    parsed = parse_float(encode_field(value))
    if value == UNSET_DOUBLE:
        assert parsed is None
    else:
        assert parsed == value


@given(st.integers(-(2**62), 2**62))
def test_ints_round_trip(value: int) -> None:
    assert parse_int(encode_field(value)) == (None if value == UNSET_INT else value)


@given(st.booleans())
def test_bools_are_zero_one(value: bool) -> None:
    text = encode_field(value)
    assert text in ("0", "1")
    assert parse_bool(text) is value


def test_unset_and_infinity_literals() -> None:
    assert encode_field(UNSET_DOUBLE) == UNSET_DOUBLE_STR
    assert parse_float(UNSET_DOUBLE_STR) is None
    assert parse_float("") is None
    assert parse_int(str(UNSET_INT)) is None
    assert parse_float("Infinite") == math.inf  # ib_insync
    assert parse_float("Infinity") == math.inf  # TWS / ibapi
    assert parse_float("-Infinity") == -math.inf
    assert encode_field(math.inf) == "Infinity"
    assert encode_field(None) == ""
    with pytest.raises(MalformedMessage):
        parse_float("nan")
    with pytest.raises(MalformedMessage):
        parse_int("1.5")
    assert parse_int("5.0") == 5


@given(st.integers(1, 300), st.integers(0, 50), st.sampled_from(["", " +PACEAPI", " a b"]))
def test_hello_parses_range_and_options(lo: int, span: int, options: str) -> None:
    got = parse_hello(f"v{lo}..{lo + span}{options}".encode())
    assert got == (lo, lo + span, options[1:])


@pytest.mark.parametrize("bad", [b"", b"x157..176", b"v176..157", b"vabc..176"])
def test_bad_hello(bad: bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse_hello(bad)


def test_field_reader_underflow_is_malformed() -> None:
    r = FieldReader(["1", "2"])
    assert r.integer() == 1 and r.text() == "2"
    with pytest.raises(MalformedMessage):
        r.text()


@given(st.integers(157, 176))
def test_version_gates(version: int) -> None:
    assert versions.has(version, F.ERROR_ADVANCED_ORDER_REJECT_JSON) == (version >= 166)
    assert versions.has(version, F.CONTRACT_DETAILS_SIZE_RULES) == (version >= 164)
    assert versions.has(version, F.CONTRACT_DETAILS_VERSION_FIELD) == (version < 164)
    assert versions.has(version, F.CONTRACT_DETAILS_SUGGESTED_SIZE_INCREMENT_ONLY) == (
        version == 163
    )
    assert versions.size(version, 100.0) == "100"
    assert versions.size(version, 2.5) == ("2" if version < 163 else "2.5")
