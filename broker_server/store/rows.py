"""Lease rows <-> the domain's records, for every store: a row is anything indexed by column
name (``sqlite3.Row``, ``asyncpg.Record``)."""

from __future__ import annotations

from typing import Any, Protocol

from broker_server.domain.leases import (
    ClientIdRow,
    LeaseMode,
    LeaseRecord,
    LeaseState,
    Quarantine,
    QuarantineReason,
)


class Row(Protocol):
    """A result row read by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


def lease_from_row(row: Row) -> LeaseRecord:
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


def client_id_from_row(row: Row) -> ClientIdRow:
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
