"""The composition root: builds the broker from its configuration, runs it, shuts it down.

Start order: store -> (simulator) -> connection manager -> lease manager -> order manager ->
gRPC server.
Shutdown order (SIGTERM/SIGINT): health NOT_SERVING, refuse new work, end every watch stream
with a final event, ``stop(grace)``, close IB sessions, stop the lease sweeper, flush the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics

from broker_client.ibbroker.v1 import connection_service_pb2, lease_service_pb2, trading_service_pb2
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as conn_grpc
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as trading_grpc
from broker_server.config import BrokerConfig, GatewayConfig
from broker_server.domain.clock import Clock, SystemClock
from broker_server.domain.leader_deadline import LeaderDeadline
from broker_server.logs import log_event
from broker_server.observability.traced_ports import TracedPorts
from broker_server.observability.wiring import Observability, start_observability
from broker_server.runtime.connections import ConnectionManager
from broker_server.runtime.leader_fence import LeaderFence
from broker_server.runtime.leases import LeaseManager
from broker_server.runtime.market_data import MarketDataManager
from broker_server.runtime.md_sessions import PooledDataSessions
from broker_server.runtime.orders import OrderManager
from broker_server.server import GrpcServer
from broker_server.server_limits import raise_open_file_limit
from broker_server.server_standby import StandbyGate
from broker_server.services.connection_service import ConnectionServicer
from broker_server.services.identity import Identity
from broker_server.services.lease_service import LeaseServicer
from broker_server.services.market_data_service import market_data_servicer
from broker_server.services.trading_service import TradingServicer
from broker_server.services.transport import EdgeSecurity, build_security
from broker_server.sim.server import SimConfig, SimServer
from broker_server.store.base import Store, StoreError
from broker_server.store.journal_base import OrderJournal
from broker_server.store.order_journal import SqliteOrderJournal
from broker_server.store.sqlite import History, SqliteStore
from broker_server.telemetry import log_metrics_every, setup_metrics

log = logging.getLogger("ibbroker.app")

SERVICE_NAMES = (
    lease_service_pb2.DESCRIPTOR.services_by_name["LeaseService"].full_name,
    connection_service_pb2.DESCRIPTOR.services_by_name["ConnectionService"].full_name,
    trading_service_pb2.DESCRIPTOR.services_by_name["TradingService"].full_name,
)


def point_default_gateway_at(cfg: BrokerConfig, host: str, port: int) -> BrokerConfig:
    """Return ``cfg`` with its default gateway aimed at ``host:port`` (used by ``--sim``)."""
    default = cfg.default_gateway
    gateways = tuple(
        dataclasses.replace(g, host=host, port=port) if g.name == default.name else g
        for g in cfg.gateways
    )
    return dataclasses.replace(cfg, gateways=gateways)


@dataclass
class Broker:
    """A running broker: every component, for tests and the CLI."""

    config: BrokerConfig
    """The effective configuration (after ``--sim`` re-pointed the default gateway)."""
    grpc: GrpcServer
    """The gRPC server."""
    address: str
    """host:port the gRPC server listens on."""
    connections: ConnectionManager
    """The IB session pool."""
    leases: LeaseManager
    """The client-ID allocator."""
    orders: OrderManager
    """Orders exactly once and read-only trading calls."""
    market_data: MarketDataManager
    """Market-data lines fanned out to subscribers."""
    data_sessions: PooledDataSessions
    """The data sessions market data runs on."""
    store: Store
    """The durable store (SQLite or PostgreSQL, by ``store.backend``)."""
    sim: SimServer | None
    """The embedded simulator, when started with ``--sim``."""
    _background: list[asyncio.Task[None]]
    observability: Observability | None = None
    """The /metrics listener, trace export and gauges (docs/observability.md)."""
    stopped: bool = False
    """Set by :func:`stop_broker`; a second call returns at once."""
    leader_fence: LeaderFence | None = None
    """PostgreSQL: steps the broker down (IB sockets first) when its leadership ends."""

    @property
    def gateway(self) -> GatewayConfig:
        """The default gateway's configuration."""
        return self.config.default_gateway


