"""What each lease operation costs the store, through the real runtime: an acquire is one store
call, a release one, the sweeper's freeing one, so a durable acquire+release pair needs the two
commits it must acknowledge (and shares them under load, see test_group_commit)."""

from __future__ import annotations

from pathlib import Path

from broker_server.domain.clock import ManualClock
from broker_server.domain.lease_input import validate_acquire, validate_fenced
from broker_server.runtime.leases import LeaseManager
from broker_server.store.sqlite import SqliteStore
from tests.leases.conftest import make_config


async def test_an_acquire_release_pair_is_one_call_each(tmp_path: Path) -> None:
    config = make_config(tmp_path / "s.sqlite3", cooldown=1.0)
    store = SqliteStore(config.store.path)
    clock = ManualClock()
    manager = LeaseManager(config, store, clock)
    await manager.start(sweeper=False)
    try:
        for n in range(3):
            before = store.stats
            lease = await manager.acquire(validate_acquire(manager.policy, owner=f"o{n}"))
            acquired = store.stats
            fenced = validate_fenced(
                manager.policy, lease_id=lease.lease_id, owner=f"o{n}", epoch=lease.epoch
            )
            await manager.release(fenced)
            released = store.stats
            assert acquired.calls - before.calls == 1
            assert acquired.commits - before.commits == 1
            assert released.calls - acquired.calls == 1
            assert released.commits - acquired.commits == 1
        # The sweeper frees the three rested IDs with one call each, off the callers' path.
        clock.advance(1.0)
        before = store.stats
        await manager.sweep()
        await manager.stop()  # waits for the sweeper's writes
        assert store.stats.calls - before.calls == 3
        assert store.stats.failed_calls == 0
    finally:
        await manager.stop()
