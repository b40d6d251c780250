"""Leadership of a PostgreSQL store: one row per scope with a TTL and a fencing epoch.

A broker takes the row when it is free (never taken, expired by the *server's* clock, or its
own), which raises the epoch by one; it renews it four times per local window
(:mod:`broker_server.domain.leader_deadline`). Every write of the store first reads the row
``FOR SHARE`` in the write's own transaction and goes on only while the epoch is still its own:
a newer leader's takeover (an ``UPDATE`` of that row) waits for the write's transaction, and a
write that comes after the takeover sees the new epoch and is refused.
So a broker that was paused (SIGSTOP, a long GC, a partition) past its TTL and wakes up never
writes after another took over, whatever the clocks of the two brokers say.

Why a row and not an advisory lock: an advisory lock lives as long as one connection, so a
broker whose connection dropped for a moment (a PostgreSQL restart) loses it silently while its
in-flight writes on other pool connections still commit; a lock gives no number to fence a write
with either. The row survives restarts, carries the epoch, and its expiry is the server's time.

The epoch fences store writes only; writes to IB are fenced by the leader's *local* deadline
(:mod:`broker_server.domain.leader_deadline`), which the store moves out after every take and
renewal that succeeded, from the moment it was sent: it passes before the server's expiry.

**The alive mark** (schema 3) lives in the same row: ``alive_at`` is set to the server's
``clock_timestamp()`` by every take, renewal and release, and ``alive_slack`` says how long after
that mark its holder may still have written: its local window (``ttl * (1 - margin)``: once it
passed since the last renewal that succeeded, the holder's store refuses every write before
asking PostgreSQL), 0 after a clean release (every call had finished). A take measures, in the
same statement and on the same server clock, ``clock_timestamp() - alive_at - alive_slack``: the
time no broker could have served a lease, which the new holder adds to every lease as a restart
of one broker adds the time since its local alive file (docs/leases.md "Restarts and pauses").
Both ends are the server's clock, so the clocks of the two brokers (which may be on different
hosts) never enter; only a step of the server's clock between the two readings would mis-count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from broker_server.logs import log_event
from broker_server.store.base import NotLeaderError, StoreOwnedError

log = logging.getLogger("ibbroker.store")


@dataclass(frozen=True)
class Leadership:
    """The leadership this store holds."""

    scope: str
    """What is led (one row per scope)."""
    holder: str
    """This broker's identity."""
    address: str
    """Where clients reach this broker."""
    epoch: int
    """The fencing epoch: strictly increasing per scope, one per takeover."""
    downtime: float | None = None
    """Seconds between the previous holder's alive mark (plus its slack) and this take, on the
    server's clock, never below 0; None when the row had no mark (first take, schema 2)."""


_TAKE = """
INSERT INTO leadership (scope, holder, address, epoch, since, expires_at)
VALUES ($1, $2, $3, 1, clock_timestamp(), clock_timestamp() + make_interval(secs => $4))
ON CONFLICT (scope) DO UPDATE SET
    holder = excluded.holder, address = excluded.address, epoch = leadership.epoch + 1,
    since = excluded.since, expires_at = excluded.expires_at
WHERE leadership.expires_at < clock_timestamp() OR leadership.holder = excluded.holder
RETURNING epoch
"""

_TAKE_ALIVE = """
WITH prev AS (SELECT alive_at, alive_slack FROM leadership WHERE scope = $1)
INSERT INTO leadership (scope, holder, address, epoch, since, expires_at, alive_at, alive_slack)
VALUES ($1, $2, $3, 1, clock_timestamp(), clock_timestamp() + make_interval(secs => $4),
        clock_timestamp(), $5)
ON CONFLICT (scope) DO UPDATE SET
    holder = excluded.holder, address = excluded.address, epoch = leadership.epoch + 1,
    since = excluded.since, expires_at = excluded.expires_at,
    alive_at = excluded.alive_at, alive_slack = excluded.alive_slack
WHERE leadership.expires_at < clock_timestamp() OR leadership.holder = excluded.holder
RETURNING epoch, (
    SELECT extract(epoch FROM clock_timestamp() - prev.alive_at)::float8 - prev.alive_slack
    FROM prev
) AS downtime
"""
"""The take of schema 3: the same as :data:`_TAKE`, and it reads the previous holder's alive
mark (the CTE sees the row as it was before this statement) and sets its own."""