def make_store(config: BrokerConfig, clock: Clock | None = None) -> Store:
    """The store ``store.backend`` names; asyncpg is imported only for PostgreSQL (an extra).
    ``clock`` times the PostgreSQL leadership's local deadline."""
    history = History(config.store.history_seconds, config.store.history_max_rows)
    if config.store.backend == "postgres":
        try:
            from broker_server.store.postgres import PostgresStore
        except ImportError as err:
            raise StoreError(
                f"store.backend 'postgres' needs asyncpg ({err}): pip install 'ibbroker[postgres]'"
            ) from None

        return PostgresStore(
            config.store.dsn.reveal(),
            history=history,
            address=config.server.listen,
            leadership_ttl=config.store.leadership_ttl,
            standby=config.store.standby,
            leadership_margin=config.store.leadership_margin,
            clock=clock,
        )
    return SqliteStore(config.store.path, history=history)


def make_journal(store: Store, config: BrokerConfig) -> OrderJournal:
    """The order journal, in the store itself: on the SQLite writer, or on the PostgreSQL pool
    (shared by every broker of the store and fenced by its leadership, so a standby that takes
    over finds every order the old leader acknowledged)."""
    bounds = {
        "max_events": config.trading.event_log_max,
        "max_finished": config.trading.finished_orders_max,
    }
    if isinstance(store, SqliteStore):
        return SqliteOrderJournal(store, **bounds)
    from broker_server.store.postgres import PostgresStore  # asyncpg: only with PostgreSQL
    from broker_server.store.postgres_journal import PostgresOrderJournal

    if isinstance(store, PostgresStore):
        return PostgresOrderJournal(store, **bounds)
    raise StoreError(f"no order journal for {store!r}")


async def _open_store(store: Store, config: BrokerConfig, security: EdgeSecurity) -> str:
    """Open the store; a PostgreSQL standby serves the NOT_LEADER gate on its address while it
    waits for the leadership. Returns the address the broker proper listens on (the gate's
    port when the configured one was 0, so clients keep the address they were given)."""
    listen = config.server.listen
    if not (config.store.backend == "postgres" and config.store.standby):
        await store.open()
        return listen
    gate = StandbyGate(
        SERVICE_NAMES,
        lambda: str(getattr(store, "leader_address", "")),
        retry_after=config.store.leadership_ttl / 3,  # how often the standby looks
        credentials=security.credentials(),
    )
    address = await gate.start(listen)
    try:
        await store.open()
    finally:
        await gate.stop()
    return address


async def start_broker(
    config: BrokerConfig, *, with_sim: bool = False, clock: Clock | None = None
) -> Broker:
    """Start every component; on failure, stop what was started and re-raise."""
    clock = clock or SystemClock()
    security = build_security(config)  # logs first: auth on or off, TLS on or off
    setup_metrics()
    raise_open_file_limit()
    async with contextlib.AsyncExitStack() as unwind:
        observability = start_observability(config.telemetry)
        unwind.push_async_callback(observability.close)
        sim = None
        if with_sim:
            sim = SimServer(
                SimConfig(
                    host=config.sim.host,
                    port=config.sim.port,
                    seed=config.sim.seed,
                    accounts=config.sim.accounts,
                )
            )
            await sim.start()
            unwind.push_async_callback(sim.stop)
            config = point_default_gateway_at(config, config.sim.host, sim.port)
            log_event(log, logging.INFO, "sim_started", address=f"{config.sim.host}:{sim.port}")
        store = make_store(config, clock)
        listen = await _open_store(store, config, security)
        unwind.push_async_callback(store.close)
        connections = ConnectionManager(config, clock=clock)
        deadline = getattr(store, "deadline", None)
        if isinstance(deadline, LeaderDeadline):  # from the first PROXIED reopen on
            connections.leadership = deadline
        server = GrpcServer(config.server, SERVICE_NAMES, security)
        connections.on_gateway_health(
            lambda gateway, serving: _publish_health(server, config, connections, store)
        )
        await connections.start()
        unwind.push_async_callback(connections.close)
        ports = TracedPorts(connections)  # the IB requests made for a caller get child spans
        leases = LeaseManager(config, store, clock, prober=ports, sessions=ports, accounts=ports)
        await leases.start()
        unwind.push_async_callback(leases.stop)
        observability.attach(connections, leases)
        orders = OrderManager(config, connections, leases, make_journal(store, config), clock)
        background: list[asyncio.Task[None]] = []
        fence = _fence(store, connections, orders, clock)
        if fence is not None:
            unwind.callback(fence.stop)
        await orders.start()
        unwind.push_async_callback(orders.stop)
        leases.prefer_client_ids_of(orders)
        # Market data shares the order runtime's data session and its pacer (one per gateway).
        data_sessions = PooledDataSessions(connections, orders.pacers.pace)
        market_data = MarketDataManager(data_sessions, config.market_data, clock)
        unwind.push_async_callback(market_data.close)
        observability.attach_trading(connections, orders, market_data, data_sessions)
        if security.limits is not None:  # max_leases_per_identity counts the active leases
            security.limits.attach_leases(leases.list)
        identity = Identity(config.server.admin_token)
        server.add(lease_grpc.add_LeaseServiceServicer_to_server, LeaseServicer(leases, identity))
        server.add(
            conn_grpc.add_ConnectionServiceServicer_to_server,
            ConnectionServicer(connections, identity=identity),
        )
        server.add(
            trading_grpc.add_TradingServiceServicer_to_server,
            TradingServicer(orders, identity, market_data_servicer(market_data)),
        )
        address = await server.start(listen)
        await _publish_health(server, config, connections, store)
        announce = getattr(store, "announce", None)
        if announce is not None:  # PostgreSQL: the address other brokers and clients are sent to
            try:
                await asyncio.wrap_future(announce(address))
            except StoreError as err:
                log_event(log, logging.WARNING, "store_announce_failed", error=str(err))
        lost = getattr(store, "on_leadership_lost", None)
        if lost is not None:  # PostgreSQL: a broker whose store was taken over stops serving
            lost(
                lambda: background.append(
                    asyncio.create_task(_publish_health(server, config, connections, store))
                )
            )
        if config.server.metrics_log_interval > 0:
            background.append(
                asyncio.create_task(log_metrics_every(config.server.metrics_log_interval))
            )
        unwind.pop_all()
        return Broker(
            config, server, address, connections, leases, orders, market_data, data_sessions,
            store, sim, background, observability, leader_fence=fence,
        )  # fmt: skip
    raise AssertionError("unreachable")  # pragma: no cover - the exit stack re-raises


