"""What a session supervisor reports and why a session is down: the supervisor's contract.

:class:`SessionObserver` is implemented by the connection manager; :class:`Cause` is the typed
reason (a :class:`FailureReason` plus free text) a supervisor keeps while it is not CONNECTED.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from broker_server.domain.connection_state import Transition
from broker_server.domain.events import Restored
from broker_server.domain.health import Folded
from broker_server.domain.reasons import FailureReason

if TYPE_CHECKING:  # the supervisor imports this module
    from broker_server.runtime.supervisor import SessionSupervisor


class SessionObserver(Protocol):
    """Where a supervisor reports (implemented by the connection manager)."""

    def on_transition(self, session: SessionSupervisor, change: Transition) -> None:
        """A state transition was applied."""
        ...

    def on_health(self, session: SessionSupervisor, folded: Folded) -> None:
        """The health view changed."""
        ...

    def on_restored(
        self, session: SessionSupervisor, restored: Restored, gap_start: float, gap_end: float
    ) -> None:
        """State was restored after a reconnect (published after CONNECTED)."""
        ...

    def on_breaker(self, session: SessionSupervisor) -> None:
        """The gateway's breaker may have changed state."""
        ...

    def on_client_id(self, session: SessionSupervisor, previous: int) -> None:
        """The session moved from client ID ``previous`` to ``session.client_id``."""
        ...


@dataclass(frozen=True)
class Cause:
    """Why a session is not CONNECTED, typed: the reason a caller gets, plus free text."""

    reason: FailureReason
    """The machine-readable cause (becomes ``ErrorInfo.reason``)."""
    detail: str = ""
    """What happened, for people (logs, error messages)."""
