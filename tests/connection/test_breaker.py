"""Refused connections open the gateway's breaker; calls fail fast; one trial; CLOSED again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from broker_server.domain.breaker import BreakerState
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.runtime.connections import ConnectionManager
from broker_server.sim.server import SimServer
from tests.connection.conftest import Recorder, fast_config

S = ConnectionState


async def test_refused_opens_breaker_fails_fast_half_open_trial_then_closes(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    cfg = fast_config(sim.port, breaker_failures=3, breaker_open=0.6, breaker_open_max=0.6)
    manager = make_manager(cfg)
    events = Recorder(manager)
    serving: list[tuple[str, bool]] = []
    manager.on_gateway_health(lambda name, ok: serving.append((name, ok)))
    await manager.connect(timeout=5)
    assert serving[-1] == ("paper", True)
    seen = len(serving)
    mark = events.mark()

    breaker_seen: list[BreakerState] = []

    async def watch_health() -> None:
        async for event in manager.health_events.subscribe():
            if not breaker_seen or breaker_seen[-1] is not event.breaker:
                breaker_seen.append(event.breaker)

    health_watch = asyncio.create_task(watch_health())
    await sim.faults.refuse()
    await sim.faults.drop()
    opened = await events.wait(
        lambda e: e.state is S.ERROR and e.reason.startswith("BREAKER_OPEN"), after=mark
    )
    assert "CONNECTION_REFUSED" in opened.reason
    assert manager.get_connection_state().gateway().breaker is BreakerState.OPEN
    assert not manager.is_healthy()

    before_call = len(events.events)
    with pytest.raises(DomainError) as info:
        async with manager.session():
            pass
    assert len(events.events) == before_call  # failed fast: no attempt, no transition
    assert info.value.kind is ErrorKind.UNAVAILABLE
    assert info.value.reason == "BREAKER_OPEN"
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 0.7

    # After the open interval exactly one trial goes through; it fails and reopens.
    trial_mark = events.mark()
    trial = await events.wait(
        lambda e: e.state is S.CONNECTING and "HALF_OPEN" in e.reason, after=trial_mark
    )
    reopened = await events.state(S.ERROR, after=trial_mark)
    assert events.events.index(trial) < events.events.index(reopened)
    between = events.events[events.events.index(trial) : events.events.index(reopened)]
    assert [e.state for e in between] == [S.CONNECTING]

    await sim.faults.accept()
    back = await events.state(S.CONNECTED, after=trial_mark, within=5)
    assert back.previous_state is S.CONNECTING  # through a half-open trial
    assert manager.get_connection_state().gateway().breaker is BreakerState.CLOSED
    assert manager.is_healthy()
    # The gRPC health hook saw the gateway go and come back, once each.
    assert serving[seen:] == [("paper", False), ("paper", True)]
    # Every breaker move was an event on the health stream.
    health_watch.cancel()
    assert breaker_seen[:4] == [
        BreakerState.CLOSED,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
    ]
    assert breaker_seen[-1] is BreakerState.CLOSED


async def test_max_retries_ends_in_error(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port, max_retries=2, breaker_failures=10))
    events = Recorder(manager)
    await sim.faults.refuse()
    with pytest.raises(DomainError) as info:
        await manager.connect(timeout=5)
    # Issue 9, finding 8: no "retry in 0.1 s" once only an operator can help.
    assert info.value.kind is ErrorKind.FAILED_PRECONDITION
    assert info.value.reason == "OPERATOR_ACTION_REQUIRED"
    assert info.value.retry_after is None
    with pytest.raises(DomainError) as again:
        async with manager.session():
            pass
    assert (again.value.reason, again.value.retry_after) == ("OPERATOR_ACTION_REQUIRED", None)
    assert manager.supervisor().retry_in() is None
    failed = await events.state(S.ERROR)
    assert failed.reason.startswith("RETRIES_EXHAUSTED")
    assert failed.attempt == 2
    # An operator's Reconnect starts afresh once the gateway is back.
    await sim.faults.accept()
    mark = events.mark()
    names, within = await manager.reconnect("paper", "", "gateway fixed")
    assert names == ["paper/monitor"] and within > 0
    await events.state(S.CONNECTED, after=mark)
