"""Broker configuration: a TOML file plus environment overrides, validated into frozen dataclasses.

Loading never half-succeeds: :func:`load_config` either returns a complete :class:`BrokerConfig`
or raises :class:`ConfigError` listing every problem, one line each, naming the key.

Environment overrides (applied after the file):

``IBBROKER_LISTEN``  server.listen            ``IBBROKER_STORE``      store.path
``IBBROKER_LOG_LEVEL`` server.log_level       ``IBBROKER_ADMIN_TOKEN`` server.admin_token
``IBBROKER_STORE_DSN`` store.dsn
``IB_HOST`` / ``IB_PORT`` / ``IB_CLIENT_ID``  host, port and monitor client ID of the default gateway
``IB_PAPER_TRADING`` / ``IB_ALLOW_LIVE``      paper_trading and allow_live of the default gateway
``IBBROKER_METRICS_LISTEN`` telemetry.metrics_listen  ``IBBROKER_OTLP_ENDPOINT`` telemetry.otlp_endpoint
``IBBROKER_AUTH`` auth.enabled  ``IBBROKER_TOKEN_KEY`` auth.token_key
``IBBROKER_ALLOW_INSECURE_LISTEN`` tls.allow_insecure_listen
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broker_server.config_checks import validate
from broker_server.config_security import AuthConfig, TlsConfig, validate_security
from broker_server.config_values import ConfigError, Secret, apply_env, coerce
from broker_server.domain.lease_policy import GatewayIds, LeasePolicy, LeaseTimes
from broker_server.domain.limits import (
    GATEWAY_LIVE_PORT,
    GATEWAY_PAPER_PORT,
    LIVE_PORTS,
    MAX_IB_CLIENTS,
    PAPER_PORTS,
    TWS_LIVE_PORT,
    TWS_PAPER_PORT,
)
from broker_server.domain.limits import (
    IB_CLIENT_LIBRARIES as IB_LIBRARIES,
)

__all__ = [
    "GATEWAY_LIVE_PORT",
    "GATEWAY_PAPER_PORT",
    "IB_LIBRARIES",
    "LIVE_PORTS",
    "MAX_IB_CLIENTS",
    "PAPER_PORTS",
    "TWS_LIVE_PORT",
    "TWS_PAPER_PORT",
    "AuthConfig",
    "BrokerConfig",
    "ConfigError",
    "GatewayConfig",
    "LeaseConfig",
    "Secret",
    "ServerConfig",
    "SimConfigSection",
    "StoreConfig",
    "TelemetryConfig",
    "TlsConfig",
    "TradingConfig",
    "config_from_mapping",
    "default_port",
    "load_config",
    "with_overrides",
]


def default_port(*, use_gateway: bool, paper_trading: bool) -> int:
    """IB's default API port: Gateway 4002 paper / 4001 live, TWS 7497 paper / 7496 live."""
    if use_gateway:
        return GATEWAY_PAPER_PORT if paper_trading else GATEWAY_LIVE_PORT
    return TWS_PAPER_PORT if paper_trading else TWS_LIVE_PORT


@dataclass(frozen=True)
class ServerConfig:
    """The gRPC server."""

    listen: str = "127.0.0.1:50051"
    """host:port the gRPC server listens on (port 0 picks a free port)."""
    grace_period: float = 5.0
    """Seconds in-flight calls get to finish on shutdown before they are cancelled."""
    max_message_bytes: int = 4 * 1024 * 1024
    """Largest gRPC message accepted or sent, in bytes."""
    keepalive_time: float = 30.0
    """Seconds between keepalive pings the server sends on an idle connection."""
    keepalive_timeout: float = 10.0
    """Seconds to wait for a keepalive ping's ack before closing the connection."""
    min_client_ping_interval: float = 10.0
    """Shortest interval between client keepalive pings the server accepts (clients ping every 20 s)."""
    log_level: str = "INFO"
    """Log level of the JSON logs on stderr: DEBUG, INFO, WARNING or ERROR."""
    default_gateway: str = ""
    """Gateway used when a request leaves `gateway` empty; empty means the first one configured."""
    admin_token: Secret = field(default_factory=lambda: Secret(""))
    """Bearer token required by admin RPCs (Reconnect); empty means admin RPCs are open."""
    watcher_queue_size: int = 256
    """Events buffered per watch stream before a slow watcher is coalesced to the latest snapshot."""
    metrics_log_interval: float = 60.0
    """Seconds between JSON `metrics` log lines with every counter; 0 turns them off."""
    max_concurrent_streams: int = 1024
    """Most calls open at once on one client connection (HTTP/2 MAX_CONCURRENT_STREAMS); more wait in the client."""
    max_streams_per_peer: int = 2048
    """Most streaming calls (watches, reflection) open at once from one client IP; more get RESOURCE_EXHAUSTED PEER_STREAM_LIMIT."""
    max_connections: int = 1000
    """Most client connections at once (capped below the open-file limit); gRPC closes further ones at accept."""
    idle_timeout: float = 120.0
    """Seconds a client connection without calls is kept before the server closes it (clients reconnect on their next call)."""
    handshake_timeout: float = 10.0
    """Seconds a new connection may take to complete its HTTP/2 handshake before it is closed."""
    log_burst: int = 20
    """Identical log lines (same event and fields) written per log_burst_interval at most; the next one written counts the suppressed."""
    log_burst_interval: float = 10.0
    """Seconds of the window of log_burst."""


