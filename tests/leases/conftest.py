"""Fixtures: a real ``grpc.aio`` server on 127.0.0.1:0 hosting the LeaseServicer, a real SQLite
store in ``tmp_path``, a ManualClock the tests move, and the generated client stubs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import lease_service_pb2_grpc
from broker_server.config import BrokerConfig, GatewayConfig, LeaseConfig, StoreConfig
from broker_server.domain.clock import Clock, ManualClock
from broker_server.runtime.leases import (
    ClientIdProber,
    GatewayAccounts,
    LeaseEvent,
    LeaseManager,
    ProxiedSessionPool,
)
from broker_server.services.lease_service import LeaseServicer
from broker_server.store.sqlite import SqliteStore


def make_config(
    store: Path,
    *,
    client_id_min: int = 100,
    client_id_max: int = 103,
    cooldown: float = 5.0,
    min_ttl: float = 5.0,
    gateways: tuple[GatewayConfig, ...] | None = None,
) -> BrokerConfig:
    """A config with a small range so exhaustion is quick to reach."""
    return BrokerConfig(
        store=StoreConfig(path=str(store)),
        leases=LeaseConfig(
            quarantine_cooldown=cooldown, sweep_interval=0.1, probe_timeout=1.0, min_ttl=min_ttl
        ),
        gateways=gateways
        or (GatewayConfig(name="paper", client_id_min=client_id_min, client_id_max=client_id_max),),
    )


@dataclass
class Broker:
    """One in-process broker serving only the LeaseService."""

    config: BrokerConfig
    clock: Any  # ManualClock in most tests; SystemClock where a real client renews
    prober: ClientIdProber | None = None
    sessions: ProxiedSessionPool | None = None
    accounts: GatewayAccounts | None = None
    events: list[LeaseEvent] = field(default_factory=list)
    new_event: asyncio.Event = field(default_factory=asyncio.Event)
    manager: LeaseManager | None = None
    server: grpc.aio.Server | None = None
    channel: grpc.aio.Channel | None = None
    stub: Any = None
    address: str = ""
    port: int = 0
    """The port to listen on; 0 picks a free one on each start."""

    async def start(self) -> Broker:
        store = SqliteStore(self.config.store.path)
        self.manager = LeaseManager(
            self.config,
            store,
            self.clock,
            self.prober,
            self.sessions,
            on_event=self._record,
            accounts=self.accounts,
        )
        await self.manager.start(sweeper=False)
        self.server = grpc.aio.server()
        lease_service_pb2_grpc.add_LeaseServiceServicer_to_server(
            LeaseServicer(self.manager), self.server
        )
        port = self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        await self.server.start()
        self.address = f"127.0.0.1:{port}"
        self.channel = grpc.aio.insecure_channel(self.address)
        self.stub = lease_service_pb2_grpc.LeaseServiceStub(self.channel)
        return self

    def _record(self, event: LeaseEvent) -> None:
        self.events.append(event)
        self.new_event.set()

    async def wait_for_events(
        self, predicate: Callable[[list[LeaseEvent]], bool], within: float = 5.0
    ) -> None:
        """Wait until ``predicate(events)`` holds, woken by each new event; fail after ``within`` s."""
        async with asyncio.timeout(within):
            while not predicate(self.events):
                self.new_event.clear()
                await self.new_event.wait()

    async def stop(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        if self.server is not None:
            await self.server.stop(None)
        if self.manager is not None:
            await self.manager.stop()
        self.channel = self.server = self.manager = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def sweep(self) -> None:
        assert self.manager is not None
        await self.manager.sweep()


@pytest.fixture
async def make_broker(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Broker]]]:
    brokers: list[Broker] = []

    async def make(
        config: BrokerConfig | None = None,
        *,
        prober: ClientIdProber | None = None,
        sessions: ProxiedSessionPool | None = None,
        accounts: GatewayAccounts | None = None,
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> Broker:
        cfg = config or make_config(tmp_path / "leases.sqlite3", **kwargs)
        broker = Broker(
            cfg, clock or ManualClock(), prober=prober, sessions=sessions, accounts=accounts
        )
        brokers.append(broker)
        return await broker.start()

    yield make
    for broker in brokers:
        await broker.stop()


@pytest.fixture
async def broker(make_broker: Callable[..., Awaitable[Broker]]) -> Broker:
    return await make_broker()


async def rpc_error(call: Awaitable[Any]) -> BrokerError:
    """Await a call that must fail; its decoded error."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return BrokerError.from_rpc_error(info.value)
