"""Rows of the PostgreSQL store: records to and from rows, and the keys that order calls."""

from __future__ import annotations

import re
from collections.abc import Hashable
from urllib.parse import urlsplit, urlunsplit

from broker_server.domain.leases import LeaseRecord

COLUMNS = (
    "lease_id, gateway, client_id, epoch, owner, mode, state, ttl, acquire_time, "
    "expire_time, end_time, request_id"
)
"""The lease columns, in the order of :func:`lease_from_row` and the inserts."""

_PASSWORD = re.compile(r"(password=)[^&]*", re.IGNORECASE)


def id_key(gateway: str, client_id: int) -> Hashable:
    return ("id", gateway, client_id)


def lease_keys(lease: LeaseRecord) -> list[Hashable]:
    keys: list[Hashable] = [("lease", lease.lease_id), id_key(lease.gateway, lease.client_id)]
    if lease.request_id:
        keys.append(("request", lease.owner, lease.request_id))
    return keys


def redact(dsn: str) -> str:
    """The DSN without its password (in the user part or a ``password=`` parameter)."""
    parts = urlsplit(dsn)
    if "@" in parts.netloc:
        creds, host = parts.netloc.rsplit("@", 1)
        dsn = urlunsplit(parts._replace(netloc=f"{creds.split(':', 1)[0]}@{host}"))
    return _PASSWORD.sub(r"\1***", dsn)
