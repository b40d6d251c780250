"""The one resumable watch helper: options, FINAL handling and giving up, against a real broker."""

from __future__ import annotations

import asyncio
import random

import grpc
import pytest

from broker_client import BrokerClient, BrokerError, WatchOptions, watch_leases
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from tests.conftest import free_port
from tests.leases.conftest import Broker

SNAPSHOT_END = lease_pb2.LEASE_EVENT_KIND_SNAPSHOT_END
FINAL = lease_pb2.LEASE_EVENT_KIND_FINAL


def test_overrides_replace_fields_and_reject_unknown_names() -> None:
    base = WatchOptions(max_attempts=3)
    assert base.with_overrides() is base
    assert base.with_overrides(stop_on_final=True) == WatchOptions(
        max_attempts=3, stop_on_final=True
    )
    assert isinstance(base.with_overrides(rng=None).rng, random.Random)
    with pytest.raises(TypeError):
        base.with_overrides(max_attempt=1)


async def test_options_stop_at_final(broker: Broker) -> None:
    await broker.stub.AcquireLease(pb.AcquireLeaseRequest(owner="alice", request_id="r1"))
    assert broker.channel is not None
    options = WatchOptions(stop_on_final=True)
    seen = []

    async def read() -> None:
        async for event in watch_leases(broker.channel, owner="alice", options=options):
            seen.append(event.kind)
            if event.kind == SNAPSHOT_END:
                assert broker.manager is not None
                broker.manager.end_streams("restarting")

    await asyncio.wait_for(read(), 5)
    assert seen == [lease_pb2.LEASE_EVENT_KIND_SNAPSHOT, SNAPSHOT_END, FINAL]


async def test_a_watch_on_a_dead_address_gives_up_after_max_attempts() -> None:
    options = WatchOptions(initial_backoff=0.01, max_backoff=0.02, max_attempts=2)
    async with BrokerClient(f"127.0.0.1:{free_port()}") as client:
        for events in (
            client.watch_leases(options=options),
            client.watch_health(options=options),
            client.watch_connection_state(max_attempts=0),
        ):
            with pytest.raises(BrokerError) as info:
                await asyncio.wait_for(anext(events), 10)
            assert info.value.code == grpc.StatusCode.UNAVAILABLE
            assert "gave up" in info.value.message