def _fence(
    store: Store,
    connections: ConnectionManager,
    orders: OrderManager,
    clock: Clock,
) -> LeaderFence | None:
    """PostgreSQL: every IB write on a client's behalf checks the leadership's local deadline,
    and the broker steps down (IB sockets first, then the store, health and the sessions) once
    it passed or a newer leader took over. SQLite: None (the file is this process's own)."""
    deadline = getattr(store, "deadline", None)
    if not isinstance(deadline, LeaderDeadline):
        return None
    connections.leadership = deadline
    orders.leadership = deadline

    def then(cause: str, leader_address: str) -> None:
        step_down = getattr(store, "step_down", None)
        if step_down is not None:
            step_down()  # writes refused here; health turns NOT_SERVING (on_leadership_lost)
        reason = f"leadership lost ({cause}): {deadline.describe()}"
        fence.tasks.append(asyncio.create_task(connections.close(reason)))

    fence = LeaderFence(deadline, connections, clock, then)
    fence.start()
    return fence


async def _publish_health(
    server: GrpcServer, config: BrokerConfig, connections: ConnectionManager, store: Store
) -> None:
    """The process is SERVING; each service is SERVING while its default gateway is usable and
    the broker leads its store (a PostgreSQL store another broker took over: NOT_SERVING, so a
    load balancer routes to the new leader)."""
    if server.drain.draining:
        return
    leading = getattr(store, "leading", True)  # SQLite: always, it is owned by this process
    usable = leading and connections.is_healthy(config.default_gateway.name)
    await server.set_health([("", True), *((name, usable) for name in SERVICE_NAMES)])


async def stop_broker(broker: Broker, reason: str = "broker shutting down") -> None:
    """Shut down in the documented order; a second call returns at once. ``reason``: the
    final event of every watch stream."""
    if broker.stopped:
        return
    broker.stopped = True
    log_event(log, logging.INFO, "shutdown_started", address=broker.address, reason=reason)
    if broker.leader_fence is not None:  # a clean stop is not a step-down
        broker.leader_fence.stop()
    await broker.grpc.enter_shutdown()
    broker.connections.end_streams(reason)
    broker.leases.end_streams(reason)
    broker.orders.end_streams(reason)
    broker.market_data.end_streams(reason)
    # Give the streams a moment to send their final event before stop() cancels them.
    await broker.connections.wait_streams_drained(
        timeout=min(1.0, broker.config.server.grace_period)
    )
    await broker.grpc.stop(broker.config.server.grace_period)
    for task in broker._background:
        task.cancel()
    if broker.leader_fence is not None:  # a step-down's session close: let it finish
        await asyncio.gather(*broker.leader_fence.tasks, return_exceptions=True)
    await broker.market_data.close()  # before the order runtime: it paces through its pacers
    await broker.orders.stop()
    await broker.connections.close()
    await broker.leases.stop()
    await broker.store.close()
    if broker.sim is not None:
        await broker.sim.stop()
    if broker.observability is not None:
        await broker.observability.close()
    log_event(log, logging.INFO, "shutdown_complete")


