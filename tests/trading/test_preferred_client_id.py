"""A PROXIED re-acquire gets back the client ID its owner's working orders were placed with:
TWS lets only that client ID modify or cancel them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as lpb
from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_server.domain.lease_records import LeaseEventKind
from tests.trading.served import Served, limit_order, rpc_error, served, simulator


async def _release_and_wait_free(s: Served, lease: lease_pb2.Lease, owner: str) -> None:
    """Release ``lease`` and wait (bounded) until its client ID has left quarantine."""
    events = s.broker.leases.events.subscribe(s.broker.leases.events.sequence)
    await s.leases.ReleaseLease(
        lpb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner=owner)
    )
    async with asyncio.timeout(10):
        async for event in events:
            if event.kind is LeaseEventKind.FREED and event.client_id == lease.client_id:
                return


async def test_a_reacquire_gets_the_client_id_of_the_owners_working_orders(
    tmp_path: Path,
) -> None:
    # The cancel goes through a PROXIED session the re-acquire reopens: on a loaded 2-core host
    # reconnecting and confirming can take longer than the suite's 3 s answer bound (a ceiling,
    # not a wait).
    async with simulator() as sim, served(tmp_path / "s.db", sim, ack_timeout=10.0) as s:
        first = await s.lease(owner="bob")  # takes the lowest free ID
        mine = await s.lease(owner="alice")
        assert mine.client_id != first.client_id
        placed = await s.place(mine, limit_order("1.00"), key="keep-1", owner="alice")
        await _release_and_wait_free(s, mine, "alice")
        await _release_and_wait_free(s, first, "bob")
        # Every ID is free again; without the preference alice would get bob's lower one.
        again = await s.lease(owner="alice")
        assert again.client_id == placed.order.client_id == mine.client_id
        cancelled = await s.trading.CancelOrder(
            spb.CancelOrderRequest(
                lease_id=again.lease_id,
                epoch=again.epoch,
                owner="alice",
                order=spb.OrderSelector(idempotency_key="keep-1"),
            ),
            timeout=10,
        )
        assert cancelled.order.state == pb.ORDER_STATE_CANCELLED
        # An owner without working orders gets the lowest free ID as before.
        other = await s.lease(owner="carol")
        assert other.client_id == first.client_id


async def test_an_explicit_client_id_wins_over_the_preference(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        mine = await s.lease(owner="alice")
        await s.place(mine, limit_order("1.00"), key="keep-2", owner="alice")
        await _release_and_wait_free(s, mine, "alice")
        asked = mine.client_id + 1
        again = await s.lease(owner="alice", client_id=asked)
        assert again.client_id == asked
        err = await rpc_error(
            s.trading.CancelOrder(
                spb.CancelOrderRequest(
                    lease_id=again.lease_id,
                    epoch=again.epoch,
                    owner="alice",
                    order=spb.OrderSelector(idempotency_key="keep-2"),
                )
            )
        )
        assert (err.code, err.reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "ORDER_OWNED_BY_OTHER_CLIENT_ID",
        )
        assert err.metadata["owning_client_id"] == str(mine.client_id)
