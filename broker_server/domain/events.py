"""The values the broker publishes about its sessions: events and snapshots.

Pure, immutable records; :mod:`broker_server.services.convert` turns them into protos.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from broker_server.domain.breaker import BreakerState
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.health import HealthReason, HealthStatus


class EventKind(enum.Enum):
    """What a stream event reports (mirrors ``ibbroker.v1.EventKind``)."""

    SNAPSHOT = "SNAPSHOT"
    TRANSITION = "TRANSITION"
    RESTORED = "RESTORED"
    GAP = "GAP"
    FINAL = "FINAL"


class SessionRole(enum.Enum):
    """Why the broker holds a session."""

    MONITOR = "MONITOR"
    PROXIED = "PROXIED"


@dataclass(frozen=True)
class Restored:
    """What a reconnect restored."""

    positions: int = 0
    """Positions re-read."""
    open_orders: int = 0
    """Open orders re-read."""
    executions: int = 0
    """Executions received since the disconnect."""
    market_data_subscriptions: int = 0
    """Market-data subscriptions re-issued."""


@dataclass(frozen=True)
class MetricsSnapshot:
    """A session's measured figures at one instant."""

    rtt_last: float | None = None
    """Last heartbeat round trip in seconds."""
    rtt_p50: float | None = None
    """Median heartbeat round trip in seconds."""
    rtt_p99: float | None = None
    """99th percentile heartbeat round trip in seconds."""
    messages_in_per_second: float = 0.0
    """Messages received from IB per second."""
    messages_out_per_second: float = 0.0
    """Messages sent to IB per second."""
    reconnect_count: int = 0
    """Reconnects since the broker started."""
    uptime: float = 0.0
    """Seconds since the session last became CONNECTED (0 when not connected)."""
    last_error: str = ""
    """The last error seen."""
    last_error_time: float | None = None
    """Wall time (epoch seconds) of the last error."""


@dataclass(frozen=True)
class SessionSnapshot:
    """Everything known about one session at one instant."""

    gateway: str
    """The gateway."""
    session: str
    """The session name, for example ``paper/monitor``."""
    client_id: int
    """The IB client ID."""
    role: SessionRole
    """Why the broker holds it."""
    state: ConnectionState
    """Connection state."""
    health: HealthStatus
    """Health status."""
    reasons: tuple[HealthReason, ...] = ()
    """Why it is not HEALTHY."""
    breaker: BreakerState = BreakerState.CLOSED
    """The gateway's circuit breaker."""
    metrics: MetricsSnapshot = field(default_factory=MetricsSnapshot)
    """Measured figures."""
    lease_id: str = ""
    """The lease a PROXIED session serves."""
    generation: int = 0
    """Bumped on every reconnect."""
    server_version: int = 0
    """Negotiated IB server version (0 when not connected)."""
    accounts: tuple[str, ...] = ()
    """Managed accounts."""
    reason: str = ""
    """Why the session is in its state (the last transition's reason)."""


@dataclass(frozen=True)
class GatewaySnapshot:
    """A gateway taken over its sessions."""

    gateway: str
    """The gateway."""
    state: ConnectionState
    """The monitor session's state."""
    health: HealthStatus
    """The worst health of its sessions."""
    breaker: BreakerState
    """The circuit breaker."""
    reason: str
    """Why, when not CONNECTED and HEALTHY."""
    address: str
    """host:port."""
    paper_trading: bool
    """True for a paper gateway."""
    sessions: tuple[SessionSnapshot, ...]
    """Its sessions."""


@dataclass(frozen=True)
class ConnectionEvent:
    """One event of the connection-state stream."""

    sequence: int
    """Strictly increasing per hub."""
    event_time: float
    """Wall time, epoch seconds."""
    gateway: str
    """The gateway."""
    session: str
    """The session name."""
    client_id: int
    """The IB client ID."""
    state: ConnectionState
    """The state after the event."""
    previous_state: ConnectionState
    """The state before it."""
    reason: str
    """Why."""
    attempt: int
    """Reconnect attempt, 0 outside reconnects."""
    kind: EventKind
    """What the event reports."""
    restored: Restored | None = None
    """For RESTORED: what was restored."""
    gap_start: float | None = None
    """For GAP: wall time the gap began."""
    gap_end: float | None = None
    """For GAP: wall time the gap ended."""


@dataclass(frozen=True)
class HealthEvent:
    """One event of the health stream."""

    sequence: int
    """Strictly increasing per hub."""
    event_time: float
    """Wall time, epoch seconds."""
    gateway: str
    """The gateway."""
    session: str
    """The session name."""
    client_id: int
    """The IB client ID."""
    status: HealthStatus
    """Health after the event."""
    previous_status: HealthStatus
    """Health before it."""
    reasons: tuple[HealthReason, ...]
    """Why it is not HEALTHY."""
    metrics: MetricsSnapshot
    """The session's metrics at the time."""
    kind: EventKind
    """What the event reports."""
    breaker: BreakerState = BreakerState.CLOSED
    """The gateway's circuit breaker at the time (a breaker change is a health event too)."""
