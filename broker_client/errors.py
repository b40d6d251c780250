"""Typed errors for every failed broker call, built from the rich ``google.rpc.Status``.

Every error the broker sends carries an ``ErrorInfo`` whose ``reason`` is an ``ErrorReason``
name (``protos/ibbroker/v1/errors.proto``). :meth:`BrokerError.from_rpc_error` turns a failed call
into the subclass for that reason, so callers catch what they can handle::

    try:
        async with broker.lease(owner="a") as held:
            ...
    except ClientIdExhaustedError as err:
        await asyncio.sleep(err.retry_delay or 1.0)
    except GatewayError as err:          # any gateway-side failure
        ...

A reason this client does not know yet (a newer broker) gives the plain :class:`BrokerError`, or
the class of its status code when there is one (:class:`BrokerUnavailableError`,
:class:`DeadlineExceededError`); ``reason`` is always the broker's word.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status


@dataclass(eq=False)  # not frozen: raising sets __traceback__ (contextlib re-raises)
class BrokerError(Exception):
    """A failed broker call: the gRPC status plus the ``ibbroker.v1`` error details."""

    code: grpc.StatusCode
    """The gRPC status code."""
    message: str
    """The server's message."""
    reason: str = ""
    """The ``ErrorReason`` name without prefix, for example ``BREAKER_OPEN``; empty when absent."""
    retry_after: float | None = None
    """Seconds to wait before retrying (``RetryInfo``), or None when a retry will not help."""
    field_violations: tuple[tuple[str, str], ...] = ()
    """(field, description) pairs for INVALID_ARGUMENT."""
    metadata: dict[str, str] = field(default_factory=dict)
    """ErrorInfo metadata, for example ``ib_error_code``."""

    def __str__(self) -> str:
        reason = f" {self.reason}" if self.reason else ""
        return f"{self.code.name}{reason}: {self.message}"

    @property
    def retry_delay(self) -> float | None:
        """``RetryInfo.retry_delay`` in seconds: when the broker says a retry may help."""
        return self.retry_after

    @property
    def retryable(self) -> bool:
        """True when the same call may succeed later (UNAVAILABLE, or RetryInfo present)."""
        return self.code == grpc.StatusCode.UNAVAILABLE or self.retry_after is not None

    @classmethod
    def from_rpc_error(cls, err: grpc.RpcError) -> BrokerError:
        """Decode a ``grpc.RpcError`` (sync or aio) into the :class:`BrokerError` subclass of
        its reason (or status code)."""
        code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
        message = err.details() if hasattr(err, "details") else str(err)
        return error_for(code, message or "", _status(err))


def _status(err: grpc.RpcError) -> status_pb2.Status | None:
    status = rpc_status.from_call(err) if isinstance(err, grpc.Call) else None
    if status is None and hasattr(err, "trailing_metadata"):
        for key, value in err.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
    return status


def error_for(
    code: grpc.StatusCode, message: str, status: status_pb2.Status | None = None
) -> BrokerError:
    """The typed error for a status code, message and optional ``google.rpc.Status``."""
    reason, retry_after = "", None
    violations: list[tuple[str, str]] = []
    metadata: dict[str, str] = {}
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            retry_after = retry.retry_delay.ToTimedelta().total_seconds()
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations = [(v.field, v.description) for v in bad.field_violations]
    kind = BY_REASON.get(reason) or BY_CODE.get(code, BrokerError)
    return kind(code, message, reason, retry_after, tuple(violations), metadata)


# --- the classes ------------------------------------------------------------------------------


class InvalidArgumentError(BrokerError):
    """A request field is wrong (INVALID_ARGUMENT); see ``field_violations``."""


class BrokerUnavailableError(BrokerError):
    """The broker could not be reached or is not serving (UNAVAILABLE without a reason)."""


class DeadlineExceededError(BrokerError):
    """The call's deadline passed before the broker answered."""


class ShuttingDownError(BrokerError):
    """The broker is shutting down; retry against it once it is back."""


class StoreUnavailableError(BrokerError):
    """The broker's lease store cannot be written."""


class AdminTokenRequiredError(BrokerError):
    """An admin call without the right bearer token."""


class GatewayError(BrokerError):
    """A failure on the broker's side towards TWS / IB Gateway."""


