"""The seed's connection API, served by a running broker: move code over by changing an import.

Code written for the original in-process manager::

    from ibkr_connection import ConnectionConfig, ConnectionState, IBKRConnectionManager

runs against the broker as::

    from broker_client import ConnectionConfig, ConnectionState, IBKRConnectionManager

    config = ConnectionConfig(host="127.0.0.1", port=4002, client_id=7, paper_trading=True)
    manager = IBKRConnectionManager(config)
    manager.register_state_callback(lambda old, new: print(old.value, "->", new.value))
    if manager.connect():                       # blocks up to config.timeout
        print(manager.get_connection_state(), manager.is_healthy())
        monitor = ConnectionHealthMonitor(manager)
        print(monitor.get_metrics()["heartbeat_rtt_p99"])
    manager.disconnect()

What changes underneath: the broker, not this process, holds the IB socket. ``host``/``port``
name the TWS / IB Gateway as before; the manager finds the broker's gateway with that address
(``ConnectionConfig.gateway`` picks one by name instead) and follows the state and health of its
always-on monitor session through ``WatchConnectionState`` / ``WatchHealth`` on a background
thread. The broker's address is ``ConnectionConfig.broker`` (default ``$IBBROKER_ADDRESS`` or
``127.0.0.1:50051``). ``client_id`` is no longer a socket of this process: :meth:`lease` takes a
client-ID lease that prefers it, for code that connects its own ``IB()`` (DIRECT lease).

- :meth:`IBKRConnectionManager.connect` returns True once the gateway is CONNECTED, False when
  the broker cannot be reached after ``max_retries`` attempts ``retry_delay`` apart, the
  gateway is unknown or of the wrong kind (paper vs live), or it is not CONNECTED within
  ``timeout``. :meth:`~IBKRConnectionManager.reconnect` asks the broker to replace the
  followed session's socket (an admin call: ``admin_token`` when the broker requires one) and
  returns True once it is CONNECTED again.
- State callbacks run on the watcher thread (the DISCONNECTED of :meth:`disconnect` on the
  caller's), in order, one per change of the followed state:
  ``callback(old, new)`` or, for one-parameter callables, ``callback(change)`` with a
  :class:`StateChange`. A broker drop of the gateway socket is RECONNECTING then CONNECTED;
  losing the broker itself is reported as RECONNECTING (reason ``broker shutting down: ...``
  or ``broker unreachable``) until the watch has resumed on the broker's return.
- The manager is a context manager (``with IBKRConnectionManager(config) as manager:``):
  entering connects (raising :class:`ConnectionError` on failure), leaving disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import grpc

from broker_client.auth import TLSConfig
from broker_client.client import BrokerClientSync
from broker_client.errors import BrokerError
from broker_client.failover import StreamMethod, Targets
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.leases import SyncLease
from broker_client.watch import FINAL, WatchOptions, resumable

log = logging.getLogger("broker_client.compat")

DEFAULT_BROKER = "127.0.0.1:50051"
"""The broker's address when neither ``broker`` nor ``$IBBROKER_ADDRESS`` says otherwise."""


class ConnectionState(enum.Enum):
    """Where the followed gateway stands (the seed's enum; values as the broker names them)."""

    DISCONNECTED = "DISCONNECTED"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"
    ERROR = "ERROR"

    @classmethod
    def from_proto(cls, value: pb.ConnectionState.ValueType) -> ConnectionState:
        """The member for a ``ibbroker.v1.ConnectionState`` value (UNSPECIFIED: DISCONNECTED)."""
        name = pb.ConnectionState.Name(value).removeprefix("CONNECTION_STATE_")
        return cls.__members__.get(name, cls.DISCONNECTED)


def _default_port(paper_trading: bool, use_gateway: bool) -> int:
    if use_gateway:
        return 4002 if paper_trading else 4001
    return 7497 if paper_trading else 7496


