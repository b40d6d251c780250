"""PostgreSQL restarted under load: calls in flight fail with StoreError (never hang), every
acknowledged write is there afterwards, and the same store (no reopen) writes again and still
leads with its epoch once the server is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import asyncpg
import pytest

from broker_server.store.base import StoreError
from broker_server.store.postgres import PostgresStore
from tests.store.helpers import lease
from tests.support.postgres import PrivateServer

WRITERS = 8
MAX_WRITES = 400
"""Per writer, whatever the time: the load loop is bounded in count and time."""


@pytest.fixture
def private_pg() -> Iterator[PrivateServer]:
    server = PrivateServer()
    try:
        yield server
    finally:
        server.stop()


async def test_a_restart_under_load_loses_no_acknowledged_write_and_the_store_recovers(
    private_pg: PrivateServer,
) -> None:
    store = PostgresStore(private_pg.dsn, leadership_ttl=30.0)
    await store.open()
    acked: list[str] = []
    failed: list[StoreError] = []
    restarted = asyncio.Event()
    deadline = time.monotonic() + 60

    async def writer(n: int) -> None:
        after_restart = 0
        for i in range(MAX_WRITES):
            if after_restart >= 5 or time.monotonic() > deadline:
                return
            held = lease(1000 * (n + 1) + i)  # an ID of its own: every write is an insert
            try:
                await asyncio.wrap_future(store.save_acquire(held))
            except StoreError as err:
                failed.append(err)
                await asyncio.sleep(0.02)  # a real caller is told to retry later (RetryInfo)
                continue
            acked.append(held.lease_id)
            if restarted.is_set():
                after_restart += 1

    writers = [asyncio.create_task(writer(n)) for n in range(WRITERS)]
    await asyncio.sleep(0.2)  # writes in flight
    await asyncio.get_running_loop().run_in_executor(None, private_pg.restart)
    restarted.set()
    await asyncio.gather(*writers)
    assert failed, "the restart cut no call: nothing was in flight"
    print(f"restart: {len(acked)} acknowledged, {len(failed)} refused with StoreError")
    # The same store writes again without a reopen, still as the leader with its epoch.
    recovered = lease(999)
    until = time.monotonic() + 15
    while True:
        try:
            await asyncio.wrap_future(store.save_acquire(recovered))
            break
        except StoreError:
            assert time.monotonic() < until, "the store never recovered"
            await asyncio.sleep(0.05)
    assert await store.renew_leadership() is True
    assert store.leadership is not None and store.leadership.epoch == 1
    conn = await asyncpg.connect(private_pg.dsn)
    try:
        stored = {row[0] for row in await conn.fetch("SELECT lease_id FROM leases")}
    finally:
        await conn.close()
    assert set(acked) <= stored, f"{len(set(acked) - stored)} acknowledged writes lost"
    await store.close()
