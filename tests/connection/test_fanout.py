"""Fan-out and concurrency: 1,000 watchers, 8 threads, one JSON log line per transition."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from collections.abc import Callable

from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.events import ConnectionEvent, EventKind
from broker_server.logs import JsonFormatter
from broker_server.runtime.connections import ConnectionManager, ManagerSnapshot
from broker_server.sim.server import SimServer
from tests.connection.conftest import Recorder, fast_config

S = ConnectionState


async def test_thousand_watchers_all_receive_the_final_state(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port), queue_size=64)
    await manager.connect(timeout=5)
    ready = 0
    all_ready = asyncio.Event()

    async def watch() -> list[ConnectionEvent]:
        nonlocal ready
        seen = []
        async for event in manager.state_events.subscribe():
            seen.append(event)
            if event.kind is EventKind.SNAPSHOT:
                ready += 1
                if ready == 1000:
                    all_ready.set()
        return seen

    watchers = [asyncio.create_task(watch()) for _ in range(1000)]
    await asyncio.wait_for(all_ready.wait(), 10)
    await sim.faults.drop()
    await manager.supervisor().wait_for(S.RECONNECTING, timeout=2)
    await manager.supervisor().wait_for(S.CONNECTED, timeout=5)
    await manager.close("test over")
    results = await asyncio.wait_for(asyncio.gather(*watchers), 10)

    for seen in results:
        assert seen[-1].kind is EventKind.FINAL
        assert seen[-1].reason == "test over"
        # Every watcher learnt the session came back (live or from a coalesced snapshot).
        states = [e.state for e in seen if e.kind is not EventKind.FINAL]
        assert S.CONNECTED in states[1:]
        sequences = [e.sequence for e in seen if e.kind is not EventKind.SNAPSHOT]
        assert sequences == sorted(sequences)


async def test_eight_threads_drive_the_manager_at_once(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    await manager.connect(timeout=5)
    facade = manager.threadsafe()
    errors: list[BaseException] = []
    snapshots: list[ManagerSnapshot] = []
    callbacks: list[ConnectionEvent] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            start.wait(5)
            unregister = facade.register_state_callback(callbacks.append)
            for i in range(5):
                snapshot = facade.get_connection_state()
                assert isinstance(snapshot, ManagerSnapshot)
                snapshots.append(snapshot)
                facade.is_healthy()
                sessions = facade.sessions()
                assert sessions[0].client_id == 99
                if n % 4 == 0 and i == 2:
                    names, _ = facade.reconnect(reason=f"thread {n}")
                    assert names == ["paper/monitor"]
                if n == 1 and i == 4:
                    manager.reconnect_threadsafe(reason="thread 1")
                    assert manager.health_monitor().check_health() is not None
            facade.connect(timeout=10)
            manager.connect_threadsafe(timeout=10)
            unregister()
        except BaseException as err:  # collected and re-raised on the test's thread
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()

    def join_all() -> None:
        for t in threads:
            t.join(30)

    await asyncio.to_thread(join_all)
    assert errors == []
    assert len(snapshots) == 40
    await manager.supervisor().wait_for(S.CONNECTED, timeout=5)
    assert manager.get_connection_state().state is S.CONNECTED
    assert manager.supervisor().generation >= 2  # at least one of the reconnects happened
    assert any(e.state is S.RECONNECTING for e in callbacks)


async def test_every_transition_is_one_json_log_line(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ibbroker.connection")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        manager = make_manager(fast_config(sim.port))
        events = Recorder(manager)
        await manager.connect(timeout=5)
        mark = events.mark()
        await sim.faults.drop()
        await events.state(S.CONNECTED, after=mark)
        await manager.close()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    logged = [line for line in lines if line["event"] == "connection_transition"]
    transitions = [e for e in events.events if e.kind is EventKind.TRANSITION]
    assert len(transitions) >= 5  # CONNECTING, CONNECTED, RECONNECTING, CONNECTED, DISCONNECTED
    assert len(logged) == len(transitions)
    for line, event in zip(logged, transitions, strict=True):
        assert line["gateway"] == event.gateway == "paper"
        assert line["session"] == event.session == "paper/monitor"
        assert line["client_id"] == event.client_id == 99
        assert line["from"] == event.previous_state.value
        assert line["to"] == event.state.value
        assert line["reason"] == event.reason
        assert line["attempt"] == event.attempt
