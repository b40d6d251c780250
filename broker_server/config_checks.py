"""Cross-field checks of a loaded configuration, one line per problem, each naming the key.

Kept apart from :mod:`broker_server.config` (the sections and the loader) so each file has one
concern; the config classes are only needed for type hints here, which keeps the import one-way.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from broker_server.domain.limits import IB_CLIENT_LIBRARIES as IB_LIBRARIES
from broker_server.domain.limits import LIVE_PORTS

if TYPE_CHECKING:
    from broker_server.config import BrokerConfig, GatewayConfig


def _validate_listen(listen: str, problems: list[str]) -> None:
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        problems.append(f"server.listen: must be HOST:PORT with a port 0-65535, got {listen!r}")


def _validate_gateway(gw: GatewayConfig, problems: list[str]) -> None:
    key = f"gateways.{gw.name}"
    if not 1 <= gw.port <= 65535:
        problems.append(f"{key}.port: must be 1-65535, got {gw.port}")
    if gw.paper_trading and gw.port in LIVE_PORTS:
        problems.append(f"{key}.port: {gw.port} is a live-trading port but paper_trading = true")
    if not gw.paper_trading and not gw.allow_live:
        problems.append(
            f"{key}.allow_live: live trading (paper_trading = false) needs allow_live = true"
        )
    if gw.ib_library not in IB_LIBRARIES:
        problems.append(
            f"{key}.ib_library: must be one of {', '.join(IB_LIBRARIES)}, got {gw.ib_library!r}"
        )
    if not 1 <= gw.client_id_min <= gw.client_id_max:
        problems.append(
            f"{key}.client_id_min: must be >= 1 and <= client_id_max ({gw.client_id_min} > {gw.client_id_max})"
            if gw.client_id_min >= 1
            else f"{key}.client_id_min: must be >= 1 (client ID 0 is TWS's manual-order client)"
        )
    if gw.monitor_client_id < 1:
        problems.append(f"{key}.monitor_client_id: must be >= 1, got {gw.monitor_client_id}")
    elif gw.client_id_min <= gw.monitor_client_id <= gw.client_id_max:
        problems.append(
            f"{key}.monitor_client_id: {gw.monitor_client_id} overlaps the leased range "
            f"{gw.client_id_min}-{gw.client_id_max}"
        )
    for cid in gw.monitor_client_ids:
        if cid < 1 or gw.client_id_min <= cid <= gw.client_id_max:
            problems.append(
                f"{key}.monitor_client_ids: {cid} must be >= 1 and outside the leased range "
                f"{gw.client_id_min}-{gw.client_id_max}"
            )
    if gw.data_client_id < 1 or gw.client_id_min <= gw.data_client_id <= gw.client_id_max:
        problems.append(
            f"{key}.data_client_id: {gw.data_client_id} must be >= 1 and outside the leased range "
            f"{gw.client_id_min}-{gw.client_id_max}"
        )
    elif gw.data_client_id in (gw.monitor_client_id, *gw.monitor_client_ids):
        problems.append(f"{key}.data_client_id: {gw.data_client_id} is a monitor client ID")
    for name in ("breaker_failure_span", "port_probe_interval"):
        if getattr(gw, name) < 0:
            problems.append(f"{key}.{name}: must be >= 0, got {getattr(gw, name)}")
    for name in (
        "timeout",
        "retry_delay",
        "backoff_cap",
        "heartbeat_interval",
        "heartbeat_timeout",
        "heartbeat_warn",
        "breaker_open",
        "breaker_open_max",
    ):
        if getattr(gw, name) <= 0:
            problems.append(f"{key}.{name}: must be > 0, got {getattr(gw, name)}")
    if gw.retry_delay > gw.backoff_cap:
        problems.append(
            f"{key}.retry_delay: must be <= backoff_cap ({gw.retry_delay} > {gw.backoff_cap})"
        )
    if gw.breaker_open > gw.breaker_open_max:
        problems.append(f"{key}.breaker_open: must be <= breaker_open_max")
    if gw.max_retries < 0:
        problems.append(f"{key}.max_retries: must be >= 0 (0 = unlimited), got {gw.max_retries}")
    if gw.breaker_failures < 1:
        problems.append(f"{key}.breaker_failures: must be >= 1, got {gw.breaker_failures}")


def _validate_overlaps(gateways: tuple[GatewayConfig, ...], problems: list[str]) -> None:
    """Two gateways on the same host:port share one TWS, so their client IDs must not overlap."""
    for i, a in enumerate(gateways):
        for b in gateways[i + 1 :]:
            if (a.host, a.port) != (b.host, b.port):
                continue
            ids_a = set(range(a.client_id_min, a.client_id_max + 1)) | {a.monitor_client_id}
            ids_b = set(range(b.client_id_min, b.client_id_max + 1)) | {b.monitor_client_id}
            if ids_a & ids_b:
                problems.append(
                    f"gateways.{b.name}.client_id_min: client IDs overlap gateway {a.name!r} "
                    f"on the same {a.address}"
                )


def validate(cfg: BrokerConfig, problems: list[str]) -> None:
    """Append one line per problem of ``cfg`` to ``problems``, each naming its key."""
    _validate_listen(cfg.server.listen, problems)
    if cfg.server.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append(
            f"server.log_level: must be DEBUG, INFO, WARNING or ERROR, got {cfg.server.log_level!r}"
        )
    if cfg.server.grace_period < 0:
        problems.append("server.grace_period: must be >= 0")
    if cfg.server.max_message_bytes < 1024:
        problems.append("server.max_message_bytes: must be >= 1024")
    if cfg.server.metrics_log_interval < 0:
        problems.append("server.metrics_log_interval: must be >= 0 (0 = off)")
    if cfg.server.watcher_queue_size < 1:
        problems.append("server.watcher_queue_size: must be >= 1")
    for name in ("max_concurrent_streams", "max_streams_per_peer", "max_connections", "log_burst"):
        if getattr(cfg.server, name) < 1:
            problems.append(f"server.{name}: must be >= 1")
    for name in ("idle_timeout", "handshake_timeout", "log_burst_interval"):
        if getattr(cfg.server, name) <= 0:
            problems.append(f"server.{name}: must be > 0")
    for name in ("keepalive_time", "keepalive_timeout", "min_client_ping_interval"):
        if getattr(cfg.server, name) <= 0:
            problems.append(f"server.{name}: must be > 0")
    names = [g.name for g in cfg.gateways]
    if cfg.server.default_gateway and cfg.server.default_gateway not in names:
        problems.append(f"server.default_gateway: no gateway named {cfg.server.default_gateway!r}")
    if cfg.store.backend == "sqlite" and not cfg.store.path:  # postgres uses no local file
        problems.append("store.path: must not be empty")
    if cfg.store.backend not in ("sqlite", "postgres"):
        problems.append(f"store.backend: must be 'sqlite' or 'postgres', got {cfg.store.backend!r}")
    if cfg.store.backend == "postgres" and not cfg.store.dsn:
        problems.append("store.dsn: required when store.backend is 'postgres'")
    if cfg.store.leadership_ttl <= 0:
        problems.append("store.leadership_ttl: must be > 0")
    if not 0 < cfg.store.leadership_margin <= 0.5:
        # Above one half, a renewal every third of the TTL would leave too little time.
        problems.append(
            f"store.leadership_margin: must lie in (0, 0.5], got {cfg.store.leadership_margin}"
        )
    if cfg.store.history_seconds < 0:
        problems.append("store.history_seconds: must be >= 0")
    if cfg.store.history_max_rows < 0:
        problems.append("store.history_max_rows: must be >= 0")
    lc = cfg.leases
    if not 0 < lc.min_ttl <= lc.default_ttl <= lc.max_ttl:
        problems.append(
            f"leases.default_ttl: must lie within min_ttl..max_ttl ({lc.min_ttl}..{lc.max_ttl}), got {lc.default_ttl}"
        )
    if lc.pause_threshold <= lc.sweep_interval:
        problems.append(
            f"leases.pause_threshold: must be > sweep_interval ({lc.pause_threshold} <= {lc.sweep_interval})"
        )
    for name in ("quarantine_cooldown", "sweep_interval", "probe_timeout"):
        if getattr(lc, name) < 0 or (name != "quarantine_cooldown" and getattr(lc, name) == 0):
            problems.append(f"leases.{name}: must be > 0")
    tc = cfg.trading
    for name in ("pacing_limit", "pacing_window", "ack_timeout", "request_timeout",
                 "reconcile_retry", "orphan_poll_interval", "event_log_max", "finished_orders_max"):  # fmt: skip
        if getattr(tc, name) <= 0:
            problems.append(f"trading.{name}: must be > 0, got {getattr(tc, name)}")
    if not 1 <= tc.pacing_slices <= tc.pacing_limit:
        problems.append(
            f"trading.pacing_slices: must be 1..pacing_limit ({tc.pacing_limit}), got {tc.pacing_slices}"
        )
    if tc.pacing_limit > 50:
        problems.append(f"trading.pacing_limit: IB allows 50 messages/s, got {tc.pacing_limit}")
    for gw in cfg.gateways:
        _validate_gateway(gw, problems)
    _validate_market_data(cfg, problems)
    _validate_overlaps(cfg.gateways, problems)
    if not 0 <= cfg.sim.port <= 65535:
        problems.append(f"sim.port: must be 0-65535, got {cfg.sim.port}")
    if not cfg.sim.accounts:
        problems.append("sim.accounts: must list at least one account")
    _check_telemetry(cfg, problems)


def _check_telemetry(cfg: BrokerConfig, problems: list[str]) -> None:
    tc = cfg.telemetry
    for name in ("metrics_listen", "otlp_endpoint"):
        value = getattr(tc, name)
        host, sep, port = value.rpartition(":")
        if value and (not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535):
            problems.append(
                f"telemetry.{name}: must be empty or HOST:PORT with a port 0-65535, got {value!r}"
            )
    for cidr in tc.metrics_allow_cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            problems.append(
                f"telemetry.metrics_allow_cidrs: {cidr!r} is not a network (e.g. 10.0.0.0/8)"
            )
    if tc.otlp_endpoint.endswith(":0"):
        problems.append("telemetry.otlp_endpoint: port 0 is not a collector address")
    for name in ("otlp_timeout", "span_export_interval"):
        if getattr(tc, name) <= 0:
            problems.append(f"telemetry.{name}: must be > 0")
    if not 1 <= tc.span_batch_size <= tc.span_queue_size:
        problems.append(
            f"telemetry.span_batch_size: must be 1..span_queue_size ({tc.span_queue_size}), got {tc.span_batch_size}"
        )
    if not 0.0 <= tc.trace_sample_ratio <= 1.0:
        problems.append(f"telemetry.trace_sample_ratio: must be 0..1, got {tc.trace_sample_ratio}")
    if not tc.service_name:
        problems.append("telemetry.service_name: must not be empty")


def _validate_market_data(cfg: BrokerConfig, problems: list[str]) -> None:
    md = cfg.market_data
    if md.line_budget < 1:
        problems.append("market_data.line_budget: must be >= 1")
    if md.contract_cache_size < 1:
        problems.append("market_data.contract_cache_size: must be >= 1")
    if md.linger < 0 or md.pacing_margin < 0:
        problems.append("market_data.linger and pacing_margin: must be >= 0")
    for name in ("too_slow_after", "snapshot_timeout", "request_timeout"):
        if getattr(md, name) <= 0:
            problems.append(f"market_data.{name}: must be > 0")
