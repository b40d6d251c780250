"""Session pool policy: which IB sessions to open and which to close. Pure, no I/O.

The runtime describes what it wants (one monitor session per gateway, one session per PROXIED
lease) and what it has; :func:`plan` answers with the sessions to open and to close, and the
runtime does the I/O afterwards (the shape of httpcore's ``_assign_requests_to_connections``).
Keeping the decision pure makes it testable without sockets and keeps the rules in one place:

- every desired session that is missing is opened, the monitor session first;
- a session nobody wants any more is closed;
- a session whose client ID now serves another lease is closed and opened again (a new lease
  never inherits the old lease's socket);
- a gateway never gets more than ``capacity`` sessions (TWS takes 32 API clients); desired
  sessions beyond that are reported as ``rejected`` instead of being opened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from broker_server.domain.events import SessionRole
from broker_server.domain.limits import MAX_IB_CLIENTS as TWS_CAPACITY


def session_name(gateway: str, role: SessionRole, client_id: int) -> str:
    """The session's display name: ``paper/monitor`` or ``paper/proxied-101``."""
    if role is SessionRole.MONITOR:
        return f"{gateway}/monitor"
    return f"{gateway}/proxied-{client_id}"


@dataclass(frozen=True)
class SessionSpec:
    """One session, wanted (desired) or held by the pool: the same four facts either way."""

    gateway: str
    """The gateway."""
    client_id: int
    """The IB client ID."""
    role: SessionRole
    """Why it is wanted (or was opened)."""
    lease_id: str = ""
    """The PROXIED lease it serves."""

    @property
    def key(self) -> tuple[str, int]:
        """Identity in the pool: one session per gateway and client ID."""
        return (self.gateway, self.client_id)


DesiredSession = SessionSpec
"""A session the broker wants to hold."""
HeldSession = SessionSpec
"""A session the pool holds now (in any state)."""


@dataclass(frozen=True)
class PoolPlan:
    """What to do, in order: close first (frees client IDs and TWS slots), then open."""

    close: tuple[HeldSession, ...] = ()
    """Sessions to close."""
    open: tuple[DesiredSession, ...] = ()
    """Sessions to open, monitors first."""
    rejected: tuple[DesiredSession, ...] = ()
    """Desired sessions that do not fit the gateway's capacity."""

    @property
    def empty(self) -> bool:
        """True when nothing is to be done."""
        return not (self.close or self.open or self.rejected)


def plan(
    desired: Iterable[DesiredSession],
    held: Iterable[HeldSession],
    capacity: int = TWS_CAPACITY,
) -> PoolPlan:
    """Decide which sessions to close and open so that ``held`` becomes ``desired``."""
    want = {d.key: d for d in desired}
    have = {h.key: h for h in held}
    close = [
        h
        for key, h in have.items()
        if key not in want or want[key].lease_id != h.lease_id or want[key].role is not h.role
    ]
    closed = {h.key for h in close}
    kept_per_gateway: dict[str, int] = {}
    for key, h in have.items():
        if key not in closed:
            kept_per_gateway[h.gateway] = kept_per_gateway.get(h.gateway, 0) + 1
    missing = [d for key, d in want.items() if key not in have or key in closed]
    # Monitors first, then by client ID: a stable order makes plans reproducible.
    missing.sort(key=lambda d: (d.role is not SessionRole.MONITOR, d.gateway, d.client_id))
    to_open: list[DesiredSession] = []
    rejected: list[DesiredSession] = []
    for d in missing:
        used = kept_per_gateway.get(d.gateway, 0)
        if used >= capacity:
            rejected.append(d)
            continue
        kept_per_gateway[d.gateway] = used + 1
        to_open.append(d)
    close.sort(key=lambda h: (h.gateway, h.client_id))
    return PoolPlan(close=tuple(close), open=tuple(to_open), rejected=tuple(rejected))


class ClientIdRotation:
    """The monitor's reserved client IDs, tried in order when IB answers 326 (pure).

    ``after_clash(current)`` names the next ID not yet refused in this round, or None when all
    were refused (the round starts over then). ``reset`` starts a new round (after a connect).
    """

    def __init__(self, candidates: Iterable[int]) -> None:
        ordered: list[int] = []
        for cid in candidates:
            if cid not in ordered:
                ordered.append(cid)
        if not ordered:
            raise ValueError("at least one client ID is required")
        self.candidates: tuple[int, ...] = tuple(ordered)
        """The IDs in the order they are tried; the first is the configured one."""
        self._refused: set[int] = set()

    @property
    def primary(self) -> int:
        """The configured ID, tried first in every round."""
        return self.candidates[0]

    def after_clash(self, current: int) -> int | None:
        """``current`` got 326: the next ID to try, or None when every ID was refused."""
        self._refused.add(current)
        for cid in self.candidates:
            if cid not in self._refused:
                return cid
        self._refused.clear()
        return None

    def reset(self) -> None:
        """Forget the refusals (a connect succeeded)."""
        self._refused.clear()

    def __repr__(self) -> str:
        return f"<ClientIdRotation {list(self.candidates)} refused={sorted(self._refused)}>"