@dataclass(frozen=True)
class ConnectionConfig:
    """The seed's connection settings, plus where the broker is."""

    host: str = "127.0.0.1"
    """Host of the TWS / IB Gateway (used to find the broker's gateway with this address)."""
    port: int | None = None
    """Its API port; None: 4002/4001 (Gateway) or 7497/7496 (TWS) by paper_trading."""
    client_id: int = 1
    """The client ID this code used; :meth:`IBKRConnectionManager.lease` prefers it."""
    paper_trading: bool = True
    """The gateway must be a paper-trading one (a live gateway is refused, and vice versa)."""
    use_gateway: bool = True
    """IB Gateway (True) or TWS (False); only changes the default port."""
    timeout: float = 10.0
    """Seconds :meth:`IBKRConnectionManager.connect` waits for CONNECTED; also each call's deadline."""
    max_retries: int = 3
    """Attempts to reach the broker in :meth:`IBKRConnectionManager.connect` (at least one)."""
    retry_delay: float = 1.0
    """Seconds between those attempts."""
    broker: str | tuple[str, ...] = field(
        default_factory=lambda: os.environ.get("IBBROKER_ADDRESS", DEFAULT_BROKER)
    )
    """host:port of the broker (default ``$IBBROKER_ADDRESS`` or 127.0.0.1:50051); several
    brokers sharing one store as ``"a:1,b:2"`` or a tuple: the manager follows the leader."""
    gateway: str = ""
    """The broker's gateway by name; empty: the one at host:port (or the only one of its kind)."""
    admin_token: str = field(default_factory=lambda: os.environ.get("IBBROKER_ADMIN_TOKEN", ""))
    """Token sent with :meth:`IBKRConnectionManager.reconnect` (default ``$IBBROKER_ADMIN_TOKEN``)."""
    token: str = field(default_factory=lambda: os.environ.get("IBBROKER_TOKEN", ""))
    """Bearer token of every call and watch (default ``$IBBROKER_TOKEN``; empty: none)."""
    tls: TLSConfig | None = None
    """TLS settings of the broker channels (None: plaintext)."""

    @property
    def address(self) -> str:
        """host:port of the TWS / IB Gateway."""
        port = (
            self.port
            if self.port is not None
            else _default_port(self.paper_trading, self.use_gateway)
        )
        return f"{self.host}:{port}"


@dataclass(frozen=True)
class StateChange:
    """One change of the followed state, as a one-parameter callback receives it."""

    old: ConnectionState
    new: ConnectionState
    reason: str
    """The broker's reason, e.g. ``socket closed by peer``, or ``broker unreachable``."""
    event: pb.ConnectionEvent | None
    """The broker's event behind the change (None for local changes)."""


StateCallback = Callable[..., Any]
"""``callback(old, new)`` or ``callback(change: StateChange)``."""


def _arity(callback: StateCallback) -> int:
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return 2
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if any(p.kind is p.VAR_POSITIONAL for p in params) or len(positional) >= 2:
        return 2
    return 1