@dataclass(frozen=True)
class StoreConfig:
    """The durable store."""

    backend: str = "sqlite"
    """Where leases and the order journal live: "sqlite" (one broker, store.path) or "postgres" (brokers sharing store.dsn)."""
    path: str = "var/ibbroker.sqlite3"
    """SQLite file holding leases, epochs and the order journal (created with its folder when missing); unused with postgres (the alive mark is in the leadership row)."""
    dsn: Secret = field(default_factory=lambda: Secret(""))
    """PostgreSQL URI for backend "postgres" (postgresql://user:password@host/db); never logged."""
    leadership_ttl: float = 10.0
    """PostgreSQL: seconds another broker waits before taking over a store whose leader stopped renewing."""
    leadership_margin: float = 0.2
    """PostgreSQL: fraction of leadership_ttl the leader gives up locally: it sends nothing to IB once ttl * (1 - margin) passed since it sent its last successful renewal (covers clock drift and a pause between check and send; docs/store.md)."""
    standby: bool = False
    """PostgreSQL: when another broker leads, wait as a standby (answering NOT_LEADER) and take over once its leadership expires, instead of exiting; after a step-down, turn back into a standby in-process instead of exiting with code 75."""
    history_seconds: float = 600.0
    """Seconds an ended lease stays in the store (GetLease and idempotent retries after a restart)."""
    history_max_rows: int = 10_000
    """Most ended leases kept in the store; the oldest are pruned first."""


@dataclass(frozen=True)
class TradingConfig:
    """Orders and read-only calls through the broker (TradingService)."""

    pacing_limit: int = 40
    """Messages per pacing window per IB session (IB allows 50/s; a margin absorbs jitter)."""
    pacing_window: float = 1.0
    """Pacing window in seconds."""
    pacing_slices: int = 4
    """The window is enforced in this many equal slices (10 messages per 0.25 s by default), so
    a burst is spread over the window: IB counts messages as they arrive, and a burst that
    arrives late next to the following one would exceed 50 in one second."""
    ack_timeout: float = 5.0
    """Seconds PlaceOrder, ModifyOrder and CancelOrder wait for IB's answer before returning the
    order in its current state (SUBMITTED, PENDING_CANCEL)."""
    request_timeout: float = 10.0
    """Seconds a read-only IB request (time, contracts, positions, orders) may take."""
    reconcile_retry: float = 1.0
    """Seconds between reconciliation attempts while orders are UNKNOWN and IB is unreachable."""
    orphan_poll_interval: float = 5.0
    """Seconds between reconciliations of a gateway while it has working orders whose session
    the broker no longer holds (their lease ended): IB keeps such orders working and only its
    lists (completed orders, executions) tell what becomes of them."""
    event_log_max: int = 10_000
    """Order events kept in the store for resuming watchers."""
    finished_orders_max: int = 100_000
    """Finished orders kept in the journal for idempotent replays (oldest pruned first)."""


