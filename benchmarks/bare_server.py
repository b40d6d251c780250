"""A bare ``grpc.aio`` server in a spawned process: the same-run reference the benchmarks print
next to the broker (no interceptors, no runtime, the same process layout as the served broker).

The child builds its own handler (gRPC handlers do not pickle): a module-level
``target(conn, *args)`` builds it and calls :func:`serve_until_stopped`."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import grpc


async def serve_until_stopped(handler: grpc.GenericRpcHandler, conn: Connection) -> None:
    """Serve ``handler`` on a loopback port, send the address on ``conn``, stop on its next
    message (the parent's ``stop``)."""
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    conn.send(f"127.0.0.1:{port}")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    await server.stop(None)


class BareServer:
    """``target(conn, *args)`` in a spawned process; ``address`` once entered, ``pid`` for its
    CPU time."""

    def __init__(
        self, target: Callable[..., None], *args: Any, start_timeout: float = 60.0
    ) -> None:
        ctx = mp.get_context("spawn")
        self._parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=target, args=(child, *args), daemon=True)
        self._start_timeout = start_timeout
        self.address = ""

    @property
    def pid(self) -> int:
        assert self._proc.pid is not None
        return self._proc.pid

    def __enter__(self) -> BareServer:
        self._proc.start()
        if not self._parent.poll(self._start_timeout):
            raise RuntimeError("the bare server did not start")
        self.address = str(self._parent.recv())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._parent.send("stop")
        except OSError:
            pass  # the child is gone already
        self._proc.join(15)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
