"""Health, the second dimension of a session next to its connection state.

The socket, the TWS <-> IB server link and the data farms fail separately, so health is folded
from observations into an immutable :class:`HealthView` by a pure reducer (:func:`fold`):
UNHEALTHY when the socket is down or stale, DEGRADED for any other reason, HEALTHY otherwise.
IB's connectivity codes go through one table (:data:`IB_CODE_EFFECTS`); the effect of each fold
tells the I/O layer what to do (hold orders, resubscribe, quarantine a client ID).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from types import MappingProxyType


class IbCodeEffect(enum.Enum):
    """What an IB code means for the session."""

    NONE = "NONE"
    """Nothing for connection management (an order or data error, or informational)."""
    IB_LINK_LOST = "IB_LINK_LOST"
    """1100: TWS lost the IB servers; the socket is fine but orders must be held."""
    RESUBSCRIBE = "RESUBSCRIBE"
    """1101: link restored but market-data subscriptions were lost; issue them again."""
    IB_LINK_RESTORED = "IB_LINK_RESTORED"
    """1102: link restored and data kept; nothing to redo."""
    RECONNECT = "RECONNECT"
    """1300: TWS reset its socket port; this connection is being dropped."""
    FARM_BROKEN = "FARM_BROKEN"
    """A data farm connection broke (2103, 2105, 2157)."""
    FARM_OK = "FARM_OK"
    """A data farm connection is fine again or idle but available (2104, 2106, 2107, 2108,
    2158)."""
    CLIENT_ID_IN_USE = "CLIENT_ID_IN_USE"
    """326: the client ID is taken; quarantine it rather than retrying in a loop."""


IB_CODE_EFFECTS: MappingProxyType[int, IbCodeEffect] = MappingProxyType(
    {
        326: IbCodeEffect.CLIENT_ID_IN_USE,
        1100: IbCodeEffect.IB_LINK_LOST,
        1101: IbCodeEffect.RESUBSCRIBE,
        1102: IbCodeEffect.IB_LINK_RESTORED,
        1300: IbCodeEffect.RECONNECT,
        2103: IbCodeEffect.FARM_BROKEN,  # market data farm
        2105: IbCodeEffect.FARM_BROKEN,  # historical data (HMDS) farm
        2157: IbCodeEffect.FARM_BROKEN,  # security definition farm
        2104: IbCodeEffect.FARM_OK,
        2106: IbCodeEffect.FARM_OK,
        2158: IbCodeEffect.FARM_OK,
        # "Inactive but available on demand": idle, not broken, so it clears a broken farm.
        2107: IbCodeEffect.FARM_OK,
        2108: IbCodeEffect.FARM_OK,
    }
)
"""Every IB code connection management reacts to; any other code is :attr:`IbCodeEffect.NONE`."""

_FARM_KINDS: MappingProxyType[int, str] = MappingProxyType(
    {
        2103: "market data",
        2104: "market data",
        2108: "market data",
        2105: "hmds",
        2106: "hmds",
        2107: "hmds",
        2157: "sec-def",
        2158: "sec-def",
    }
)


def classify_ib_code(code: int) -> IbCodeEffect:
    """The effect of IB code ``code`` on connection management."""
    return IB_CODE_EFFECTS.get(code, IbCodeEffect.NONE)


def farm_name(code: int, message: str) -> str:
    """The farm a farm code speaks of, from IB's text ``"... is broken:usfarm"``.

    Without a name after the colon the farm kind stands in, so a nameless "broken" is still
    cleared by the matching nameless "OK".
    """
    _, sep, name = message.rpartition(":")
    name = name.strip()
    if sep and name:
        return name
    return _FARM_KINDS.get(code, f"farm-{code}")


class HealthStatus(enum.Enum):
    """How well a session works (mirrors ``ibbroker.v1.HealthStatus``)."""

    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    UNHEALTHY = "UNHEALTHY"


@dataclass(frozen=True)
class HealthReason:
    """One reason a session is not HEALTHY."""

    component: str
    """What failed: ``socket``, ``heartbeat``, ``ib_link`` or ``data_farm``."""
    code: str
    """A short UPPER_SNAKE code, for example ``FARM_BROKEN`` or ``HEARTBEAT_SLOW``."""
    message: str
    """The human-readable detail (the IB message where there is one)."""
    ib_error_code: int = 0
    """The IB error code behind the reason, or 0."""


# --- observations --------------------------------------------------------------------------


@dataclass(frozen=True)
class SocketUp:
    """A new socket to TWS is connected (start of a fresh connection)."""


@dataclass(frozen=True)
class SocketDown:
    """The socket is closed or was never opened."""

    message: str = "socket closed"
    """Why, for the reason's message."""


