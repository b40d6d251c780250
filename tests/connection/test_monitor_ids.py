"""A 326 on the monitor's own client ID is not a gateway failure (issue 9, finding 4).

Another program briefly using the monitor's ID used to park the monitor in ERROR for the
breaker's longest interval and take the whole gateway down; the monitor now moves to the next
ID of its reserved set at once, reports a DEGRADED reason naming the clash, and the breaker
never hears of it.
"""

from __future__ import annotations

from collections.abc import Callable

from ib_insync import IB

from broker_server.domain.breaker import BreakerState
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.health import HealthStatus
from broker_server.runtime.connections import ConnectionManager
from broker_server.sim.server import SimServer
from tests.connection.conftest import Recorder, fast_config
from tests.sim.conftest import wait_for

S = ConnectionState


async def _hold(port: int, *client_ids: int) -> list[IB]:
    holders = []
    for cid in client_ids:
        ib = IB()
        await ib.connectAsync("127.0.0.1", port, clientId=cid, timeout=2)
        holders.append(ib)
    return holders


async def test_a_clash_on_the_monitor_id_moves_to_the_next_reserved_id(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    holders = await _hold(sim.port, 99, 98)  # another program on 99 and on 98
    try:
        # One failure would open this breaker: the clash must not count as one.
        manager = make_manager(fast_config(sim.port, breaker_failures=1))
        events = Recorder(manager)
        await manager.connect(timeout=5)
        sup = manager.supervisor()
        assert sup.client_id == 97 and sup.state is S.CONNECTED
        assert 97 in sim.connected_client_ids()
        assert manager.supervisor("paper", 97) is sup
        # Never an ERROR, never an open breaker: the gateway answered every time.
        assert not any(e.state is S.ERROR for e in events.events)
        gateway = manager.gateways()[0]
        assert gateway.breaker is BreakerState.CLOSED
        assert gateway.health is HealthStatus.DEGRADED
        reasons = [r for r in gateway.sessions[0].reasons if r.code == "CLIENT_ID_CLASH"]
        assert len(reasons) == 1 and "client ID 98" in reasons[0].message
        assert reasons[0].ib_error_code == 326
        assert manager.is_healthy()  # DEGRADED still serves
        async with manager.session() as handle:
            assert handle.client_id == 97
            assert await handle.current_time(1.0) > 0
    finally:
        for ib in holders:
            ib.disconnect()


async def test_the_monitor_returns_to_its_own_id_on_the_next_reconnect(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    (holder,) = await _hold(sim.port, 99)
    manager = make_manager(fast_config(sim.port))
    events = Recorder(manager)
    try:
        await manager.connect(timeout=5)
        assert manager.supervisor().client_id == 98
    finally:
        holder.disconnect()
    await wait_for(lambda: 99 not in sim.connected_client_ids())
    mark = events.mark()
    await manager.reconnect(reason="back to 99")
    back = await events.wait(lambda e: e.state is S.CONNECTED and e.client_id == 99, after=mark)
    assert back.session == "paper/monitor"
    gateway = manager.gateways()[0]
    assert gateway.health is HealthStatus.HEALTHY
    assert [s.client_id for s in gateway.sessions] == [99]
