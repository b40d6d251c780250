"""Fast return after a gateway outage (issue 9, finding 10).

The backoff used to be slept out whatever the gateway did: CONNECTED came seconds after the
gateway listened again (up to the 30 s cap after a long outage), and the breaker's open interval
was followed by a fresh backoff. Now every wait after a refused connect or a lost socket looks
at the port with a bare TCP connect and the connect starts as soon as it accepts; a trial
follows the breaker's open interval at once. The backoffs here are 20 s with maximal jitter,
so only the fast return can bring the session back within the tests' bounds.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.events import ConnectionEvent, EventKind
from broker_server.runtime.connections import ConnectionManager
from broker_server.sim.server import SimServer
from tests.connection.conftest import Recorder, fast_config

S = ConnectionState


class MaxJitter(random.Random):
    """Every jittered delay at its ceiling: the slowest backoff the policy allows."""

    def uniform(self, a: float, b: float) -> float:
        return max(a, b)


async def test_connected_follows_the_gateway_listening_again_not_the_backoff(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    config = fast_config(
        sim.port, retry_delay=20.0, backoff_cap=20.0, breaker_failures=100, timeout=0.5
    )
    manager = make_manager(config, rng=MaxJitter())
    events = Recorder(manager)
    await manager.connect(timeout=5)
    mark = events.mark()
    await sim.faults.restart(1.0)  # drop everyone, refuse 1 s, then listen again
    await events.state(S.RECONNECTING, after=mark, within=2)
    await sim.faults.wait_accepting()
    # A 20 s backoff would still be running; the port look ends it (interval 0.05 s).
    await events.state(S.CONNECTED, after=mark, within=3)
    assert manager.supervisor().generation == 2


async def test_a_refusing_gateway_back_during_an_open_breaker_gets_its_trial_at_once(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    config = fast_config(
        sim.port,
        retry_delay=0.05,
        backoff_cap=0.05,
        breaker_failures=1,
        breaker_open=20.0,
        breaker_open_max=20.0,
    )
    manager = make_manager(config)
    events = Recorder(manager)
    await manager.connect(timeout=5)
    mark = events.mark()
    await sim.faults.refuse()
    await sim.faults.drop()
    opened = await events.wait(
        lambda e: e.state is S.ERROR and e.reason.startswith("BREAKER_OPEN"), after=mark
    )
    await sim.faults.accept()
    # The breaker would stay open 20 s; the port accepting again earns the trial now.
    trial = await events.state(S.CONNECTING, after=events.events.index(opened), within=3)
    assert trial.reason.startswith("BREAKER_HALF_OPEN")
    await events.state(S.CONNECTED, after=mark, within=3)


async def test_the_half_open_trial_is_not_delayed_by_a_backoff(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    # No port looks here: the breaker's interval (0.3 s) alone paces the attempts, and a
    # 20 s backoff must not be slept on top of it before each trial.
    config = fast_config(
        sim.port,
        retry_delay=20.0,
        backoff_cap=20.0,
        breaker_failures=1,
        breaker_open=0.3,
        breaker_open_max=0.3,
        port_probe_interval=0.0,
    )
    await sim.faults.refuse()
    manager = make_manager(config, rng=MaxJitter())
    events = Recorder(manager)
    await manager.start()
    first = await events.wait(lambda e: e.state is S.ERROR)
    trials: list[ConnectionEvent] = []
    for _ in range(2):
        trial = await events.wait(
            lambda e: (
                e.kind is EventKind.TRANSITION
                and e.state is S.CONNECTING
                and e.reason.startswith("BREAKER_HALF_OPEN")
            ),
            after=events.events.index(trials[-1] if trials else first) + 1,
            within=3,
        )
        trials.append(trial)
    assert trials[0].event_time - first.event_time < 3
    await sim.faults.accept()
    await events.state(S.CONNECTED, within=3)


async def test_a_short_outage_does_not_open_a_breaker_that_counts_over_time(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    # Refused connects fail in ~1 ms; with a tight backoff a 1.6 s restart yields many of them.
    config = fast_config(
        sim.port,
        retry_delay=0.05,
        backoff_cap=0.1,
        breaker_failures=3,
        breaker_failure_span=5.0,
        port_probe_interval=0.0,
    )
    manager = make_manager(config)
    events = Recorder(manager)
    await manager.connect(timeout=5)
    mark = events.mark()
    await sim.faults.restart(1.6)
    await events.state(S.CONNECTED, after=mark, within=5)
    assert manager.supervisor().monitor.reconnect_count == 1
    assert not any(e.reason.startswith("BREAKER_OPEN") for e in events.events[mark:])
    assert manager.gateways()[0].breaker.value == "CLOSED"


async def test_proxied_sessions_follow_the_monitor_back_without_their_own_backoff(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    # Only the monitor looks at the port; its return nudges the PROXIED sessions, whose own
    # backoff (20 s at maximal jitter) would otherwise keep them away.
    config = fast_config(
        sim.port, retry_delay=20.0, backoff_cap=20.0, breaker_failures=100, timeout=0.5
    )
    manager = make_manager(config, rng=MaxJitter())
    events = Recorder(manager)
    await manager.connect(timeout=5)
    await manager.open_session("paper", 101, "lease-1")
    await manager.open_session("paper", 102, "lease-2")
    mark = events.mark()
    await sim.faults.restart(1.0)
    await sim.faults.wait_accepting()
    for cid in (99, 101, 102):

        def back(e: ConnectionEvent, cid: int = cid) -> bool:
            return e.client_id == cid and e.state is S.CONNECTED

        await events.wait(back, after=mark, within=3)
    assert sorted(sim.connected_client_ids()) == [99, 101, 102]
