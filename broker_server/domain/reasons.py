"""Why a call failed, as one typed enum: the broker's side of ``ibbroker.v1.ErrorReason``.

Every :class:`~broker_server.domain.errors.DomainError` names one member. The gRPC edge maps it
once to the proto enum (``services/errors.py``); a test checks that the two lists are the same
and that every member is raised somewhere. Values are the proto names without the
``ERROR_REASON_`` prefix, which is what ``google.rpc.ErrorInfo.reason`` carries on the wire.
"""

from __future__ import annotations

import enum


class FailureReason(enum.StrEnum):
    """The machine-readable cause of a failure; one member per ``ErrorReason`` in the protos."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    """A request field is malformed or out of range (see the field violations)."""
    GATEWAY_UNKNOWN = "GATEWAY_UNKNOWN"
    """The named gateway is not configured."""
    BREAKER_OPEN = "BREAKER_OPEN"
    """The gateway's circuit breaker is open: fail fast, retry later."""
    RECONNECTING = "RECONNECTING"
    """The session is reconnecting: retry the same call later."""
    NOT_CONNECTED = "NOT_CONNECTED"
    """The gateway is not connected and is not trying to (ERROR or DISCONNECTED)."""
    IB_LINK_LOST = "IB_LINK_LOST"
    """TWS lost its link to IB's servers (error 1100): order traffic is blocked."""
    CLIENT_ID_EXHAUSTED = "CLIENT_ID_EXHAUSTED"
    """Every client ID in the gateway's range is leased or quarantined."""
    LEASE_NOT_FOUND = "LEASE_NOT_FOUND"
    """No lease with that ID exists."""
    LEASE_EXPIRED = "LEASE_EXPIRED"
    """The lease has expired."""
    LEASE_RELEASED = "LEASE_RELEASED"
    """The lease has been released."""
    LEASE_STALE_EPOCH = "LEASE_STALE_EPOCH"
    """The request's epoch is not the lease's current epoch (fencing)."""
    LEASE_NOT_OWNER = "LEASE_NOT_OWNER"
    """The caller does not own the lease."""
    CLIENT_ID_IN_USE = "CLIENT_ID_IN_USE"
    """TWS answered 326: another API client holds the client ID."""
    CONNECTION_REFUSED = "CONNECTION_REFUSED"
    """The gateway refused the TCP connection (or the TCP connect timed out)."""
    HANDSHAKE_TIMEOUT = "HANDSHAKE_TIMEOUT"
    """The TWS API handshake did not complete in time."""
    SERVER_VERSION_TOO_OLD = "SERVER_VERSION_TOO_OLD"
    """The gateway's server version is below the supported minimum."""
    SYNC_TIMEOUT = "SYNC_TIMEOUT"
    """The start-up synchronisation did not complete in time."""
    ACCOUNT_MISMATCH = "ACCOUNT_MISMATCH"
    """The managed accounts do not match ``paper_trading`` or the configured account."""
    SHUTTING_DOWN = "SHUTTING_DOWN"
    """The broker is shutting down."""
    HEARTBEAT_TIMEOUT = "HEARTBEAT_TIMEOUT"
    """The heartbeat went unanswered: the session was declared stale."""
    PACING = "PACING"
    """IB pacing limits would be exceeded."""
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    """A request with this idempotency key was made before with other parameters."""
    ADMIN_TOKEN_REQUIRED = "ADMIN_TOKEN_REQUIRED"
    """An admin call came without the configured admin bearer token."""
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    """The durable store could not write: retry later."""
    LEASE_ACCOUNT_MISMATCH = "LEASE_ACCOUNT_MISMATCH"
    """A lease was refused: the gateway's managed accounts do not match its configuration."""
    PEER_STREAM_LIMIT = "PEER_STREAM_LIMIT"
    """The caller's address has too many streaming calls open."""
