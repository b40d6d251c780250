"""A real broker (gRPC server, SQLite store, embedded simulator) on its own event-loop thread, for
tests written the way blocking strategy code is: synchronous calls from the test's thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from broker_server.app import Broker, running_broker
from broker_server.config import Secret
from tests.server.helpers import fast_config

T = TypeVar("T")


class ThreadedBroker:
    """``running_broker(fast_config(store), with_sim=True)`` on a daemon thread's loop."""

    def __init__(
        self, store: Path, *, admin_token: str = "", listen: str = "", **gateway: object
    ) -> None:
        config = fast_config(store, **gateway)
        if listen:  # a fixed address, for a broker that comes back where it was
            config = dataclasses.replace(
                config, server=dataclasses.replace(config.server, listen=listen)
            )
        if admin_token:  # admin RPCs then need `authorization: Bearer <admin_token>`
            server = dataclasses.replace(config.server, admin_token=Secret(admin_token))
            config = dataclasses.replace(config, server=server)
        self._config = config
        self._loop = asyncio.new_event_loop()
        self._started: concurrent.futures.Future[Broker] = concurrent.futures.Future()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="test-broker", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        try:
            async with running_broker(self._config, with_sim=True) as broker:
                self._started.set_result(broker)
                await self._stop.wait()
        except BaseException as err:  # a failed start is reported to the test's thread
            if not self._started.done():
                self._started.set_exception(err)
            raise

    def start(self, within: float = 30.0) -> Broker:
        self._thread.start()
        self.broker = self._started.result(within)
        return self.broker

    def stop(self) -> None:
        """Shut the broker down gracefully (FINAL on every stream); idempotent."""
        if not self._thread.is_alive():
            return
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    @property
    def address(self) -> str:
        return self.broker.address

    @property
    def sim_port(self) -> int:
        assert self.broker.sim is not None
        return self.broker.sim.port

    def call(self, fn: Callable[[], T], within: float = 10.0) -> T:
        """Run ``fn()`` on the broker's loop (the simulator is not thread-safe)."""

        async def run() -> T:
            return fn()

        return self.run(run(), within)

    def run(self, coro: Coroutine[Any, Any, T], within: float = 10.0) -> T:
        """Run a coroutine on the broker's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(within)


@contextmanager
def threaded_broker(
    store: Path, *, admin_token: str = "", listen: str = "", **gateway: object
) -> Iterator[ThreadedBroker]:
    """A started :class:`ThreadedBroker`, stopped on exit."""
    broker = ThreadedBroker(store, admin_token=admin_token, listen=listen, **gateway)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
