"""The authenticated caller of a call, as the rest of the call sees it.

:class:`~broker_server.services.auth.AuthInterceptor` admits a call and puts its
:class:`Principal` in a context variable for the rest of the call (every handler runs in its
own task, so the variable is per call); the owner check, the identity limits and
:mod:`broker_server.services.identity` read it with :func:`current_principal`.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from broker_server.config_security import SCOPES
from broker_server.services.scopes import ADMIN


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

CURRENT: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "ibbroker_principal", default=None
)


def current_principal() -> Principal | None:
    """The principal of the call running in this task (None outside an intercepted call)."""
    return CURRENT.get()
