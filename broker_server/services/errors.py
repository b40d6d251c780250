"""Map domain errors to rich gRPC statuses (``google.rpc.Status`` with details).

Every error the broker returns carries ``ErrorInfo`` (domain ``ibbroker.v1``, an UPPER_SNAKE
reason, the IB error code in metadata), ``RetryInfo`` where a retry makes sense and
``BadRequest`` field violations for bad input.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from broker_client.ibbroker.v1 import errors_pb2
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason

ERROR_DOMAIN = "ibbroker.v1"

log = logging.getLogger("ibbroker.services")

_CODES: dict[ErrorKind, grpc.StatusCode] = {
    ErrorKind.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorKind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorKind.RESOURCE_EXHAUSTED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorKind.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.ABORTED: grpc.StatusCode.ABORTED,
    ErrorKind.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
    ErrorKind.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    ErrorKind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
}


_PROTO_PREFIX = "ERROR_REASON_"


def proto_reason(reason: FailureReason) -> errors_pb2.ErrorReason.ValueType:
    """The ``ibbroker.v1.ErrorReason`` of a domain reason: the one place the two are joined."""
    return errors_pb2.ErrorReason.Value(_PROTO_PREFIX + reason.value)


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status(err: DomainError) -> grpc.Status:
    """Build the rich gRPC status for ``err``."""
    code = _CODES[err.kind]
    metadata = dict(err.metadata)
    if err.ib_error_code is not None:
        metadata["ib_error_code"] = str(err.ib_error_code)
    details = [
        _pack(
            error_details_pb2.ErrorInfo(
                reason=_wire_reason(err.reason), domain=ERROR_DOMAIN, metadata=metadata
            )
        )
    ]
    if err.retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(max(0, round(err.retry_after * 1000)))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    if err.violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in err.violations
            ]
        )
        details.append(_pack(bad))
    status = status_pb2.Status(
        code=getattr(code_pb2, code.name), message=err.message, details=details
    )
    return rpc_status.to_status(status)


def _wire_reason(reason: FailureReason) -> str:
    """``ErrorInfo.reason``: the proto enum's name without its prefix (checked to exist)."""
    return errors_pb2.ErrorReason.Name(proto_reason(reason)).removeprefix(_PROTO_PREFIX)


async def abort_with(context: grpc.aio.ServicerContext, err: DomainError) -> None:
    """Abort the call with the rich status of ``err`` (raises)."""
    await context.abort_with_status(to_status(err))


# Raised by context.abort() itself, or cancellation: never turn these into another status.
_PASS_THROUGH = (grpc.aio.AbortError, asyncio.CancelledError)


async def _abort_internal(context: grpc.aio.ServicerContext, rpc: str) -> None:
    """A bug, not a caller's mistake: log the stack, answer INTERNAL without internals."""
    log.exception("rpc_failed", extra={"fields": {"rpc": rpc}})
    await context.abort(grpc.StatusCode.INTERNAL, f"{rpc} failed inside the broker; see its log")


R = TypeVar("R")
Handler = Callable[..., Awaitable[R]]


def unary_errors(func: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Decorate a unary servicer method: a :class:`DomainError` becomes its rich status."""

    @functools.wraps(func)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
        try:
            return await func(self, request, context)
        except _PASS_THROUGH:
            raise
        except DomainError as err:
            log.info(
                "rpc_error",
                extra={
                    "fields": {"rpc": func.__name__, "reason": err.reason, "error": err.message}
                },
            )
            await abort_with(context, err)
            raise  # unreachable: abort raises
        except Exception:
            await _abort_internal(context, func.__name__)
            raise  # unreachable: abort raises

    return wrapper


def stream_errors(func: Callable[..., AsyncIterator[R]]) -> Callable[..., AsyncIterator[R]]:
    """Decorate a server-streaming servicer method written as an async generator."""

    @functools.wraps(func)
    async def wrapper(
        self: Any, request: Any, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[R]:
        try:
            async for item in func(self, request, context):
                yield item
        except _PASS_THROUGH:
            raise
        except DomainError as err:
            log.info(
                "rpc_error",
                extra={
                    "fields": {"rpc": func.__name__, "reason": err.reason, "error": err.message}
                },
            )
            await abort_with(context, err)
        except Exception:
            await _abort_internal(context, func.__name__)

    return wrapper
