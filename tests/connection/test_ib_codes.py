"""IB status codes: 1100 degrades and holds orders, 1101 resubscribes, 1102 heals, 326 quarantines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from ib_insync import IB

from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.events import EventKind, HealthEvent
from broker_server.domain.health import HealthStatus
from broker_server.runtime.connections import ConnectionManager
from broker_server.sim.server import SimServer
from tests.connection.conftest import LIBRARIES, Recorder, fast_config

S = ConnectionState


async def _health(manager: ConnectionManager, status: HealthStatus, after: int) -> HealthEvent:
    async with asyncio.timeout(5):
        async for event in manager.health_events.subscribe(after):
            if event.status is status and event.sequence > after:
                return event
    raise AssertionError("stream ended")


@pytest.mark.parametrize("lib", LIBRARIES)
async def test_1100_degrades_and_blocks_orders_1101_resubscribes_1102_heals(
    sim: SimServer, make_manager: Callable[..., ConnectionManager], lib: str
) -> None:
    manager = make_manager(fast_config(sim.port, ib_library=lib))
    await manager.connect(timeout=5)
    sup = manager.supervisor()
    async with manager.session() as session:
        line = await session.subscribe_market_data(session.stock("AAPL"))
    assert line.issued == 1
    generation = sup.generation

    seq = manager.health_events.sequence
    await sim.faults.broadcast_error(1100)
    degraded = await _health(manager, HealthStatus.DEGRADED, seq)
    assert [r.code for r in degraded.reasons] == ["IB_LINK_LOST"]
    assert degraded.reasons[0].ib_error_code == 1100
    assert sup.orders_blocked
    with pytest.raises(DomainError) as info:
        async with manager.session(for_orders=True):
            pass
    assert info.value.kind is ErrorKind.FAILED_PRECONDITION
    assert info.value.reason == "IB_LINK_LOST"
    async with manager.session() as session:  # data requests still pass
        assert await session.current_time(1.0) > 0
    assert sup.state is S.CONNECTED and sup.generation == generation  # socket kept
    assert 99 in sim.connected_client_ids()

    seq = manager.health_events.sequence
    await sim.faults.broadcast_error(1101)
    await _health(manager, HealthStatus.HEALTHY, seq)
    assert line.issued == 2  # re-subscribed on the same socket
    assert sup.generation == generation
    # The re-issued line streams: the next tick arrives.
    await asyncio.wait_for(line.ticker.updateEvent, 5)

    seq = manager.health_events.sequence
    await sim.faults.broadcast_error(1100)
    await _health(manager, HealthStatus.DEGRADED, seq)
    assert sup.orders_blocked
    seq = manager.health_events.sequence
    await sim.faults.broadcast_error(1102)
    await _health(manager, HealthStatus.HEALTHY, seq)
    assert not sup.orders_blocked
    assert line.issued == 2  # data kept: nothing re-issued
    assert sup.generation == generation


async def test_farm_broken_degrades_until_ok(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    await manager.connect(timeout=5)
    seq = manager.health_events.sequence
    await sim.faults.broadcast_error(2103)
    degraded = await _health(manager, HealthStatus.DEGRADED, seq)
    assert degraded.reasons[0].code == "FARM_BROKEN"
    assert manager.is_healthy()  # usable: DEGRADED is not UNHEALTHY
    seq = manager.health_events.sequence
    await sim.faults.broadcast_error(2104)
    await _health(manager, HealthStatus.HEALTHY, seq)


async def test_326_quarantines_the_client_id_without_a_retry_loop(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    holder = IB()
    await holder.connectAsync("127.0.0.1", sim.port, clientId=99, timeout=2)
    try:
        # No reserved fallback ID: the monitor has nowhere to go (see test_monitor_ids.py).
        manager = make_manager(
            fast_config(sim.port, breaker_open_max=1.0, monitor_client_ids=(99,))
        )
        events = Recorder(manager)
        with pytest.raises(DomainError) as info:
            await manager.connect(timeout=5)
        assert info.value.reason == "CLIENT_ID_IN_USE"
        quarantined = await events.state(S.ERROR)
        assert quarantined.reason.startswith("CLIENT_ID_IN_USE")
        # The breaker is not blamed: the gateway answered.
        assert manager.supervisor().snapshot().breaker.value == "CLOSED"
        mark = events.mark()
    finally:
        holder.disconnect()
    # The ID is free from now on, yet the session waits out its quarantine (breaker_open_max,
    # 1 s) and then makes exactly one attempt: no retry loop in between.
    reconnected = await events.state(S.CONNECTED, after=mark, within=5)
    between = events.events[mark : events.events.index(reconnected)]
    attempts = [e for e in between if e.kind is EventKind.TRANSITION and e.state is S.CONNECTING]
    assert len(attempts) == 1, between
    assert attempts[0].reason.startswith("RETRY after CLIENT_ID_IN_USE")
    assert attempts[0].event_time - quarantined.event_time >= 0.95
