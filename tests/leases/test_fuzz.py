"""Whatever a caller sends, the answer is never UNKNOWN or INTERNAL (hypothesis-generated
requests against the real server, running on its own loop in a thread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker_client.ibbroker.v1 import lease_pb2, lease_service_pb2_grpc
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_server.domain.clock import ManualClock
from broker_server.runtime.leases import LeaseManager
from broker_server.services.lease_service import LeaseServicer
from broker_server.store.sqlite import SqliteStore
from tests.leases.conftest import make_config

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.PERMISSION_DENIED,
}


@pytest.fixture(scope="module")
def stub(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[lease_service_pb2_grpc.LeaseServiceStub]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "leases.sqlite3"
    config = make_config(path, client_id_min=100, client_id_max=130)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[LeaseManager, grpc.aio.Server, int]:
        manager = LeaseManager(config, SqliteStore(path), ManualClock())
        await manager.start(sweeper=False)
        server = grpc.aio.server()
        lease_service_pb2_grpc.add_LeaseServiceServicer_to_server(LeaseServicer(manager), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return manager, server, port

    manager, server, port = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield lease_service_pb2_grpc.LeaseServiceStub(channel)

    async def stop() -> None:
        await server.stop(None)
        await manager.stop()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


texts = st.text(max_size=300)
int32 = st.integers(-(2**31), 2**31 - 1)
durations = st.builds(
    duration_pb2.Duration,
    seconds=st.integers(-315_576_000_000, 315_576_000_000),
    nanos=st.integers(-999_999_999, 999_999_999),
)
lease_ids = st.one_of(texts, st.uuids().map(str))


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as err:
        code: grpc.StatusCode = err.code()
        return code
    return grpc.StatusCode.OK


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(
    owner=texts,
    gateway=st.one_of(texts, st.just("paper")),
    ttl=st.none() | durations,
    mode=int32,
    client_id=st.none() | int32,
    request_id=texts,
)
def test_acquire_never_answers_unknown_or_internal(
    stub: lease_service_pb2_grpc.LeaseServiceStub,
    owner: str,
    gateway: str,
    ttl: duration_pb2.Duration | None,
    mode: int,
    client_id: int | None,
    request_id: str,
) -> None:
    request = pb.AcquireLeaseRequest(
        owner=owner,
        gateway=gateway,
        mode=lease_pb2.LeaseMode.ValueType(mode),
        request_id=request_id,
    )
    if ttl is not None:
        request.ttl.CopyFrom(ttl)
    if client_id is not None:
        request.client_id = client_id
    code = _code(lambda: stub.AcquireLease(request, timeout=10))
    assert code in ALLOWED
    if code == grpc.StatusCode.OK:
        lease = stub.AcquireLease(request, timeout=10).lease  # the same request: the same lease
        if request_id:
            stub.ReleaseLease(
                pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner=owner),
                timeout=10,
            )


@FUZZ
@given(lease_id=lease_ids, epoch=st.integers(0, 2**64 - 1), owner=texts, ttl=st.none() | durations)
def test_renew_release_get_never_answer_unknown_or_internal(
    stub: lease_service_pb2_grpc.LeaseServiceStub,
    lease_id: str,
    epoch: int,
    owner: str,
    ttl: duration_pb2.Duration | None,
) -> None:
    renew = pb.RenewLeaseRequest(lease_id=lease_id, epoch=epoch, owner=owner)
    if ttl is not None:
        renew.ttl.CopyFrom(ttl)
    assert _code(lambda: stub.RenewLease(renew, timeout=10)) in ALLOWED
    release = pb.ReleaseLeaseRequest(lease_id=lease_id, epoch=epoch, owner=owner)
    assert _code(lambda: stub.ReleaseLease(release, timeout=10)) in ALLOWED
    assert (
        _code(lambda: stub.GetLease(pb.GetLeaseRequest(lease_id=lease_id), timeout=10)) in ALLOWED
    )
    listing = pb.ListLeasesRequest(gateway=owner[:10], owner=owner)
    assert _code(lambda: stub.ListLeases(listing, timeout=10)) in ALLOWED
