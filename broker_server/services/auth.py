"""The one authentication and authorization gate of every service (docs/security.md).

:class:`AuthInterceptor` runs first on every call, before the request is parsed and before any
servicer code: it refuses a peer outside ``auth.allow_cidrs`` (PERMISSION_DENIED
PEER_NOT_ALLOWED), authenticates the caller (bearer token, else client certificate), checks the
RPC's scope from :mod:`broker_server.services.scopes` and audits the call. The authenticated
:class:`Principal` is put in a context variable for the rest of the call, where
:mod:`broker_server.services.identity` reads it.

:class:`OwnerInterceptor` runs last, on the parsed request: an ``owner`` field must be the
caller's own name or a label under it (``alice/momentum``), else PERMISSION_DENIED
OWNER_NOT_CALLER unless the caller holds ``admin``; an empty ``owner`` naming who asks is filled
with the caller's name, so leases and orders belong to the authenticated identity.

With ``auth.enabled = false`` (the default) every caller is the anonymous principal with every
scope, owners are taken as sent, and only ``server.admin_token`` (when set) guards admin RPCs.
"""

from __future__ import annotations

import contextvars
import hmac
import inspect
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from opentelemetry import metrics as otel

from broker_server.config_security import SCOPES, AuthConfig
from broker_server.config_values import Secret
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.logs import log_event
from broker_server.services.audit import audit, request_id
from broker_server.services.errors import to_status
from broker_server.services.scopes import ADMIN, MUTATING_SCOPES, is_open, rule_for
from broker_server.services.tokens import TokenFile, TokenFileError

log = logging.getLogger("ibbroker.auth")

_failures = otel.get_meter("ibbroker").create_counter(
    "ibbroker.auth.failures", unit="{call}", description="Refused authentications, by reason."
)

_BEARER = "bearer "


@dataclass(frozen=True)
class Principal:
    """Who a call is from, once authenticated."""

    name: str
    """The identity's name (``anonymous`` with auth off)."""
    scopes: frozenset[str]
    """What it may do."""
    via: str
    """How it authenticated: ``token``, ``certificate``, ``admin_token`` or ``none`` (auth off)."""

    @property
    def authenticated(self) -> bool:
        """False for the anonymous principal of auth-off mode (owners are then taken as sent)."""
        return self.via in ("token", "certificate")

    def may_act_for(self, owner: str) -> bool:
        """True when ``owner`` is this identity or a label under it, or the caller is admin."""
        return (
            not self.authenticated
            or ADMIN in self.scopes
            or owner == self.name
            or owner.startswith(self.name + "/")
        )


ANONYMOUS = Principal("anonymous", frozenset(SCOPES), "none")

_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "ibbroker_principal", default=None
)


def current_principal() -> Principal | None:
    """The principal of the call running in this task (None outside an intercepted call)."""
    return _current.get()


