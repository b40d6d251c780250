"""Store writes of the lease runtime: awaited ones (the caller's acknowledgement waits for the
commit) and tracked ones (nobody waits, but stop() flushes them and failures are logged).

The store resolves ``concurrent.futures.Future`` objects on its writer thread, a whole group
commit at once. ``asyncio.wrap_future`` wakes the event loop once per future (a
``call_soon_threadsafe``, a write to the loop's self-pipe); :class:`FutureBridge` wakes it once
per batch of completions and resolves them all in one callback. A write the caller stops waiting
for (its RPC's deadline) is never cancelled: it was decided in memory and is persisted anyway.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from concurrent.futures import Future
from typing import Any, TypeVar

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.logs import log_event
from broker_server.store.base import NotLeaderError, StoreError

log = logging.getLogger("ibbroker.leases")

T = TypeVar("T")


class FutureBridge:
    """Awaits store futures on one event loop, with one loop wake-up per batch of completions.

    :meth:`wrap` returns an asyncio future that gets the store future's result or exception.
    Completions from any thread are queued; the first of a batch schedules one drain on the
    loop, which resolves everything queued by then. Cancelling the asyncio future does not
    cancel the store call.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._done: collections.deque[tuple[Future[Any], asyncio.Future[Any]]] = collections.deque()
        self._scheduled = False
        self._lock = threading.Lock()
        self.drains = 0
        """Loop wake-ups so far (tests compare them with the futures resolved)."""

    def wrap(self, future: Future[T]) -> asyncio.Future[T]:
        """An asyncio future of ``future`` on :attr:`loop` (call it on that loop)."""
        waiter: asyncio.Future[T] = self.loop.create_future()
        future.add_done_callback(lambda done: self._completed(done, waiter))
        return waiter

    def _completed(self, future: Future[Any], waiter: asyncio.Future[Any]) -> None:
        with self._lock:
            self._done.append((future, waiter))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed: nobody is left to wake
            with self._lock:
                self._scheduled = False

    def _drain(self) -> None:
        with self._lock:
            batch = list(self._done)
            self._done.clear()
            self._scheduled = False
        self.drains += 1
        for future, waiter in batch:
            if waiter.cancelled():
                continue
            if future.cancelled():
                waiter.cancel()
            elif (error := future.exception()) is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(future.result())


def store_failed(err: StoreError, what: str) -> DomainError:
    """The caller's error for a failed store write: UNAVAILABLE NOT_LEADER with the leader's
    address when another broker took the store over, else UNAVAILABLE STORE_UNAVAILABLE."""
    if isinstance(err, NotLeaderError):
        return DomainError(
            ErrorKind.UNAVAILABLE,
            FailureReason.NOT_LEADER,
            f"{what}: this broker is no longer the leader: {err}",
            retry_after=1.0,
            metadata={"leader_address": err.leader_address},
        )
    return DomainError(
        ErrorKind.UNAVAILABLE,
        FailureReason.STORE_UNAVAILABLE,
        f"{what}: {err}",
        retry_after=1.0,
    )


class Writes:
    """Turns the store's futures into awaited or tracked writes (on the running loop)."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Future[Any]] = set()
        self._bridge: FutureBridge | None = None

    def bridge(self, future: Future[T]) -> asyncio.Future[T]:
        """``future`` as an asyncio future of the running loop (see :class:`FutureBridge`)."""
        loop = asyncio.get_running_loop()
        if self._bridge is None or self._bridge.loop is not loop:
            self._bridge = FutureBridge(loop)
        return self._bridge.wrap(future)

    async def wait(self, future: Future[None]) -> None:
        """Await a commit; UNAVAILABLE STORE_UNAVAILABLE (retry later) when it failed."""
        try:
            await self.bridge(future)
        except StoreError as err:
            raise store_failed(err, "the lease store failed") from err

    def track(self, future: Future[None]) -> None:
        """Keep a write nobody awaits, so :meth:`flush` can wait for it and failures are logged."""
        wrapped = self.bridge(future)
        self._pending.add(wrapped)

        def done(f: asyncio.Future[Any]) -> None:
            self._pending.discard(f)
            if not f.cancelled() and f.exception() is not None:
                log_event(log, logging.ERROR, "lease_store_write_failed", error=str(f.exception()))

        wrapped.add_done_callback(done)

    async def flush(self) -> None:
        """Wait for every tracked write (failures were logged)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
