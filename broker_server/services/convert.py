"""Domain records -> ``ibbroker.v1`` protos (the one place that knows both)."""

from __future__ import annotations

from google.protobuf import duration_pb2, timestamp_pb2

from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import lease_pb2
from broker_server.domain.breaker import BreakerState
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.events import (
    ConnectionEvent,
    EventKind,
    GatewaySnapshot,
    HealthEvent,
    MetricsSnapshot,
    SessionRole,
    SessionSnapshot,
)
from broker_server.domain.health import HealthReason, HealthStatus
from broker_server.domain.leases import LeaseEvent, LeaseMode, LeaseRecord, LeaseState


def timestamp(epoch_seconds: float | None) -> timestamp_pb2.Timestamp | None:
    """Epoch seconds -> Timestamp (None stays None)."""
    if epoch_seconds is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(round(epoch_seconds * 1e9))
    return ts


def duration(seconds: float | None) -> duration_pb2.Duration | None:
    """Seconds -> Duration (None stays None)."""
    if seconds is None:
        return None
    d = duration_pb2.Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def state(value: ConnectionState) -> pb.ConnectionState.ValueType:
    """Domain state -> proto enum."""
    return pb.ConnectionState.Value(f"CONNECTION_STATE_{value.name}")


def health(value: HealthStatus) -> pb.HealthStatus.ValueType:
    """Domain health -> proto enum."""
    return pb.HealthStatus.Value(f"HEALTH_STATUS_{value.name}")


def breaker(value: BreakerState) -> pb.BreakerState.ValueType:
    """Domain breaker state -> proto enum."""
    return pb.BreakerState.Value(f"BREAKER_STATE_{value.name}")


def kind(value: EventKind) -> pb.EventKind.ValueType:
    """Domain event kind -> proto enum."""
    return pb.EventKind.Value(f"EVENT_KIND_{value.name}")


def role(value: SessionRole) -> pb.SessionRole.ValueType:
    """Domain session role -> proto enum."""
    return pb.SessionRole.Value(f"SESSION_ROLE_{value.name}")


def reason(value: HealthReason) -> pb.HealthReason:
    """Domain health reason -> proto."""
    return pb.HealthReason(
        component=value.component,
        code=value.code,
        message=value.message,
        ib_error_code=value.ib_error_code or 0,
    )


def metrics(value: MetricsSnapshot) -> pb.HealthMetrics:
    """Domain metrics -> proto."""
    return pb.HealthMetrics(
        heartbeat_rtt_last=duration(value.rtt_last),
        heartbeat_rtt_p50=duration(value.rtt_p50),
        heartbeat_rtt_p99=duration(value.rtt_p99),
        messages_in_per_second=value.messages_in_per_second,
        messages_out_per_second=value.messages_out_per_second,
        reconnect_count=value.reconnect_count,
        uptime=duration(value.uptime),
        last_error=value.last_error,
        last_error_time=timestamp(value.last_error_time),
    )


def session(value: SessionSnapshot) -> pb.SessionInfo:
    """Domain session snapshot -> proto."""
    return pb.SessionInfo(
        gateway=value.gateway,
        session=value.session,
        client_id=value.client_id,
        role=role(value.role),
        state=state(value.state),
        health=health(value.health),
        health_reasons=[reason(r) for r in value.reasons],
        breaker=breaker(value.breaker),
        metrics=metrics(value.metrics),
        lease_id=value.lease_id,
        generation=value.generation,
        server_version=value.server_version,
        accounts=list(value.accounts),
    )


def gateway(value: GatewaySnapshot) -> pb.GatewayStatus:
    """Domain gateway snapshot -> proto."""
    return pb.GatewayStatus(
        gateway=value.gateway,
        state=state(value.state),
        health=health(value.health),
        breaker=breaker(value.breaker),
        reason=value.reason,
        address=value.address,
        paper_trading=value.paper_trading,
        sessions=[session(s) for s in value.sessions],
    )


def connection_event(value: ConnectionEvent) -> pb.ConnectionEvent:
    """Domain connection event -> proto."""
    restored = None
    if value.restored is not None:
        restored = pb.RestoredSummary(
            positions=value.restored.positions,
            open_orders=value.restored.open_orders,
            executions=value.restored.executions,
            market_data_subscriptions=value.restored.market_data_subscriptions,
        )
    return pb.ConnectionEvent(
        sequence=value.sequence,
        event_time=timestamp(value.event_time),
        gateway=value.gateway,
        session=value.session,
        client_id=value.client_id,
        state=state(value.state),
        previous_state=state(value.previous_state),
        reason=value.reason,
        attempt=value.attempt,
        kind=kind(value.kind),
        restored=restored,
        gap_start=timestamp(value.gap_start),
        gap_end=timestamp(value.gap_end),
    )


def health_event(value: HealthEvent) -> pb.HealthEvent:
    """Domain health event -> proto."""
    return pb.HealthEvent(
        sequence=value.sequence,
        event_time=timestamp(value.event_time),
        gateway=value.gateway,
        session=value.session,
        client_id=value.client_id,
        status=health(value.status),
        previous_status=health(value.previous_status),
        reasons=[reason(r) for r in value.reasons],
        metrics=metrics(value.metrics),
        kind=kind(value.kind),
        breaker=breaker(value.breaker),
    )


_LEASE_MODES = {
    LeaseMode.DIRECT: lease_pb2.LEASE_MODE_DIRECT,
    LeaseMode.PROXIED: lease_pb2.LEASE_MODE_PROXIED,
}
_LEASE_STATES = {
    LeaseState.ACTIVE: lease_pb2.LEASE_STATE_ACTIVE,
    LeaseState.RELEASED: lease_pb2.LEASE_STATE_RELEASED,
    LeaseState.EXPIRED: lease_pb2.LEASE_STATE_EXPIRED,
}


def lease(value: LeaseRecord) -> lease_pb2.Lease:
    """Domain lease -> proto."""
    return lease_pb2.Lease(
        lease_id=value.lease_id,
        client_id=value.client_id,
        epoch=value.epoch,
        owner=value.owner,
        gateway=value.gateway,
        mode=_LEASE_MODES[value.mode],
        state=_LEASE_STATES[value.state],
        acquire_time=timestamp(value.acquire_time),
        # The deadline the broker keeps: expire_time, or its grace after a restart or pause.
        expire_time=timestamp(value.deadline),
        ttl=duration(value.ttl),
    )


def lease_event(value: LeaseEvent) -> lease_pb2.LeaseEvent:
    """Domain lease event -> proto."""
    return lease_pb2.LeaseEvent(
        sequence=value.sequence,
        event_time=timestamp(value.event_time),
        kind=lease_pb2.LeaseEventKind.Value(f"LEASE_EVENT_KIND_{value.kind.name}"),
        gateway=value.gateway,
        client_id=value.client_id,
        lease=lease(value.lease) if value.lease is not None else None,
        rest_until=timestamp(value.rest_until),
    )
