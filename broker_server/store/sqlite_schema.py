"""The SQLite store's file: its schema, migrations and the checks made before anything is
written (a foreign, corrupt or newer file is refused untouched).

The schema is versioned with ``PRAGMA user_version`` and migrated forward by :data:`MIGRATIONS`
(append only); ``PRAGMA application_id`` marks the file as an ibbroker store.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from broker_server.logs import log_event
from broker_server.store.base import StoreError

log = logging.getLogger("ibbroker.store")

APPLICATION_ID = 0x49424B52
"""``PRAGMA application_id`` of an ibbroker store ("IBKR"), so another program's file is refused."""
SQLITE_HEADER = b"SQLite format 3\x00"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: leases, and per client ID the epoch high-water mark and quarantine.
    (
        f"PRAGMA application_id = {APPLICATION_ID}",
        """CREATE TABLE leases (
            lease_id     TEXT PRIMARY KEY,
            gateway      TEXT NOT NULL,
            client_id    INTEGER NOT NULL,
            epoch        INTEGER NOT NULL,
            owner        TEXT NOT NULL,
            mode         TEXT NOT NULL,
            state        TEXT NOT NULL,
            ttl          REAL NOT NULL,
            acquire_time REAL NOT NULL,
            expire_time  REAL NOT NULL,
            end_time     REAL,
            request_id   TEXT
        )""",
        # The storage-level guard of the core rule: at most one live holder per client ID.
        "CREATE UNIQUE INDEX leases_one_holder ON leases (gateway, client_id) WHERE state = 'ACTIVE'",
        "CREATE UNIQUE INDEX leases_request ON leases (owner, request_id) WHERE request_id IS NOT NULL",
        "CREATE INDEX leases_end ON leases (end_time)",
        """CREATE TABLE client_ids (
            gateway           TEXT NOT NULL,
            client_id         INTEGER NOT NULL,
            epoch_high_water  INTEGER NOT NULL,
            quarantine_until  REAL,
            quarantine_mode   TEXT,
            quarantine_reason TEXT,
            PRIMARY KEY (gateway, client_id)
        )""",
    ),
    # 2: the order journal (store/order_journal.py): intents by (owner, key, role), order-ID
    # high-water per (gateway, client ID), the bounded order-event log, fill dedup by execId.
    (
        """CREATE TABLE orders (
            order_ref   TEXT PRIMARY KEY,
            owner       TEXT NOT NULL,
            idem_key    TEXT NOT NULL,
            role        TEXT NOT NULL,
            param_hash  TEXT NOT NULL,
            gateway     TEXT NOT NULL,
            client_id   INTEGER NOT NULL,
            order_id    INTEGER NOT NULL,
            state       TEXT NOT NULL,
            created_at  REAL NOT NULL,
            updated_at  REAL NOT NULL,
            entry       TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX orders_key ON orders (owner, idem_key, role)",
        "CREATE INDEX orders_state ON orders (state)",
        """CREATE TABLE order_ids (
            gateway     TEXT NOT NULL,
            client_id   INTEGER NOT NULL,
            high_water  INTEGER NOT NULL,
            PRIMARY KEY (gateway, client_id)
        )""",
        """CREATE TABLE order_events (
            sequence    INTEGER PRIMARY KEY,
            time        REAL NOT NULL,
            order_ref   TEXT NOT NULL,
            kind        TEXT NOT NULL,
            body        TEXT NOT NULL
        )""",
        """CREATE TABLE order_fills (
            exec_id     TEXT PRIMARY KEY,
            order_ref   TEXT NOT NULL,
            time        REAL NOT NULL
        )""",
    ),
)
"""Schema migrations; entry N-1 takes ``user_version`` N-1 to N. Append only."""
SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes."""


def open_store_file(path: Path) -> sqlite3.Connection:
    """Open (or create) ``path`` as an ibbroker store: refuse a foreign, corrupt or newer file
    without writing a byte, then switch to WAL + ``synchronous=FULL`` and migrate forward."""
    exists = path.exists() and path.stat().st_size > 0
    if exists:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
        if header != SQLITE_HEADER:
            raise StoreError(
                f"{path}: not an SQLite database (corrupt or foreign file); left untouched"
            )
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"{path}: cannot create its folder: {err}") from None
    mode = "rw" if exists else "rwc"
    try:
        conn = sqlite3.connect(
            f"file:{path}?mode={mode}",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as err:
        raise StoreError(f"{path}: cannot open: {err}") from None
    conn.row_factory = sqlite3.Row
    try:
        _check(path, conn, exists)
        # Only now, with the file known to be ours and not newer, may anything be written.
        mode_row = conn.execute("PRAGMA journal_mode=WAL").fetchone()
        if mode_row[0].lower() != "wal":
            raise StoreError(f"{path}: cannot switch to WAL mode (got {mode_row[0]})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        _migrate(path, conn)
    except sqlite3.Error as err:
        conn.close()
        raise StoreError(f"{path}: corrupt or unreadable store ({err}); left untouched") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _check(path: Path, conn: sqlite3.Connection, exists: bool) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if not exists:
        return
    check = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if check != ["ok"]:
        raise StoreError(f"{path}: corrupt store ({'; '.join(check[:3])}); left untouched")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: schema version {version} is newer than this broker's {SCHEMA_VERSION}; "
            "upgrade the broker or point --store elsewhere (file left untouched)"
        )
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").fetchone()[0]
    if (version > 0 and app != APPLICATION_ID) or (version == 0 and tables > 0):
        raise StoreError(f"{path}: an SQLite file of another application; left untouched")


def _migrate(path: Path, conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for target in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[target - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log_event(log, logging.INFO, "store_migrated", path=str(path), schema_version=target)
