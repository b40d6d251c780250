"""Resource bounds of the simulator, from raw sockets: a client that never reads, too many
connections, oversized frames, a request flood behind a delay, a long stall.

Every loop is bounded in count and in time; only loopback is used.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from broker_server.sim.codec import API_PREFIX, Field, encode_msg, frame
from broker_server.sim.server import SimServer
from tests.sim.conftest import make_config, wait_for
from tests.sim.test_raw import RawClient

AAPL = 265598


async def _silent_client(port: int, client_id: int) -> socket.socket:
    """A client with a tiny receive buffer that completes startApi and never reads."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, API_PREFIX + frame(b"v157..176"))
    await loop.sock_sendall(sock, encode_msg(71, 2, client_id, ""))
    return sock


CONTRACT: list[Field] = [AAPL, "AAPL", "STK", "", 0.0, "", "", "SMART", "", "USD", "", ""]
"""The 12 contract fields of a request (ib_insync's order)."""


def _hist_request(req_id: int) -> bytes:
    # 1 day of 5-second bars: 5000 bars (the cap), a few hundred KB per answer.
    contract = CONTRACT
    return encode_msg(20, req_id, *contract, 0, "", "5 secs", "1 D", 0, "TRADES", 1, 0, "")


async def _gone(sock: socket.socket, within: float = 5.0) -> bool:
    """Whether the server closed ``sock`` (EOF or RST) within ``within`` seconds."""
    loop = asyncio.get_running_loop()

    async def _drain() -> None:
        # Bounded: the server's output was capped, and the deadline below ends it anyway.
        for _ in range(100_000):
            if not await loop.sock_recv(sock, 1 << 20):
                return

    try:
        await asyncio.wait_for(_drain(), within)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


async def test_client_that_never_reads_is_disconnected() -> None:
    limit = 64 * 1024
    config = make_config(
        max_output_bytes=limit,
        max_msgs_per_sec=0,
        farm_status_on_connect=False,
        hist_pacing=None,  # the same request 60 times: a pacing violation otherwise
    )
    async with SimServer(config) as sim:
        good = await RawClient.open(sim.port)
        await good.start(client_id=1)
        sock = await _silent_client(sim.port, client_id=2)
        await wait_for(lambda: sim.connected_client_ids() == [1, 2])
        loop = asyncio.get_running_loop()
        for req_id in range(1, 61):  # ~20 MB of answers asked for, far beyond any socket buffer
            await loop.sock_sendall(sock, _hist_request(req_id))
        await wait_for(lambda: sim.counters["output_overflow"] == 1, within=5)
        assert sim.connected_client_ids() == [1]
        assert await _gone(sock)
        sock.close()
        # The reading client is untouched.
        good.send_raw(encode_msg(49, 1))
        await good.read_until("49")
        assert sim.status()["counters"]["output_overflow"] == 1
        good.close()


async def test_connections_beyond_the_limit_are_closed() -> None:
    async with SimServer(make_config(max_connections=3)) as sim:
        held = [await RawClient.open(sim.port) for _ in range(3)]
        await wait_for(lambda: sim.status()["connections"] == 3)
        extra = await RawClient.open(sim.port)
        assert await extra.closed()
        assert sim.counters["connections_refused"] == 1
        held.pop().close()
        await wait_for(lambda: sim.status()["connections"] == 2)
        again = await RawClient.open(sim.port)
        await again.start(client_id=7)
        assert sim.connected_client_ids() == [7]
        for c in (*held, extra, again):
            c.close()


async def test_frame_size_is_capped() -> None:
    async with SimServer(make_config(max_frame_bytes=1024, farm_status_on_connect=False)) as sim:
        c = await RawClient.open(sim.port)
        await c.start()
        c.send_raw(encode_msg(9999, "x" * 900))  # under the cap: an unknown id, answered
        assert (await c.read_until("4"))[3] == "505"
        c.send_raw(struct.pack(">I", 2000) + b"\0" * 2000)
        err = await c.read_until("4")
        assert err[3] == "320" and "exceeds 1024" in err[4]
        assert await c.closed()
        assert sim.counters["oversized_frames"] == 1
        c.close()


async def test_a_flood_behind_a_delay_is_back_pressured_not_buffered() -> None:
    config = make_config(max_pending_requests=10, max_msgs_per_sec=0)
    async with SimServer(config) as sim:
        c = await RawClient.open(sim.port)
        await c.start()
        sim.faults.set_delay(0.001)
        n = 100
        c.send_raw(b"".join(encode_msg(49, 1) for _ in range(n)))
        for _ in range(n):
            await c.read_until("49", within=5)
        assert sim.counters["backpressure_pauses"] >= 1
        c.close()


async def test_a_stalled_client_holds_bounded_output() -> None:
    limit = 16 * 1024
    async with SimServer(make_config(max_output_bytes=limit)) as sim:
        c = await RawClient.open(sim.port)
        await c.start(client_id=3)
        c.send_raw(encode_msg(1, 11, 1, *CONTRACT, 0, "", 0, 0, ""))
        await c.read_until("1")
        sim.faults.stall(client_id=3)
        session = sim.sessions[3]
        for _ in range(500):  # ~60 KB of ticks, four times the bound
            sim.market.step()
        assert 0 < session.held_output_bytes <= limit
        assert sim.counters["held_output_dropped"] > 0
        sim.faults.resume(client_id=3)
        assert session.held_output_bytes == 0
        c.send_raw(encode_msg(49, 1))
        await c.read_until("49")
        c.close()


def test_limits_are_validated() -> None:
    for name in ("max_connections", "max_output_bytes", "max_frame_bytes", "max_pending_requests"):
        with pytest.raises(ValueError, match=name):
            make_config(**{name: 0})
