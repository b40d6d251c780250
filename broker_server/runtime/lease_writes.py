"""Store writes of the lease runtime: awaited ones (the caller's acknowledgement waits for the
commit) and tracked ones (nobody waits, but stop() flushes them and failures are logged)."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from typing import Any

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.logs import log_event
from broker_server.store.base import NotLeaderError, StoreError

log = logging.getLogger("ibbroker.leases")


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
    """Turns the store's futures into awaited or tracked writes."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Future[Any]] = set()

    @staticmethod
    async def wait(future: Future[None]) -> None:
        """Await a commit; UNAVAILABLE STORE_UNAVAILABLE (retry later) when it failed."""
        try:
            await asyncio.wrap_future(future)
        except StoreError as err:
            raise store_failed(err, "the lease store failed") from err

    def track(self, future: Future[None]) -> None:
        """Keep a write nobody awaits, so :meth:`flush` can wait for it and failures are logged."""
        wrapped = asyncio.wrap_future(future)
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