@dataclass(frozen=True)
class LeaseConfig:
    """Client-ID leasing."""

    default_ttl: float = 30.0
    """Lease time-to-live in seconds when a request sets none."""
    min_ttl: float = 5.0
    """Shortest TTL a request may ask for, in seconds."""
    max_ttl: float = 300.0
    """Longest TTL a request may ask for, in seconds."""
    quarantine_cooldown: float = 5.0
    """Seconds a released or expired client ID rests before it is probed and handed out again."""
    sweep_interval: float = 0.5
    """Seconds between sweeps that expire leases and free quarantined IDs."""
    probe_timeout: float = 3.0
    """Seconds a probe connect (proving a DIRECT lease's ID free) may take."""
    pause_threshold: float = 2.0
    """Seconds without a sweep after which the broker counts itself paused and gives each lease one grace (a third of its TTL)."""

    def policy(self) -> LeaseTimes:
        """The timing rules as the lease core takes them."""
        return LeaseTimes(
            default_ttl=self.default_ttl,
            min_ttl=self.min_ttl,
            max_ttl=self.max_ttl,
            quarantine_cooldown=self.quarantine_cooldown,
            sweep_interval=self.sweep_interval,
        )


@dataclass(frozen=True)
class MarketDataConfig:
    """Market data through the broker (issue 11); the budget applies per gateway. Market data
    uses the gateway's shared data session (``gateways.NAME.data_client_id``)."""

    line_budget: int = 100
    """Simultaneous IB market-data lines per gateway (IB's default allowance is 100); a new
    instrument beyond it gets RESOURCE_EXHAUSTED before IB would answer 101."""
    linger: float = 5.0
    """Seconds a line stays open at IB after its last subscriber left."""
    too_slow_after: float = 10.0
    """Seconds data may wait unread for a subscriber before it is ended (SUBSCRIBER_TOO_SLOW)."""
    snapshot_timeout: float = 2.0
    """Seconds a new or healed line waits for IB's first values before the snapshot is sent
    with what it has."""
    request_timeout: float = 30.0
    """Deadline in seconds of a historical request when the caller set none."""
    pacing_margin: float = 0.05
    """Seconds added to each historical pacing window, against jitter between broker and IB."""
    contract_cache_size: int = 1024
    """Resolved contract queries remembered, so resubscribing does not ask IB again."""


@dataclass(frozen=True)
class GatewayConfig:
    """One TWS or IB Gateway the broker connects to (`[gateways.NAME]`)."""

    name: str = "paper"
    """The gateway's name, used in requests, logs and metrics."""
    host: str = "127.0.0.1"
    """Host of TWS / IB Gateway."""
    port: int = GATEWAY_PAPER_PORT
    """API port; default from use_gateway and paper_trading (4002/4001 Gateway, 7497/7496 TWS)."""
    paper_trading: bool = True
    """True for a paper account (DU...); the broker refuses a session whose accounts do not match."""
    allow_live: bool = False
    """Must be true to connect to a live (non-paper) account."""
    use_gateway: bool = True
    """True for IB Gateway, false for TWS (only changes the default port)."""
    timeout: float = 10.0
    """Seconds each connect phase (TCP, handshake, start-up sync) may take."""
    max_retries: int = 0
    """Reconnect attempts before giving up with state ERROR; 0 means unlimited."""
    retry_delay: float = 0.5
    """Initial reconnect backoff in seconds (doubles each attempt, full jitter)."""
    backoff_cap: float = 30.0
    """Largest reconnect backoff in seconds."""
    heartbeat_interval: float = 1.0
    """Seconds between heartbeats (reqCurrentTime) on each session."""
    heartbeat_timeout: float = 2.0
    """Seconds without a heartbeat answer before the session is declared stale and replaced."""
    heartbeat_warn: float = 0.5
    """Heartbeat round trip in seconds above which the session is DEGRADED (HEARTBEAT_SLOW)."""
    readonly: bool = False
    """Connect read-only (no order traffic, no open-order sync)."""
    account: str = ""
    """Account to use when IB reports several; empty means the first."""
    client_id_min: int = 100
    """First client ID of the range leased to strategies."""
    client_id_max: int = 130
    """Last client ID of the range leased to strategies."""
    monitor_client_id: int = 99
    """Client ID of the broker's always-on monitor session (never leased)."""
    monitor_client_ids: tuple[int, ...] = (99, 98, 97)
    """Reserved monitor client IDs: when IB answers 326 for the monitor's ID, the next of these
    (after ``monitor_client_id``) is tried at once; never leased."""
    data_client_id: int = 96
    """Client ID of the shared data session serving read-only calls (time, contracts,
    positions, orders, executions) and order reconciliation; never leased."""
    ib_library: str = "ib_insync"
    """Client library for the sessions: ib_insync or ib_async."""
    breaker_failures: int = 5
    """Consecutive connection failures that open the circuit breaker."""
    breaker_open: float = 5.0
    """Seconds the breaker first stays open (doubles on each failed trial)."""
    breaker_open_max: float = 60.0
    """Longest time in seconds the breaker stays open."""
    breaker_failure_span: float = 5.0
    """Seconds the consecutive failures must span before they open the breaker (a short
    restart's burst of refused connects does not); 0 opens on the count alone."""
    port_probe_interval: float = 0.25
    """Seconds between bare TCP looks at a refusing gateway's port while backing off; the real
    connect starts as soon as it accepts. 0 turns the look off."""
    transport: str = "direct"
    """How the plaintext TWS API socket is protected: direct (loopback only) or tunnel (an SSH/stunnel tunnel the operator runs; docs/security.md)."""
    allow_plaintext_remote_gateway: bool = False
    """Must be true to connect directly (transport = direct) to a non-loopback gateway host."""

    @property
    def address(self) -> str:
        """host:port."""
        return f"{self.host}:{self.port}"

    def lease_policy(self) -> GatewayIds:
        """The gateway as the lease core sees it: its address and its client-ID range."""
        return GatewayIds(
            name=self.name,
            host=self.host,
            port=self.port,
            client_id_min=self.client_id_min,
            client_id_max=self.client_id_max,
            monitor_client_id=self.monitor_client_id,
        )


