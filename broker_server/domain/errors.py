"""Domain errors: what went wrong, in terms a caller can act on.

The domain layer knows nothing of gRPC. Each error names an :class:`ErrorKind` (the gRPC edge
maps it to a status code), a ``reason`` that is an ``ibbroker.v1.ErrorReason`` name without
its prefix, typed as :class:`~broker_server.domain.reasons.FailureReason`, an optional ``retry_after`` (seconds; becomes ``RetryInfo``),
an optional IB error code and, for bad input, field violations.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from broker_server.domain.reasons import FailureReason


class ErrorKind(enum.Enum):
    """The category of a failure; one per gRPC status code the broker uses."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    UNAVAILABLE = "UNAVAILABLE"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    ABORTED = "ABORTED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    UNAUTHENTICATED = "UNAUTHENTICATED"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request."""

    field: str
    """The field path, for example ``ttl`` or ``client_id``."""
    description: str
    """What is wrong with it, in one sentence."""


class DomainError(Exception):
    """A failure the caller can understand and act on."""

    def __init__(
        self,
        kind: ErrorKind,
        reason: FailureReason,
        message: str,
        *,
        retry_after: float | None = None,
        ib_error_code: int | None = None,
        violations: tuple[FieldViolation, ...] = (),
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        self.ib_error_code = ib_error_code
        self.violations = violations
        self.metadata = dict(metadata or {})

    def __repr__(self) -> str:
        return f"DomainError({self.kind.value}, {self.reason}, {self.message!r})"


def invalid_argument(*violations: FieldViolation) -> DomainError:
    """Bad input: one or more field violations."""
    text = "; ".join(f"{v.field}: {v.description}" for v in violations)
    return DomainError(
        ErrorKind.INVALID_ARGUMENT,
        FailureReason.INVALID_ARGUMENT,
        text or "invalid argument",
        violations=violations,
    )
