"""Limits per authenticated identity: request rate, open streams, active leases.

Each identity has its own budget, so one strategy flooding the broker (a loop gone wrong, a
leak of watch streams, a lease per tick) is refused with RESOURCE_EXHAUSTED IDENTITY_LIMIT and
RetryInfo while every other identity is served as before. The limits apply to authenticated
callers only (auth off has no identities to tell apart; the per-address stream bound of
``server_limits.py`` still holds) and each is off at 0.

An AcquireLease that repeats the ``request_id`` of one of the identity's active leases is an
idempotent retry and is not counted against ``max_leases_per_identity``.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
from opentelemetry import metrics as otel

from broker_server.config_security import AuthConfig
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.logs import log_event
from broker_server.services.errors import to_status
from broker_server.services.handler_cache import HandlerCache
from broker_server.services.principal import Principal, current_principal

log = logging.getLogger("ibbroker.auth")

_refused = otel.get_meter("ibbroker").create_counter(
    "ibbroker.identity.refused", unit="{call}", description="Calls over an identity's limit."
)

ACQUIRE = "/ibbroker.v1.LeaseService/AcquireLease"

ActiveLeases = Callable[[], Awaitable[Iterable[Any]]]
"""The active leases (objects with ``owner`` and ``request_id``): ``LeaseManager.list``."""


def _owned_by(owner: str, name: str) -> bool:
    return owner == name or owner.startswith(name + "/")


class IdentityLimits(grpc.aio.ServerInterceptor):
    """Runs after the owner check, on the parsed request, with the principal known."""

    def __init__(
        self,
        auth: AuthConfig,
        active_leases: ActiveLeases | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.auth = auth
        self._active_leases = active_leases
        self._now = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}
        self.streams: Counter[str] = Counter()
        """Open streaming calls per identity (counted while ``max_streams_per_identity`` > 0)."""
        self._wrapped = HandlerCache()
        """Per method: the handler the chain gave, and what the limits made of it."""

    def attach_leases(self, active_leases: ActiveLeases) -> None:
        """Where the active leases come from (the lease manager, built after the server)."""
        self._active_leases = active_leases

    def _over(self, what: str, limit: float, retry: float) -> DomainError:
        _refused.add(1, {"limit": what})
        return DomainError(
            ErrorKind.RESOURCE_EXHAUSTED,
            FailureReason.IDENTITY_LIMIT,
            f"your identity is over its {what} limit ({limit:g})",
            retry_after=retry,
            metadata={"limit": what},
        )

    def _rate(self, name: str) -> None:
        rate = self.auth.max_request_rate
        if rate <= 0:
            return
        burst = float(max(1, self.auth.request_burst))
        now = self._now()
        tokens, last = self._buckets.get(name, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[name] = (tokens, now)
            raise self._over("max_request_rate", rate, (1.0 - tokens) / rate)
        self._buckets[name] = (tokens - 1.0, now)

    async def _leases(self, principal: Principal, request: Any) -> None:
        limit = self.auth.max_leases_per_identity
        if limit <= 0 or self._active_leases is None:
            return
        active = await self._active_leases()
        mine = [lease for lease in active if _owned_by(lease.owner, principal.name)]
        request_id = getattr(request, "request_id", "")
        if request_id and any(lease.request_id == request_id for lease in mine):
            return  # an idempotent retry of a lease it holds
        if len(mine) >= limit:
            raise self._over("max_leases_per_identity", limit, 1.0)

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
        wrapped = self._wrap(method, handler)
        return self._wrapped.put(method, handler, wrapped)

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """The handler behind the limits that apply to ``method`` (decided once per method;
        the config is frozen): none, and it is handed on as registered."""
        auth = self.auth
        rate = auth.max_request_rate > 0
        leases = method == ACQUIRE and auth.max_leases_per_identity > 0
        streams = bool(handler.unary_stream) and auth.max_streams_per_identity > 0
        if not (rate or leases or streams):
            return handler

        async def admit(request: Any, context: grpc.aio.ServicerContext) -> Principal | None:
            principal = current_principal()
            if principal is None or not principal.authenticated:
                return None
            try:
                if rate:
                    self._rate(principal.name)
                if leases:
                    await self._leases(principal, request)
                if streams:
                    limit = auth.max_streams_per_identity
                    if limit <= self.streams[principal.name]:
                        raise self._over("max_streams_per_identity", limit, 1.0)
            except DomainError as err:
                log_event(
                    log,
                    logging.WARNING,
                    "identity_limit",
                    identity=principal.name,
                    limit=err.metadata.get("limit", ""),
                    rpc=method,
                )
                await context.abort_with_status(to_status(err))
            return principal

        des, ser = handler.request_deserializer, handler.response_serializer
        if handler.unary_unary:
            uu = handler.unary_unary

            async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await admit(request, context)
                return await uu(request, context)

            return grpc.unary_unary_rpc_method_handler(unary_unary, des, ser)
        us = handler.unary_stream

        async def counted(request: Any, context: grpc.aio.ServicerContext) -> Any:
            principal = await admit(request, context)
            if principal is not None and streams:
                self.streams[principal.name] += 1
            try:
                if inspect.isasyncgenfunction(us):
                    async for item in us(request, context):
                        yield item
                else:
                    await us(request, context)
            finally:
                if principal is not None and streams:
                    self.streams[principal.name] -= 1
                    if self.streams[principal.name] <= 0:
                        del self.streams[principal.name]

        if not inspect.isasyncgenfunction(us):

            async def writer(request: Any, context: grpc.aio.ServicerContext) -> None:
                async for _ in counted(request, context):
                    pass  # pragma: no cover - a writer yields nothing

            return grpc.unary_stream_rpc_method_handler(writer, des, ser)
        return grpc.unary_stream_rpc_method_handler(counted, des, ser)
