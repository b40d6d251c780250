"""The supervisor's interruptible waits (runtime/waits.py) against a real, slow port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import pytest

from broker_server.aio import within
from broker_server.runtime.waits import WaitEnd, Waiter


@pytest.fixture
def black_hole() -> Iterator[tuple[str, int]]:
    """A loopback port whose accept queue is full: a new TCP connect hangs (SYNs dropped)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    address = server.getsockname()
    fillers: list[socket.socket] = []
    try:
        for _ in range(8):  # bounded: Linux takes one or two before it drops SYNs
            filler = socket.socket()
            filler.settimeout(0.3)
            fillers.append(filler)
            try:
                filler.connect(address)
            except TimeoutError:
                break
        else:
            pytest.skip("this kernel never filled the accept queue")
        yield address
    finally:
        for filler in fillers:
            filler.close()
        server.close()


async def test_a_wake_during_a_slow_port_look_ends_the_wait(black_hole: tuple[str, int]) -> None:
    host, port = black_hole
    waiter = Waiter(host, port, interval=0.05, timeout=5.0)
    wait = asyncio.ensure_future(waiter.wait(10.0, watch_port=True))
    # The look at the black-holed port is under way when the wake comes.
    asyncio.get_running_loop().call_later(0.2, waiter.wake)
    try:
        assert await within(wait, 5.0) is WaitEnd.WOKEN
    finally:
        wait.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await wait
