"""The manager under socket faults injected by the simulator, on both client libraries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.events import EventKind
from broker_server.domain.health import HealthStatus
from broker_server.runtime.connections import ConnectionManager
from broker_server.sim.faults import DropMode
from broker_server.sim.server import SimServer
from tests.connection.conftest import LIBRARIES, Recorder, fast_config

S = ConnectionState


@pytest.mark.parametrize("mode", ["fin", "rst"])
@pytest.mark.parametrize("lib", LIBRARIES)
async def test_drop_reconnects_and_restores(
    sim: SimServer, make_manager: Callable[..., ConnectionManager], lib: str, mode: DropMode
) -> None:
    manager = make_manager(fast_config(sim.port, ib_library=lib))
    events = Recorder(manager)
    await manager.connect(timeout=5)
    assert manager.is_healthy()
    generation = manager.supervisor().generation
    mark = events.mark()

    dropped_at = time.monotonic()
    await sim.faults.drop(99, mode=mode)
    lost = await events.state(S.RECONNECTING, after=mark, within=1)
    assert time.monotonic() - dropped_at < 0.5
    assert lost.previous_state is S.CONNECTED
    assert lost.reason.startswith("SOCKET_CLOSED")

    back = await events.state(S.CONNECTED, after=mark)
    restored = await events.kind(EventKind.RESTORED, after=mark)
    gap = await events.kind(EventKind.GAP, after=mark)
    # RESTORED and GAP follow CONNECTED; the gap covers the outage.
    assert events.events.index(back) < events.events.index(restored) < events.events.index(gap)
    assert restored.restored is not None
    assert gap.gap_start is not None and gap.gap_end is not None
    assert gap.gap_start <= gap.gap_end
    assert manager.supervisor().generation == generation + 1
    assert manager.get_connection_state().state is S.CONNECTED


@pytest.mark.parametrize("lib", LIBRARIES)
async def test_stall_is_detected_within_interval_plus_timeout_and_recovers(
    sim: SimServer, make_manager: Callable[..., ConnectionManager], lib: str
) -> None:
    cfg = fast_config(sim.port, ib_library=lib)
    manager = make_manager(cfg)
    events = Recorder(manager)
    await manager.connect(timeout=5)
    mark = events.mark()

    stalled_at = time.monotonic()
    sim.faults.stall()
    lost = await events.state(S.RECONNECTING, after=mark, within=3)
    detected = time.monotonic() - stalled_at
    assert lost.reason.startswith("HEARTBEAT_TIMEOUT")
    # A slack of 0.3 s for scheduling on a busy CI machine.
    assert detected <= cfg.heartbeat_interval + cfg.heartbeat_timeout + 0.3

    # While stalled, new sockets get no handshake: the session keeps trying.
    with pytest.raises(DomainError) as info:
        async with manager.session():
            pass
    assert info.value.kind is ErrorKind.UNAVAILABLE
    assert info.value.reason in ("RECONNECTING", "BREAKER_OPEN")
    assert info.value.retry_after is not None and info.value.retry_after > 0

    sim.faults.resume()
    await events.state(S.CONNECTED, after=mark, within=8)
    await events.kind(EventKind.RESTORED, after=mark)
    # The old socket's close and the new connect reach the resumed gateway together; a 326
    # for our own ghost is retried, never quarantined.
    assert all(e.state is not S.ERROR for e in events.events[mark:])
    async with manager.session() as session:
        assert await session.current_time(1.0) > 0
    assert manager.sessions()[0].health is HealthStatus.HEALTHY


async def test_heartbeat_metrics_are_measured(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    await manager.connect(timeout=5)
    monitor = manager.supervisor().monitor
    beats = monitor.heartbeats
    assert await monitor.beat() is not None
    assert monitor.heartbeats == beats + 1
    # Computed now (manager.sessions() serves the published snapshot, refreshed per interval).
    metrics = manager.supervisor().snapshot().metrics
    assert metrics.rtt_last is not None and metrics.rtt_last < 0.5
    assert metrics.rtt_p50 is not None and metrics.rtt_p99 is not None
    assert metrics.messages_in_per_second > 0
    assert metrics.uptime >= 0


async def test_heartbeat_survives_tws_answering_once_per_second(
    make_manager: Callable[..., ConnectionManager],
) -> None:
    # Real TWS drops a second reqCurrentTime within one second; the monitor asks again after
    # RESEND_AFTER instead of declaring a healthy session stale.
    from broker_server.sim.server import SimConfig

    async with SimServer(SimConfig(port=0, current_time_min_interval=1.0)) as strict:
        manager = make_manager(
            fast_config(strict.port, heartbeat_interval=0.3, heartbeat_timeout=2.0)
        )
        await manager.connect(timeout=5)
        monitor = manager.supervisor().monitor
        # Two beats in quick succession: the second one's first request is dropped by TWS.
        assert await monitor.beat() is not None
        assert await monitor.beat() is not None
        assert manager.supervisor().state is S.CONNECTED


async def test_slow_heartbeat_degrades_and_warns_once(
    sim: SimServer,
    make_manager: Callable[..., ConnectionManager],
    caplog: pytest.LogCaptureFixture,
) -> None:
    manager = make_manager(
        fast_config(sim.port, heartbeat_warn=0.1, heartbeat_timeout=1.0, heartbeat_interval=0.2)
    )
    await manager.connect(timeout=5)
    seq = manager.health_events.sequence
    caplog.set_level("WARNING", logger="ibbroker.health")
    sim.faults.set_delay(0.2)
    async with asyncio.timeout(5):
        async for event in manager.health_events.subscribe(seq):
            if event.status is HealthStatus.DEGRADED:
                break
    assert [r.code for r in event.reasons] == ["HEARTBEAT_SLOW"]
    assert event.metrics.rtt_last is not None and event.metrics.rtt_last >= 0.1
    assert manager.supervisor().state is S.CONNECTED  # slow is not stale
    sim.faults.set_delay(0)
    async with asyncio.timeout(5):
        async for healed in manager.health_events.subscribe(event.sequence):
            if healed.status is HealthStatus.HEALTHY:
                break
    warnings = [r for r in caplog.records if r.getMessage() == "heartbeat_slow"]
    assert len(warnings) == 1  # logged when the RTT crosses the threshold, not every beat
