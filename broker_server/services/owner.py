"""The owner check: leases and orders belong to the authenticated identity (docs/security.md).

:class:`OwnerInterceptor` runs on the parsed request: an ``owner`` field must be the caller's own
name or a label under it (``alice/momentum``), else PERMISSION_DENIED OWNER_NOT_CALLER unless the
caller holds ``admin``; an empty ``owner`` naming who asks is filled with the caller's name;
``all_owners = true`` needs ``admin``. With auth off (the anonymous principal) owners are taken
as sent.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.services.errors import to_status
from broker_server.services.handler_cache import HandlerCache
from broker_server.services.principal import CURRENT
from broker_server.services.scopes import ADMIN, Rule, rule_for


class OwnerInterceptor(grpc.aio.ServerInterceptor):
    """Makes the authenticated identity the owner of what a request acts on (module doc).

    Decided once per method: a request type without an ``owner`` or ``all_owners`` field
    (GetConnectionState, every read of the connection) has nothing to check, and its handler
    is handed on as registered; the others get a wrapper built once and cached."""

    def __init__(self) -> None:
        self._wrapped = HandlerCache()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or not (handler.unary_unary or handler.unary_stream):
            return handler
        method = handler_call_details.method or ""
        cached = self._wrapped.get(method, handler)
        if cached is not None:
            return cached
        wrapped = _wrap(handler, rule_for(method))
        return self._wrapped.put(method, handler, wrapped)


def _request_fields(handler: grpc.RpcMethodHandler) -> frozenset[str] | None:
    """The field names of the method's request type, read from its deserializer (the generated
    ``Message.FromString``); None when that is not a protobuf message's (then every call is
    checked on the parsed request, as it always may be)."""
    owner_type = getattr(handler.request_deserializer, "__self__", None)
    fields = getattr(getattr(owner_type, "DESCRIPTOR", None), "fields_by_name", None)
    return None if fields is None else frozenset(fields)


def _wrap(handler: grpc.RpcMethodHandler, rule: Rule) -> grpc.RpcMethodHandler:
    known = _request_fields(handler)
    if known is not None and "owner" not in known and "all_owners" not in known:
        return handler  # nothing to own: no check to run

    async def check(request: Any, context: grpc.aio.ServicerContext) -> None:
        principal = CURRENT.get()
        if principal is None or not principal.authenticated:
            return
        fields = getattr(getattr(request, "DESCRIPTOR", None), "fields_by_name", {})
        if "all_owners" in fields and request.all_owners and ADMIN not in principal.scopes:
            await _abort(context, "all_owners needs the admin scope")
        if "owner" not in fields:
            return
        if not request.owner:
            if not rule.owner_is_filter:
                request.owner = principal.name
            return
        if not principal.may_act_for(request.owner):
            await _abort(
                context,
                f"identity {principal.name!r} may not act for owner {request.owner!r}; "
                f"use {principal.name!r} or a label under it ({principal.name}/...)",
            )

    des, ser = handler.request_deserializer, handler.response_serializer
    if handler.unary_unary:
        uu = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await check(request, context)
            return await uu(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, des, ser)
    us = handler.unary_stream
    if not inspect.isasyncgenfunction(us):

        async def unary_writer(request: Any, context: grpc.aio.ServicerContext) -> None:
            await check(request, context)
            await us(request, context)

        return grpc.unary_stream_rpc_method_handler(unary_writer, des, ser)

    async def unary_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await check(request, context)
        async for item in us(request, context):
            yield item

    return grpc.unary_stream_rpc_method_handler(unary_stream, des, ser)


async def _abort(context: grpc.aio.ServicerContext, message: str) -> None:
    await context.abort_with_status(
        to_status(DomainError(ErrorKind.PERMISSION_DENIED, FailureReason.OWNER_NOT_CALLER, message))
    )
