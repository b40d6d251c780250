"""Error mapping of the session pool: the DomainError a request to a session gets now.

One place turns a session's state and typed :class:`~broker_server.runtime.observer.Cause`
into what a caller sees (kind, reason, retry hint). No text is parsed: the supervisor keeps its
cause typed next to the free-text reason of its last transition.

RetryInfo (``retry_after``) only where a retry can help: while the session reconnects, waits
out an open breaker or a client-ID quarantine. A session that will not try again by itself
(retries exhausted, stopped) answers FAILED_PRECONDITION with OPERATOR_ACTION_REQUIRED (or
NOT_CONNECTED when it was closed on purpose), without a retry hint.
"""

from __future__ import annotations

from broker_server.config import GatewayConfig
from broker_server.domain.breaker import BreakerState, CircuitBreaker
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.runtime.supervisor import SessionSupervisor

S = ConnectionState

_NO_RETRY = frozenset({FailureReason.ACCOUNT_MISMATCH, FailureReason.SERVER_VERSION_TOO_OLD})
"""Causes a retry cannot fix: the configuration (or the gateway) must change."""


def retry_hint(config: GatewayConfig, breaker: CircuitBreaker) -> float:
    """Seconds after which a retry of a refused call may succeed."""
    return max(config.retry_delay, breaker.retry_after())


def unavailable(
    config: GatewayConfig, breaker: CircuitBreaker, sup: SessionSupervisor
) -> DomainError:
    """Why ``sup`` cannot serve a request now, as the error the caller gets."""
    cause = sup.cause
    code = cause.reason if cause is not None else FailureReason.NOT_CONNECTED
    if sup.state in (S.RECONNECTING, S.CONNECTING):
        code = FailureReason.RECONNECTING
    wait = sup.retry_in()
    retry_after: float | None = None
    if code in _NO_RETRY:
        kind = ErrorKind.FAILED_PRECONDITION
    elif wait is None:
        # The session will not try again by itself: a retry of the call cannot help, so no
        # RetryInfo. An operator must act (Reconnect / connect), which the reason says.
        kind = ErrorKind.FAILED_PRECONDITION
        if sup.state is S.ERROR:
            code = FailureReason.OPERATOR_ACTION_REQUIRED
        else:
            code = FailureReason.NOT_CONNECTED
    else:
        kind = ErrorKind.UNAVAILABLE
        retry_after = max(wait, breaker.retry_after()) or config.retry_delay
    return DomainError(
        kind,
        code,
        f"session {sup.name} is {sup.state.value}: {sup.reason or 'not connected'}",
        retry_after=retry_after,
        metadata={"gateway": config.name, "session": sup.name},
    )


def check_usable(
    config: GatewayConfig,
    breaker: CircuitBreaker,
    sup: SessionSupervisor,
    *,
    for_orders: bool = False,
) -> None:
    """Raise the DomainError a request to ``sup`` would get now, if any."""
    gateway = config.name
    if breaker.state is BreakerState.OPEN:
        raise DomainError(
            ErrorKind.UNAVAILABLE,
            FailureReason.BREAKER_OPEN,
            f"circuit breaker of gateway {gateway} is OPEN: {sup.reason}",
            retry_after=breaker.retry_after(),
            metadata={"gateway": gateway},
        )
    if sup.state in (S.RECONNECTING, S.CONNECTING):
        raise DomainError(
            ErrorKind.UNAVAILABLE,
            FailureReason.RECONNECTING,
            f"session {sup.name} is {sup.state.value}: {sup.reason}",
            retry_after=retry_hint(config, breaker),
            metadata={"gateway": gateway, "session": sup.name},
        )
    if sup.state is not S.CONNECTED:
        raise unavailable(config, breaker, sup)
    if for_orders and sup.orders_blocked:
        raise DomainError(
            ErrorKind.FAILED_PRECONDITION,
            FailureReason.IB_LINK_LOST,
            f"TWS at {config.address} lost its link to IB (1100): orders are held",
            ib_error_code=1100,
            metadata={"gateway": gateway},
        )