class GatewayUnknownError(GatewayError):
    """No gateway of that name is configured."""


class BreakerOpenError(GatewayError):
    """The gateway's circuit breaker is open; ``retry_delay`` says when it tries again."""


class ReconnectingError(GatewayError):
    """The gateway's session is reconnecting."""


class NotConnectedError(GatewayError):
    """The gateway's session is not connected."""


class IbLinkLostError(GatewayError):
    """TWS lost its connection to IB (1100)."""


class GatewayConnectError(GatewayError):
    """Connecting to the gateway failed (refused, handshake or sync timeout, old server,
    heartbeat timeout)."""


class AccountMismatchError(GatewayError):
    """The gateway's accounts are not what the configuration allows (paper vs live)."""


class PacingError(GatewayError):
    """IB's pacing limits were hit."""


class OperatorActionRequiredError(GatewayError):
    """The gateway's session gave up (retries exhausted): no retry helps until an operator
    acts (``Reconnect``, or fixing the gateway)."""


class PeerStreamLimitError(BrokerError):
    """This address has ``server.max_streams_per_peer`` streams open: close some first."""


class LeaseError(BrokerError):
    """A client-ID lease call was refused."""


class ClientIdExhaustedError(LeaseError):
    """No client ID is free; ``retry_delay`` says when one may be."""


class ClientIdInUseError(LeaseError):
    """The client ID is used by another program (326)."""


class LeaseNotFoundError(LeaseError):
    """No such lease."""


class LeaseExpiredError(LeaseError):
    """The lease expired."""


class LeaseReleasedError(LeaseError):
    """The lease was released."""


class LeaseStaleEpochError(LeaseError):
    """The epoch is not the lease's current one (fenced off)."""


class LeaseNotOwnerError(LeaseError):
    """The lease belongs to another owner."""


class IdempotencyConflictError(LeaseError):
    """The request_id was used before with other parameters."""


class LeaseAccountMismatchError(LeaseError):
    """The gateway's accounts do not match its configuration (paper vs live): operator action
    needed, a retry does not help."""


class LeaseNotProxiedError(LeaseError):
    """The call needs a PROXIED lease; the lease given is DIRECT."""


class OrderError(BrokerError):
    """An order call was refused."""


class OrderNotFoundError(OrderError):
    """No such order for the caller (or IB does not know it, 10147)."""


class OrderOwnedByOtherClientIdError(OrderError):
    """Only the client ID that placed the order may change it (metadata ``owning_client_id``)."""


class ContractNotFoundError(OrderError):
    """The contract resolves to nothing (IB 200)."""


class ContractAmbiguousError(OrderError):
    """The contract matches several; the message and metadata name the candidates."""


class OrderRejectedError(OrderError):
    """IB refused the order; the IB code and text are in ``metadata``."""


class OutcomeUnknownError(OrderError):
    """The order's outcome is being reconciled: retry the same call after ``retry_delay``."""


class OrderFinishedError(OrderError):
    """The order is filled, cancelled or rejected and cannot change."""


class OrderIdsExhaustedError(OrderError):
    """No further order ID for the client ID."""


class MarketDataError(BrokerError):
    """A market-data call was refused or ended."""


class MarketDataLinesExhaustedError(MarketDataError):
    """The gateway's market-data line budget is used up."""


class SubscriberTooSlowError(MarketDataError):
    """The subscriber read too slowly for too long and was ended."""


class MarketDataNotPermittedError(MarketDataError):
    """No market-data permission for the instrument and type (IB 354, 10167, 10197)."""


class AuthError(BrokerError):
    """The broker refused the caller's credentials or rights (see docs/security.md)."""


class CredentialsMissingError(AuthError):
    """The call carried no bearer token and no client certificate (UNAUTHENTICATED)."""


class CredentialsInvalidError(AuthError):
    """Unknown, garbled or revoked token, or an unknown identity (UNAUTHENTICATED)."""


class CredentialsExpiredError(AuthError):
    """The token has expired (UNAUTHENTICATED): ask the operator for a new one."""


class ScopeDeniedError(AuthError):
    """The identity lacks the scope the RPC needs (PERMISSION_DENIED)."""


