"""The cached replies of ConnectionService's pure reads (issue 9, finding 12): built once per
published snapshot and gateway filter, never stale, never shared between filters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest

from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_server.domain.connection_state import ConnectionState
from broker_server.runtime.connections import ConnectionManager
from broker_server.services.connection_service import ConnectionServicer
from broker_server.sim.config import SimConfig
from broker_server.sim.server import SimServer
from tests.connection.conftest import Recorder, fast_config

CONNECTED = pb.ConnectionState.Value("CONNECTION_STATE_CONNECTED")

Served = tuple[ConnectionManager, ConnectionServicer, svc_grpc.ConnectionServiceStub, SimServer]


@pytest.fixture
async def two(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> AsyncIterator[Served]:
    """Two gateways ("paper", "second") behind a real grpc.aio server. A long heartbeat keeps
    the periodic refresh out of the way: the snapshot changes only when the test changes it."""
    slow: dict[str, Any] = {"heartbeat_interval": 30.0, "heartbeat_timeout": 30.0}
    async with SimServer(SimConfig(port=0, current_time_min_interval=0)) as other:
        manager = make_manager(
            fast_config(sim.port, **slow),
            fast_config(other.port, name="second", monitor_client_id=98, **slow),
        )
        await manager.connect(timeout=5)
        servicer = ConnectionServicer(manager)
        server = grpc.aio.server()
        svc_grpc.add_ConnectionServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield manager, servicer, svc_grpc.ConnectionServiceStub(channel), other
        finally:
            manager.end_streams("test over")
            await server.stop(0.5)


async def _state(stub: svc_grpc.ConnectionServiceStub, gateway: str) -> dict[str, int]:
    reply = await stub.GetConnectionState(svc.GetConnectionStateRequest(gateway=gateway), timeout=5)
    return {g.gateway: g.state for g in reply.gateways}


async def test_filtered_and_unfiltered_reads_keep_their_own_replies(two: Served) -> None:
    manager, servicer, stub, _other = two
    published = manager.get_connection_state()
    both = {"paper": CONNECTED, "second": CONNECTED}
    # Every order of the filters, twice over: a reply cached for one filter must never answer
    # another.
    for gateway in ("paper", "", "second", "", "paper", "second"):
        expected = both if not gateway else {gateway: CONNECTED}
        assert await _state(stub, gateway) == expected
    health = await stub.GetHealth(svc.GetHealthRequest(gateway="second"), timeout=5)
    assert [g.gateway for g in health.gateways] == ["second"]
    health = await stub.GetHealth(svc.GetHealthRequest(), timeout=5)
    assert [g.gateway for g in health.gateways] == ["paper", "second"]
    sessions = await stub.ListSessions(svc.ListSessionsRequest(gateway="paper"), timeout=5)
    assert {s.gateway for s in sessions.sessions} == {"paper"}
    sessions = await stub.ListSessions(svc.ListSessionsRequest(), timeout=5)
    assert {s.gateway for s in sessions.sessions} == {"paper", "second"}
    # One reply built per filter value over one snapshot: the cache served the rest.
    assert manager.get_connection_state() is published
    assert servicer.state_replies.builds == 3
    assert servicer.health_replies.builds == 2 and servicer.session_replies.builds == 2


async def test_a_cached_read_shows_a_state_change_at_once(two: Served) -> None:
    manager, servicer, stub, other = two
    for gateway in ("", "second", "", "second"):
        assert CONNECTED in (await _state(stub, gateway)).values()
    built = servicer.state_replies.builds
    recorder = Recorder(manager)
    await other.faults.refuse()  # the gateway stays away, so the change is still there below
    await other.faults.drop()
    await recorder.wait(
        lambda e: e.gateway == "second" and e.state is not ConnectionState.CONNECTED
    )
    # The very next read after the manager published the change shows it, filtered or not.
    both = await _state(stub, "")
    assert both["paper"] == CONNECTED and both["second"] != CONNECTED
    assert (await _state(stub, "second"))["second"] != CONNECTED
    assert await _state(stub, "paper") == {"paper": CONNECTED}
    assert servicer.state_replies.builds > built
    other.faults.clear()
