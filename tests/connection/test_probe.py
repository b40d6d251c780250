"""The client-ID probe speaks only the handshake it needs (issue 9, finding 12) and never
connects to an account the configuration does not allow (finding 5, runtime part).

A small recording gateway (a real TCP server speaking the TWS handshake) shows exactly what the
probe sends: the hello, startApi, nothing else.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Callable

import pytest

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.runtime.connections import ConnectionManager
from tests.connection.conftest import fast_config


def _frame(*fields: object) -> bytes:
    body = b"".join(str(f).encode() + b"\0" for f in fields)
    return struct.pack(">I", len(body)) + body


class RecordingGateway:
    """Answers hello and startApi like TWS; records every message id a client sends after."""

    def __init__(self, mode: str, accounts: str = "DU1234567") -> None:
        self.mode = mode
        self.accounts = accounts
        self.connections = 0
        self.received: list[str] = []
        self.closed = asyncio.Event()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _read(self, reader: asyncio.StreamReader) -> list[str]:
        size = struct.unpack(">I", await reader.readexactly(4))[0]
        return (await reader.readexactly(size)).decode().split("\0")[:-1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.closed.clear()
        try:
            assert await reader.readexactly(4) == b"API\0"
            size = struct.unpack(">I", await reader.readexactly(4))[0]
            await reader.readexactly(size)  # the version range
            writer.write(_frame(176, "20261126 12:00:00 UTC"))
            while True:
                fields = await self._read(reader)
                self.received.append(fields[0])
                if fields[0] != "71":
                    continue
                if self.mode == "in_use":
                    writer.write(_frame(4, 2, -1, 326, "client id is already in use"))
                    await writer.drain()
                    break
                writer.write(_frame(15, 1, self.accounts) + _frame(9, 1, 1))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self.closed.set()


@pytest.fixture
async def gateway_factory() -> AsyncIterator[Callable[..., RecordingGateway]]:
    made: list[RecordingGateway] = []

    def make(mode: str, accounts: str = "DU1234567") -> RecordingGateway:
        gw = RecordingGateway(mode, accounts)
        made.append(gw)
        return gw

    yield make
    for gw in made:
        await gw.stop()


async def test_the_probe_sends_only_hello_and_start_api(
    gateway_factory: Callable[..., RecordingGateway],
    make_manager: Callable[..., ConnectionManager],
) -> None:
    gw = gateway_factory("free")
    await gw.start()
    manager = make_manager(fast_config(gw.port))
    assert await manager.probe("paper", 105) is True
    await asyncio.wait_for(gw.closed.wait(), 2)  # and it hung up at once
    assert gw.received == ["71"]  # no sync requests, no reqCurrentTime, nothing of IB()


async def test_the_probe_reads_326_as_in_use(
    gateway_factory: Callable[..., RecordingGateway],
    make_manager: Callable[..., ConnectionManager],
) -> None:
    gw = gateway_factory("in_use")
    await gw.start()
    manager = make_manager(fast_config(gw.port))
    assert await manager.probe("paper", 105) is False


async def test_the_probe_hangs_up_on_an_account_the_config_does_not_allow(
    gateway_factory: Callable[..., RecordingGateway],
    make_manager: Callable[..., ConnectionManager],
) -> None:
    gw = gateway_factory("free", accounts="U7654321")  # a live account; the config is paper
    await gw.start()
    manager = make_manager(fast_config(gw.port))
    with pytest.raises(DomainError) as info:
        await manager.probe("paper", 105)
    assert info.value.kind is ErrorKind.FAILED_PRECONDITION
    assert info.value.reason is FailureReason.ACCOUNT_MISMATCH
    assert info.value.retry_after is None
    await asyncio.wait_for(gw.closed.wait(), 2)
    assert gw.received == ["71"]  # closed on managedAccounts, before any request


async def test_no_probe_once_the_monitor_found_a_forbidden_account(
    gateway_factory: Callable[..., RecordingGateway],
    make_manager: Callable[..., ConnectionManager],
) -> None:
    gw = gateway_factory("free", accounts="U7654321")
    await gw.start()
    manager = make_manager(fast_config(gw.port))
    with pytest.raises(DomainError) as connect:
        await manager.connect(timeout=5)
    assert connect.value.reason is FailureReason.ACCOUNT_MISMATCH
    before = gw.connections
    with pytest.raises(DomainError) as info:
        await manager.probe("paper", 105)
    assert info.value.reason is FailureReason.ACCOUNT_MISMATCH
    assert gw.connections == before  # refused without touching the gateway