class IBKRConnectionManager:
    """Follows one broker gateway's connection state and health (the seed's manager).

    Thread-safe: the state is written by the watcher thread under a lock and read from any
    thread; callbacks run on the watcher thread.
    """

    def __init__(self, config: ConnectionConfig | None = None, **overrides: Any) -> None:
        base = config or ConnectionConfig()
        self.config = base if not overrides else _replace(base, overrides)
        self.client: BrokerClientSync | None = None
        """The blocking broker client (for every call this API does not cover), once connected."""
        self.gateway = ""
        """The broker's name of the followed gateway, once connected."""
        self.session = ""
        """The followed (monitor) session, e.g. ``paper/monitor``."""
        self.last_error = ""
        """Why the last connect/reconnect returned False."""
        self._lock = threading.Condition()
        self._state = ConnectionState.DISCONNECTED
        self._health = pb.HEALTH_STATUS_UNSPECIFIED
        self._health_event: pb.HealthEvent | None = None
        self._link_up = False
        self._changes = 0
        self._callbacks: list[tuple[StateCallback, int]] = []
        self._health_callbacks: list[Callable[[pb.HealthEvent], Any]] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    # --- the seed's API ---------------------------------------------------------------------

    def connect(self) -> bool:
        """Reach the broker, find the gateway, follow it; True once it is CONNECTED."""
        if self._thread is not None:
            return self.wait_for_state(ConnectionState.CONNECTED, self.config.timeout)
        cfg = self.config
        client = BrokerClientSync(
            cfg.broker, timeout=cfg.timeout, tls=cfg.tls, token=cfg.token or None
        )
        gateways: list[pb.GatewayStatus] | None = None
        for attempt in range(max(1, cfg.max_retries)):
            if attempt:
                time.sleep(cfg.retry_delay)
            try:
                gateways = client.get_connection_state()
                break
            except BrokerError as err:
                self.last_error = f"broker {cfg.broker} unreachable: {err}"
                log.warning("%s (attempt %d of %d)", self.last_error, attempt + 1, cfg.max_retries)
        if gateways is None:
            client.close()
            return False
        chosen = self._choose(gateways)
        if chosen is None:
            client.close()
            return False
        self.client, self.gateway = client, chosen.gateway
        monitors = [s.session for s in chosen.sessions if s.role == pb.SESSION_ROLE_MONITOR]
        self.session = monitors[0] if monitors else f"{chosen.gateway}/monitor"
        self._start_watcher()
        if self.wait_for_state(ConnectionState.CONNECTED, cfg.timeout):
            return True
        self.last_error = (
            f"gateway {self.gateway} is {self.get_connection_state().value}, "
            f"not CONNECTED after {cfg.timeout} s"
        )
        return False

    def disconnect(self) -> None:
        """Stop following the gateway and close the broker channel (the broker keeps its
        sessions: other strategies are not affected)."""
        self._stop_watcher()
        if self.client is not None:
            self.client.close()
            self.client = None
        self._set_state(ConnectionState.DISCONNECTED, "disconnect() called", None)

    def reconnect(self) -> bool:
        """Ask the broker to replace the followed session's socket (other strategies' PROXIED
        sessions are left alone); True once CONNECTED again.

        Not following yet (or any more): the same as :meth:`connect`."""
        if self.client is None or self._thread is None:
            return self.connect()
        metadata = (
            (("authorization", f"Bearer {self.config.admin_token}"),)
            if self.config.admin_token
            else ()
        )
        with self._lock:
            seen = self._changes
        try:
            self.client.connections.Reconnect(
                svc.ReconnectRequest(
                    gateway=self.gateway, session=self.session, reason="reconnect() called"
                ),
                timeout=self.config.timeout,
                metadata=metadata,
            )
        except grpc.RpcError as err:
            self.last_error = str(BrokerError.from_rpc_error(err))
            return False
        # The broker answers once the sockets are replaced; wait for the state to settle.
        deadline = time.monotonic() + self.config.timeout
        with self._lock:
            self._lock.wait_for(
                lambda: self._changes > seen or time.monotonic() >= deadline,
                timeout=min(1.0, self.config.timeout),
            )
        return self.wait_for_state(ConnectionState.CONNECTED, max(0.0, deadline - time.monotonic()))

    def is_healthy(self) -> bool:
        """CONNECTED, the broker reachable, and the session not UNHEALTHY."""
        with self._lock:
            return (
                self._link_up
                and self._state is ConnectionState.CONNECTED
                and self._health != pb.HEALTH_STATUS_UNHEALTHY
            )

    def get_connection_state(self) -> ConnectionState:
        """The followed state now."""
        with self._lock:
            return self._state

    def register_state_callback(self, callback: StateCallback) -> Callable[[], None]:
        """Call ``callback(old, new)`` (or ``callback(change)``) on every state change, on the
        watcher thread; returns a function that unregisters it."""
        entry = (callback, _arity(callback))
        with self._lock:
            self._callbacks.append(entry)

        def unregister() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._callbacks.remove(entry)

        return unregister

    def register_health_callback(
        self, callback: Callable[[pb.HealthEvent], Any]
    ) -> Callable[[], None]:
        """Call ``callback(event)`` on every health event of the followed session."""
        with self._lock:
            self._health_callbacks.append(callback)

        def unregister() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._health_callbacks.remove(callback)

        return unregister

    def wait_for_state(self, state: ConnectionState, timeout: float) -> bool:
        """Block until the followed state is ``state``; False after ``timeout`` seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: self._state is state, timeout)

    def lease(self, owner: str, ttl: float | None = None, **kwargs: Any) -> Any:
        """``with manager.lease(owner="me") as held:`` a DIRECT client-ID lease on the gateway
        that prefers ``config.client_id``; connect ``IB()`` with ``held.client_id``."""
        if self.client is None:
            raise ConnectionError("connect() first")
        kwargs.setdefault("gateway", self.gateway)
        kwargs.setdefault("client_id", self.config.client_id)
        held: contextlib.AbstractContextManager[SyncLease] = self.client.lease(
            owner=owner, ttl=ttl, **kwargs
        )
        return held

    @property
    def health(self) -> pb.HealthEvent | None:
        """The last health event of the followed session."""
        with self._lock:
            return self._health_event

    def __enter__(self) -> IBKRConnectionManager:
        if not self.connect():
            error = self.last_error
            self.disconnect()
            raise ConnectionError(error)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()

    def __repr__(self) -> str:
        return f"<IBKRConnectionManager {self.gateway or self.config.address}={self._state.value}>"

    # --- internals --------------------------------------------------------------------------

    def _choose(self, gateways: list[pb.GatewayStatus]) -> pb.GatewayStatus | None:
        cfg = self.config
        if cfg.gateway:
            found = [g for g in gateways if g.gateway == cfg.gateway]
            what = f"named {cfg.gateway!r}"
        else:
            found = [g for g in gateways if g.address == cfg.address]
            what = f"at {cfg.address}"
            if not found:
                same_kind = [g for g in gateways if g.paper_trading == cfg.paper_trading]
                found = same_kind if len(same_kind) == 1 else []
                if found:
                    log.warning(
                        "no broker gateway at %s; following %s (%s), the only %s gateway",
                        cfg.address,
                        found[0].gateway,
                        found[0].address,
                        "paper" if cfg.paper_trading else "live",
                    )
        names = ", ".join(f"{g.gateway} ({g.address})" for g in gateways)
        if not found:
            self.last_error = f"the broker has no gateway {what}; it has {names}"
            return None
        if found[0].paper_trading != cfg.paper_trading:
            kind = "paper" if found[0].paper_trading else "live"
            self.last_error = (
                f"gateway {found[0].gateway} is a {kind} gateway; paper_trading={cfg.paper_trading}"
            )
            return None
        return found[0]

    def _set_state(
        self, new: ConnectionState, reason: str, event: pb.ConnectionEvent | None
    ) -> None:
        with self._lock:
            old = self._state
            if old is new:
                return
            self._state = new
            self._changes += 1
            callbacks = list(self._callbacks)
            self._lock.notify_all()
        log.info("gateway %s: %s -> %s (%s)", self.gateway, old.value, new.value, reason)
        change = StateChange(old, new, reason, event)
        for callback, arity in callbacks:
            try:
                callback(old, new) if arity == 2 else callback(change)
            except Exception:  # a user's callback must not end the watcher
                log.exception("state callback %r failed", callback)

    def _start_watcher(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop, self._stop = loop, asyncio.Event()
            ready.set()
            try:
                loop.run_until_complete(self._watch(self._stop))
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="ibbroker-compat-watch", daemon=True)
        self._thread.start()
        ready.wait()

    def _stop_watcher(self) -> None:
        thread, loop, stop = self._thread, self._loop, self._stop
        self._thread = self._loop = self._stop = None
        if thread is None or loop is None or stop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)

    async def _watch(self, stop: asyncio.Event) -> None:
        client = self.client
        assert client is not None
        # The client's credentials and channel arguments, and its router: the watches reopen
        # wherever the client's calls found the leader, and the other way round.
        async with Targets(client.router, client.channel_spec.aio) as targets:
            tasks = [
                asyncio.create_task(self._follow_state(targets)),
                asyncio.create_task(self._follow_health(targets)),
            ]
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in [*tasks, stopper]:
                task.cancel()
            await asyncio.gather(*tasks, stopper, return_exceptions=True)
            for task in done:
                if task is not stopper and not task.cancelled() and task.exception():
                    log.error("watch of gateway %s ended: %s", self.gateway, task.exception())

    def _opener(self, open_call: Callable[[int], Any]) -> Callable[[int], Any]:
        """``open_call`` that reports the broker unreachable on every reopen after a break."""
        opened = 0

        def open_stream(after: int) -> Any:
            nonlocal opened
            opened += 1
            if opened > 1:
                with self._lock:
                    self._link_up = False
                if self._state is ConnectionState.CONNECTED:
                    self._set_state(ConnectionState.RECONNECTING, "broker unreachable", None)
            return open_call(after)

        return open_stream

    async def _follow_state(self, targets: Targets[Any]) -> None:
        method = StreamMethod(targets, svc_grpc.ConnectionServiceStub, "WatchConnectionState")

        def open_call(after: int) -> Any:
            request = svc.WatchConnectionStateRequest(
                gateway=self.gateway, resume_after_sequence=after
            )
            return method(request)

        options = WatchOptions(initial_backoff=0.1, max_backoff=self.config.retry_delay or 1.0)
        async for event in resumable(self._opener(open_call), FINAL, options, source=method):
            with self._lock:
                self._link_up = True
            if event.session != self.session or event.kind in (
                pb.EVENT_KIND_RESTORED,
                pb.EVENT_KIND_GAP,
            ):
                continue
            if event.kind == pb.EVENT_KIND_FINAL:
                # The broker is going away; the watch resumes when it (or its successor) is back.
                with self._lock:
                    self._link_up = False
                reason = f"broker shutting down: {event.reason}"
                self._set_state(ConnectionState.RECONNECTING, reason, event)
                continue
            self._set_state(ConnectionState.from_proto(event.state), event.reason, event)

    async def _follow_health(self, targets: Targets[Any]) -> None:
        method = StreamMethod(targets, svc_grpc.ConnectionServiceStub, "WatchHealth")

        def open_call(after: int) -> Any:
            request = svc.WatchHealthRequest(gateway=self.gateway, resume_after_sequence=after)
            return method(request)

        options = WatchOptions(initial_backoff=0.1, max_backoff=self.config.retry_delay or 1.0)
        async for event in resumable(open_call, FINAL, options, source=method):
            if event.session != self.session:
                continue
            with self._lock:
                self._health, self._health_event = event.status, event
                callbacks = list(self._health_callbacks)
            for callback in callbacks:
                try:
                    callback(event)
                except Exception:
                    log.exception("health callback %r failed", callback)


def _replace(config: ConnectionConfig, overrides: dict[str, Any]) -> ConnectionConfig:
    import dataclasses

    return dataclasses.replace(config, **overrides)


def _seconds(duration: Any) -> float:
    return float(duration.seconds) + duration.nanos / 1e9


class ConnectionHealthMonitor:
    """Health and metrics of the manager's gateway (the seed's monitor).

    The broker measures (heartbeats every ``heartbeat_interval``); this object reads. Monitoring
    runs while the manager is connected; ``start_monitoring``/``stop_monitoring`` only say
    whether :meth:`check_health` asks the broker or answers from the last event.
    """

    def __init__(self, manager: IBKRConnectionManager) -> None:
        self.manager = manager
        self.monitoring = False

    def start_monitoring(self) -> None:
        """Connect the manager if needed and ask the broker on every check."""
        if self.manager.client is None:
            self.manager.connect()
        self.monitoring = True

    def stop_monitoring(self) -> None:
        """Answer checks from the last health event only."""
        self.monitoring = False

    def check_health(self) -> bool:
        """True when the gateway is CONNECTED and its session not UNHEALTHY."""
        if self.monitoring and self._session_now() is None:
            return False
        return self.manager.is_healthy()

    def get_metrics(self) -> dict[str, Any]:
        """The session's figures now (seconds as floats), as the broker measures them:
        ``state``, ``health``, ``health_reasons``, ``heartbeat_rtt_last``/``_p50``/``_p99``,
        ``messages_in_per_second``, ``messages_out_per_second``, ``reconnect_count``,
        ``uptime``, ``last_error``, ``breaker``, ``client_id``. Empty when never connected."""
        session = self._session_now()
        if session is not None:
            status, reasons, metrics, breaker = (
                session.health,
                session.health_reasons,
                session.metrics,
                session.breaker,
            )
            client_id = session.client_id
        else:
            event = self.manager.health
            if event is None:
                return {}
            status, reasons, metrics, breaker = (
                event.status,
                event.reasons,
                event.metrics,
                event.breaker,
            )
            client_id = event.client_id
        return {
            "state": self.manager.get_connection_state().value,
            "health": pb.HealthStatus.Name(status).removeprefix("HEALTH_STATUS_"),
            "health_reasons": [r.code for r in reasons],
            "heartbeat_rtt_last": _seconds(metrics.heartbeat_rtt_last),
            "heartbeat_rtt_p50": _seconds(metrics.heartbeat_rtt_p50),
            "heartbeat_rtt_p99": _seconds(metrics.heartbeat_rtt_p99),
            "messages_in_per_second": metrics.messages_in_per_second,
            "messages_out_per_second": metrics.messages_out_per_second,
            "reconnect_count": int(metrics.reconnect_count),
            "uptime": _seconds(metrics.uptime),
            "last_error": metrics.last_error,
            "breaker": pb.BreakerState.Name(breaker).removeprefix("BREAKER_STATE_"),
            "client_id": client_id,
        }

    def _session_now(self) -> pb.SessionInfo | None:
        client = self.manager.client
        if client is None:
            return None
        try:
            gateways = client.get_health(self.manager.gateway)
        except BrokerError:
            return None
        for gateway in gateways:
            for session in gateway.sessions:
                if session.session == self.manager.session:
                    return session
        return None


__all__ = [
    "ConnectionConfig",
    "ConnectionHealthMonitor",
    "ConnectionState",
    "IBKRConnectionManager",
    "StateChange",
]
