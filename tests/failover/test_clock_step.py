"""A clock step on one broker never lets two leaders write.

The time a broker's leadership runs on is its event loop's clock: the store renews every third
of the TTL and a standby checks every third of the TTL with ``asyncio.sleep``. Each store here
runs on a loop of its own, on its own thread, whose clock the test steps (``SteppedLoop``:
the loop's ``time()`` plus an offset; the system clock is not touched). The expiry itself is
PostgreSQL's clock, so:

- the leader's clock stepped back (its renewal suddenly half a minute away): it stops renewing,
  the standby takes over on the server's clock, and every later write of the old leader is
  refused; stepped forward again, its renewal finds the newer epoch and it steps down;
- the standby's clock stepped forward (it checks again and again, as if the leader's TTL had run
  out): it never takes over a leader that renews, and the leader's writes all go through.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import asyncpg
import pytest

from broker_server.store.base import NotLeaderError
from broker_server.store.postgres import PostgresStore
from tests.store.helpers import lease

T = TypeVar("T")
TTL = 1.0


class SteppedLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock is the monotonic clock plus an offset the test steps."""

    offset = 0.0

    def time(self) -> float:
        return super().time() + self.offset


class Broker:
    """One store on its own thread and stepped loop."""

    def __init__(self, dsn: str, ttl: float = TTL, **kwargs: Any) -> None:
        self.loop = SteppedLoop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.store = self.run(self._make(dsn, ttl, kwargs)).result(10)

    @staticmethod
    async def _make(dsn: str, ttl: float, kwargs: dict[str, Any]) -> PostgresStore:
        return PostgresStore(dsn, leadership_ttl=ttl, **kwargs)

    def run(self, coro: Awaitable[T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    def step(self, seconds: float) -> None:
        """Step this broker's clock (a timer due at t now fires when the loop reaches t)."""

        def shift() -> None:
            self.loop.offset += seconds

        self.loop.call_soon_threadsafe(shift)

    def write(self, n: int) -> Future[None]:
        """A fenced store write (a lease acquire) on the store's loop."""

        async def acquire() -> None:
            await asyncio.wrap_future(self.store.save_acquire(lease(n, epoch=1)))

        return self.run(acquire())

    def open(self) -> Future[None]:
        self.opening = self.run(self.store.open())
        return self.opening

    def close(self) -> None:
        opening = getattr(self, "opening", None)
        if opening is not None and not opening.done():
            opening.cancel()  # a standby still waiting
        try:
            self.run(self.store.close()).result(15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


@pytest.fixture
def brokers() -> Iterator[list[Broker]]:
    made: list[Broker] = []
    yield made
    for broker in made:
        broker.close()


async def _rows(dsn: str, sql: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        return sorted(tuple(r) for r in await conn.fetch(sql))
    finally:
        await conn.close()


async def _until(check: Callable[[], bool], within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.02)


async def test_a_leader_whose_clock_steps_back_is_fenced_out_then_steps_down(
    pg_dsn: str, brokers: list[Broker]
) -> None:
    old = Broker(pg_dsn, address="127.0.0.1:7001")
    brokers.append(old)
    old.open().result(15)
    old.write(100).result(10)
    old.step(-30.0)  # its next renewal is now half a minute away on its own clock
    new = Broker(pg_dsn, address="127.0.0.1:7002", standby=True)
    brokers.append(new)
    opened = new.open()
    async with asyncio.timeout(15):  # took over on PostgreSQL's clock, after the TTL
        await asyncio.wrap_future(opened)
    assert new.store.leadership is not None and new.store.leadership.epoch == 2
    assert old.store.leading  # the old leader, its clock behind, still believes it leads
    refused = old.write(101)
    with pytest.raises(NotLeaderError):
        await asyncio.wrap_future(refused)
    await asyncio.wrap_future(new.write(102))
    old.step(30.0)  # back in step: the renewal runs and finds the newer epoch
    await _until(lambda: not old.store.leading, 10, "the old leader stepping down")
    with pytest.raises(NotLeaderError):
        await asyncio.wrap_future(old.write(103))
    ids = await _rows(pg_dsn, "SELECT client_id FROM leases")
    assert ids == [(100,), (102,)]  # nothing of the old leader after the takeover
    assert await _rows(pg_dsn, "SELECT epoch, address FROM leadership") == [(2, "127.0.0.1:7002")]


async def test_a_standby_whose_clock_steps_forward_never_takes_a_live_leadership(
    pg_dsn: str, brokers: list[Broker]
) -> None:
    # A TTL with room for a loaded machine: the leader must keep renewing on its own (a renewal
    # that came later than the TTL would rightly lose it, which is not what is tested here).
    ttl = 3.0
    leader = Broker(pg_dsn, ttl, address="127.0.0.1:7001")
    brokers.append(leader)
    leader.open().result(15)
    standby = Broker(pg_dsn, ttl, address="127.0.0.1:7002", standby=True)
    brokers.append(standby)
    opened = standby.open()
    # Its clock leaps ahead by a TTL again and again, so its check (every third of the TTL) runs
    # at once each time, as if the leader's TTL had run out. (A monotonic clock does not jump by
    # hours; a far larger step also fires the loop's I/O timeouts early, which is another test.)
    for n in range(8):
        standby.step(ttl)
        await asyncio.wrap_future(leader.write(100 + n))  # the leader keeps writing
        await asyncio.sleep(0.5)
        assert not opened.done(), "the standby took a leadership that was renewed"
    assert leader.store.leading
    assert await _rows(pg_dsn, "SELECT epoch, address FROM leadership") == [(1, "127.0.0.1:7001")]
    leader.run(leader.store.close()).result(15)  # a clean stop releases: the standby takes over
    async with asyncio.timeout(15):
        await asyncio.wrap_future(opened)
    assert standby.store.leadership is not None and standby.store.leadership.epoch == 2
    assert len(await _rows(pg_dsn, "SELECT client_id FROM leases")) == 8
