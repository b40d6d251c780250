"""The one authentication and authorization gate of every service (docs/security.md).

:class:`AuthInterceptor` runs first on every call, before the request is parsed and before any
servicer code: it refuses a peer outside ``auth.allow_cidrs`` (PERMISSION_DENIED
PEER_NOT_ALLOWED), authenticates the caller (bearer token, else client certificate), checks the
RPC's scope from :mod:`broker_server.services.scopes` and audits the call. The authenticated
:class:`Principal` is put in a context variable for the rest of the call
(:mod:`broker_server.services.principal`, :mod:`broker_server.services.call_wrap`), where the
owner check (:mod:`broker_server.services.owner`), the identity limits and
:mod:`broker_server.services.identity` read it.

With ``auth.enabled = false`` (the default) every caller is the anonymous principal with every
scope, owners are taken as sent, and only ``server.admin_token`` (when set) guards admin RPCs.

Cost: what a method needs is decided once per method and its wrapped handler cached; a read with
auth off and no allow-list runs as registered (docs/security.md, "What the edge costs").
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
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
from broker_server.services.call_wrap import wrap_handler
from broker_server.services.errors import to_status
from broker_server.services.handler_cache import HandlerCache
from broker_server.services.owner import OwnerInterceptor
from broker_server.services.principal import ANONYMOUS, Principal, current_principal
from broker_server.services.scopes import ADMIN, MUTATING_SCOPES, is_open, rule_for
from broker_server.services.tokens import TokenFile, TokenFileError

__all__ = [
    "ANONYMOUS",
    "AuthInterceptor",
    "FailureLimiter",
    "OwnerInterceptor",
    "Principal",
    "current_principal",
    "peer_ip",
]

log = logging.getLogger("ibbroker.auth")

_failures = otel.get_meter("ibbroker").create_counter(
    "ibbroker.auth.failures", unit="{call}", description="Refused authentications, by reason."
)

_BEARER = "bearer "


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


def _metadata(context: grpc.aio.ServicerContext) -> dict[str, str | bytes]:
    return {k.lower(): v for k, v in (context.invocation_metadata() or ())}


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
        self._wrapped = HandlerCache()
        """Per method: the handler the chain gave, and what this interceptor made of it."""

    # --- the decision ------------------------------------------------------------------------

    def _admit(self, method: str, context: grpc.aio.ServicerContext) -> Principal:
        if self._networks:
            ip = peer_ip(context.peer() or "")
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
                sent = (_bearer(_metadata(context)) or "").encode()
                if not hmac.compare_digest(sent, self._admin_token.reveal().encode()):
                    raise _denied(
                        ErrorKind.UNAUTHENTICATED,
                        FailureReason.ADMIN_TOKEN_REQUIRED,
                        "this is an admin RPC: send `authorization: Bearer <admin_token>`",
                    )
                return Principal("admin", frozenset(SCOPES), "admin_token")
            return ANONYMOUS
        principal = self._authenticate(_metadata(context), context)
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

    def _refusal(
        self, err: DomainError, method: str, context: grpc.aio.ServicerContext
    ) -> DomainError:
        """Count and audit a refusal; past the address's failure budget, answer
        AUTH_RATE_LIMITED (RetryInfo) and audit only the first of the run."""
        peer = context.peer() or ""
        if err.reason is FailureReason.PEER_NOT_ALLOWED:
            _failures.add(1, {"reason": err.reason.value})
            # Refused whatever it sends; the budget only keeps a flood out of the audit log.
            if self.limiter.fail(str(peer_ip(peer) or peer)) is None:
                audit(
                    identity="",
                    via="",
                    peer=peer,
                    rpc=method,
                    outcome=err.kind.value,
                    reason=err.reason.value,
                    request_id=_request_id(context),
                )
            return err
        if err.kind is not ErrorKind.UNAUTHENTICATED:
            who = err.principal if isinstance(err, _Refused) else None
            audit(
                identity=who.name if who else "",
                via=who.via if who else "",
                peer=peer,
                rpc=method,
                outcome=err.kind.value,
                reason=err.reason.value,
                request_id=_request_id(context),
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
                request_id=_request_id(context),
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
                request_id=_request_id(context),
                rate_limited_total=self.rate_limited,
            )
        return _denied(
            ErrorKind.RESOURCE_EXHAUSTED,
            FailureReason.AUTH_RATE_LIMITED,
            "too many failed authentications from your address",
            retry_after=max(wait, 0.001),
        )

    # --- the plumbing ------------------------------------------------------------------------

    def _gate(self, method: str) -> _Gate | None:
        """What a call of ``method`` must pass, decided once per method; None when nothing:
        auth off, no allow-list, and a read (no audit line, no admin token to check). The
        handler then runs as registered and :func:`current_principal` is None, which the owner
        check, the identity limits and :mod:`broker_server.services.identity` take as the
        anonymous caller of auth-off mode (what ANONYMOUS would tell them)."""
        open_ = is_open(
            method, open_health=self.auth.open_health, open_reflection=self.auth.open_reflection
        )
        rule = rule_for(method)
        audited = rule.scope in MUTATING_SCOPES and not open_
        admin_checked = rule.scope == ADMIN and bool(self._admin_token) and not open_
        if not (self.auth.enabled or self._networks or audited or admin_checked):
            return None
        return _Gate(self, method, audited)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method or ""
        cached = self._wrapped.get(method, handler)
        if cached is not None:
            return cached  # the same registered handler: its wrapper, built once
        gate = self._gate(method)
        if handler is None:
            if gate is None:
                return None  # grpc answers UNIMPLEMENTED; there is no one to admit

            # An unknown method: UNIMPLEMENTED, but only once the caller is admitted. Not
            # cached: a caller chooses unknown names freely.
            async def unknown(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await gate.enter(context)
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"unknown method {method}")

            return grpc.unary_unary_rpc_method_handler(unknown)
        wrapped = handler if gate is None else wrap_handler(handler, gate.enter, gate.leave)
        return self._wrapped.put(method, handler, wrapped)


class _Gate:
    """Admission and audit of the calls of one method, built once per method: everything a
    call needs of its own (peer, metadata, request ID) is read from its context when used."""

    def __init__(self, auth: AuthInterceptor, method: str, audited: bool) -> None:
        self.auth = auth
        self.method = method
        self.leave: Callable[[grpc.aio.ServicerContext, Principal, bool], None] | None = (
            self._audit if audited else None
        )

    async def enter(self, context: grpc.aio.ServicerContext) -> Principal:
        try:
            return self.auth._admit(self.method, context)
        except DomainError as err:
            refusal = self.auth._refusal(err, self.method, context)
            await context.abort_with_status(to_status(refusal))
            raise AssertionError("unreachable") from None  # abort raises

    def _audit(self, context: grpc.aio.ServicerContext, principal: Principal, ok: bool) -> None:
        audit(
            identity=principal.name,
            via=principal.via,
            peer=context.peer() or "",
            rpc=self.method,
            outcome="OK" if ok else _code_name(context),
            reason="" if ok else _error_reason(context),
            request_id=_request_id(context),
        )


def _request_id(context: grpc.aio.ServicerContext) -> str:
    """The call's request ID, made only when an audit line is written (most calls write none)."""
    return request_id({k.lower(): v for k, v in (context.invocation_metadata() or ())})


def _code_name(context: grpc.aio.ServicerContext) -> str:
    try:
        code = context.code()
    except Exception:  # pragma: no cover - older grpc without ServicerContext.code()
        code = None
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "CANCELLED" if code is None else str(code)
