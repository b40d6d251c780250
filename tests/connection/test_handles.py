"""Session handles fenced by generation, and pool I/O that a cancelled caller cannot cut short."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.runtime.connections import ConnectionManager, StaleSessionError
from broker_server.sim.server import SimServer
from tests.connection.conftest import Recorder, fast_config
from tests.sim.conftest import wait_for

S = ConnectionState


async def test_a_handle_from_before_a_reconnect_raises_and_a_new_one_works(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    events = Recorder(manager)
    await manager.connect(timeout=5)
    handle = manager.acquire_handle()
    assert handle.valid and handle.generation == 1
    assert await handle.current_time(1.0) > 0
    old_ib = handle.ib
    mark = events.mark()

    await sim.faults.drop(99)  # the gateway drops the monitor's socket
    await events.state(S.RECONNECTING, after=mark)
    with pytest.raises(StaleSessionError):
        _ = handle.ib  # between sockets: no silent wait, no silent switch
    await events.state(S.CONNECTED, after=mark)

    with pytest.raises(StaleSessionError) as info:
        await handle.current_time(1.0)
    error = info.value
    assert isinstance(error, DomainError)
    assert (error.kind, error.reason) == (ErrorKind.UNAVAILABLE, FailureReason.RECONNECTING)
    assert error.retry_after is not None and error.retry_after > 0
    assert error.metadata["handle_generation"] == "1"
    assert error.metadata["session_generation"] == "2"
    assert not handle.valid

    async with manager.session() as fresh:
        assert fresh.generation == 2
        assert await fresh.current_time(1.0) > 0
        assert fresh.ib is not old_ib
    with pytest.raises(StaleSessionError):
        _ = fresh.ib  # detached when its block ended


async def test_a_proxied_session_handle_is_fenced_too(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    await manager.connect(timeout=5)
    await manager.open_session("paper", 101, "lease-1")
    handle = manager.acquire_handle("paper", 101)
    assert handle.client_id == 101 and handle.name == "paper/proxied-101"
    assert await handle.current_time(1.0) > 0
    await manager.close_session("paper", 101)
    with pytest.raises(StaleSessionError):
        _ = handle.session


async def test_a_cancelled_close_still_closes_the_session_completely(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    await manager.connect(timeout=5)
    await manager.open_session("paper", 101, "lease-1")
    sup = manager.supervisor("paper", 101)

    closing = asyncio.create_task(manager.close_session("paper", 101))
    await asyncio.sleep(0)  # one loop turn: the close has begun and is awaiting its I/O
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing

    # The decision stands and its I/O ran to the end: no session half in, half out.
    assert [s.client_id for s in manager.sessions("paper")] == [99]
    await sup.wait_for(S.DISCONNECTED, timeout=2)
    assert not sup.running and not sup.session.connected
    await wait_for(lambda: 101 not in sim.connected_client_ids())
    # The client ID is free again: a new lease gets a new session on it at once.
    await manager.open_session("paper", 101, "lease-2")
    assert manager.supervisor("paper", 101).lease_id == "lease-2"


async def test_close_and_reopen_of_one_client_id_never_overlap(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    await manager.connect(timeout=5)
    await manager.open_session("paper", 101, "lease-1")
    # Close and reopen race: the new session waits for the old socket's close (else 326).
    await asyncio.gather(
        manager.close_session("paper", 101), manager.open_session("paper", 101, "lease-2")
    )
    sup = manager.supervisor("paper", 101)
    assert sup.lease_id == "lease-2" and sup.state is S.CONNECTED
    assert sorted(sim.connected_client_ids()) == [99, 101]


async def test_an_order_handle_is_held_between_1100_and_1102_on_the_same_socket(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    await manager.connect(timeout=5)
    orders = manager.acquire_handle(for_orders=True)
    data = manager.acquire_handle()
    sup = manager.supervisor()
    await sim.faults.broadcast_error(1100)
    await wait_for(lambda: sup.orders_blocked)
    with pytest.raises(DomainError) as info:
        _ = orders.ib
    assert (info.value.kind, info.value.reason) == (
        ErrorKind.FAILED_PRECONDITION,
        FailureReason.IB_LINK_LOST,
    )
    assert await data.current_time(1.0) > 0  # data traffic still passes
    await sim.faults.broadcast_error(1102)
    await wait_for(lambda: not sup.orders_blocked)
    assert orders.valid and orders.ib is not None  # same socket, same generation: usable again