@contextlib.asynccontextmanager
async def running_broker(
    config: BrokerConfig, *, with_sim: bool = False, clock: Clock | None = None
) -> AsyncIterator[Broker]:
    """``async with running_broker(cfg) as broker:`` for tests and embedding."""
    broker = await start_broker(config, with_sim=with_sim, clock=clock)
    try:
        yield broker
    finally:
        await stop_broker(broker)


async def serve(config: BrokerConfig, *, with_sim: bool = False) -> int:
    """Run until SIGTERM or SIGINT, then shut down gracefully; return the exit code.

    A PostgreSQL leader that steps down (its local deadline passed, or a newer leader took
    over) is stopped like on SIGTERM (every watch stream gets its FINAL event) and then, with
    ``store.standby``, started again through the same path on the same address: it waits as a
    standby behind the stand-in and leads again (a new epoch) once the store is free, at once
    when nobody took it (PostgreSQL restarted). Without ``store.standby`` it exits with
    :data:`EXIT_STEPPED_DOWN` for its supervisor to restart it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    rejoining = False
    while True:
        broker = await _start_unless_stopped(config, with_sim, stop, retry=rejoining)
        if broker is None:
            log_event(log, logging.INFO, "shutdown_complete", started=False)
            return 0
        if broker.grpc.security is not None:  # SIGHUP: re-read the TLS certificate files
            loop.add_signal_handler(signal.SIGHUP, broker.grpc.security.reload)
        fence = broker.leader_fence
        cause = ""
        try:
            await _first(stop.wait(), fence.stepped_down.wait() if fence else stop.wait())
            cause = fence.cause if fence is not None and not stop.is_set() else ""
        finally:
            if fence is not None:
                fence.stop()  # a step-down from now on is part of this stop
            action = "standby" if config.store.standby else "exit"
            reason = f"leadership lost ({cause}): {action}" if cause else "broker shutting down"
            await stop_broker(broker, reason)
        if not cause:
            return 0
        _rejoins.add(1, {"action": action, "cause": cause})
        if action == "exit":
            log_event(
                log, logging.ERROR, "leadership_step_down_exit", cause=cause,
                exit_code=EXIT_STEPPED_DOWN,
            )  # fmt: skip
            return EXIT_STEPPED_DOWN
        log_event(log, logging.WARNING, "leadership_rejoin_standby", cause=cause,
                  address=broker.address)  # fmt: skip
        # The same address (a port 0 was resolved): clients keep the one they were given.
        config = dataclasses.replace(
            config, server=dataclasses.replace(config.server, listen=broker.address)
        )
        rejoining = True


EXIT_STEPPED_DOWN = 75
"""Exit code (EX_TEMPFAIL) of ``serve`` after a step-down without ``store.standby``: a
supervisor (Docker ``restart:``, Kubernetes, systemd ``Restart=``) starts it again."""

_rejoins = metrics.get_meter("ibbroker").create_counter(
    "ibbroker.leadership.rejoins",
    unit="{step_down}",
    description="Step-downs after which serve started again as a standby (action=standby) or "
    "exited for its supervisor to restart it (action=exit), by cause.",
)


async def _first(*waits: Awaitable[Any]) -> None:
    """Wait until the first of ``waits`` ends; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _start_unless_stopped(
    config: BrokerConfig, with_sim: bool, stop: asyncio.Event, *, retry: bool
) -> Broker | None:
    """Start the broker (a standby waits in here until it leads); None when ``stop`` is set
    first. ``retry`` (rejoining after a step-down): a start that fails (PostgreSQL still
    unreachable, the port not yet free) is tried again every third of the leadership TTL."""
    while True:
        starting = asyncio.create_task(start_broker(config, with_sim=with_sim))
        await _first(asyncio.shield(starting), stop.wait())
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return None
        err = None if starting.cancelled() else starting.exception()
        if not retry or not isinstance(err, (StoreError, OSError)):
            return starting.result()
        log_event(log, logging.WARNING, "standby_restart_failed", error=str(err))
        await _first(asyncio.sleep(config.store.leadership_ttl / 3), stop.wait())
        if stop.is_set():
            return None