_RENEW = """
UPDATE leadership SET expires_at = clock_timestamp() + make_interval(secs => $4),
    alive_at = clock_timestamp()
WHERE scope = $1 AND holder = $2 AND epoch = $3
RETURNING expires_at
"""


async def take(
    conn: asyncpg.Connection,
    scope: str,
    holder: str,
    address: str,
    ttl: float,
    where: str,
    alive_slack: float | None = None,
) -> Leadership:
    """Take the scope's leadership, or raise :class:`StoreOwnedError` (nothing written) when
    another broker holds it and its TTL has not run out on the server's clock.

    ``alive_slack``: this holder's local window, written with its alive mark; None on a schema
    before 3 (no alive columns yet: the take of an upgrade runs before the migration), where no
    mark is read or written."""
    downtime: float | None = None
    if alive_slack is None:
        epoch = await conn.fetchval(_TAKE, scope, holder, address, ttl)
    else:
        row = await conn.fetchrow(_TAKE_ALIVE, scope, holder, address, ttl, alive_slack)
        epoch = row["epoch"] if row else None
        if row is not None and row["downtime"] is not None:
            downtime = max(0.0, float(row["downtime"]))
    if epoch is None:
        row = await conn.fetchrow(
            "SELECT holder, address, epoch, expires_at, "
            "extract(epoch FROM expires_at - clock_timestamp()) AS left "
            "FROM leadership WHERE scope = $1",
            scope,
        )
        holder_now, address_now = (row["holder"], row["address"]) if row else ("?", "?")
        left = float(row["left"]) if row else 0.0
        raise StoreOwnedError(
            f"{where}: owned by another live broker ({holder_now} at {address_now or 'no address'}, "
            f"leadership of {scope!r} epoch {row['epoch'] if row else '?'} for another "
            f"{max(left, 0.0):.1f} s); this broker touched nothing",
            holder_now,
            address_now,
        )
    lead = Leadership(scope, holder, address, int(epoch), downtime)
    log_event(
        log, logging.INFO, "store_leadership_taken", scope=scope, holder=holder, epoch=lead.epoch,
        downtime=None if downtime is None else round(downtime, 3),
    )  # fmt: skip
    return lead


async def renew(conn: asyncpg.Connection, lead: Leadership, ttl: float) -> datetime | None:
    """Push the expiry out by ``ttl``; None when the epoch is no longer ours (a newer leader)."""
    expires: datetime | None = await conn.fetchval(_RENEW, lead.scope, lead.holder, lead.epoch, ttl)
    return expires


async def fence(conn: asyncpg.Connection, lead: Leadership) -> None:
    """Inside a write's transaction: go on only while ``lead`` is still the scope's leadership.

    ``FOR SHARE`` holds the row for the rest of the transaction, so a takeover waits for this
    write to commit, and a write after a takeover sees the new epoch."""
    row = await conn.fetchrow(
        "SELECT holder, address, epoch FROM leadership WHERE scope = $1 FOR SHARE", lead.scope
    )
    if row is None or row["epoch"] != lead.epoch or row["holder"] != lead.holder:
        now = f"epoch {row['epoch']} held by {row['holder']}" if row else "no leader"
        raise NotLeaderError(
            f"not the leader of {lead.scope!r} any more (this broker's epoch {lead.epoch}, "
            f"now {now}); write refused",
            leader_address=row["address"] if row else "",
        )


async def release(conn: asyncpg.Connection, lead: Leadership, *, alive: bool = True) -> bool:
    """Step down on a clean close: expire the row now so a standby takes over at once. With
    ``alive`` (schema 3), mark it alive now with no slack: every call has finished, so nothing
    of this holder's can commit after this statement."""
    marks = ", alive_at = clock_timestamp(), alive_slack = 0" if alive else ""
    done = await conn.fetchval(
        f"UPDATE leadership SET expires_at = clock_timestamp(){marks} "
        "WHERE scope = $1 AND holder = $2 AND epoch = $3 RETURNING true",
        lead.scope,
        lead.holder,
        lead.epoch,
    )
    return bool(done)


async def set_address(conn: asyncpg.Connection, lead: Leadership, address: str) -> None:
    """Record the leader's address (inside a fenced write)."""
    await conn.execute(
        "UPDATE leadership SET address = $4 WHERE scope = $1 AND holder = $2 AND epoch = $3",
        lead.scope,
        lead.holder,
        lead.epoch,
        address,
    )
