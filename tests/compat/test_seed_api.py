"""The seed's API (``IBKRConnectionManager(ConnectionConfig(...))``, ``connect()``,
``is_healthy()``, ``get_connection_state()``, ``register_state_callback()``,
``ConnectionHealthMonitor.get_metrics()``) against a real broker with its embedded simulator,
written the way the seed's users wrote their code: blocking calls, callbacks arriving from a
background thread, state read with plain method calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker_client import (
    ConnectionConfig,
    ConnectionHealthMonitor,
    ConnectionState,
    IBKRConnectionManager,
    StateChange,
)
from tests.conftest import free_port
from tests.support.threaded_broker import ThreadedBroker, threaded_broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[ThreadedBroker]:
    with threaded_broker(tmp_path / "store.sqlite3") as running:
        yield running


class Transitions:
    """What the seed's users kept: a list filled by the callback, and a condition to wait on."""

    def __init__(self) -> None:
        self.seen: list[tuple[ConnectionState, ConnectionState]] = []
        self.threads: set[str] = set()
        self.cond = threading.Condition()

    def __call__(self, old: ConnectionState, new: ConnectionState) -> None:
        with self.cond:
            self.seen.append((old, new))
            self.threads.add(threading.current_thread().name)
            self.cond.notify_all()

    def wait_for(
        self, *states: ConnectionState, within: float = 10.0, after: int | None = None
    ) -> None:
        """Wait until ``states`` were entered in this order after the ``after``-th change (by
        default: after what is seen now)."""
        start = len(self.seen) if after is None else after

        def entered() -> bool:
            news = iter(new for _, new in self.seen[start:])
            return all(any(n is s for n in news) for s in states)

        with self.cond:
            assert self.cond.wait_for(entered, within), f"saw {self.seen[start:]}"


def test_seed_code_runs_unchanged_against_the_broker_and_sees_a_drop(
    broker: ThreadedBroker,
) -> None:
    config = ConnectionConfig(
        host="127.0.0.1",
        port=broker.sim_port,
        client_id=7,
        paper_trading=True,
        use_gateway=True,
        timeout=10,
        max_retries=3,
        retry_delay=0.2,
        broker=broker.address,
    )
    manager = IBKRConnectionManager(config)
    transitions = Transitions()
    manager.register_state_callback(transitions)
    assert manager.get_connection_state() is ConnectionState.DISCONNECTED

    assert manager.connect() is True
    assert manager.get_connection_state() is ConnectionState.CONNECTED
    assert manager.is_healthy()
    assert manager.gateway == "paper" and manager.session == "paper/monitor"
    assert transitions.seen[-1] == (ConnectionState.DISCONNECTED, ConnectionState.CONNECTED)

    monitor = ConnectionHealthMonitor(manager)
    monitor.start_monitoring()
    assert monitor.check_health()
    metrics = monitor.get_metrics()
    assert metrics["state"] == "CONNECTED" and metrics["health"] == "HEALTHY"
    assert metrics["client_id"] == broker.broker.gateway.monitor_client_id
    assert metrics["breaker"] == "CLOSED" and metrics["uptime"] > 0
    reconnects_before = metrics["reconnect_count"]

    # The simulator drops every socket: the broker reconnects, the callback sees both steps.
    dropped = broker.call(lambda: broker.broker.sim.drop_clients(None, rst=False))  # type: ignore[union-attr]
    assert dropped >= 1
    transitions.wait_for(ConnectionState.RECONNECTING, ConnectionState.CONNECTED)
    assert manager.wait_for_state(ConnectionState.CONNECTED, 10)
    assert transitions.threads == {"ibbroker-compat-watch"}  # not the caller's thread
    assert monitor.get_metrics()["reconnect_count"] > reconnects_before

    manager.disconnect()
    assert manager.get_connection_state() is ConnectionState.DISCONNECTED
    assert not manager.is_healthy()
    assert transitions.seen[-1][1] is ConnectionState.DISCONNECTED


