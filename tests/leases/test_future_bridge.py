"""The bridge from the store's futures to the event loop: every result and error arrives, a
batch of completions wakes the loop once, and giving up on a wait never cancels the write."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

import pytest

from broker_server.runtime.lease_writes import FutureBridge
from broker_server.store.base import StoreError


async def test_a_batch_resolved_on_another_thread_wakes_the_loop_once() -> None:
    bridge = FutureBridge(asyncio.get_running_loop())
    futures: list[Future[int]] = [Future() for _ in range(64)]
    waiters = [bridge.wrap(f) for f in futures]

    def commit() -> None:  # as the writer thread resolves one group commit
        for n, future in enumerate(futures):
            if n == 7:
                future.set_exception(StoreError("disk full"))
            else:
                future.set_result(n)

    writer = threading.Thread(target=commit)
    writer.start()
    writer.join(10)
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert [r for n, r in enumerate(results) if n != 7] == [n for n in range(64) if n != 7]
    assert isinstance(results[7], StoreError)
    assert bridge.drains == 1


async def test_a_future_already_done_and_a_cancelled_one() -> None:
    bridge = FutureBridge(asyncio.get_running_loop())
    done: Future[str] = Future()
    done.set_result("stored")
    assert await bridge.wrap(done) == "stored"
    cancelled: Future[None] = Future()
    waiter = bridge.wrap(cancelled)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_giving_up_on_a_wait_does_not_cancel_the_write() -> None:
    bridge = FutureBridge(asyncio.get_running_loop())
    write: Future[None] = Future()
    waiter = bridge.wrap(write)
    waiter.cancel()  # the RPC's deadline passed
    assert not write.cancelled()
    assert write.set_running_or_notify_cancel()  # the writer still runs it
    write.set_result(None)
    await asyncio.sleep(0)  # the drain skips the cancelled waiter without error
    assert waiter.cancelled()
