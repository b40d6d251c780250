"""One error type for every failed broker call, built from the rich ``google.rpc.Status``."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
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
    def retryable(self) -> bool:
        """True when the same call may succeed later (UNAVAILABLE, or RetryInfo present)."""
        return self.code == grpc.StatusCode.UNAVAILABLE or self.retry_after is not None

    @classmethod
    def from_rpc_error(cls, err: grpc.RpcError) -> BrokerError:
        """Decode a ``grpc.RpcError`` (sync or aio) into a :class:`BrokerError`."""
        code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
        message = err.details() if hasattr(err, "details") else str(err)
        reason, retry_after, violations, metadata = "", None, [], {}
        status = rpc_status.from_call(err) if isinstance(err, grpc.Call) else None
        if status is None and hasattr(err, "trailing_metadata"):
            for key, value in err.trailing_metadata() or ():
                if key == "grpc-status-details-bin":
                    from google.rpc import status_pb2

                    status = status_pb2.Status.FromString(value)
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
        return cls(code, message or "", reason, retry_after, tuple(violations), metadata)
