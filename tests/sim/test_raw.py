"""The wire protocol from a raw socket: handshake rules, unknown ids, malformed frames."""

from __future__ import annotations

import asyncio
import struct

import pytest

from broker_server.sim.codec import API_PREFIX, FrameDecoder, encode_msg, frame, split_fields
from broker_server.sim.server import SimServer
from tests.sim.conftest import make_config


class RawClient:
    """A minimal TWS API client speaking bytes, for what the libraries never send."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.frames = FrameDecoder()
        self.pending: list[list[str]] = []

    @classmethod
    async def open(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def hello(self, text: str = "v157..176") -> None:
        self.send_raw(API_PREFIX + frame(text.encode()))

    async def read_msg(self, within: float = 1.0) -> list[str]:
        """The next message's fields; TimeoutError when none arrives in time."""

        async def _next() -> list[str]:
            while not self.pending:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("closed")
                self.pending += [split_fields(b) for b in self.frames.feed(data)]
            return self.pending.pop(0)

        return await asyncio.wait_for(_next(), within)

    async def read_until(self, msg_id: str, within: float = 1.0) -> list[str]:
        """Skip messages until one with ``msg_id``."""
        while True:
            fields = await self.read_msg(within)
            if fields[0] == msg_id:
                return fields

    async def closed(self, within: float = 1.0) -> bool:
        """Whether the server closes the socket (EOF) within ``within`` seconds."""
        try:
            while True:
                if not await asyncio.wait_for(self.reader.read(65536), within):
                    return True
        except (ConnectionError, TimeoutError):
            return False

    async def start(self, client_id: int = 1) -> None:
        """Handshake and startApi, then read managedAccounts and nextValidId."""
        self.hello()
        reply = await self.read_msg()
        assert len(reply) == 2
        self.send_raw(encode_msg(71, 2, client_id, ""))
        await self.read_until("9")

    def close(self) -> None:
        self.writer.close()


async def test_handshake_reply_has_exactly_two_fields(raw_sim: SimServer) -> None:
    c = await RawClient.open(raw_sim.port)
    c.hello("v150..200 +PACEAPI")
    version, conn_time = await c.read_msg()
    assert version == "176" and conn_time.endswith("UTC")
    c.close()


async def test_nothing_is_sent_before_start_api(raw_sim: SimServer) -> None:
    c = await RawClient.open(raw_sim.port)
    c.hello()
    await c.read_msg()
    with pytest.raises(TimeoutError):
        await c.read_msg(within=0.2)
    c.send_raw(encode_msg(71, 2, 4, ""))
    first, second = await c.read_msg(), await c.read_msg()
    assert {first[0], second[0]} == {"15", "9"}
    accounts = first if first[0] == "15" else second
    assert accounts == ["15", "1", "DU1234567"]
    c.close()


async def test_version_below_client_minimum_is_closed() -> None:
    async with SimServer(make_config(max_server_version=157)) as sim:
        c = await RawClient.open(sim.port)
        c.hello("v158..178")
        assert await c.closed()


async def test_bad_prefix_is_closed(raw_sim: SimServer) -> None:
    c = await RawClient.open(raw_sim.port)
    c.send_raw(b"GET / HTTP/1.1\r\n\r\n")
    assert await c.closed()


async def test_unknown_message_id_gets_505_and_connection_survives(raw_sim: SimServer) -> None:
    c = await RawClient.open(raw_sim.port)
    await c.start()
    c.send_raw(encode_msg(9999, 1))
    err = await c.read_until("4")
    assert err[:4] == ["4", "2", "-1", "505"]
    c.send_raw(encode_msg("abc"))
    assert (await c.read_until("4"))[3] == "505"
    c.send_raw(encode_msg(49, 1))
    assert (await c.read_until("49"))[1] == "1"
    c.close()


async def test_malformed_request_gets_320(raw_sim: SimServer) -> None:
    c = await RawClient.open(raw_sim.port)
    await c.start()
    c.send_raw(encode_msg(9, 8))  # reqContractDetails cut short
    assert (await c.read_until("4"))[3] == "320"
    c.send_raw(encode_msg(59, 1, "x"))  # reqMarketDataType with a non-number
    assert (await c.read_until("4"))[3] == "320"
    c.send_raw(frame(b""))  # an empty frame
    assert (await c.read_until("4"))[3] == "320"
    c.send_raw(encode_msg(49, 1))
    await c.read_until("49")
    c.close()


async def test_oversized_frame_closes_only_that_client(raw_sim: SimServer) -> None:
    good = await RawClient.open(raw_sim.port)
    await good.start(client_id=1)
    bad = await RawClient.open(raw_sim.port)
    await bad.start(client_id=2)
    bad.send_raw(struct.pack(">I", 0x7FFFFFFF) + b"junk")
    assert await bad.closed()
    good.send_raw(encode_msg(49, 1))
    await good.read_until("49")
    late = await RawClient.open(raw_sim.port)
    await late.start(client_id=3)
    good.close()
    late.close()


async def test_error_carries_advanced_reject_json_only_from_166() -> None:
    for version, n_fields in ((157, 5), (176, 6)):
        async with SimServer(make_config(max_server_version=version)) as sim:
            c = await RawClient.open(sim.port)
            await c.start()
            c.send_raw(encode_msg(9999, 1))
            assert len(await c.read_until("4")) == n_fields
            c.close()


async def test_drop_modes_on_the_wire(raw_sim: SimServer) -> None:
    fin = await RawClient.open(raw_sim.port)
    await fin.start(client_id=1)
    rst = await RawClient.open(raw_sim.port)
    await rst.start(client_id=2)
    await raw_sim.faults.drop(client_id=1, mode="fin")
    assert await fin.reader.read(65536) == b""
    await raw_sim.faults.drop(client_id=2, mode="rst")
    with pytest.raises(ConnectionResetError):
        while await rst.reader.read(65536):
            pass
    fin.close()
    rst.close()


async def test_stalled_client_gets_no_bytes_until_resume(raw_sim: SimServer) -> None:
    c = await RawClient.open(raw_sim.port)
    await c.start(client_id=5)
    raw_sim.faults.stall(client_id=5)
    c.send_raw(encode_msg(49, 1))
    raw_sim.market.step()
    with pytest.raises(TimeoutError):
        await c.read_msg(within=0.2)
    raw_sim.faults.resume(client_id=5)
    assert (await c.read_until("49"))[1] == "1"
    c.close()
