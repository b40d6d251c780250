"""Lease rows of the SQLite store <-> the domain's records."""

from __future__ import annotations

import sqlite3
from typing import Any

from broker_server.domain.leases import (
    ClientIdRow,
    LeaseMode,
    LeaseRecord,
    LeaseState,
    Quarantine,
    QuarantineReason,
)


def lease_from_row(row: sqlite3.Row) -> LeaseRecord:
    return LeaseRecord(
        lease_id=row["lease_id"],
        gateway=row["gateway"],
        client_id=row["client_id"],
        epoch=row["epoch"],
        owner=row["owner"],
        mode=LeaseMode(row["mode"]),
        state=LeaseState(row["state"]),
        ttl=row["ttl"],
        acquire_time=row["acquire_time"],
        expire_time=row["expire_time"],
        end_time=row["end_time"],
        request_id=row["request_id"] or "",
    )


def client_id_from_row(row: sqlite3.Row) -> ClientIdRow:
    quarantine = None
    if row["quarantine_until"] is not None:
        quarantine = Quarantine(
            row["gateway"],
            row["client_id"],
            row["quarantine_until"],
            LeaseMode(row["quarantine_mode"]),
            QuarantineReason(row["quarantine_reason"]),
        )
    return ClientIdRow(row["gateway"], row["client_id"], row["epoch_high_water"], quarantine)


def lease_params(lease: LeaseRecord) -> dict[str, Any]:
    return {
        "lease_id": lease.lease_id,
        "gateway": lease.gateway,
        "client_id": lease.client_id,
        "epoch": lease.epoch,
        "owner": lease.owner,
        "mode": lease.mode.value,
        "state": lease.state.value,
        "ttl": lease.ttl,
        "acquire_time": lease.acquire_time,
        "expire_time": lease.expire_time,
        "end_time": lease.end_time,
        "request_id": lease.request_id or None,
    }