@dataclass(frozen=True)
class SimConfigSection:
    """The built-in gateway simulator started by `serve --sim`."""

    host: str = "127.0.0.1"
    """Address the simulator listens on."""
    port: int = 0
    """Port of the simulator; 0 picks a free port."""
    seed: int = 1
    """Seed of the simulated market's random walk."""
    accounts: tuple[str, ...] = ("DU1234567",)
    """Managed accounts the simulator reports."""


@dataclass(frozen=True)
class TelemetryConfig:
    """Metrics scrape endpoint and trace export (docs/observability.md)."""

    metrics_listen: str = ""
    """host:port of the Prometheus ``/metrics`` HTTP listener; empty: no listener (port 0 picks one)."""
    metrics_allow_cidrs: tuple[str, ...] = ()
    """Networks that may scrape ``/metrics`` (e.g. ["10.0.0.0/8"]); others get 403 before anything is read; empty allows every address."""
    otlp_endpoint: str = ""
    """host:port of an OTLP/gRPC trace collector; empty: no tracing (a no-op, no cost)."""
    otlp_insecure: bool = True
    """Send traces to the collector without TLS."""
    otlp_timeout: float = 5.0
    """Seconds one export to the collector may take before it is abandoned."""
    span_queue_size: int = 2048
    """Finished spans waiting for export at most; more are dropped and counted."""
    span_batch_size: int = 512
    """Spans sent to the collector in one export."""
    span_export_interval: float = 1.0
    """Seconds between two exports of the span queue."""
    service_name: str = "ibbroker"
    """``service.name`` resource attribute of every span and metric."""
    trace_sample_ratio: float = 0.1
    """Share (0..1) of RPCs without a caller ``traceparent`` that are traced; a call whose caller
    sent one follows the caller's decision (sampled: always traced). 0.1: tracing every call
    costs about a quarter of a unary call's CPU (docs/observability.md)."""
    instrument_rpcs: bool = True
    """Time, count and trace every RPC (``rpc.server.*``); false only to measure its cost."""


@dataclass(frozen=True)
class BrokerConfig:
    """The whole broker configuration."""

    server: ServerConfig = field(default_factory=ServerConfig)
    """The gRPC server."""
    store: StoreConfig = field(default_factory=StoreConfig)
    """The durable store."""
    leases: LeaseConfig = field(default_factory=LeaseConfig)
    """Client-ID leasing."""
    trading: TradingConfig = field(default_factory=TradingConfig)
    """Orders and read-only calls."""
    gateways: tuple[GatewayConfig, ...] = (GatewayConfig(),)
    """The gateways, in file order; the first is the default unless server.default_gateway says."""
    sim: SimConfigSection = field(default_factory=SimConfigSection)
    """The built-in simulator."""
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    """Metrics endpoint and trace export."""
    auth: AuthConfig = field(default_factory=AuthConfig)
    """Identities, scopes, allow-list and audit (docs/security.md)."""
    tls: TlsConfig = field(default_factory=TlsConfig)
    """Transport security of the gRPC listener (docs/security.md)."""
    market_data: MarketDataConfig = field(default_factory=MarketDataConfig)
    """Market data through the broker."""

    @property
    def default_gateway(self) -> GatewayConfig:
        """The gateway used when a request names none."""
        name = self.server.default_gateway or self.gateways[0].name
        return self.gateway(name)

    def gateway(self, name: str) -> GatewayConfig:
        """The gateway called ``name`` (KeyError when unknown)."""
        for gateway in self.gateways:
            if gateway.name == name:
                return gateway
        raise KeyError(name)

    def lease_policy(self) -> LeasePolicy:
        """What the lease core reads: the lease timings and every gateway's ID range."""
        return LeasePolicy(
            times=self.leases.policy(),
            gateways=tuple(g.lease_policy() for g in self.gateways),
            default_gateway=self.default_gateway.name,
        )