@dataclass(frozen=True)
class HeartbeatAnswered:
    """A heartbeat (``reqCurrentTime``) was answered."""

    rtt: float
    """Round trip in seconds."""


@dataclass(frozen=True)
class HeartbeatTimedOut:
    """No heartbeat answer within the timeout: the peer is mute (stale)."""

    waited: float
    """Seconds waited without an answer."""


@dataclass(frozen=True)
class IbError:
    """An error or status message from IB (``errorEvent``)."""

    code: int
    """The IB code, for example 1100 or 2103."""
    message: str = ""
    """IB's text, for example ``Market data farm connection is broken:usfarm``."""


@dataclass(frozen=True)
class IdClash:
    """The session had to leave its configured client ID (IB answered 326 for it).

    ``message`` names the clash; None clears it (the session is back on its own ID).
    """

    message: str | None
    """Which ID clashed and which one the session uses instead; None to clear."""


Observation = SocketUp | SocketDown | HeartbeatAnswered | HeartbeatTimedOut | IbError | IdClash
"""Everything the health reducer folds in."""


# --- the view and the reducer ---------------------------------------------------------------


@dataclass(frozen=True)
class HealthPolicy:
    """Thresholds of the health reducer."""

    heartbeat_warn: float = 0.5
    """Heartbeat round trip in seconds above which the session is DEGRADED (HEARTBEAT_SLOW)."""


@dataclass(frozen=True)
class HealthView:
    """Everything known about one session's health; immutable, replaced by every fold."""

    socket_up: bool = False
    """True while the socket to TWS is connected."""
    socket_message: str = "not connected"
    """Why the socket is down (shown while it is)."""
    stale: HealthReason | None = None
    """Set when a heartbeat timed out on the current socket."""
    slow: HealthReason | None = None
    """Set while the last heartbeat round trip is above the warn threshold."""
    ib_link: HealthReason | None = None
    """Set between 1100 (TWS lost the IB servers) and 1101 / 1102."""
    farms: tuple[tuple[str, HealthReason], ...] = ()
    """Broken data farms by name, sorted by name."""
    last_rtt: float | None = None
    """Last heartbeat round trip in seconds on the current socket."""
    id_clash: HealthReason | None = None
    """Set while the session runs on a fallback client ID because its own one was taken."""

    @property
    def orders_blocked(self) -> bool:
        """True while TWS has no link to the IB servers: orders must be held back."""
        return self.ib_link is not None

    @property
    def reasons(self) -> tuple[HealthReason, ...]:
        """Why the session is not HEALTHY, the gravest first; empty when it is."""
        found: list[HealthReason] = []
        if not self.socket_up:
            found.append(HealthReason("socket", "SOCKET_DOWN", self.socket_message))
        for reason in (self.stale, self.slow, self.ib_link, self.id_clash):
            if reason is not None:
                found.append(reason)
        found.extend(reason for _, reason in self.farms)
        return tuple(found)

    @property
    def status(self) -> HealthStatus:
        """UNHEALTHY when the socket is down or stale, DEGRADED for any other reason."""
        if not self.socket_up or self.stale is not None:
            return HealthStatus.UNHEALTHY
        if self.slow is not None or self.ib_link is not None or self.farms or self.id_clash:
            return HealthStatus.DEGRADED
        return HealthStatus.HEALTHY


@dataclass(frozen=True)
class Folded:
    """The result of folding one observation in."""

    view: HealthView
    """The view after the observation."""
    effect: IbCodeEffect
    """What the I/O layer must do (RESUBSCRIBE after 1101, ...); NONE for non-IB observations."""
    previous: HealthView
    """The view before, to decide whether to publish."""

    @property
    def changed(self) -> bool:
        """True when status or reasons changed (a health event is due)."""
        return (
            self.previous.status is not self.view.status
            or self.previous.reasons != self.view.reasons
        )


def fold(view: HealthView, observation: Observation, policy: HealthPolicy) -> Folded:
    """Fold one observation into ``view``; pure."""
    new, effect = _apply(view, observation, policy)
    return Folded(view=new, effect=effect, previous=view)


