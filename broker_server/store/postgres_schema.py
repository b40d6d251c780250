"""The PostgreSQL store's schema: versioned migrations, and the checks that refuse a database the
broker must not touch (another application's, or a schema newer than this code).

The version lives in the one-row table ``ibbroker_schema`` (PostgreSQL has no ``user_version``);
migrations run in one transaction each under a transaction-level advisory lock, so two brokers
starting together on an empty database migrate it once. Append only, like the SQLite ones.
"""

from __future__ import annotations

import logging

import asyncpg

from broker_server.logs import log_event
from broker_server.store.base import StoreError

log = logging.getLogger("ibbroker.store")

APPLICATION = "ibbroker"
"""Written in ``ibbroker_schema.application``, so another program's table of that name is refused."""
MIGRATION_LOCK = 0x49424B52
"""The advisory lock key ("IBKR") migrations hold; only ibbroker brokers take it."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: leases, per client ID the epoch high-water mark and quarantine, and leadership.
    (
        """CREATE TABLE leases (
            lease_id     TEXT PRIMARY KEY,
            gateway      TEXT NOT NULL,
            client_id    INTEGER NOT NULL,
            epoch        BIGINT NOT NULL,
            owner        TEXT NOT NULL,
            mode         TEXT NOT NULL,
            state        TEXT NOT NULL,
            ttl          DOUBLE PRECISION NOT NULL,
            acquire_time DOUBLE PRECISION NOT NULL,
            expire_time  DOUBLE PRECISION NOT NULL,
            end_time     DOUBLE PRECISION,
            request_id   TEXT
        )""",
        # The storage-level guard of the core rule: at most one live holder per client ID. A
        # unique index holds under concurrent transactions at any isolation level.
        "CREATE UNIQUE INDEX leases_one_holder ON leases (gateway, client_id) WHERE state = 'ACTIVE'",
        "CREATE UNIQUE INDEX leases_request ON leases (owner, request_id) WHERE request_id IS NOT NULL",
        "CREATE INDEX leases_end ON leases (end_time) WHERE state <> 'ACTIVE'",
        """CREATE TABLE client_ids (
            gateway           TEXT NOT NULL,
            client_id         INTEGER NOT NULL,
            epoch_high_water  BIGINT NOT NULL,
            quarantine_until  DOUBLE PRECISION,
            quarantine_mode   TEXT,
            quarantine_reason TEXT,
            PRIMARY KEY (gateway, client_id)
        )""",
        # One row per leadership scope: who leads, until when (the server's clock), and the
        # fencing epoch every write of the leader is checked against.
        """CREATE TABLE leadership (
            scope      TEXT PRIMARY KEY,
            holder     TEXT NOT NULL,
            address    TEXT NOT NULL,
            epoch      BIGINT NOT NULL,
            since      TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        )""",
    ),
    # 2: the order journal (store/postgres_journal.py), the SQLite journal's tables and columns:
    # intents by (owner, key, role), order-ID high-water per (gateway, client ID), the bounded
    # order-event log, fill dedup by exec ID.
    (
        """CREATE TABLE orders (
            order_ref   TEXT PRIMARY KEY,
            owner       TEXT NOT NULL,
            idem_key    TEXT NOT NULL,
            role        TEXT NOT NULL,
            param_hash  TEXT NOT NULL,
            gateway     TEXT NOT NULL,
            client_id   INTEGER NOT NULL,
            order_id    BIGINT NOT NULL,
            state       TEXT NOT NULL,
            created_at  DOUBLE PRECISION NOT NULL,
            updated_at  DOUBLE PRECISION NOT NULL,
            entry       TEXT NOT NULL
        )""",
        # One PlaceOrder key is one order (three for a bracket), whichever broker journals it:
        # the second of two racing inserts waits for the first's commit, then fails.
        "CREATE UNIQUE INDEX orders_key ON orders (owner, idem_key, role)",
        # Pruning walks the finished orders oldest first; live ones are never in this index.
        "CREATE INDEX orders_finished ON orders (updated_at) "
        "WHERE state IN ('FILLED', 'CANCELLED', 'REJECTED')",
        """CREATE TABLE order_ids (
            gateway     TEXT NOT NULL,
            client_id   INTEGER NOT NULL,
            high_water  BIGINT NOT NULL,
            PRIMARY KEY (gateway, client_id)
        )""",
        """CREATE TABLE order_events (
            sequence    BIGINT PRIMARY KEY,
            time        DOUBLE PRECISION NOT NULL,
            order_ref   TEXT NOT NULL,
            kind        TEXT NOT NULL,
            body        TEXT NOT NULL
        )""",
        """CREATE TABLE order_fills (
            exec_id     TEXT PRIMARY KEY,
            order_ref   TEXT NOT NULL,
            time        DOUBLE PRECISION NOT NULL
        )""",
    ),
    # 3: the alive mark in the leadership row (docs/leases.md "Restarts and pauses"): when its
    # holder was last known alive on the server's clock (each take, renewal and release), and
    # how long after that mark the holder may still have written (its local window; 0 after a
    # clean release). The next holder counts the downtime between them, whichever host it runs
    # on. NULL: no mark yet (a row from schema 2), so no downtime is counted.
    (
        "ALTER TABLE leadership ADD COLUMN alive_at TIMESTAMPTZ",
        "ALTER TABLE leadership ADD COLUMN alive_slack DOUBLE PRECISION NOT NULL DEFAULT 0",
    ),
)
"""Schema migrations; entry N-1 takes version N-1 to N. Append only."""
SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes."""
ALIVE_SCHEMA = 3
"""The first schema with the alive mark in the leadership row."""
TABLES = (
    "leases", "client_ids", "leadership", "orders", "order_ids", "order_events", "order_fills",
)  # fmt: skip
"""The tables the migrations create: any of them in a database without ``ibbroker_schema`` is
another application's, and the database is refused untouched."""


async def stored_version(conn: asyncpg.Connection, where: str) -> int:
    """The database's schema version, 0 for an empty database; refuses (StoreError, nothing
    written) a database of another application or with a schema newer than this code."""
    has_schema = await conn.fetchval("SELECT to_regclass('ibbroker_schema') IS NOT NULL")
    if not has_schema:
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name IN "
            f"({', '.join(repr(t) for t in TABLES)})"
        )
        if tables:
            raise StoreError(f"{where}: tables of another application; left untouched")
        return 0
    row = await conn.fetchrow("SELECT version, application FROM ibbroker_schema")
    if row is None or row["application"] != APPLICATION:
        raise StoreError(
            f"{where}: an ibbroker_schema table of another application; left untouched"
        )
    version = int(row["version"])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: schema version {version} is newer than this broker's {SCHEMA_VERSION}; "
            "upgrade the broker or point store.dsn elsewhere (database left untouched)"
        )
    return version


async def migrate(conn: asyncpg.Connection, where: str) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`, one transaction per step; returns it."""
    while True:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            version = await stored_version(conn, where)  # again, under the lock
            if version >= SCHEMA_VERSION:
                return version
            if version == 0:
                await conn.execute(
                    "CREATE TABLE ibbroker_schema (version INTEGER NOT NULL, application TEXT NOT NULL)"
                )
                await conn.execute("INSERT INTO ibbroker_schema VALUES (0, $1)", APPLICATION)
            for statement in MIGRATIONS[version]:
                await conn.execute(statement)
            await conn.execute("UPDATE ibbroker_schema SET version = $1", version + 1)
        log_event(log, logging.INFO, "store_migrated", dsn=where, schema_version=version + 1)
