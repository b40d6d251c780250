"""Manager life cycle and errors: disconnect/connect, unknown names, a configuration mismatch."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.runtime.connections import ConnectionManager, IBKRConnectionManager
from broker_server.sim.server import SimConfig, SimServer
from tests.connection.conftest import Recorder, fast_config
from tests.sim.conftest import wait_for

S = ConnectionState


async def test_disconnect_then_connect_again(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    assert IBKRConnectionManager is ConnectionManager
    assert manager.get_connection_state().state is S.DISCONNECTED
    await manager.connect(timeout=5)
    assert repr(manager) == "<ConnectionManager [paper/monitor=CONNECTED/HEALTHY]>"

    await manager.disconnect()
    assert manager.get_connection_state().state is S.DISCONNECTED
    # Our side has closed; the simulator (on this same loop) notices on its next turn.
    await wait_for(lambda: 99 not in sim.connected_client_ids())
    with pytest.raises(DomainError) as info:
        async with manager.session():
            pass
    assert info.value.reason == "NOT_CONNECTED"

    await manager.connect(timeout=5)
    assert manager.supervisor().generation == 2
    assert manager.is_healthy("paper")


async def test_unknown_names_are_reported(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    with pytest.raises(DomainError) as info:
        manager.gateways("live")
    assert info.value.kind is ErrorKind.NOT_FOUND and info.value.reason == "GATEWAY_UNKNOWN"
    assert not manager.is_healthy("live")
    with pytest.raises(DomainError) as info:
        await manager.reconnect("paper", "paper/proxied-5")
    assert info.value.kind is ErrorKind.INVALID_ARGUMENT
    assert info.value.violations[0].field == "session"


async def test_account_mismatch_is_an_error_that_is_not_retried(
    make_manager: Callable[..., ConnectionManager],
) -> None:
    async with SimServer(SimConfig(port=0, accounts=("U7654321",))) as live:
        manager = make_manager(fast_config(live.port))
        events = Recorder(manager)
        with pytest.raises(DomainError) as info:
            await manager.connect(timeout=5)
        assert info.value.kind is ErrorKind.FAILED_PRECONDITION
        assert info.value.reason == "ACCOUNT_MISMATCH"
        mark = events.mark()
        # Parked until an operator acts: no attempt follows, however long we wait here.
        with pytest.raises(TimeoutError):
            await manager.supervisor().wait_for(S.CONNECTING, timeout=0.5)
        assert events.events[mark:] == []
        assert live.connected_client_ids() == []


async def test_two_gateways_are_independent(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    async with SimServer(SimConfig(port=0, current_time_min_interval=0)) as other:
        manager = make_manager(
            fast_config(sim.port), fast_config(other.port, name="second", monitor_client_id=98)
        )
        await manager.connect(timeout=5)
        await other.faults.refuse()
        await other.faults.drop()
        await manager.supervisor("second").wait_for(S.RECONNECTING, timeout=2)
        assert manager.is_healthy("paper") and not manager.is_healthy("second")
        async with manager.session("paper") as session:
            assert await session.current_time(1.0) > 0
        assert [g.gateway for g in manager.gateways()] == ["paper", "second"]


async def test_reads_serve_the_published_snapshot_without_rebuilding_it(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    # Issue 9, finding 12: GetConnectionState rebuilt its snapshot on every call.
    manager = make_manager(fast_config(sim.port, heartbeat_interval=5.0, heartbeat_timeout=5.0))
    await manager.connect(timeout=5)
    published = manager.get_connection_state()
    first = manager.gateways()
    assert first[0] is published.gateway("paper")
    assert manager.gateways("paper")[0] is first[0]
    assert manager.sessions()[0] is first[0].sessions[0]
    with pytest.raises(DomainError) as info:
        manager.gateways("nope")
    assert info.value.kind is ErrorKind.NOT_FOUND
