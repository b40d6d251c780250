"""Cheap looks at a gateway without a client library: is its port open, is a client ID free.

:func:`port_accepts` is a bare TCP connect (no API handshake): the supervisor uses it while it
backs off after refused connects, to start the real connect as soon as the gateway listens
again instead of waiting out the backoff.
"""

from __future__ import annotations

import asyncio
import contextlib

from broker_server.aio import within


async def port_accepts(host: str, port: int, timeout: float) -> bool:  # noqa: ASYNC109
    """True when a TCP connect to ``host:port`` succeeds within ``timeout``; closed at once."""
    try:
        _, writer = await within(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