def _apply(
    view: HealthView, obs: Observation, policy: HealthPolicy
) -> tuple[HealthView, IbCodeEffect]:
    none = IbCodeEffect.NONE
    if isinstance(obs, SocketUp):
        # A new socket starts from nothing: TWS re-announces farm status on every connect,
        # and a link or heartbeat problem of the old socket says nothing about the new one.
        # The client-ID clash is not the socket's: it lasts as long as the fallback ID.
        return HealthView(socket_up=True, id_clash=view.id_clash), none
    if isinstance(obs, SocketDown):
        # Heartbeat findings die with the socket; IB-side reasons stay visible until a new one.
        return replace(
            view,
            socket_up=False,
            socket_message=obs.message,
            stale=None,
            slow=None,
            last_rtt=None,
        ), none
    if isinstance(obs, HeartbeatAnswered):
        slow = None
        if obs.rtt > policy.heartbeat_warn:
            slow = HealthReason(
                "heartbeat",
                "HEARTBEAT_SLOW",
                f"heartbeat round trip {obs.rtt * 1000:.0f} ms above "
                f"{policy.heartbeat_warn * 1000:.0f} ms",
            )
        return replace(view, stale=None, slow=slow, last_rtt=obs.rtt), none
    if isinstance(obs, HeartbeatTimedOut):
        stale = HealthReason(
            "heartbeat", "HEARTBEAT_TIMEOUT", f"no heartbeat answer for {obs.waited:.1f} s"
        )
        return replace(view, stale=stale), none
    if isinstance(obs, IdClash):
        clash = None
        if obs.message is not None:
            clash = HealthReason("client_id", "CLIENT_ID_CLASH", obs.message, 326)
        return replace(view, id_clash=clash), none
    return _apply_ib(view, obs)


def _apply_ib(view: HealthView, obs: IbError) -> tuple[HealthView, IbCodeEffect]:
    effect = classify_ib_code(obs.code)
    if effect is IbCodeEffect.IB_LINK_LOST:
        reason = HealthReason("ib_link", "IB_LINK_LOST", obs.message or "TWS lost IB", obs.code)
        return replace(view, ib_link=reason), effect
    if effect in (IbCodeEffect.RESUBSCRIBE, IbCodeEffect.IB_LINK_RESTORED):
        return replace(view, ib_link=None), effect
    if effect in (IbCodeEffect.FARM_BROKEN, IbCodeEffect.FARM_OK):
        name = farm_name(obs.code, obs.message)
        farms = {key: reason for key, reason in view.farms if key != name}
        if effect is IbCodeEffect.FARM_BROKEN:
            farms[name] = HealthReason("data_farm", "FARM_BROKEN", obs.message or name, obs.code)
        return replace(view, farms=tuple(sorted(farms.items()))), effect
    return view, effect


class HealthTracker:
    """The current :class:`HealthView` of one session, with one method per observation."""

    def __init__(self, policy: HealthPolicy | None = None) -> None:
        self._policy = policy or HealthPolicy()
        self._view = HealthView()

    @property
    def view(self) -> HealthView:
        """The current view."""
        return self._view

    @property
    def status(self) -> HealthStatus:
        """The current status."""
        return self._view.status

    @property
    def reasons(self) -> tuple[HealthReason, ...]:
        """Why the session is not HEALTHY."""
        return self._view.reasons

    @property
    def orders_blocked(self) -> bool:
        """True between 1100 and 1101 / 1102."""
        return self._view.orders_blocked

    def observe(self, observation: Observation) -> Folded:
        """Fold ``observation`` in and keep the result."""
        result = fold(self._view, observation, self._policy)
        self._view = result.view
        return result

    def socket_up(self) -> Folded:
        """A new socket is connected."""
        return self.observe(SocketUp())

    def socket_down(self, message: str = "socket closed") -> Folded:
        """The socket closed."""
        return self.observe(SocketDown(message))

    def heartbeat(self, rtt: float) -> Folded:
        """A heartbeat was answered after ``rtt`` seconds."""
        return self.observe(HeartbeatAnswered(rtt))

    def heartbeat_timeout(self, waited: float) -> Folded:
        """No heartbeat answer for ``waited`` seconds."""
        return self.observe(HeartbeatTimedOut(waited))

    def id_clash(self, message: str | None) -> Folded:
        """The session moved to a fallback client ID (``message``), or back (None)."""
        return self.observe(IdClash(message))

    def ib_error(self, code: int, message: str = "") -> Folded:
        """IB reported ``code``; the result's effect says what the I/O layer must do."""
        return self.observe(IbError(code, message))

    def __repr__(self) -> str:
        codes = ",".join(r.code for r in self._view.reasons)
        blocked = ", orders blocked" if self._view.orders_blocked else ""
        return (
            f"<HealthTracker [{self._view.status.value}{': ' + codes if codes else ''}{blocked}]>"
        )
