"""Rich renderables of a :class:`~broker_server.observability.view.BrokerView`: the gateways,
the sessions with an RTT sparkline, the leases with their TTL left, the recent events."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from broker_server.observability.view import BrokerView

BARS = "▁▂▃▄▅▆▇█"

_STYLES = {
    "CONNECTED": "green",
    "HEALTHY": "green",
    "CLOSED": "green",
    "CONNECTING": "yellow",
    "RECONNECTING": "yellow",
    "DEGRADED": "yellow",
    "HALF_OPEN": "yellow",
    "ERROR": "red",
    "DISCONNECTED": "red",
    "UNHEALTHY": "red",
    "OPEN": "red",
}


def sparkline(values: Iterable[float]) -> str:
    """One block character per value, scaled between the smallest and largest."""
    points = list(values)
    if not points:
        return ""
    low, high = min(points), max(points)
    span = high - low
    if span <= 0:
        return BARS[0] * len(points)
    return "".join(BARS[min(len(BARS) - 1, int((p - low) / span * len(BARS)))] for p in points)


def _styled(value: str) -> Text:
    return Text(value, style=_STYLES.get(value, ""))


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def render(view: BrokerView, now: float, *, events: bool = True) -> RenderableType:
    """The whole screen of ``ibbroker top``; ``events=False``: the tables of ``status``."""
    if view.connected:
        header = Text(f"ibbroker {view.target}: connected", style="bold green")
    else:
        why = f" ({view.problem})" if view.problem else ""
        header = Text(f"ibbroker {view.target}: disconnected, retrying{why}", style="bold red")

    gateways = Table(title="gateways", expand=True)
    for column in ("gateway", "state", "health", "breaker", "address"):
        gateways.add_column(column, no_wrap=True)
    gateways.add_column("reason", overflow="ellipsis", no_wrap=True, ratio=1)
    for g in view.gateways.values():
        gateways.add_row(
            g.gateway + (" (paper)" if g.paper_trading else " (LIVE)"),
            _styled(g.state),
            _styled(g.health),
            _styled(g.breaker),
            g.address,
            g.reason,
        )

    sessions = Table(title="sessions", expand=True)
    for column in ("session", "id", "role", "state", "health", "rtt ms", "p99 ms", "rtt"):
        sessions.add_column(column, no_wrap=True)
    for s in sorted(view.sessions.values(), key=lambda x: (x.gateway, x.client_id)):
        sessions.add_row(
            s.session,
            str(s.client_id),
            s.role,
            _styled(s.state),
            _styled(s.health),
            _ms(s.rtt_last),
            _ms(s.rtt_p99),
            sparkline(s.rtts),
        )

    leases = Table(title="leases", expand=True)
    for column in ("gateway", "client id", "owner", "mode", "ttl left"):
        leases.add_column(column, no_wrap=True)
    for lease in sorted(view.leases.values(), key=lambda x: (x.gateway, x.client_id)):
        leases.add_row(
            lease.gateway,
            str(lease.client_id),
            lease.owner,
            lease.mode,
            f"{lease.ttl_left(now):.0f} s",
        )
    if not view.leases:
        leases.add_row("-", "-", "(none)", "-", "-")

    parts: list[RenderableType] = [header, gateways, sessions, leases]
    if events:
        recent = Text("\n".join(view.events) or "(none yet)", no_wrap=True, overflow="ellipsis")
        parts.append(Panel(recent, title="recent events", title_align="left"))
    return Group(*parts)
