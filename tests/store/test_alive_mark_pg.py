"""The PostgreSQL store's alive mark (the leadership row, schema 3), store against store on a
real server: what a take measures after a crash (the old holder's mark plus its slack, on the
server's clock), after a clean release (no slack), on a row without a mark (none counted); read
once; and the lease runtime on it (the downtime added to a lease, no local file)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from broker_server.config import BrokerConfig
from broker_server.domain.clock import SystemClock
from broker_server.runtime.leases import LeaseManager
from broker_server.store.postgres import PostgresStore
from broker_server.store.sqlite import SqliteStore
from tests.store.helpers import lease

TTL = 1.0


def _files(folder: Path) -> list[Path]:
    return list(folder.iterdir())


@pytest.fixture
async def stores() -> AsyncIterator[list[PostgresStore]]:
    opened: list[PostgresStore] = []
    yield opened
    for store in opened:
        await store.close()


def make(stores: list[PostgresStore], dsn: str, **kwargs: object) -> PostgresStore:
    store = PostgresStore(dsn, leadership_ttl=TTL, **kwargs)  # type: ignore[arg-type]
    stores.append(store)
    return store


async def row(dsn: str) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchrow("SELECT * FROM leadership WHERE scope = 'ibbroker'")
    finally:
        await conn.close()
    assert found is not None
    return found


async def test_the_first_take_has_no_downtime_and_marks_the_row(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    first = make(stores, pg_dsn, renew=False)
    await first.open()
    assert first.leadership is not None and first.leadership.downtime is None
    assert first.downtime() == 0.0
    mark = await row(pg_dsn)
    assert abs((mark["alive_at"] - mark["since"]).total_seconds()) < 0.01
    assert mark["alive_slack"] == pytest.approx(TTL * 0.8)
    await first.renew_leadership()
    assert (await row(pg_dsn))["alive_at"] > mark["alive_at"]  # each renewal marks it again


async def test_a_takeover_after_a_crash_counts_the_gap_less_the_old_holders_window(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    crashed = make(stores, pg_dsn, renew=False)  # never renews: as if killed after its open
    await crashed.open()
    mark = await row(pg_dsn)
    standby = make(stores, pg_dsn, standby=True)
    await standby.open()  # waits for the crashed holder's expiry on the server's clock
    taken = await row(pg_dsn)
    assert taken["epoch"] == mark["epoch"] + 1
    gap = (taken["since"] - mark["alive_at"]).total_seconds()
    assert gap >= TTL
    assert standby.leadership is not None and standby.leadership.downtime is not None
    assert standby.leadership.downtime == pytest.approx(gap - TTL * 0.8, abs=0.005)
    first = standby.downtime()
    assert first is not None and first >= standby.leadership.downtime
    assert standby.downtime() == 0.0  # read once: a second start does not count it again


async def test_a_takeover_after_a_clean_release_counts_the_gap_with_no_slack(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    old = make(stores, pg_dsn)
    await old.open()
    await old.close()  # releases: every call finished, so its mark has no slack
    released = await row(pg_dsn)
    assert released["alive_slack"] == 0
    await asyncio.sleep(0.3)  # the broker is down for a while
    new = make(stores, pg_dsn)
    await new.open()
    taken = await row(pg_dsn)
    gap = (taken["since"] - released["alive_at"]).total_seconds()
    assert gap >= 0.3
    assert new.leadership is not None and new.leadership.downtime == pytest.approx(gap, abs=0.005)


async def test_a_row_without_a_mark_counts_no_downtime(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    old = make(stores, pg_dsn)
    await old.open()
    await old.close()
    conn = await asyncpg.connect(pg_dsn)
    try:  # as a broker of schema 2 left it: the columns exist after the migration, unset
        await conn.execute("UPDATE leadership SET alive_at = NULL, alive_slack = 0")
    finally:
        await conn.close()
    new = make(stores, pg_dsn)
    await new.open()
    assert new.leadership is not None and new.leadership.downtime is None
    assert new.downtime() == 0.0


def test_sqlite_keeps_its_local_mark(tmp_path: Path) -> None:
    assert SqliteStore(tmp_path / "s.sqlite3").downtime() is None


async def test_the_lease_runtime_adds_the_rows_downtime_and_writes_no_file(
    tmp_path: Path, pg_dsn: str, stores: list[PostgresStore]
) -> None:
    base = BrokerConfig()
    store_path = tmp_path / "unused.sqlite3"
    config = dataclasses.replace(base, store=dataclasses.replace(base.store, path=str(store_path)))
    old = make(stores, pg_dsn, renew=False)
    manager = LeaseManager(config, old, SystemClock())
    await manager.start(sweeper=False)
    assert manager.table.active() == []
    stored = lease(100, at=time.time())  # 30 s TTL
    await asyncio.wrap_future(old.save_acquire(stored))
    # The old leader "crashes": it stops renewing; a standby takes over after its TTL.
    new = make(stores, pg_dsn, standby=True)
    restarted = LeaseManager(config, new, SystemClock())
    await restarted.start(sweeper=False)
    assert new.leadership is not None and new.leadership.downtime is not None
    got = restarted.table.get(stored.lease_id)
    shift = got.expire_time - stored.expire_time
    assert shift >= new.leadership.downtime > 0
    assert shift < new.leadership.downtime + 5  # plus the moments from the take to the restore
    assert not _files(tmp_path)  # no alive file (nor anything else) beside store.path
    await restarted.stop()