# --- loading -------------------------------------------------------------------------------------

_SECTIONS: dict[str, type[Any]] = {
    "server": ServerConfig,
    "store": StoreConfig,
    "leases": LeaseConfig,
    "trading": TradingConfig,
    "sim": SimConfigSection,
    "telemetry": TelemetryConfig,
    "auth": AuthConfig,
    "tls": TlsConfig,
    "market_data": MarketDataConfig,
}


def _field_types(cls: type[Any]) -> dict[str, Any]:
    hints = {
        "str": str,
        "int": int,
        "float": float,
        "bool": bool,
        "Secret": Secret,
        "tuple[str, ...]": tuple[str, ...],
        "tuple[int, ...]": tuple[int, ...],
    }
    return {f.name: hints[str(f.type)] for f in dataclasses.fields(cls)}


def _build(cls: type[Any], prefix: str, table: Mapping[str, Any], problems: list[str]) -> Any:
    types = _field_types(cls)
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in types:
            problems.append(f"{prefix}.{key}: unknown key")
            continue
        value = coerce(f"{prefix}.{key}", raw, types[key], problems)
        if value is not None:
            values[key] = value
    return values


def _gateway(name: str, table: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        problems.append(f"gateways.{name}: must be a table")
        return {"name": name}
    values = _build(GatewayConfig, f"gateways.{name}", table, problems)
    values["name"] = name
    return values


def config_from_mapping(
    data: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> BrokerConfig:
    """Validate parsed TOML ``data`` with ``env`` overrides into a :class:`BrokerConfig`."""
    raw: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()}
    if isinstance(raw.get("gateways"), dict):
        raw["gateways"] = {
            k: (dict(v) if isinstance(v, Mapping) else v) for k, v in raw["gateways"].items()
        }
    apply_env(raw, env or {})
    problems: list[str] = []
    sections: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SECTIONS:
            if not isinstance(value, Mapping):
                problems.append(f"{key}: must be a table")
                continue
            sections[key] = _SECTIONS[key](**_build(_SECTIONS[key], key, value, problems))
        elif key != "gateways":
            problems.append(f"{key}: unknown key")
    gateway_tables = raw.get("gateways", {"paper": {}})
    if not isinstance(gateway_tables, Mapping) or not gateway_tables:
        problems.append("gateways: must be a table with at least one [gateways.NAME]")
        gateway_tables = {"paper": {}}
    gateways = []
    for name, table in gateway_tables.items():
        values = _gateway(name, table, problems)
        if "port" not in values:
            values["port"] = default_port(
                use_gateway=values.get("use_gateway", True),
                paper_trading=values.get("paper_trading", True),
            )
        gateways.append(GatewayConfig(**values))
    cfg = BrokerConfig(gateways=tuple(gateways), **sections)
    validate(cfg, problems)
    validate_security(cfg, problems)
    if problems:
        raise ConfigError(problems)
    return cfg


def load_config(
    path: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None
) -> BrokerConfig:
    """Read the TOML file at ``path`` (None: defaults only) and apply ``env`` (default os.environ)."""
    data: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text())
        except FileNotFoundError:
            raise ConfigError([f"{file}: config file not found"]) from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError([f"{file}: not valid TOML: {err}"]) from None
    return config_from_mapping(data, os.environ if env is None else env)


def with_overrides(cfg: BrokerConfig, **sections: Any) -> BrokerConfig:
    """Return ``cfg`` with whole sections replaced (used by the CLI flags and tests)."""
    return dataclasses.replace(cfg, **sections)
