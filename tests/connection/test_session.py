"""IBSession against the simulator: each connect failure gets its precise reason, fast."""

from __future__ import annotations

import time

import pytest
from ib_insync import IB

from broker_server.ib.errors import ConnectFailure, ConnectFailureReason
from broker_server.ib.session import IBSession, check_accounts
from broker_server.sim.server import SimConfig, SimServer
from tests.connection.conftest import LIBRARIES, fast_config

R = ConnectFailureReason


@pytest.mark.parametrize("lib", LIBRARIES)
async def test_connect_heartbeat_and_counters(sim: SimServer, lib: str) -> None:
    session = IBSession(fast_config(sim.port, ib_library=lib), 99)
    await session.connect()
    try:
        assert session.connected
        assert session.server_version == 176
        assert session.accounts == ("DU1234567",)
        server_time = await session.current_time(1.0)
        assert abs(server_time - time.time()) < 5
        received, sent = session.message_totals()
        assert received > 5 and sent > 3
        assert 99 in sim.connected_client_ids()
    finally:
        await session.disconnect()
    assert not session.connected


async def test_refused_is_reported_within_milliseconds(sim: SimServer) -> None:
    await sim.faults.refuse()
    session = IBSession(fast_config(sim.port), 99)
    started = time.monotonic()
    with pytest.raises(ConnectFailure) as info:
        await session.connect()
    assert info.value.reason is R.CONNECTION_REFUSED
    assert time.monotonic() - started < 0.5


async def test_client_id_in_use_is_reported_at_the_close_not_after_the_timeout(
    sim: SimServer,
) -> None:
    holder = IB()
    await holder.connectAsync("127.0.0.1", sim.port, clientId=99, timeout=2)
    try:
        session = IBSession(fast_config(sim.port, timeout=5.0), 99)
        started = time.monotonic()
        with pytest.raises(ConnectFailure) as info:
            await session.connect()
        assert info.value.reason is R.CLIENT_ID_IN_USE
        assert info.value.ib_error_code == 326
        assert time.monotonic() - started < 1.0  # ib_insync alone waits the full 5 s
    finally:
        holder.disconnect()


async def test_close_before_handshake_fails_fast(sim: SimServer) -> None:
    sim.faults.close_before_handshake(True)
    session = IBSession(fast_config(sim.port, timeout=5.0), 99)
    started = time.monotonic()
    with pytest.raises(ConnectFailure) as info:
        await session.connect()
    # What TWS does to an IP outside its Trusted IPs: its own reason (docs/security.md).
    assert info.value.reason is R.GATEWAY_UNTRUSTED
    assert "closed the socket" in info.value.message and "Trusted IPs" in info.value.message
    assert time.monotonic() - started < 1.0


async def test_mute_gateway_is_a_handshake_timeout(sim: SimServer) -> None:
    sim.faults.stall()
    session = IBSession(fast_config(sim.port, timeout=0.3), 99)
    with pytest.raises(ConnectFailure) as info:
        await session.connect()
    assert info.value.reason is R.HANDSHAKE_TIMEOUT


async def test_unanswered_sync_request_is_a_sync_timeout(sim: SimServer) -> None:
    sim.faults.ignore(61)  # reqPositions
    session = IBSession(fast_config(sim.port, timeout=0.3), 99)
    with pytest.raises(ConnectFailure) as info:
        await session.connect()
    assert info.value.reason is R.SYNC_TIMEOUT
    assert "positions" in info.value.message
    assert not session.connected


async def test_live_account_on_a_paper_config_is_refused() -> None:
    async with SimServer(SimConfig(port=0, accounts=("U7654321",))) as live:
        session = IBSession(fast_config(live.port), 99)
        with pytest.raises(ConnectFailure) as info:
            await session.connect()
        assert info.value.reason is R.ACCOUNT_MISMATCH
        assert not info.value.reason.retryable
        assert "U7654321" in info.value.message


def test_account_rules() -> None:
    paper = fast_config(1)
    live = fast_config(1, paper_trading=False, allow_live=True)
    assert check_accounts(paper, ["DU1"]) is None
    assert check_accounts(paper, ["DU1", "U2"]) is not None
    assert check_accounts(live, ["U2"]) is None
    assert check_accounts(live, ["DU1"]) is not None
    assert check_accounts(fast_config(1, account="DU9"), ["DU1"]) is not None
    assert check_accounts(paper, []) is not None
