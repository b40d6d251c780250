"""A controllable TCP proxy for fault tests, in the spirit of asyncpg's test proxy.

It listens on 127.0.0.1:0 and forwards every accepted connection to one upstream address.
Between client and broker it injects the faults a real network has:

- :meth:`Proxy.stall`: stop forwarding in both directions while every socket stays open (a
  wedged NAT, a paused peer); bytes that arrive meanwhile are held and counted, and delivered
  in order on :meth:`Proxy.resume`.
- :meth:`Proxy.drop`: close every connection with a TCP RST (SO_LINGER 0); new connections are
  still accepted.
- :meth:`Proxy.half_close`: shut down the direction towards the client (it reads EOF) and
  discard what the upstream still sends, while the client's side stays writable.
- :meth:`Proxy.refuse`: new connections are reset at once (the broker looks down).

Every loop here is driven by socket reads; nothing polls. It runs on the caller's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)  # kept in a set, by identity
class _Link:
    """One proxied connection: the client's side and the upstream side."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    held: dict[str, bytearray] = field(
        default_factory=lambda: {"up": bytearray(), "down": bytearray()}
    )
    half_closed: bool = False
    eof: set[str] = field(default_factory=set)
    """Directions whose source closed while stalled: their EOF is delivered on resume."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def writer(self, direction: str) -> asyncio.StreamWriter:
        return self.upstream if direction == "up" else self.client

    def flush(self) -> None:
        for direction, data in self.held.items():
            if data and not (direction == "down" and self.half_closed):
                self.writer(direction).write(bytes(data))
            data.clear()
        for direction in self.eof:
            with contextlib.suppress(OSError, RuntimeError):
                self.writer(direction).write_eof()
        self.eof.clear()

    def abort(self) -> None:
        _reset(self.client)
        _reset(self.upstream)


class Proxy:
    """A TCP proxy on 127.0.0.1 to ``upstream`` ("host:port") with fault controls."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.stalled = False
        self.refusing = False
        self.accepted = 0
        """Connections accepted so far."""
        self.held_bytes = 0
        """Bytes that arrived while stalled (both directions), since the last :meth:`stall`."""
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._changed = asyncio.Event()

    @property
    def address(self) -> str:
        """``127.0.0.1:port`` to point the client at."""
        assert self._server is not None, "start() first"
        port = self._server.sockets[0].getsockname()[1]
        return f"127.0.0.1:{port}"

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def close(self) -> None:
        """Stop listening and reset every connection."""
        if self._server is not None:
            self._server.close()
        await self.drop()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Proxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- faults -------------------------------------------------------------------------------

    def stall(self) -> None:
        """Stop forwarding both ways; sockets stay open and what arrives is held."""
        self.stalled = True
        self.held_bytes = 0

    def resume(self) -> None:
        """Forward again, delivering what was held first, and accept connections again."""
        self.stalled = False
        self.refusing = False
        for link in self._links:
            link.flush()

    async def drop(self) -> None:
        """Reset every open connection (RST); the proxy keeps listening."""
        links, self._links = list(self._links), set()
        for link in links:
            link.abort()
        for link in links:
            for task in link.tasks:
                task.cancel()
            await asyncio.gather(*link.tasks, return_exceptions=True)

    def half_close(self) -> None:
        """Send EOF to every client (its reads end) and discard what upstream sends it from
        now on; the client can still write, and that is still forwarded (or held)."""
        for link in self._links:
            link.half_closed = True
            link.held["down"].clear()
            with contextlib.suppress(OSError, RuntimeError):
                link.client.write_eof()

    def refuse(self) -> None:
        """Reset new connections at once until :meth:`resume`."""
        self.refusing = True

    async def wait_until(self, predicate: Callable[[Proxy], bool], within: float = 5.0) -> None:
        """Wait, woken by traffic, until ``predicate(self)`` holds; TimeoutError after ``within``."""
        async with asyncio.timeout(within):
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

    # --- forwarding ---------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        host, port = self.upstream.rsplit(":", 1)
        if self.refusing:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            _reset(writer)
            return
        link = _Link(writer, up_writer)
        self._links.add(link)
        link.tasks = [
            asyncio.create_task(self._pump(link, reader, "up")),
            asyncio.create_task(self._pump(link, up_reader, "down")),
        ]
        self._notify()

    async def _pump(self, link: _Link, reader: asyncio.StreamReader, direction: str) -> None:
        try:
            while data := await reader.read(65536):
                if direction == "down" and link.half_closed:
                    continue
                if self.stalled:
                    link.held[direction] += data
                    self.held_bytes += len(data)
                else:
                    link.writer(direction).write(data)
                    await link.writer(direction).drain()
                self._notify()
        except (OSError, asyncio.IncompleteReadError):
            pass
        # One side closed: pass the FIN on (when stalled, on resume, after the held bytes).
        if link in self._links and self.stalled:
            link.eof.add(direction)
        elif link in self._links:
            other = link.writer(direction)
            with contextlib.suppress(OSError, RuntimeError):
                if other.can_write_eof():
                    other.write_eof()
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