def peer_ip(peer: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP of a gRPC peer string (``ipv4:1.2.3.4:5``, ``ipv6:[::1]:5``); None for others."""
    kind, _, rest = peer.partition(":")
    if kind not in ("ipv4", "ipv6"):
        return None
    host = rest.rpartition(":")[0].strip("[]").partition("%")[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class FailureLimiter:
    """A token bucket of failed authentications per client address: ``burst`` at once,
    ``rate`` regained per second. Successful calls never touch it, so a flood of bad tokens
    from one address does not slow a good caller from the same address."""

    MAX_ADDRESSES = 4096
    """Addresses tracked at once (the least recently failing are forgotten first)."""

    def __init__(
        self, burst: int, rate: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst, self.rate, self._now = burst, rate, monotonic
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def fail(self, address: str) -> float | None:
        """Count one failure; None while under the limit, else seconds until one is regained."""
        now = self._now()
        tokens, last = self._buckets.pop(address, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        limited = tokens < 1.0
        if not limited:
            tokens -= 1.0
        self._buckets[address] = (tokens, now)
        if len(self._buckets) > self.MAX_ADDRESSES:
            self._buckets.popitem(last=False)
        return (1.0 - tokens) / self.rate if limited else None


def _metadata(details: grpc.HandlerCallDetails) -> dict[str, str | bytes]:
    return {k.lower(): v for k, v in (details.invocation_metadata or ())}


def _bearer(metadata: Mapping[str, str | bytes]) -> str | None:
    """The bearer token sent (``""``: an empty one), or None when there is no bearer header."""
    value = metadata.get("authorization")
    if value is None:
        return None
    if isinstance(value, bytes) or value[: len(_BEARER)].lower() != _BEARER:
        return ""
    return value[len(_BEARER) :].strip()


def _certificate_name(context: grpc.aio.ServicerContext, source: str) -> str | None:
    """The identity of a verified client certificate (CN or first SAN), or None."""
    auth = context.auth_context() or {}
    if auth.get("transport_security_type") != [b"ssl"]:
        return None
    key = "x509_common_name" if source == "cn" else "x509_subject_alternative_name"
    values = auth.get(key) or []
    return values[0].decode(errors="replace") if values else None


class _Refused(DomainError):
    """A refusal of an identified caller (scope): the audit line names the identity."""

    def __init__(self, principal: Principal, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.principal = principal


def _denied(kind: ErrorKind, reason: FailureReason, message: str, **kw: Any) -> DomainError:
    return DomainError(kind, reason, message, **kw)


def _error_reason(context: grpc.aio.ServicerContext) -> str:
    """The ErrorInfo reason of the status a handler ended the call with ("" when none)."""
    try:
        trailing = context.trailing_metadata() or ()
        raw = next((v for k, v in trailing if k == "grpc-status-details-bin"), None)
        if not isinstance(raw, bytes):
            return ""
        status = status_pb2.Status.FromString(raw)
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                return info.reason
    except Exception:  # the reason is a courtesy of the audit line, never its failure
        return ""
    return ""


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Allow-list, authentication, scopes and audit for every call (see the module doc)."""

    def __init__(
        self,
        auth: AuthConfig,
        tokens: TokenFile | None = None,
        *,
        admin_token: Secret | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.auth = auth
        self.tokens = tokens
        self._admin_token = admin_token or Secret("")
        self._clock = clock
        self._networks = [ipaddress.ip_network(c, strict=False) for c in auth.allow_cidrs]
        self.limiter = FailureLimiter(auth.failure_burst, auth.failure_rate, monotonic)
        self.failures = 0
        """Refused authentications (every one, rate-limited or not)."""
        self.rate_limited = 0
        """Of those, answered AUTH_RATE_LIMITED instead of being checked and audited one by one."""

    # --- the decision ------------------------------------------------------------------------

    def _admit(
        self, method: str, metadata: Mapping[str, str | bytes], context: grpc.aio.ServicerContext
    ) -> Principal:
        peer = context.peer() or ""
        if self._networks:
            ip = peer_ip(peer)
            if ip is None or not any(ip in net for net in self._networks):
                raise _denied(
                    ErrorKind.PERMISSION_DENIED,
                    FailureReason.PEER_NOT_ALLOWED,
                    "your address is not in the broker's allow-list",
                )
        if is_open(
            method, open_health=self.auth.open_health, open_reflection=self.auth.open_reflection
        ):
            return ANONYMOUS
        rule = rule_for(method)
        if not self.auth.enabled:
            if rule.scope == ADMIN and self._admin_token:
                sent = (_bearer(metadata) or "").encode()
                if not hmac.compare_digest(sent, self._admin_token.reveal().encode()):
                    raise _denied(
                        ErrorKind.UNAUTHENTICATED,
                        FailureReason.ADMIN_TOKEN_REQUIRED,
                        "this is an admin RPC: send `authorization: Bearer <admin_token>`",
                    )
                return Principal("admin", frozenset(SCOPES), "admin_token")
            return ANONYMOUS
        principal = self._authenticate(metadata, context)
        if rule.scope not in principal.scopes:
            raise _Refused(
                principal,
                ErrorKind.PERMISSION_DENIED,
                FailureReason.SCOPE_DENIED,
                f"identity {principal.name!r} lacks scope {rule.scope!r} for this RPC",
                metadata={"scope": rule.scope},
            )
        return principal

    def _authenticate(
        self, metadata: Mapping[str, str | bytes], context: grpc.aio.ServicerContext
    ) -> Principal:
        bearer = _bearer(metadata)
        try:
            if bearer is not None:
                return self._by_token(bearer)
            name = _certificate_name(context, self.auth.cert_identity)
            if name is not None:
                record = self.tokens.lookup(name) if self.tokens else None
                if record is None:
                    raise _denied(
                        ErrorKind.UNAUTHENTICATED,
                        FailureReason.CREDENTIALS_INVALID,
                        f"the client certificate's identity {name!r} is not in the identity table",
                    )
                return Principal(record.name, record.scopes, "certificate")
        except TokenFileError as err:
            log_event(log, logging.ERROR, "auth_table_unusable", error=str(err))
            raise _denied(
                ErrorKind.UNAUTHENTICATED,
                FailureReason.CREDENTIALS_INVALID,
                "the broker's identity table is unusable; see its log",
            ) from None
        raise _denied(
            ErrorKind.UNAUTHENTICATED,
            FailureReason.CREDENTIALS_MISSING,
            "send `authorization: Bearer <token>` or a client certificate",
        )

    def _by_token(self, bearer: str) -> Principal:
        if not bearer:
            raise _denied(
                ErrorKind.UNAUTHENTICATED,
                FailureReason.CREDENTIALS_INVALID,
                "the authorization header is not `Bearer <token>` or the token is empty",
            )
        check = self.tokens.authenticate(bearer, self._clock()) if self.tokens else None
        if check is None or check.identity is None:
            expired = check is not None and check.failure == "expired"
            raise _denied(
                ErrorKind.UNAUTHENTICATED,
                FailureReason.CREDENTIALS_EXPIRED if expired else FailureReason.CREDENTIALS_INVALID,
                "the token has expired" if expired else "the token is not valid",
            )
        return Principal(check.identity.name, check.identity.scopes, "token")

    def _refusal(self, err: DomainError, method: str, peer: str, rid: str) -> DomainError:
        """Count and audit a refusal; past the address's failure budget, answer
        AUTH_RATE_LIMITED (RetryInfo) and audit only the first of the run."""
        if err.kind is not ErrorKind.UNAUTHENTICATED:
            who = err.principal if isinstance(err, _Refused) else None
            audit(
                identity=who.name if who else "",
                via=who.via if who else "",
                peer=peer,
                rpc=method,
                outcome=err.kind.value,
                reason=err.reason.value,
                request_id=rid,
            )
            _failures.add(1, {"reason": err.reason.value})
            return err
        self.failures += 1
        _failures.add(1, {"reason": err.reason.value})
        host = str(peer_ip(peer) or peer)
        wait = self.limiter.fail(host)
        if wait is None:
            audit(
                identity="",
                via="",
                peer=peer,
                rpc=method,
                outcome=err.kind.value,
                reason=err.reason.value,
                request_id=rid,
            )
            return err
        self.rate_limited += 1
        if self.rate_limited == 1 or self.rate_limited % 1000 == 0:
            audit(
                identity="",
                via="",
                peer=peer,
                rpc=method,
                outcome="RESOURCE_EXHAUSTED",
                reason=FailureReason.AUTH_RATE_LIMITED.value,
                request_id=rid,
                rate_limited_total=self.rate_limited,
            )
        return _denied(
            ErrorKind.RESOURCE_EXHAUSTED,
            FailureReason.AUTH_RATE_LIMITED,
            "too many failed authentications from your address",
            retry_after=max(wait, 0.001),
        )

    # --- the plumbing ------------------------------------------------------------------------

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method or ""
        metadata = _metadata(handler_call_details)
        rid = request_id(metadata)
        audited = rule_for(method).scope in MUTATING_SCOPES and not is_open(
            method, open_health=self.auth.open_health, open_reflection=self.auth.open_reflection
        )

        async def enter(context: grpc.aio.ServicerContext) -> Principal:
            try:
                return self._admit(method, metadata, context)
            except DomainError as err:
                refusal = self._refusal(err, method, context.peer() or "", rid)
                await context.abort_with_status(to_status(refusal))
                raise AssertionError("unreachable") from None  # abort raises

        def leave(context: grpc.aio.ServicerContext, principal: Principal, ok: bool) -> None:
            if not audited:
                return
            audit(
                identity=principal.name,
                via=principal.via,
                peer=context.peer() or "",
                rpc=method,
                outcome="OK" if ok else _code_name(context),
                reason="" if ok else _error_reason(context),
                request_id=rid,
            )

        if handler is None:
            # An unknown method: UNIMPLEMENTED, but only once the caller is admitted.
            async def unknown(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await enter(context)
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"unknown method {method}")

            return grpc.unary_unary_rpc_method_handler(unknown)
        return wrap_handler(handler, enter, leave)


def _code_name(context: grpc.aio.ServicerContext) -> str:
    try:
        code = context.code()
    except Exception:  # pragma: no cover - older grpc without ServicerContext.code()
        code = None
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "CANCELLED" if code is None else str(code)


Enter = Callable[[grpc.aio.ServicerContext], Awaitable[Principal]]
Leave = Callable[[grpc.aio.ServicerContext, Principal, bool], None]


def wrap_handler(handler: grpc.RpcMethodHandler, enter: Enter, leave: Leave) -> Any:
    """``handler`` run after ``enter`` (which admits the call or aborts it), with the
    principal in the context variable, and ``leave`` told whether the call succeeded."""

    async def run(context: grpc.aio.ServicerContext, call: Callable[[], Awaitable[Any]]) -> Any:
        principal = await enter(context)
        reset = _current.set(principal)
        ok = False
        try:
            result = await call()
            ok = True
            return result
        finally:
            _current.reset(reset)
            leave(context, principal, ok)

    async def stream(
        context: grpc.aio.ServicerContext, items: Callable[[], AsyncIterator[Any]]
    ) -> AsyncIterator[Any]:
        principal = await enter(context)
        reset = _current.set(principal)
        ok = False
        try:
            async for item in items():
                yield item
            ok = True
        finally:
            _current.reset(reset)
            leave(context, principal, ok)

    des, ser = handler.request_deserializer, handler.response_serializer
    if handler.unary_unary:
        uu = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            return await run(context, lambda: uu(request, context))

        return grpc.unary_unary_rpc_method_handler(unary_unary, des, ser)
    if handler.unary_stream:
        us = handler.unary_stream
        if not inspect.isasyncgenfunction(us):

            async def unary_writer(request: Any, context: grpc.aio.ServicerContext) -> None:
                await run(context, lambda: us(request, context))

            return grpc.unary_stream_rpc_method_handler(unary_writer, des, ser)

        async def unary_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async for item in stream(context, lambda: us(request, context)):
                yield item

        return grpc.unary_stream_rpc_method_handler(unary_stream, des, ser)
    if handler.stream_unary:
        su = handler.stream_unary

        async def stream_unary(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            return await run(context, lambda: su(requests, context))

        return grpc.stream_unary_rpc_method_handler(stream_unary, des, ser)
    ss = handler.stream_stream
    if not inspect.isasyncgenfunction(ss):

        async def bidi_writer(requests: Any, context: grpc.aio.ServicerContext) -> None:
            await run(context, lambda: ss(requests, context))

        return grpc.stream_stream_rpc_method_handler(bidi_writer, des, ser)

    async def bidi(requests: Any, context: grpc.aio.ServicerContext) -> Any:
        async for item in stream(context, lambda: ss(requests, context)):
            yield item

    return grpc.stream_stream_rpc_method_handler(bidi, des, ser)


class OwnerInterceptor(grpc.aio.ServerInterceptor):
    """Makes the authenticated identity the owner of what a request acts on (module doc)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method or ""
        if handler is None or not (handler.unary_unary or handler.unary_stream):
            return handler
        rule = rule_for(method)

        async def check(request: Any, context: grpc.aio.ServicerContext) -> None:
            principal = _current.get()
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
