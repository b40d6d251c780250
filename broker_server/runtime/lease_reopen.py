"""Reopening the broker's sessions of PROXIED leases after a restart, and retrying those that
could not be reopened (the gateway was down at the start) with backoff from the sweeper, until
they open or their lease ends."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from broker_server.domain.leases import LeaseRecord
from broker_server.logs import log_event
from broker_server.runtime.lease_ports import ProxiedSessionPool

log = logging.getLogger("ibbroker.leases")

Backoff = Callable[[str, int], float]
"""Seconds to wait before attempt ``n + 1`` on gateway ``name`` (from its retry settings)."""


@dataclass
class _Pending:
    lease_id: str
    attempts: int
    next_at: float


class SessionReopener:
    """Opens restored PROXIED leases' sessions; keeps the failures and retries them when due."""

    def __init__(self, sessions: ProxiedSessionPool | None, backoff: Backoff) -> None:
        self._sessions = sessions
        self._backoff = backoff
        self._pending: dict[tuple[str, int], _Pending] = {}

    @property
    def waiting(self) -> list[tuple[str, int]]:
        """(gateway, client_id) of the sessions waiting for another attempt."""
        return sorted(self._pending)

    async def open(self, lease: LeaseRecord, now: float, attempts: int = 0) -> bool:
        """Try to open ``lease``'s session; True when it opened. A failure is logged and
        scheduled for a retry after the gateway's backoff."""
        if self._sessions is None:
            return False
        try:
            await self._sessions.open_session(lease.gateway, lease.client_id, lease.lease_id)
        except Exception as err:
            attempts += 1
            delay = self._backoff(lease.gateway, attempts)
            self._pending[lease.key] = _Pending(lease.lease_id, attempts, now + delay)
            log_event(
                log,
                logging.WARNING,
                "lease_session_reopen_failed",
                gateway=lease.gateway,
                client_id=lease.client_id,
                lease_id=lease.lease_id,
                attempt=attempts,
                retry_in=round(delay, 3),
                error=str(err),
            )
            return False
        if self._pending.pop(lease.key, None) is not None:
            log_event(
                log,
                logging.INFO,
                "lease_session_reopened",
                gateway=lease.gateway,
                client_id=lease.client_id,
                lease_id=lease.lease_id,
                attempt=attempts + 1,
            )
        return True

    async def retry_due(
        self, now: float, holder: Callable[[str, int], LeaseRecord | None]
    ) -> list[tuple[str, int]]:
        """Retry the sessions whose backoff has passed; returns the keys that opened. A lease
        that ended (or whose ID another lease holds now) is forgotten."""
        opened = []
        for key, pending in sorted(self._pending.items()):
            lease = holder(*key)
            if lease is None or lease.lease_id != pending.lease_id:
                del self._pending[key]
                continue
            if pending.next_at > now:
                continue
            if await self.open(lease, now, pending.attempts):
                opened.append(key)
        return opened
