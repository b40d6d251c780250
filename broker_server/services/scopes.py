"""The scope each RPC needs: one table, checked against the protos by a test.

``tests/security/test_scopes.py`` walks every service of ``broker_client/ibbroker/v1`` and fails
when an RPC is missing here (or here and not in the protos), so a new RPC cannot ship without
deciding who may call it. Methods of grpc's own services (health, reflection) are listed in
:data:`OPEN_SERVICES`: open without credentials when ``auth.open_health`` / ``open_reflection``
say so, otherwise they need ``read``.

Owner fields: a request's ``owner`` is the caller's own name or a label under it
(``alice`` or ``alice/momentum``); another identity's owner needs ``admin``, and so does
``all_owners = true`` (see docs/security.md). In the filters of ListLeases and WatchLeases an
empty owner means every owner (those are reads); in every other request an empty owner is
filled with the caller's identity.
"""

from __future__ import annotations

from dataclasses import dataclass

READ, LEASE, TRADE, ADMIN = "read", "lease", "trade", "admin"

HEALTH_SERVICE = "grpc.health.v1.Health"
REFLECTION_SERVICES = (
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)


@dataclass(frozen=True)
class Rule:
    """What one RPC needs."""

    scope: str
    """The scope the caller must hold."""
    owner_is_filter: bool = False
    """The request's ``owner`` filters what is shown (empty: all) rather than naming who asks."""


_LEASE = "/ibbroker.v1.LeaseService/"
_CONN = "/ibbroker.v1.ConnectionService/"
_TRADE = "/ibbroker.v1.TradingService/"

RULES: dict[str, Rule] = {
    _LEASE + "AcquireLease": Rule(LEASE),
    _LEASE + "RenewLease": Rule(LEASE),
    _LEASE + "ReleaseLease": Rule(LEASE),
    _LEASE + "GetLease": Rule(READ),
    _LEASE + "ListLeases": Rule(READ, owner_is_filter=True),
    _LEASE + "WatchLeases": Rule(READ, owner_is_filter=True),
    _CONN + "GetConnectionState": Rule(READ),
    _CONN + "WatchConnectionState": Rule(READ),
    _CONN + "GetHealth": Rule(READ),
    _CONN + "WatchHealth": Rule(READ),
    _CONN + "ListSessions": Rule(READ),
    _CONN + "Reconnect": Rule(ADMIN),
    _TRADE + "GetCurrentTime": Rule(READ),
    _TRADE + "GetContractDetails": Rule(READ),
    _TRADE + "GetPositions": Rule(READ),
    _TRADE + "GetAccountSummary": Rule(READ),
    _TRADE + "ListOpenOrders": Rule(READ),
    _TRADE + "ListExecutions": Rule(READ),
    _TRADE + "ListCompletedOrders": Rule(READ),
    _TRADE + "PlaceOrder": Rule(TRADE),
    _TRADE + "ModifyOrder": Rule(TRADE),
    _TRADE + "CancelOrder": Rule(TRADE),
    _TRADE + "WatchOrderEvents": Rule(READ),
    _TRADE + "WatchMarketData": Rule(READ),
    _TRADE + "GetMarketDataLines": Rule(READ),
    _TRADE + "GetHistoricalBars": Rule(READ),
}
"""Full method name (``/package.Service/Method``) -> its rule."""

MUTATING_SCOPES = frozenset({LEASE, TRADE, ADMIN})
"""Calls needing one of these are audited one line each (reads are not)."""


def service_of(method: str) -> str:
    """``/pkg.Service/Method`` -> ``pkg.Service``."""
    return method.lstrip("/").partition("/")[0]


def is_open(method: str, *, open_health: bool, open_reflection: bool) -> bool:
    """True when ``method`` may be called without credentials."""
    service = service_of(method)
    if service == HEALTH_SERVICE:
        return open_health
    if service in REFLECTION_SERVICES:
        return open_reflection
    return False


def rule_for(method: str) -> Rule:
    """The rule of ``method``; grpc's own services and unknown methods need ``read`` (an
    unknown method then answers UNIMPLEMENTED, but only to an authenticated caller)."""
    return RULES.get(method) or Rule(READ)
