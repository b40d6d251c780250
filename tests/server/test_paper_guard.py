"""The paper/live guard end to end: the embedded simulator reports a live account to a
paper-configured broker."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc
import pytest

from broker_client import BrokerError
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.ibbroker.v1 import lease_service_pb2 as lease_svc
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_server.aio import within
from broker_server.app import running_broker
from broker_server.config import SimConfigSection
from tests.server.helpers import fast_config


async def test_a_direct_lease_for_a_live_account_on_a_paper_config_is_refused(
    tmp_path: Path,
) -> None:
    cfg = fast_config(tmp_path / "store.sqlite3")
    cfg = dataclasses.replace(cfg, sim=SimConfigSection(accounts=("U7654321",)))
    assert cfg.default_gateway.paper_trading
    async with running_broker(cfg, with_sim=True) as broker, aio_channel(broker.address) as ch:
        state = svc_grpc.ConnectionServiceStub(ch)

        async def mismatch_seen() -> None:
            request = svc.WatchConnectionStateRequest()
            async for reply in state.WatchConnectionState(request):
                if reply.event.reason.startswith("ACCOUNT_MISMATCH"):
                    return

        await within(mismatch_seen(), 10.0)
        leases = lease_grpc.LeaseServiceStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await leases.AcquireLease(lease_svc.AcquireLeaseRequest(owner="s"), timeout=5)
        err = BrokerError.from_rpc_error(info.value)
        assert (err.code, err.reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "LEASE_ACCOUNT_MISMATCH",
        )
        assert "U7654321" in err.message
        listed = await leases.ListLeases(lease_svc.ListLeasesRequest(), timeout=5)
        assert list(listed.leases) == []
