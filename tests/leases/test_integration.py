"""Leases in the whole broker (``running_broker`` with the simulator): the probe connect finds a
zombie that kept using a released ID (IB error 326) and keeps the ID resting until it is gone;
a PROXIED lease's session really holds its ID."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from ib_insync import IB

from broker_client.ibbroker.v1 import lease_pb2, lease_service_pb2_grpc
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_server.app import running_broker
from broker_server.config import BrokerConfig, LeaseConfig, StoreConfig
from broker_server.domain.leases import QuarantineReason


class LeaseLog(logging.Handler):
    """Collects the ``ibbroker.leases`` JSON events; wakes waiters on each one (the lease
    manager logs on the event loop, so setting an asyncio.Event here is safe)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []
        self.new = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append({"event": record.getMessage(), **getattr(record, "fields", {})})
        self.new.set()

    async def wait_for(self, event: str, within: float = 10, **fields: Any) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                for seen in self.events:
                    if seen["event"] == event and all(seen.get(k) == v for k, v in fields.items()):
                        return seen
                self.new.clear()
                await self.new.wait()


@pytest.fixture
def lease_log() -> Iterator[LeaseLog]:
    handler = LeaseLog()
    logger = logging.getLogger("ibbroker.leases")
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def config(tmp_path: Path) -> BrokerConfig:
    return BrokerConfig(
        store=StoreConfig(path=str(tmp_path / "leases.sqlite3")),
        leases=LeaseConfig(quarantine_cooldown=0.3, sweep_interval=0.05, probe_timeout=2.0),
    )


@pytest.mark.slow
async def test_a_zombie_on_a_released_id_keeps_it_quarantined_until_it_leaves(
    tmp_path: Path, lease_log: LeaseLog
) -> None:
    async with running_broker(config(tmp_path), with_sim=True) as broker:
        assert broker.sim is not None
        table = broker.leases.table
        async with grpc.aio.insecure_channel(broker.address) as channel:
            stub = lease_service_pb2_grpc.LeaseServiceStub(channel)
            lease = (await stub.AcquireLease(pb.AcquireLeaseRequest(owner="s"))).lease
            zombie = IB()
            await zombie.connectAsync("127.0.0.1", broker.sim.port, clientId=lease.client_id)
            try:
                await stub.ReleaseLease(
                    pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner="s")
                )
                # After the cool-down the probe connect gets 326: the ID rests again.
                await lease_log.wait_for("lease_quarantined", reason="in_use")
                assert [q.reason for q in table.quarantined()] == [QuarantineReason.IN_USE]
            finally:
                zombie.disconnect()
            await lease_log.wait_for("lease_freed", client_id=lease.client_id)
            again = (
                await stub.AcquireLease(
                    pb.AcquireLeaseRequest(owner="t", client_id=lease.client_id)
                )
            ).lease
            assert (again.client_id, again.epoch) == (lease.client_id, lease.epoch + 1)


@pytest.mark.slow
async def test_a_proxied_lease_session_holds_its_client_id(
    tmp_path: Path, lease_log: LeaseLog
) -> None:
    async with running_broker(config(tmp_path), with_sim=True) as broker:
        assert broker.sim is not None
        async with grpc.aio.insecure_channel(broker.address) as channel:
            stub = lease_service_pb2_grpc.LeaseServiceStub(channel)
            lease = (
                await stub.AcquireLease(
                    pb.AcquireLeaseRequest(owner="p", mode=lease_pb2.LEASE_MODE_PROXIED)
                )
            ).lease
            intruder = IB()
            refused = asyncio.Event()

            def on_error(_req_id: int, code: int, *_: object) -> None:
                if code == 326:
                    refused.set()

            intruder.errorEvent += on_error
            connecting = asyncio.create_task(
                intruder.connectAsync("127.0.0.1", broker.sim.port, clientId=lease.client_id)
            )
            try:
                await asyncio.wait_for(refused.wait(), timeout=10)  # IB error 326
            finally:
                connecting.cancel()
                with contextlib.suppress(BaseException):
                    await connecting
                intruder.disconnect()
            await stub.ReleaseLease(
                pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner="p")
            )
            # The session was closed on release: the ID is free of clients (the broker's own
            # PROXIED session is proof enough, no probe), so it comes back after the cool-down.
            await lease_log.wait_for("lease_freed", client_id=lease.client_id)
            assert broker.leases.table.quarantined() == []
