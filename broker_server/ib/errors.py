"""Why an IB connect failed, in the broker's words instead of ib_insync's bare ``TimeoutError``."""

from __future__ import annotations

import enum

from broker_server.domain.reasons import FailureReason


class ConnectFailureReason(enum.Enum):
    """The phase and cause of a failed connect; names match ``ibbroker.v1.ErrorReason``."""

    CONNECTION_REFUSED = "CONNECTION_REFUSED"
    """Nothing accepts TCP connections at host:port (or the TCP connect timed out)."""
    HANDSHAKE_TIMEOUT = "HANDSHAKE_TIMEOUT"
    """TCP connected but the API handshake (version reply, managedAccounts, nextValidId) did not
    finish in time, or the peer closed the socket during it."""
    GATEWAY_UNTRUSTED = "GATEWAY_UNTRUSTED"
    """TCP connected, then the peer closed the socket before sending its server version: what
    TWS / IB Gateway do to an address outside their Trusted IPs (docs/security.md)."""
    CLIENT_ID_IN_USE = "CLIENT_ID_IN_USE"
    """IB answered 326: another API client holds this client ID."""
    SERVER_VERSION_TOO_OLD = "SERVER_VERSION_TOO_OLD"
    """TWS / IB Gateway negotiated a server version below what the client library needs."""
    SYNC_TIMEOUT = "SYNC_TIMEOUT"
    """The start-up sync (positions, orders, account, executions) did not finish in time."""
    ACCOUNT_MISMATCH = "ACCOUNT_MISMATCH"
    """The managed accounts do not match ``paper_trading`` (paper accounts start with DU) or
    the configured account is not among them."""

    @property
    def failure_reason(self) -> FailureReason:
        """The domain's :class:`FailureReason` for this failure (same name, one mapping)."""
        return FailureReason(self.value)

    @property
    def retryable(self) -> bool:
        """False for failures no retry can fix without a change of configuration."""
        return self not in _FATAL


_FATAL = frozenset(
    {ConnectFailureReason.ACCOUNT_MISMATCH, ConnectFailureReason.SERVER_VERSION_TOO_OLD}
)


class ConnectFailure(Exception):
    """A connect attempt failed; ``reason`` says in which phase and why."""

    def __init__(
        self, reason: ConnectFailureReason, message: str, *, ib_error_code: int = 0
    ) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.message = message
        self.ib_error_code = ib_error_code

    def __repr__(self) -> str:
        return f"ConnectFailure({self.reason.value}, {self.message!r})"
