"""Lease request checks: the one place a caller's lease input is validated.

The gRPC edge decodes a request and calls one of these; what they return (an
:class:`AcquireRequest` or a :class:`FencedRequest`) is what the lease manager accepts, so input
is checked once and the types say it was. Every problem is reported at once as an
INVALID_ARGUMENT with one field violation each.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable

from broker_server.domain.errors import DomainError, FieldViolation, invalid_argument
from broker_server.domain.lease_policy import GatewayIds, LeasePolicy
from broker_server.domain.lease_records import AcquireRequest, FencedRequest, LeaseMode

MAX_OWNER_LENGTH = 256
"""Longest owner string accepted."""
MAX_REQUEST_ID_LENGTH = 256
"""Longest request_id accepted."""


def _check_owner(owner: str, violations: list[FieldViolation]) -> None:
    if not owner.strip():
        violations.append(FieldViolation("owner", "must not be empty"))
    elif len(owner) > MAX_OWNER_LENGTH:
        violations.append(FieldViolation("owner", f"must be at most {MAX_OWNER_LENGTH} characters"))


def _check_ttl(ttl: float | None, policy: LeasePolicy, violations: list[FieldViolation]) -> None:
    t = policy.times
    if ttl is not None and (not math.isfinite(ttl) or not t.min_ttl <= ttl <= t.max_ttl):
        violations.append(
            FieldViolation(
                "ttl", f"must be between {t.min_ttl:g} s and {t.max_ttl:g} s, got {ttl:g} s"
            )
        )


def _unknown_gateway(gateway: str, policy: LeasePolicy) -> FieldViolation:
    known = ", ".join(policy.gateway_names)
    return FieldViolation("gateway", f"no gateway named {gateway[:64]!r} (known: {known})")


def parse_lease_id(lease_id: str, field: str = "lease_id") -> str:
    """The canonical form of ``lease_id``; INVALID_ARGUMENT when it is not a UUID."""
    try:
        return str(uuid.UUID(lease_id))
    except (ValueError, TypeError, AttributeError):
        raise invalid_argument(
            FieldViolation(field, f"must be a UUID, got {lease_id[:64]!r}")
        ) from None


def validate_filter(policy: LeasePolicy, *, gateway: str = "", owner: str = "") -> None:
    """Check a ListLeases or WatchLeases filter (empty means all); INVALID_ARGUMENT with a
    violation per bad field: unknown ``gateway``, over-long ``owner``."""
    violations: list[FieldViolation] = []
    if gateway and gateway not in policy.gateway_names:
        violations.append(_unknown_gateway(gateway, policy))
    if len(owner) > MAX_OWNER_LENGTH:
        violations.append(FieldViolation("owner", f"must be at most {MAX_OWNER_LENGTH} characters"))
    if violations:
        raise invalid_argument(*violations)


def validate_acquire(
    policy: LeasePolicy,
    *,
    owner: str,
    gateway: str = "",
    ttl: float | None = None,
    mode: LeaseMode = LeaseMode.DIRECT,
    client_id: int | None = None,
    request_id: str = "",
    extra: Iterable[FieldViolation] = (),
) -> AcquireRequest:
    """Check an acquire's fields, all at once; INVALID_ARGUMENT lists every bad one.

    ``extra`` carries violations found while decoding (for example an unknown ``mode`` number).
    """
    violations = list(extra)
    _check_owner(owner, violations)
    _check_ttl(ttl, policy, violations)
    gw: GatewayIds | None = None
    try:
        gw = policy.gateway(gateway or policy.default_gateway)
    except KeyError:
        violations.append(_unknown_gateway(gateway, policy))
    if client_id is not None and gw is not None:
        if not gw.client_id_min <= client_id <= gw.client_id_max:
            violations.append(
                FieldViolation(
                    "client_id",
                    f"must be within gateway {gw.name!r}'s range "
                    f"{gw.client_id_min}-{gw.client_id_max}, got {client_id}",
                )
            )
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        violations.append(
            FieldViolation("request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters")
        )
    if violations:
        raise invalid_argument(*violations)
    assert gw is not None
    return AcquireRequest(
        owner=owner,
        gateway=gw.name,
        ttl=policy.times.default_ttl if ttl is None else ttl,
        mode=mode,
        client_id=client_id,
        request_id=request_id,
    )


def validate_fenced(
    policy: LeasePolicy,
    *,
    lease_id: str,
    epoch: int,
    owner: str,
    ttl: float | None = None,
    extra: Iterable[FieldViolation] = (),
) -> FencedRequest:
    """Check a renew's or release's fields, all at once; the lease_id comes back canonical."""
    violations = list(extra)
    canonical = ""
    try:
        canonical = parse_lease_id(lease_id)
    except DomainError as err:
        violations.extend(err.violations)
    if epoch < 1:
        violations.append(FieldViolation("epoch", "must be the lease's epoch (>= 1)"))
    _check_owner(owner, violations)
    _check_ttl(ttl, policy, violations)
    if violations:
        raise invalid_argument(*violations)
    return FencedRequest(lease_id=canonical, owner=owner, epoch=epoch, ttl=ttl)
