"""The supervisor's waits: sleeps an operator (or close) can cut short, optionally watching
the gateway's port.

A gateway that refused connections is usually restarting. Rather than sleeping out a backoff
(or the breaker's open interval) that may run to tens of seconds, :meth:`Waiter.wait` can look
at the port with a bare TCP connect every ``interval`` seconds and return as soon as it accepts,
so the real connect starts within one interval of the gateway listening again. Only a refused
port is watched: a gateway that accepts TCP but fails the API handshake waits out the normal
backoff (a port probe would say "open" at once and turn the backoff into a tight loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum

from broker_server.aio import within
from broker_server.ib.probe import port_accepts


class WaitEnd(enum.Enum):
    """Why a wait ended."""

    ELAPSED = "ELAPSED"
    """The time ran out."""
    WOKEN = "WOKEN"
    """:meth:`Waiter.wake` was called (operator reconnect, close)."""
    PORT_OPEN = "PORT_OPEN"
    """The watched port accepted a TCP connection."""


class Waiter:
    """Interruptible waits of one supervisor."""

    def __init__(self, host: str, port: int, interval: float, timeout: float) -> None:
        self._host = host
        self._port = port
        self._interval = interval
        self._timeout = timeout
        self._event = asyncio.Event()

    def wake(self) -> None:
        """End the current wait (and the next one, if none is running)."""
        self._event.set()

    async def until_woken(self) -> None:
        """Wait for :meth:`wake` only."""
        self._event.clear()
        await self._event.wait()

    async def wait(self, seconds: float, *, watch_port: bool = False) -> WaitEnd:
        """Wait ``seconds``, cut short by :meth:`wake` or, when watching, the port opening."""
        self._event.clear()
        if not watch_port or self._interval <= 0:
            return await self._sleep(seconds)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return WaitEnd.ELAPSED
            accepts = await self._look(min(self._timeout, left))
            if accepts is None:
                return WaitEnd.WOKEN
            if accepts:
                return WaitEnd.PORT_OPEN
            if await self._sleep(min(self._interval, deadline - loop.time())) is WaitEnd.WOKEN:
                return WaitEnd.WOKEN

    async def _look(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """One look at the port; None when :meth:`wake` came first (a black-holed host can
        take the whole TCP timeout to answer)."""
        look = asyncio.ensure_future(port_accepts(self._host, self._port, timeout))
        woken = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({look, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Also when this wait is cancelled (close): no look outlives it.
            woken.cancel()
            finished = look.done()
            if not finished:
                look.cancel()
        # A look cancelled just above is not ``cancelled()`` until the loop runs it once more:
        # whether it had finished is what tells.
        if not finished or look.cancelled():
            return None
        return look.result()

    async def _sleep(self, seconds: float) -> WaitEnd:
        with contextlib.suppress(TimeoutError):
            await within(self._event.wait(), max(seconds, 0.0))
            return WaitEnd.WOKEN
        return WaitEnd.ELAPSED
