"""Faults and limits, observed through the client libraries as a real gateway's would be."""

from __future__ import annotations

import asyncio
import time
from types import ModuleType
from typing import Any

import pytest

from broker_server.sim.server import SimServer
from tests.sim.conftest import ClientErrorGuard, Connect, make_config, wait_for

AAPL = 265598

# What the libraries log at ERROR when a real gateway does these things to them.
PEER_CLOSED = r"Peer closed connection|Connection reset|API connection failed|Make sure API port"


@pytest.fixture
def server_version() -> int:
    """Faults do not depend on the version: run them at 176 only."""
    return 176


def disconnected(ib: Any) -> asyncio.Future[None]:
    """A future resolved by the library's disconnectedEvent."""
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def _on() -> None:
        if not fut.done():
            fut.set_result(None)

    ib.disconnectedEvent += _on
    return fut


def errors_of(ib: Any) -> list[int]:
    """Error codes the library's errorEvent delivers from now on."""
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, *args: codes.append(code)
    return codes


@pytest.mark.parametrize("mode", ["fin", "rst"])
async def test_drop_all_fires_disconnected(
    sim: SimServer, connect: Connect, client_errors: ClientErrorGuard, mode: str
) -> None:
    client_errors.allow(PEER_CLOSED)
    ib = await connect(sim)
    gone = disconnected(ib)
    assert await sim.faults.drop(mode=mode) == 1  # type: ignore[arg-type]
    await asyncio.wait_for(gone, 1)
    assert not ib.isConnected()


async def test_drop_one_client_with_rst_keeps_the_others(
    sim: SimServer, connect: Connect, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(PEER_CLOSED)
    keep = await connect(sim, client_id=1)
    lose = await connect(sim, client_id=2)
    gone = disconnected(lose)
    await sim.faults.drop(client_id=2, mode="rst")
    await asyncio.wait_for(gone, 1)
    assert keep.isConnected()
    assert sim.connected_client_ids() == [1]
    await asyncio.wait_for(keep.reqCurrentTimeAsync(), 1)


async def test_stall_is_silent_until_resume(sim: SimServer, connect: Connect) -> None:
    ib = await connect(sim, client_id=7)
    gone = disconnected(ib)
    sim.faults.stall(client_id=7)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ib.reqCurrentTimeAsync(), 0.3)
    assert ib.isConnected() and not gone.done()
    sim.faults.resume(client_id=7)
    # The held request is processed on resume, and new ones flow again.
    await asyncio.wait_for(ib.reqCurrentTimeAsync(), 1)
    assert not gone.done()


async def test_stall_all_applies_to_new_clients(
    sim: SimServer, connect: Connect, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"API connection failed: TimeoutError")
    sim.faults.stall()
    with pytest.raises(TimeoutError):
        await connect(sim, within=0.3)
    sim.faults.resume()
    ib = await connect(sim, client_id=2)
    assert ib.isConnected()


