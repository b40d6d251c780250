"""A small complete strategy on ibbroker: lease a client ID, trade only while the gateway works.

    .venv/bin/python examples/python/strategy.py --broker 127.0.0.1:50051 --duration 30

1. Lease a client ID (DIRECT) from the broker; it is renewed in the background and released on
   exit. Connect our own ib_insync ``IB()`` to the leased gateway with it.
2. Watch the gateway's connection state and health through the broker (one resumable stream
   each). RECONNECTING: stop deciding (the broker reconnects; our own socket may be gone too).
   RESTORED: the broker re-read positions and orders; reconnect our socket if it dropped, with
   the same leased client ID, and resume. UNHEALTHY: pause until it is not.
3. While active, read AAPL's price once a second and print a decision from a short moving
   average (this example stops at the signal: orders through the broker are issue 10).

Every decision and event is one JSON line on stdout, so a test (tests/examples) can check the
run. It stops after ``--duration`` seconds, on SIGINT/SIGTERM, or when the lease is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
import sys
import time
from collections import deque
from typing import Any

from ib_insync import IB, Stock

from broker_client import BrokerClient, LeaseLostError
from broker_client.ibbroker.v1 import connection_pb2 as pb


def say(event: str, **fields: Any) -> None:
    """One JSON line per event, flushed so a reader sees it at once."""
    print(json.dumps({"event": event, "t": round(time.time(), 3), **fields}), flush=True)


class Strategy:
    """Trades only while ``active``: the gateway CONNECTED (and restored) and not UNHEALTHY."""

    def __init__(self, ib: IB, host: str, port: int, client_id: int) -> None:
        self.ib, self.host, self.port, self.client_id = ib, host, port, client_id
        self.connected = True
        self.healthy = True
        self.prices: deque[float] = deque(maxlen=5)

    @property
    def active(self) -> bool:
        return self.connected and self.healthy and self.ib.isConnected()

    async def on_state(self, event: pb.ConnectionEvent) -> None:
        if not event.session.endswith("/monitor"):
            return  # the gateway's state is its monitor session's
        if event.state == pb.CONNECTION_STATE_RECONNECTING and self.connected:
            self.connected = False
            say("paused", why="RECONNECTING", reason=event.reason)
        elif event.kind == pb.EVENT_KIND_RESTORED and not self.connected:
            if not self.ib.isConnected():  # the gateway dropped our socket too
                await self.ib.connectAsync(self.host, self.port, clientId=self.client_id)
            self.connected = True
            restored = event.restored
            say("resumed", positions=restored.positions, open_orders=restored.open_orders)
        elif event.kind == pb.EVENT_KIND_GAP:
            say("gap", start=event.gap_start.ToJsonString(), end=event.gap_end.ToJsonString())

    def on_health(self, event: pb.HealthEvent) -> None:
        if not event.session.endswith("/monitor"):
            return
        healthy = event.status != pb.HEALTH_STATUS_UNHEALTHY
        if healthy != self.healthy:
            self.healthy = healthy
            say("health", status=pb.HealthStatus.Name(event.status))

    def decide(self, price: float) -> None:
        self.prices.append(price)
        average = sum(self.prices) / len(self.prices)
        signal_ = "buy" if price < average else "sell" if price > average else "hold"
        say("decision", price=price, average=round(average, 4), signal=signal_)


async def follow(stream: Any, handle: Any) -> None:
    async for event in stream:
        result = handle(event)
        if asyncio.iscoroutine(result):
            await result


async def main(broker: str, owner: str, duration: float) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with BrokerClient(broker) as client, client.lease(owner=owner, ttl=30) as held:
        gateway = held.lease.gateway
        address = (await client.get_connection_state(gateway))[0].address
        host, port = address.rsplit(":", 1)
        say("leased", gateway=gateway, client_id=held.client_id, epoch=held.epoch)
        ib = IB()
        await ib.connectAsync(host, int(port), clientId=held.client_id, timeout=10)
        strategy = Strategy(ib, host, int(port), held.client_id)
        watchers = [
            asyncio.create_task(follow(client.watch_connection_state(gateway), strategy.on_state)),
            asyncio.create_task(follow(client.watch_health(gateway), strategy.on_health)),
        ]
        ticker = None
        deadline = loop.time() + duration
        try:
            while not stop.is_set() and loop.time() < deadline:
                held.check()  # raises LeaseLostError once the broker may give the ID away
                if strategy.active:
                    if ticker is None:
                        [contract] = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
                        ticker = ib.reqMktData(contract)
                    price = ticker.marketPrice()
                    if not math.isnan(price):
                        strategy.decide(price)
                elif not ib.isConnected():
                    ticker = None  # subscribed again after the reconnect
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(1.0, max(0.0, deadline - loop.time()))):
                        await stop.wait()
        except LeaseLostError as err:
            say("lease_lost", error=str(err))
            return 1
        finally:
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            ib.disconnect()
    say("stopped")
    return 0


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="127.0.0.1:50051", help="the broker's host:port")
    parser.add_argument("--owner", default="example-strategy", help="lease owner")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds to run")
    args = parser.parse_args(argv)
    return asyncio.run(main(args.broker, args.owner, args.duration))


if __name__ == "__main__":
    sys.exit(cli())
