"""Who is calling, and may they: the one identity and authorization seam of every service.

Each RPC resolves its :class:`Caller` once, from the call's metadata and its request, through
:meth:`Identity.resolve`; admin RPCs then call :meth:`Identity.require_admin`. Nothing else in
the services looks at metadata or compares tokens, so real identities (bearer tokens per
strategy, mTLS peer certificates) replace this class and nothing else.

Authentication and scopes are decided before any servicer runs, by
:class:`~broker_server.services.auth.AuthInterceptor` (one gate for every service); its
:class:`~broker_server.services.auth.Principal` is read here from the call's context. With
``auth.enabled`` the request's ``owner`` has been made the authenticated identity (or a label
under it) by :class:`~broker_server.services.auth.OwnerInterceptor` before the servicer sees it.
With auth off, the caller's name is the request's ``owner`` as sent, and admin RPCs need
``authorization: Bearer <server.admin_token>`` when a token is configured, compared in constant
time (:func:`hmac.compare_digest`) by the interceptor and again here (servicers used without
the interceptor, in tests, keep the check).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

import grpc

from broker_server.config import Secret
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.services.principal import Principal, current_principal

_BEARER = "bearer "


@dataclass(frozen=True)
class Caller:
    """The party behind one RPC, resolved once per call."""

    name: str
    """Who the caller says it is: the lease ``owner`` (empty when the request has none)."""
    peer: str
    """The transport peer (``ipv4:127.0.0.1:54321``), for logs."""
    bearer: Secret = field(default_factory=lambda: Secret(""))
    """The bearer token the call presented in ``authorization`` (empty: none)."""
    principal: Principal | None = None
    """The authenticated identity (None when the call did not pass the auth interceptor)."""

    def __repr__(self) -> str:
        return f"<Caller {self.name!r} from {self.peer} bearer={self.bearer!r}>"


def _bearer(metadata: Mapping[str, str | bytes]) -> Secret:
    value = metadata.get("authorization", "")
    if isinstance(value, bytes):
        return Secret("")
    if value[: len(_BEARER)].lower() != _BEARER:
        return Secret("")
    return Secret(value[len(_BEARER) :].strip())


class Identity:
    """Resolves callers and decides what they may do; built once from the server config."""

    def __init__(self, admin_token: Secret | None = None) -> None:
        self._admin_token = admin_token or Secret("")

    def resolve(self, request: object, context: grpc.aio.ServicerContext) -> Caller:
        """The caller of this RPC (call once per RPC, at its start)."""
        metadata = {k.lower(): v for k, v in (context.invocation_metadata() or ())}
        try:
            peer = context.peer() or ""
        except Exception:  # a context without a transport (never in a real server)
            peer = ""
        return Caller(
            name=str(getattr(request, "owner", "")),
            peer=peer,
            bearer=_bearer(metadata),
            principal=current_principal(),
        )

    def require_admin(self, caller: Caller, rpc: str) -> None:
        """UNAUTHENTICATED (ADMIN_TOKEN_REQUIRED) unless ``caller`` may call admin RPC ``rpc``.

        With no admin token configured, admin RPCs are open (documented in the README). A call
        the auth interceptor admitted was checked there (scope ``admin``)."""
        if caller.principal is not None or not self._admin_token:
            return
        expected = self._admin_token.reveal().encode()
        if not hmac.compare_digest(caller.bearer.reveal().encode(), expected):
            raise DomainError(
                ErrorKind.UNAUTHENTICATED,
                FailureReason.ADMIN_TOKEN_REQUIRED,
                f"{rpc} is an admin RPC: send `authorization: Bearer <admin_token>`",
            )

    def __repr__(self) -> str:
        return f"<Identity admin_token={'set' if self._admin_token else 'none'}>"
