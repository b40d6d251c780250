"""The one resumable watch helper: options, FINAL handling and giving up, against a real broker."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from broker_client import (
    BrokerClient,
    BrokerError,
    WatchOptions,
    watch_connection_state,
    watch_leases,
)
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import connection_pb2, lease_pb2
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from tests.conftest import free_port
from tests.leases.conftest import Broker

SNAPSHOT_END = lease_pb2.LEASE_EVENT_KIND_SNAPSHOT_END
FINAL = lease_pb2.LEASE_EVENT_KIND_FINAL
FINAL_STATE = connection_pb2.EVENT_KIND_FINAL


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


class ScriptedWatch(svc_grpc.ConnectionServiceServicer):
    """WatchConnectionState answered from a script: one list of steps per opened stream."""

    def __init__(self, streams: list[list[Any]]) -> None:
        self.streams = streams
        self.resumed_after: list[int] = []

    async def WatchConnectionState(self, request: Any, context: Any) -> AsyncIterator[Any]:
        self.resumed_after.append(request.resume_after_sequence)
        for step in self.streams.pop(0):
            if isinstance(step, int):
                kind = FINAL_STATE if step < 0 else connection_pb2.EVENT_KIND_TRANSITION
                event = connection_pb2.ConnectionEvent(
                    sequence=abs(step), gateway="paper", kind=kind
                )
                yield svc.WatchConnectionStateResponse(event=event)
            else:
                await context.abort(*step)


async def test_a_watch_resumes_after_the_last_sequence_without_duplicates_or_gaps() -> None:
    servicer = ScriptedWatch(  # type: ignore[abstract]  # the base answers the rest
        [
            [5, 6, (grpc.StatusCode.UNAVAILABLE, "gone")],  # the network breaks
            [7, -8],  # the broker shuts down: FINAL, stream ends OK
            [9, (grpc.StatusCode.NOT_FOUND, "no such gateway")],  # a retry cannot fix this
        ]
    )
    server = grpc.aio.server()
    svc_grpc.add_ConnectionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    seen: list[int] = []
    try:
        async with aio_channel(f"127.0.0.1:{port}") as channel:
            options = WatchOptions(initial_backoff=0.01, max_backoff=0.02)
            with pytest.raises(BrokerError) as info:
                async with asyncio.timeout(10):
                    async for event in watch_connection_state(channel, "paper", options=options):
                        seen.append(event.sequence)
    finally:
        await server.stop(None)
    assert seen == [5, 6, 7, 8, 9]
    assert servicer.resumed_after == [0, 6, 8]
    assert info.value.code == grpc.StatusCode.NOT_FOUND
