"""64 gRPC clients at once: no ID is ever held twice, every acquire is either granted or told to
come back later, and releases free everything."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc
from tests.leases.conftest import Broker

MakeBroker = Callable[..., Awaitable[Broker]]
CLIENTS = 64
ROUNDS = 5


async def test_64_concurrent_clients_never_share_a_client_id(make_broker: MakeBroker) -> None:
    broker = await make_broker(client_id_min=100, client_id_max=130, cooldown=0.0)
    holders: dict[int, str] = {}
    double: list[tuple[int, str, str]] = []
    granted: list[int] = []
    exhausted = 0

    async def client(n: int) -> None:
        nonlocal exhausted
        async with grpc.aio.insecure_channel(broker.address) as channel:
            stub = lease_service_pb2_grpc.LeaseServiceStub(channel)
            owner = f"strategy-{n}"
            for round_ in range(ROUNDS):
                try:
                    response = await stub.AcquireLease(
                        pb.AcquireLeaseRequest(owner=owner, request_id=f"{owner}-{round_}")
                    )
                except grpc.aio.AioRpcError as err:
                    error = BrokerError.from_rpc_error(err)
                    assert error.reason == "CLIENT_ID_EXHAUSTED" and error.retry_after is not None
                    exhausted += 1
                    await asyncio.sleep(0)
                    continue
                lease = response.lease
                if lease.client_id in holders:
                    double.append((lease.client_id, holders[lease.client_id], owner))
                holders[lease.client_id] = owner
                granted.append(lease.client_id)
                await asyncio.sleep(0)
                del holders[lease.client_id]
                await stub.ReleaseLease(
                    pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner=owner)
                )

    async def sweeper(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await broker.sweep()
            await asyncio.sleep(0.005)

    stop = asyncio.Event()
    sweeping = asyncio.create_task(sweeper(stop))
    try:
        await asyncio.wait_for(asyncio.gather(*(client(n) for n in range(CLIENTS))), timeout=30)
    finally:
        stop.set()  # also when the clients time out: the sweeper never outlives the test
        await asyncio.wait_for(sweeping, timeout=5)
    assert double == []
    assert len(granted) + exhausted == CLIENTS * ROUNDS
    assert len(granted) >= 31  # at least the whole range was used once
    assert (await broker.stub.ListLeases(pb.ListLeasesRequest())).leases == []
    await broker.sweep()
    assert broker.manager is not None
    assert broker.manager.table.quarantined() == []
    epochs = [
        e.lease.epoch for e in broker.events if e.lease is not None and e.kind.value == "acquired"
    ]
    assert len(epochs) == len(granted)