async def test_duplicate_client_id_gets_326(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 326", r"already in use", r"API connection failed")
    first = await connect(sim, client_id=11)
    second = lib.IB()
    codes = errors_of(second)
    with pytest.raises(TimeoutError):
        await second.connectAsync("127.0.0.1", sim.port, clientId=11, timeout=0.5)
    assert 326 in codes
    assert first.isConnected() and sim.connected_client_ids() == [11]


async def test_refuse_then_accept(
    sim: SimServer, connect: Connect, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(PEER_CLOSED)
    await sim.faults.refuse()
    with pytest.raises(ConnectionRefusedError):
        await connect(sim)
    await sim.faults.accept()
    ib = await connect(sim, client_id=2)
    assert ib.isConnected()


async def test_close_before_handshake_times_out(
    sim: SimServer, connect: Connect, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(PEER_CLOSED, r"API connection failed: TimeoutError")
    sim.faults.close_before_handshake(True)
    with pytest.raises(TimeoutError):
        await connect(sim, within=0.3)
    sim.faults.close_before_handshake(False)
    assert (await connect(sim, client_id=2)).isConnected()


@pytest.mark.parametrize("code", [1100, 1101, 1102, 2103, 2104, 2105, 2106, 2157, 2158])
async def test_broadcast_status_error(
    sim: SimServer, connect: Connect, client_errors: ClientErrorGuard, code: int
) -> None:
    client_errors.allow(rf"Error {code}, reqId -1")
    ib = await connect(sim)
    got: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, c, text, *args: got.append((req_id, c, text))
    assert await sim.faults.broadcast_error(code) == 1
    await wait_for(lambda: any(c == code for _, c, _ in got))
    req_id, _, text = next(g for g in got if g[1] == code)
    assert req_id == -1 and text
    assert ib.isConnected()


async def test_restart_window_keeps_state(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(PEER_CLOSED)
    ib = await connect(sim, client_id=3)
    trade = ib.placeOrder(lib.Stock("AAPL", "SMART", "USD", conId=AAPL), lib.MarketOrder("BUY", 7))
    await wait_for(lambda: trade.isDone())
    gone = disconnected(ib)
    await sim.faults.restart(0.3)
    await asyncio.wait_for(gone, 1)
    with pytest.raises(ConnectionRefusedError):
        await connect(sim, client_id=3)
    await asyncio.wait_for(sim.faults.wait_accepting(), 2)
    again = await connect(sim, client_id=3)
    assert [(p.contract.conId, p.position) for p in again.positions()] == [(AAPL, 7)]
    assert len(again.fills()) == 1


async def test_delay_slows_every_answer(sim: SimServer, connect: Connect) -> None:
    ib = await connect(sim)
    sim.faults.set_delay(0.15)
    start = time.monotonic()
    await asyncio.wait_for(ib.reqCurrentTimeAsync(), 2)
    assert time.monotonic() - start >= 0.14
    sim.faults.set_delay(0)
    await asyncio.wait_for(ib.reqCurrentTimeAsync(), 1)


async def test_ignore_one_request_type(sim: SimServer, connect: Connect, lib: ModuleType) -> None:
    ib = await connect(sim)
    sim.faults.ignore(49)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ib.reqCurrentTimeAsync(), 0.3)
    details = await asyncio.wait_for(
        ib.reqContractDetailsAsync(lib.Stock("SPY", "SMART", "USD")), 1
    )
    assert len(details) == 1
    sim.faults.unignore(49)
    await asyncio.wait_for(ib.reqCurrentTimeAsync(), 1)


async def test_clear_undoes_every_fault(sim: SimServer, connect: Connect) -> None:
    sim.faults.set_delay(5)
    sim.faults.ignore(49)
    sim.faults.stall()
    await sim.faults.refuse()
    sim.faults.clear()
    await asyncio.wait_for(sim.faults.wait_accepting(), 1)
    ib = await connect(sim)
    await asyncio.wait_for(ib.reqCurrentTimeAsync(), 1)
    assert sim.faults.status()["refusing"] is False


async def test_current_time_answered_once_per_interval(
    connect: Connect, client_errors: ClientErrorGuard
) -> None:
    async with SimServer(make_config(current_time_min_interval=1.0)) as sim:
        ib = await connect(sim)
        await asyncio.wait_for(ib.reqCurrentTimeAsync(), 1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ib.reqCurrentTimeAsync(), 0.3)
        assert ib.isConnected()
        ib.disconnect()


async def test_pacing_violation_gets_error_100_then_disconnect(
    sim: SimServer, connect: Connect, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 100", PEER_CLOSED)
    ib = await connect(sim)
    codes = errors_of(ib)
    gone = disconnected(ib)
    ib.client.MaxRequests = 0
    for _ in range(60):
        ib.client.reqCurrentTime()
    await asyncio.wait_for(gone, 2)
    assert codes == [100]


async def test_33rd_client_is_refused(client_errors: ClientErrorGuard) -> None:
    # The limit does not depend on the library: one is enough.
    import ib_insync as lib

    client_errors.allow(r"Error 502", PEER_CLOSED)
    async with SimServer(make_config(max_clients=32)) as sim:
        clients = []
        for client_id in range(1, 33):
            ib = lib.IB()
            await ib.connectAsync("127.0.0.1", sim.port, clientId=client_id, timeout=2)
            clients.append(ib)
        assert len(sim.connected_client_ids()) == 32
        extra = lib.IB()
        codes = errors_of(extra)
        with pytest.raises(TimeoutError):
            await extra.connectAsync("127.0.0.1", sim.port, clientId=33, timeout=0.3)
        assert codes == [502]
        clients.pop().disconnect()
        await wait_for(lambda: len(sim.connected_client_ids()) == 31)
        await extra.connectAsync("127.0.0.1", sim.port, clientId=33, timeout=2)
        for ib in [*clients, extra]:
            ib.disconnect()


async def test_connect_options_are_tolerated(sim: SimServer, lib: ModuleType) -> None:
    ib = lib.IB()
    ib.client.setConnectOptions("+PACEAPI")
    await ib.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=2)
    assert ib.isConnected()
    ib.disconnect()
