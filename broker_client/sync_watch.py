"""The ``Watch*`` streams for blocking code: the async resumable iterators, run on a thread.

:class:`SyncWatch` runs one async watch (the same :func:`broker_client.watch.resumable` every
async watch uses, so resume, backoff and FINAL handling are written once) on its own event-loop
thread and hands the events over through a bounded queue: a plain ``for`` loop reads them, and a
slow reader holds the stream back (gRPC flow control) instead of growing memory. ``close()`` (or
leaving the ``with`` block, or ``break`` followed by garbage collection) cancels the stream.
Errors the watch raises (:class:`~broker_client.errors.BrokerError`) are re-raised by the
iteration on the reader's thread.

:class:`WatchCallsSync` gives :class:`~broker_client.BrokerClientSync` the same watch methods as
:class:`~broker_client.BrokerClient`::

    with BrokerClientSync("127.0.0.1:50051") as broker:
        with broker.watch_connection_state("paper") as events:
            for event in events:
                print(event.sequence, event.session, event.state)
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import grpc

from broker_client import leases, trading, watch
from broker_client.channel import ChannelSpec
from broker_client.failover import Router, Targets
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import lease_pb2, market_data_pb2, trading_pb2
from broker_client.ibbroker.v1 import trading_service_pb2 as tsvc

T = TypeVar("T")

QUEUE_SIZE = 256
"""Events buffered between the stream and a slower reader."""

PUT_RECHECK = 0.5
"""Seconds a blocked hand-over waits before it checks whether the watch was closed."""

_END = object()


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class SyncWatch(Generic[T]):
    """A blocking iterator over ``make(channel)``, an async watch on what the watch's own thread
    opens with ``open_channel()`` (an async context manager: a ``grpc.aio`` channel, or a
    client's :class:`~broker_client.failover.Targets`)."""

    def __init__(
        self,
        open_channel: Callable[[], Any],
        make: Callable[[Any], AsyncGenerator[T, None]],
    ) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(QUEUE_SIZE)
        self._open_channel, self._make = open_channel, make
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ibbroker-watch", daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(self._pump())
        self._ready.set()
        try:
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _pump(self) -> None:
        try:
            async with self._open_channel() as channel:
                async for event in self._make(channel):
                    await self._put(event)
            await self._put(_END)
        except asyncio.CancelledError:
            raise
        except BaseException as err:  # handed to the reader's thread
            await self._put(_Raised(err))

    async def _put(self, item: Any) -> None:
        try:
            self._queue.put_nowait(item)
            return
        except queue.Full:
            pass
        # A full queue waits for the reader in a worker thread, so the loop stays free; the
        # bounded put lets a close() that raced it be noticed.
        while not self._closed.is_set():
            try:
                await asyncio.to_thread(self._queue.put, item, True, PUT_RECHECK)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._closed.is_set() and self._queue.empty():
            raise StopIteration
        item = self._queue.get()
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, _Raised):
            self.close()
            raise item.error
        return item

    def close(self) -> None:
        """Cancel the stream and end the thread (idempotent)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._drain()  # a hand-over blocked on a full queue completes and sees the close
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop already ended
                pass
        if threading.current_thread() is not self._thread:
            self._thread.join(10)
        self._drain()
        self._queue.put_nowait(_END)  # a reader blocked in get() wakes up and stops

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def __enter__(self) -> SyncWatch[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        closed = getattr(self, "_closed", None)  # None: __init__ did not get that far
        if closed is not None and not closed.is_set():
            self.close()


class WatchCallsSync:
    """The watch methods of :class:`~broker_client.BrokerClientSync`."""

    router: Router
    channel_spec: ChannelSpec
    metadata: tuple[tuple[str, str], ...]
    _watch_kwargs: Callable[[dict[str, Any]], dict[str, Any]]

    def open_aio_channel(self) -> Targets[grpc.aio.Channel]:
        """What a watch opens on its own thread: ``grpc.aio`` channels with the client's
        credentials and arguments, to the address the client's router points at (the router is
        shared, so the watch and the calls follow the same leader)."""
        return Targets(self.router, self.channel_spec.aio)

    def _sync_watch(
        self, make: Callable[[Any, dict[str, Any]], Any], kwargs: dict[str, Any]
    ) -> Any:
        kwargs = self._watch_kwargs(kwargs)
        return SyncWatch(self.open_aio_channel, lambda targets: make(targets, kwargs))

    def watch_connection_state(
        self, gateway: str = "", **kwargs: Any
    ) -> SyncWatch[pb.ConnectionEvent]:
        """State events, resuming across broker restarts (options as for every watch)."""
        return self._sync_watch(
            lambda ch, kw: watch.watch_connection_state(ch, gateway, **kw), kwargs
        )

    def watch_health(self, gateway: str = "", **kwargs: Any) -> SyncWatch[pb.HealthEvent]:
        """Health events, resuming across broker restarts."""
        return self._sync_watch(lambda ch, kw: watch.watch_health(ch, gateway, **kw), kwargs)

    def watch_leases(
        self, gateway: str = "", owner: str = "", **kwargs: Any
    ) -> SyncWatch[lease_pb2.LeaseEvent]:
        """Lease events, resuming across broker restarts."""
        return self._sync_watch(
            lambda ch, kw: leases.watch_leases(ch, gateway, owner, **kw), kwargs
        )

    def watch_order_events(
        self, owner: str = "", *, all_owners: bool = False, gateway: str = "", **kwargs: Any
    ) -> SyncWatch[trading_pb2.OrderEvent]:
        """Order events, resuming across broker restarts (the arguments of
        :meth:`BrokerClient.watch_order_events`)."""
        return self._sync_watch(
            lambda ch, kw: trading.watch_order_events(
                ch, gateway, owner, all_owners=all_owners, **kw
            ),
            kwargs,
        )

    def watch_market_data(
        self, request: tsvc.WatchMarketDataRequest, **kwargs: Any
    ) -> SyncWatch[market_data_pb2.MarketDataEvent]:
        """Market-data events, resuming across broker restarts."""
        return self._sync_watch(lambda ch, kw: trading.watch_market_data(ch, request, **kw), kwargs)


__all__ = ["PUT_RECHECK", "QUEUE_SIZE", "SyncWatch", "WatchCallsSync"]
