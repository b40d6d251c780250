"""Limits per identity: over its budget one identity gets RESOURCE_EXHAUSTED IDENTITY_LIMIT
with RetryInfo, and another identity is served as before."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from broker_client import BrokerError
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_server.app import running_broker
from tests.security.helpers import bearer, make_identities, secure_config


async def over_limit(call: object) -> BrokerError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    err = BrokerError.from_rpc_error(info.value)
    assert (err.code, err.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "IDENTITY_LIMIT")
    return err


async def test_request_rate_is_per_identity(tmp_path: Path) -> None:
    # 0.01/s: nothing is regained during the test, however slow the machine.
    cfg = secure_config(tmp_path, max_request_rate=0.01, request_burst=5)
    tokens = make_identities(cfg)
    async with running_broker(cfg) as broker, aio_channel(broker.address) as channel:
        stub = svc_grpc.ConnectionServiceStub(channel)
        for _ in range(5):
            await stub.GetHealth(svc.GetHealthRequest(), metadata=bearer(tokens["alice"]))
        err = await over_limit(
            stub.GetHealth(svc.GetHealthRequest(), metadata=bearer(tokens["alice"]))
        )
        assert err.retry_delay is not None and err.retry_delay > 0
        # bob has his own budget.
        for _ in range(5):
            await stub.GetHealth(svc.GetHealthRequest(), metadata=bearer(tokens["bob"]))


async def test_open_streams_are_per_identity(tmp_path: Path) -> None:
    cfg = secure_config(tmp_path, max_streams_per_identity=2)
    tokens = make_identities(cfg)
    async with running_broker(cfg) as broker, aio_channel(broker.address) as channel:
        stub = svc_grpc.ConnectionServiceStub(channel)
        limits = broker.grpc.security.limits  # type: ignore[union-attr]
        assert limits is not None

        async def opened(who: str) -> grpc.aio.UnaryStreamCall:
            call = stub.WatchHealth(svc.WatchHealthRequest(), metadata=bearer(tokens[who]))
            await call.read()  # the snapshot: the stream is open
            return call

        first, second = await opened("alice"), await opened("alice")
        third = stub.WatchHealth(svc.WatchHealthRequest(), metadata=bearer(tokens["alice"]))
        await over_limit(third.read())
        bobs = await opened("bob")
        first.cancel()
        # The server ends the cancelled stream on its own time: bounded retries until it has.
        for _ in range(500):
            if limits.streams["alice"] == 1:
                break
            await asyncio.sleep(0.01)
        assert limits.streams["alice"] == 1
        again = await opened("alice")
        for call in (second, bobs, again):
            call.cancel()


async def test_active_leases_are_per_identity_and_retries_are_not_counted(tmp_path: Path) -> None:
    cfg = secure_config(tmp_path, max_leases_per_identity=1)
    tokens = make_identities(cfg)
    async with running_broker(cfg, with_sim=True) as broker, aio_channel(broker.address) as ch:
        stub = lease_grpc.LeaseServiceStub(ch)
        alice = bearer(tokens["alice"])
        held = await stub.AcquireLease(pb.AcquireLeaseRequest(request_id="r-1"), metadata=alice)
        retried = await stub.AcquireLease(pb.AcquireLeaseRequest(request_id="r-1"), metadata=alice)
        assert retried.lease.lease_id == held.lease.lease_id
        await over_limit(
            stub.AcquireLease(pb.AcquireLeaseRequest(owner="alice/other"), metadata=alice)
        )
        await stub.AcquireLease(pb.AcquireLeaseRequest(), metadata=bearer(tokens["bob"]))
        lease = held.lease
        await stub.ReleaseLease(
            pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch), metadata=alice
        )
        await stub.AcquireLease(pb.AcquireLeaseRequest(), metadata=alice)
