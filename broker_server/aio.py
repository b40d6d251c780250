"""asyncio helpers shared by the layers that do I/O."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """``await awaitable``, raising TimeoutError after ``seconds``.

    Use this instead of ``asyncio.wait_for``: on Python 3.11, wait_for loses a cancellation that
    arrives just as the awaited future completes (cpython issue 86296), so a task cancelled at
    that moment runs on, and whoever awaits its end (a shutdown) hangs.
    """
    async with asyncio.timeout(seconds):
        return await awaitable