class OwnerNotCallerError(AuthError):
    """The request names another identity's owner; only admin may (PERMISSION_DENIED)."""


class PeerNotAllowedError(AuthError):
    """The client's address is outside the broker's allow-list (PERMISSION_DENIED)."""


class AuthRateLimitedError(AuthError):
    """Too many failed authentication attempts from this address (RESOURCE_EXHAUSTED)."""


class IdentityLimitError(BrokerError):
    """The identity is over its request-rate, stream or lease limit (RESOURCE_EXHAUSTED)."""


BY_REASON: dict[str, type[BrokerError]] = {
    "INVALID_ARGUMENT": InvalidArgumentError,
    "GATEWAY_UNKNOWN": GatewayUnknownError,
    "BREAKER_OPEN": BreakerOpenError,
    "RECONNECTING": ReconnectingError,
    "NOT_CONNECTED": NotConnectedError,
    "IB_LINK_LOST": IbLinkLostError,
    "CLIENT_ID_EXHAUSTED": ClientIdExhaustedError,
    "LEASE_NOT_FOUND": LeaseNotFoundError,
    "LEASE_EXPIRED": LeaseExpiredError,
    "LEASE_RELEASED": LeaseReleasedError,
    "LEASE_STALE_EPOCH": LeaseStaleEpochError,
    "LEASE_NOT_OWNER": LeaseNotOwnerError,
    "CLIENT_ID_IN_USE": ClientIdInUseError,
    "CONNECTION_REFUSED": GatewayConnectError,
    "HANDSHAKE_TIMEOUT": GatewayConnectError,
    "SERVER_VERSION_TOO_OLD": GatewayConnectError,
    "SYNC_TIMEOUT": GatewayConnectError,
    "ACCOUNT_MISMATCH": AccountMismatchError,
    "SHUTTING_DOWN": ShuttingDownError,
    "HEARTBEAT_TIMEOUT": GatewayConnectError,
    "PACING": PacingError,
    "IDEMPOTENCY_CONFLICT": IdempotencyConflictError,
    "ADMIN_TOKEN_REQUIRED": AdminTokenRequiredError,
    "STORE_UNAVAILABLE": StoreUnavailableError,
    "OPERATOR_ACTION_REQUIRED": OperatorActionRequiredError,
    "LEASE_ACCOUNT_MISMATCH": LeaseAccountMismatchError,
    "PEER_STREAM_LIMIT": PeerStreamLimitError,
    "ORDER_NOT_FOUND": OrderNotFoundError,
    "ORDER_OWNED_BY_OTHER_CLIENT_ID": OrderOwnedByOtherClientIdError,
    "CONTRACT_NOT_FOUND": ContractNotFoundError,
    "CONTRACT_AMBIGUOUS": ContractAmbiguousError,
    "ORDER_REJECTED": OrderRejectedError,
    "OUTCOME_UNKNOWN": OutcomeUnknownError,
    "ORDER_FINISHED": OrderFinishedError,
    "LEASE_NOT_PROXIED": LeaseNotProxiedError,
    "ORDER_IDS_EXHAUSTED": OrderIdsExhaustedError,
    "MARKET_DATA_LINES_EXHAUSTED": MarketDataLinesExhaustedError,
    "SUBSCRIBER_TOO_SLOW": SubscriberTooSlowError,
    "MARKET_DATA_NOT_PERMITTED": MarketDataNotPermittedError,
    "CREDENTIALS_MISSING": CredentialsMissingError,
    "CREDENTIALS_INVALID": CredentialsInvalidError,
    "CREDENTIALS_EXPIRED": CredentialsExpiredError,
    "SCOPE_DENIED": ScopeDeniedError,
    "OWNER_NOT_CALLER": OwnerNotCallerError,
    "PEER_NOT_ALLOWED": PeerNotAllowedError,
    "AUTH_RATE_LIMITED": AuthRateLimitedError,
    "GATEWAY_UNTRUSTED": GatewayConnectError,
    "IDENTITY_LIMIT": IdentityLimitError,
}
"""ErrorInfo reason -> exception class."""

BY_CODE: dict[grpc.StatusCode, type[BrokerError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.UNAVAILABLE: BrokerUnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
}
"""Status code -> exception class, for errors without a known reason."""