def test_context_manager_reconnect_and_one_parameter_callbacks(broker: ThreadedBroker) -> None:
    changes: list[StateChange] = []
    got = threading.Event()

    def on_change(change: StateChange) -> None:
        changes.append(change)
        if (
            change.new is ConnectionState.CONNECTED
            and change.old is not ConnectionState.DISCONNECTED
        ):
            got.set()

    config = ConnectionConfig(port=broker.sim_port, broker=broker.address, retry_delay=0.1)
    with IBKRConnectionManager(config) as manager:
        unregister = manager.register_state_callback(on_change)
        assert manager.reconnect() is True
        assert got.wait(10), changes
        assert manager.is_healthy()
        # The reconnect came from the broker, with its reason on the event.
        assert any(c.event is not None and c.event.reason for c in changes)
        unregister()
    assert manager.get_connection_state() is ConnectionState.DISCONNECTED


def test_dead_broker_address_fails_within_the_retries(tmp_path: Path) -> None:
    config = ConnectionConfig(
        broker=f"127.0.0.1:{free_port()}", timeout=0.5, max_retries=2, retry_delay=0.05
    )
    manager = IBKRConnectionManager(config)
    assert manager.connect() is False
    assert "unreachable" in manager.last_error
    assert manager.get_connection_state() is ConnectionState.DISCONNECTED
    with pytest.raises(ConnectionError, match="unreachable"):
        with IBKRConnectionManager(config):
            pass


def test_wrong_gateway_kind_or_name_is_refused_with_the_reason(broker: ThreadedBroker) -> None:
    live = ConnectionConfig(paper_trading=False, broker=broker.address, port=broker.sim_port)
    manager = IBKRConnectionManager(live)
    assert manager.connect() is False
    assert "paper gateway" in manager.last_error
    unknown = IBKRConnectionManager(ConnectionConfig(gateway="live", broker=broker.address))
    assert unknown.connect() is False
    assert (
        "no gateway named 'live'" in unknown.last_error
        and "paper (127.0.0.1:" in unknown.last_error
    )


def test_the_seed_default_port_finds_the_only_paper_gateway(broker: ThreadedBroker) -> None:
    # Seed code that never set a port (4002) still follows the broker's one paper gateway.
    manager = IBKRConnectionManager(ConnectionConfig(broker=broker.address))
    try:
        assert manager.connect()
        assert manager.gateway == "paper"
    finally:
        manager.disconnect()


def test_losing_the_broker_is_reconnecting_until_it_is_back(tmp_path: Path) -> None:
    listen, store = f"127.0.0.1:{free_port()}", tmp_path / "store.sqlite3"
    transitions = Transitions()
    first = ThreadedBroker(store, listen=listen)
    first.start()
    config = ConnectionConfig(broker=listen, port=first.sim_port, retry_delay=0.1)
    manager = IBKRConnectionManager(config)
    manager.register_state_callback(transitions)
    try:
        assert manager.connect()
        mark = len(transitions.seen)
        first.stop()  # graceful: the streams end with FINAL
        transitions.wait_for(ConnectionState.RECONNECTING, after=mark)
        assert transitions.seen[mark][1] is ConnectionState.RECONNECTING
        assert not manager.is_healthy()
        with threaded_broker(store, listen=listen):  # back on the same address and store
            transitions.wait_for(ConnectionState.CONNECTED, within=15, after=mark + 1)
            assert manager.wait_for_state(ConnectionState.CONNECTED, 10)
            assert manager.is_healthy()
    finally:
        manager.disconnect()
        first.stop()


def test_reconnect_needs_the_admin_token_when_the_broker_has_one(tmp_path: Path) -> None:
    with threaded_broker(tmp_path / "store.sqlite3", admin_token="s3cret") as broker:
        base = ConnectionConfig(port=broker.sim_port, broker=broker.address, admin_token="")
        with IBKRConnectionManager(base) as manager:
            assert manager.reconnect() is False
            assert "ADMIN_TOKEN_REQUIRED" in manager.last_error
            assert manager.get_connection_state() is ConnectionState.CONNECTED  # untouched
        with IBKRConnectionManager(base, admin_token="s3cret") as manager:
            assert manager.reconnect() is True
            assert manager.is_healthy()
