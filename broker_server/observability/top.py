"""``ibbroker top``: a live terminal view of a broker, fed by its Watch streams.

Three resumable watches (WatchConnectionState, WatchHealth, WatchLeases, through
:mod:`broker_client`'s watch helper, which reconnects with backoff and resumes after the last
sequence) update a :class:`~broker_server.observability.view.BrokerView`; the screen is redrawn
when an event arrives, and once a second so TTLs count down (a local redraw: nothing is asked
of the broker). The channel's connectivity is watched too (``wait_for_state_change``, no
polling): while it is not READY the header says "disconnected, retrying". Ctrl-C exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from rich.console import Console
from rich.live import Live

from broker_client.auth import TLSConfig
from broker_client.channel import aio_channel
from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import connection_service_pb2 as csvc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as csvc_grpc
from broker_client.leases import watch_leases
from broker_client.watch import WatchOptions, watch_connection_state, watch_health
from broker_server.observability.render import render
from broker_server.observability.view import BrokerView

REDRAW = 1.0
"""Seconds between two redraws when no event arrives (the TTL countdown)."""


class Top:
    """One ``top`` session against ``target``."""

    def __init__(
        self,
        target: str,
        *,
        tls: TLSConfig | None = None,
        token: str | None = None,
        console: Console | None = None,
    ) -> None:
        self.view = BrokerView(target)
        self.tls = tls
        self.token = token
        self.console = console or Console()
        self._changed = asyncio.Event()

    def changed(self) -> None:
        self._changed.set()

    async def _follow(self, events: AsyncIterator[Any], apply: Callable[[Any], None]) -> None:
        try:
            async for event in events:
                apply(event)
                self.changed()
        except BrokerError as err:  # a retry cannot fix it (bad token, unknown gateway)
            self.view.problem = str(err)
            self.changed()

    async def _connectivity(self, channel: grpc.aio.Channel) -> None:
        state = channel.get_state(try_to_connect=True)
        while True:
            ready = state is grpc.ChannelConnectivity.READY
            if ready != self.view.connected:
                self.view.connected = ready
                if ready:
                    self.view.problem = ""
                    await self._load(channel)
                self.view.note("connected to the broker" if ready else "broker unreachable")
                self.changed()
            await channel.wait_for_state_change(state)
            state = channel.get_state(try_to_connect=True)

    async def _load(self, channel: grpc.aio.Channel) -> None:
        """Once per (re)connection: what the events do not carry (addresses, roles)."""
        stub = csvc_grpc.ConnectionServiceStub(channel)
        with contextlib.suppress(grpc.aio.AioRpcError):  # the watches report what is wrong
            reply = await stub.GetConnectionState(csvc.GetConnectionStateRequest(), timeout=5)
            self.view.load_state(reply)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Show the view until ``stop`` is set (or the task is cancelled)."""
        stop = stop or asyncio.Event()
        options = WatchOptions(max_backoff=2.0)
        # The channel sends the token on every call and stream (broker_client.auth).
        async with aio_channel(self.view.target, tls=self.tls, token=self.token) as channel:
            tasks = [
                asyncio.create_task(self._connectivity(channel)),
                asyncio.create_task(
                    self._follow(
                        watch_connection_state(channel, options=options),
                        self.view.apply_connection,
                    )
                ),
                asyncio.create_task(
                    self._follow(watch_health(channel, options=options), self.view.apply_health)
                ),
                asyncio.create_task(
                    self._follow(watch_leases(channel, options=options), self.view.apply_lease)
                ),
            ]
            try:
                with Live(
                    render(self.view, time.time()),
                    console=self.console,
                    auto_refresh=False,
                    screen=False,
                ) as live:
                    while not stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(REDRAW):
                                await self._changed.wait()
                        self._changed.clear()
                        live.update(render(self.view, time.time()), refresh=True)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)


def run_top(target: str, *, tls: TLSConfig | None = None, token: str | None = None) -> int:
    """``ibbroker top``: until Ctrl-C; returns 0."""
    try:
        asyncio.run(Top(target, tls=tls, token=token).run())
    except KeyboardInterrupt:
        pass
    return 0
