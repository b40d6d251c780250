"""Leases belong to the authenticated identity: B cannot renew, release or watch-as-own A's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from broker_client import BrokerError
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_server.app import running_broker
from tests.security.helpers import bearer, make_identities, secure_config


@dataclass
class Secured:
    stub: lease_grpc.LeaseServiceStub
    tokens: dict[str, str]
    audit: Path


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[Secured]:
    cfg = secure_config(tmp_path)
    tokens = make_identities(cfg)
    async with running_broker(cfg, with_sim=True) as broker, aio_channel(broker.address) as ch:
        yield Secured(lease_grpc.LeaseServiceStub(ch), tokens, Path(cfg.auth.audit_file))


async def refused(call: object) -> BrokerError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    return BrokerError.from_rpc_error(info.value)


async def test_the_owner_is_the_identity_and_b_cannot_touch_a_lease(secured: Secured) -> None:
    stub, tok = secured.stub, secured.tokens
    lease = (await stub.AcquireLease(pb.AcquireLeaseRequest(), metadata=bearer(tok["alice"]))).lease
    assert lease.owner == "alice"
    fence = {"lease_id": lease.lease_id, "epoch": lease.epoch}
    as_bob = bearer(tok["bob"])
    # Naming alice: PERMISSION_DENIED before the lease core is asked.
    for call in (
        stub.RenewLease(pb.RenewLeaseRequest(owner="alice", **fence), metadata=as_bob),
        stub.ReleaseLease(pb.ReleaseLeaseRequest(owner="alice", **fence), metadata=as_bob),
        stub.AcquireLease(pb.AcquireLeaseRequest(owner="alice"), metadata=as_bob),
        stub.ListLeases(pb.ListLeasesRequest(owner="alice"), metadata=as_bob),
    ):
        err = await refused(call)
        assert (err.code, err.reason) == (grpc.StatusCode.PERMISSION_DENIED, "OWNER_NOT_CALLER")
    watch = stub.WatchLeases(pb.WatchLeasesRequest(owner="alice"), metadata=as_bob)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in watch:
            pass
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Not naming anyone: bob acts as bob, and the lease is not his.
    for call in (
        stub.RenewLease(pb.RenewLeaseRequest(**fence), metadata=as_bob),
        stub.ReleaseLease(pb.ReleaseLeaseRequest(**fence), metadata=as_bob),
    ):
        err = await refused(call)
        assert err.reason == "LEASE_NOT_OWNER"
    # The lease is intact: alice renews it, and every owner sees it in the read-only list.
    renewed = await stub.RenewLease(pb.RenewLeaseRequest(**fence), metadata=bearer(tok["alice"]))
    assert renewed.lease.epoch == lease.epoch
    listed = await stub.ListLeases(pb.ListLeasesRequest(), metadata=as_bob)
    assert [entry.owner for entry in listed.leases] == ["alice"]


async def test_labels_under_the_identity_and_admin_acting_for_others(secured: Secured) -> None:
    stub, tok = secured.stub, secured.tokens
    labelled = await stub.AcquireLease(
        pb.AcquireLeaseRequest(owner="alice/momentum"), metadata=bearer(tok["alice"])
    )
    assert labelled.lease.owner == "alice/momentum"
    # "alicex" is not under "alice/".
    err = await refused(
        stub.AcquireLease(pb.AcquireLeaseRequest(owner="alicex"), metadata=bearer(tok["alice"]))
    )
    assert err.reason == "OWNER_NOT_CALLER"
    # An admin (ops) may release another identity's lease by naming its owner.
    lease = labelled.lease
    await stub.ReleaseLease(
        pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner=lease.owner),
        metadata=bearer(tok["ops"]),
    )
    err = await refused(stub.AcquireLease(pb.AcquireLeaseRequest(), metadata=bearer(tok["reader"])))
    assert err.reason == "SCOPE_DENIED"
    lines = [json.loads(line) for line in secured.audit.read_text().splitlines()]
    assert lines[-1]["identity"] == "reader" and lines[-1]["reason"] == "SCOPE_DENIED"
    assert {
        "identity": "ops",
        "via": "token",
        "rpc": "/ibbroker.v1.LeaseService/ReleaseLease",
        "outcome": "OK",
    }.items() <= lines[-2].items()
    owner_refused = [line for line in lines if line["reason"] == "OWNER_NOT_CALLER"]
    assert owner_refused and owner_refused[0]["identity"] == "alice"
    assert owner_refused[0]["outcome"] == "PERMISSION_DENIED"
    for token in tok.values():
        assert token not in secured.audit.read_text()
