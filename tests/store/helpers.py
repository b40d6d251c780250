"""Lease records and raw-file helpers for the store tests (real SQLite files, no mocks)."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from broker_server.domain.leases import (
    LeaseMode,
    LeaseRecord,
    LeaseState,
    Quarantine,
    QuarantineReason,
)


def lease(
    client_id: int, *, owner: str = "a", epoch: int = 1, at: float = 1000.0, request_id: str = ""
) -> LeaseRecord:
    """An active DIRECT lease on gateway ``paper`` acquired at ``at`` with a 30 s TTL."""
    return LeaseRecord(
        str(uuid.uuid4()),
        "paper",
        client_id,
        epoch,
        owner,
        LeaseMode.DIRECT,
        LeaseState.ACTIVE,
        30.0,
        at,
        at + 30.0,
        request_id=request_id,
    )


def ended(record: LeaseRecord, at: float) -> tuple[LeaseRecord, Quarantine]:
    """``record`` released at ``at``, and the quarantine of its ID."""
    done = replace(record, state=LeaseState.RELEASED, end_time=at, expire_time=at)
    return done, Quarantine(
        record.gateway, record.client_id, at + 5.0, record.mode, QuarantineReason.RELEASED
    )


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold the file's write lock from another connection (as a second process would), so the
    store's writer waits in BEGIN IMMEDIATE and every call made meanwhile queues up."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=10)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


def rows(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Read the file through a connection of its own (what is committed, nothing else)."""
    conn = sqlite3.connect(path)
    try:
        return [tuple(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()
