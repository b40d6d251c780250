"""``ibbroker status``: the operator's view of a broker, once, as a table or as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import grpc
from rich.console import Console

from broker_client.auth import TLSConfig
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import connection_service_pb2 as csvc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as csvc_grpc
from broker_client.ibbroker.v1 import lease_service_pb2 as lsvc
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lsvc_grpc
from broker_server.observability.render import render
from broker_server.observability.view import BrokerView


async def fetch(
    target: str,
    timeout: float,  # noqa: ASYNC109
    tls: TLSConfig | None = None,
    token: str | None = None,
) -> BrokerView:
    """One GetConnectionState and one ListLeases; raises grpc.aio.AioRpcError."""
    view = BrokerView(target)
    async with aio_channel(target, tls=tls, token=token) as channel:
        connections = csvc_grpc.ConnectionServiceStub(channel)
        leases = lsvc_grpc.LeaseServiceStub(channel)
        state = await connections.GetConnectionState(
            csvc.GetConnectionStateRequest(), timeout=timeout
        )
        listed = await leases.ListLeases(lsvc.ListLeasesRequest(), timeout=timeout)
    view.connected = True
    view.load_state(state)
    view.load_leases(listed.leases)
    return view


def run_status(
    target: str,
    *,
    as_json: bool,
    timeout: float,
    tls: TLSConfig | None = None,
    token: str | None = None,
) -> int:
    """Print the broker's state once; 0 when it answered, 1 (and why, on stderr) when not."""
    try:
        view = asyncio.run(fetch(target, timeout, tls, token))
    except grpc.aio.AioRpcError as err:
        print(f"ibbroker status: {target}: {err.code().name}: {err.details()}", file=sys.stderr)
        return 1
    now = time.time()
    if as_json:
        print(json.dumps(view.to_json(now), indent=2))
    else:
        Console().print(render(view, now, events=False))
    return 0
