"""What an operator's view knows about a broker, built from its replies and Watch events.

:class:`BrokerView` is plain state with no I/O: ``ibbroker status`` fills it from one
GetConnectionState and one ListLeases, ``ibbroker top`` from the same and then from the events
of WatchConnectionState, WatchHealth and WatchLeases. Both render it (``render.py``) or print it
as JSON (:meth:`BrokerView.to_json`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from broker_client.ibbroker.v1 import connection_pb2 as cpb
from broker_client.ibbroker.v1 import lease_pb2 as lpb

RTT_POINTS = 48
"""RTT samples kept per session for the sparkline."""
RECENT_EVENTS = 8
"""Recent events kept for the events pane."""


def _enum(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix)


def state_name(value: int) -> str:
    """``CONNECTED`` for ``CONNECTION_STATE_CONNECTED``."""
    return _enum(cpb.ConnectionState, value, "CONNECTION_STATE_")


def health_name(value: int) -> str:
    """``HEALTHY`` for ``HEALTH_STATUS_HEALTHY``."""
    return _enum(cpb.HealthStatus, value, "HEALTH_STATUS_")


def breaker_name(value: int) -> str:
    """``OPEN`` for ``BREAKER_STATE_OPEN``."""
    return _enum(cpb.BreakerState, value, "BREAKER_STATE_")


def _seconds(duration: Any) -> float:
    return float(duration.seconds) + duration.nanos / 1e9


def _epoch(timestamp: Any) -> float:
    return float(timestamp.seconds) + timestamp.nanos / 1e9


@dataclass
class SessionRow:
    """One IB session as last reported."""

    gateway: str
    session: str
    client_id: int
    role: str = "MONITOR"
    state: str = "UNSPECIFIED"
    health: str = "UNSPECIFIED"
    reasons: list[str] = field(default_factory=list)
    rtt_last: float | None = None
    rtt_p99: float | None = None
    rtts: deque[float] = field(default_factory=lambda: deque(maxlen=RTT_POINTS))

    def note_rtt(self, metrics: Any) -> None:
        if metrics.HasField("heartbeat_rtt_last"):
            self.rtt_last = _seconds(metrics.heartbeat_rtt_last)
            self.rtts.append(self.rtt_last)
        if metrics.HasField("heartbeat_rtt_p99"):
            self.rtt_p99 = _seconds(metrics.heartbeat_rtt_p99)


@dataclass
class GatewayRow:
    """One gateway as last reported."""

    gateway: str
    state: str = "UNSPECIFIED"
    health: str = "UNSPECIFIED"
    breaker: str = "UNSPECIFIED"
    address: str = ""
    paper_trading: bool = True
    reason: str = ""


@dataclass
class LeaseRow:
    """One active lease (owner, client ID, when it expires)."""

    lease_id: str
    gateway: str
    client_id: int
    owner: str
    mode: str
    expires_at: float

    def ttl_left(self, now: float) -> float:
        """Seconds until it expires (0 when past)."""
        return max(0.0, self.expires_at - now)


@dataclass
class BrokerView:
    """The operator's picture of one broker."""

    target: str
    connected: bool = False
    """True while the channel to the broker is READY."""
    problem: str = ""
    """Why the view is not live (shown instead of a traceback)."""
    gateways: dict[str, GatewayRow] = field(default_factory=dict)
    sessions: dict[str, SessionRow] = field(default_factory=dict)
    leases: dict[str, LeaseRow] = field(default_factory=dict)
    events: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))
    _lease_snapshot: dict[str, LeaseRow] | None = None

    # --- whole replies -----------------------------------------------------------------------

    def load_state(self, reply: Any) -> None:
        """A GetConnectionStateResponse: every gateway and session as they stand."""
        for g in reply.gateways:
            self.gateways[g.gateway] = GatewayRow(
                gateway=g.gateway,
                state=state_name(g.state),
                health=health_name(g.health),
                breaker=breaker_name(g.breaker),
                address=g.address,
                paper_trading=g.paper_trading,
                reason=g.reason,
            )
            for s in g.sessions:
                row = self._session(s.gateway, s.session, s.client_id)
                row.role = _enum(cpb.SessionRole, s.role, "SESSION_ROLE_")
                row.state = state_name(s.state)
                row.health = health_name(s.health)
                row.reasons = [f"{r.component}:{r.code}" for r in s.health_reasons]
                row.note_rtt(s.metrics)

    def load_leases(self, leases: Any) -> None:
        """The leases of a ListLeasesResponse (replaces what was known)."""
        self.leases = {lease.lease_id: self._lease_row(lease) for lease in leases}

    # --- events ------------------------------------------------------------------------------

    def apply_connection(self, event: Any) -> None:
        """A ConnectionEvent."""
        if event.kind == cpb.EVENT_KIND_FINAL:
            self.note("broker shutting down (stream ended)")
            return
        row = self._session(event.gateway, event.session, event.client_id)
        row.state = state_name(event.state)
        gateway = self.gateways.setdefault(event.gateway, GatewayRow(event.gateway))
        if row.role == "MONITOR":
            gateway.state = row.state
            if event.kind in (cpb.EVENT_KIND_TRANSITION, cpb.EVENT_KIND_SNAPSHOT):
                gateway.reason = event.reason
        if event.kind == cpb.EVENT_KIND_TRANSITION:
            before = state_name(event.previous_state)
            self.note(f"{event.session}: {before} -> {row.state} ({event.reason})")

    def apply_health(self, event: Any) -> None:
        """A HealthEvent (health, breaker and the metrics at that moment)."""
        if event.kind == cpb.EVENT_KIND_FINAL:
            return
        row = self._session(event.gateway, event.session, event.client_id)
        before = row.health
        row.health = health_name(event.status)
        row.reasons = [f"{r.component}:{r.code}" for r in event.reasons]
        row.note_rtt(event.metrics)
        gateway = self.gateways.setdefault(event.gateway, GatewayRow(event.gateway))
        breaker = breaker_name(event.breaker)
        if gateway.breaker != breaker and event.kind == cpb.EVENT_KIND_TRANSITION:
            self.note(f"{event.gateway}: breaker {gateway.breaker} -> {breaker}")
        gateway.breaker = breaker
        if row.role == "MONITOR":
            gateway.health = row.health
        if event.kind == cpb.EVENT_KIND_TRANSITION and before != row.health:
            why = ", ".join(row.reasons) or "ok"
            self.note(f"{event.session}: {before} -> {row.health} ({why})")

    def apply_lease(self, event: Any) -> None:
        """A LeaseEvent: a SNAPSHOT run up to SNAPSHOT_END replaces the table."""
        kind = event.kind
        if kind == lpb.LEASE_EVENT_KIND_SNAPSHOT:
            if self._lease_snapshot is None:
                self._lease_snapshot = {}
            self._lease_snapshot[event.lease.lease_id] = self._lease_row(event.lease)
            return
        if kind == lpb.LEASE_EVENT_KIND_SNAPSHOT_END:
            self.leases = self._lease_snapshot or {}
            self._lease_snapshot = None
            return
        if kind == lpb.LEASE_EVENT_KIND_FINAL:
            return
        name = _enum(lpb.LeaseEventKind, kind, "LEASE_EVENT_KIND_")
        if kind in (lpb.LEASE_EVENT_KIND_ACQUIRED, lpb.LEASE_EVENT_KIND_RENEWED):
            self.leases[event.lease.lease_id] = self._lease_row(event.lease)
        elif event.lease.lease_id:
            self.leases.pop(event.lease.lease_id, None)
        who = f" by {event.lease.owner}" if event.lease.owner else ""
        self.note(f"{event.gateway} client {event.client_id}: lease {name.lower()}{who}")

    def note(self, text: str) -> None:
        """Add a line to the recent events."""
        self.events.append(text)

    # --- output ------------------------------------------------------------------------------

    def to_json(self, now: float) -> dict[str, Any]:
        """Everything as plain JSON values (``ibbroker status --json``)."""
        return {
            "target": self.target,
            "connected": self.connected,
            "gateways": [
                {
                    "gateway": g.gateway,
                    "state": g.state,
                    "health": g.health,
                    "breaker": g.breaker,
                    "address": g.address,
                    "paper_trading": g.paper_trading,
                    "reason": g.reason,
                    "sessions": [
                        {
                            "session": s.session,
                            "client_id": s.client_id,
                            "role": s.role,
                            "state": s.state,
                            "health": s.health,
                            "reasons": s.reasons,
                            "rtt_last_ms": _ms(s.rtt_last),
                            "rtt_p99_ms": _ms(s.rtt_p99),
                        }
                        for s in self.sessions.values()
                        if s.gateway == g.gateway
                    ],
                }
                for g in self.gateways.values()
            ],
            "leases": [
                {
                    "lease_id": lease.lease_id,
                    "gateway": lease.gateway,
                    "client_id": lease.client_id,
                    "owner": lease.owner,
                    "mode": lease.mode,
                    "ttl_left_s": round(lease.ttl_left(now), 1),
                }
                for lease in sorted(self.leases.values(), key=lambda x: (x.gateway, x.client_id))
            ],
        }

    # --- helpers -----------------------------------------------------------------------------

    def _session(self, gateway: str, session: str, client_id: int) -> SessionRow:
        row = self.sessions.get(session)
        if row is None:
            # Until a GetConnectionState says: the broker names its monitor "<gateway>/monitor".
            role = "MONITOR" if session.endswith("/monitor") else "PROXIED"
            row = self.sessions[session] = SessionRow(gateway, session, client_id, role)
        row.client_id = client_id or row.client_id
        return row

    @staticmethod
    def _lease_row(lease: Any) -> LeaseRow:
        return LeaseRow(
            lease_id=lease.lease_id,
            gateway=lease.gateway,
            client_id=lease.client_id,
            owner=lease.owner,
            mode=_enum(lpb.LeaseMode, lease.mode, "LEASE_MODE_"),
            expires_at=_epoch(lease.expire_time),
        )


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)
