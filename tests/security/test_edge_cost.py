"""What the edge skips to stay cheap, and that it skips nothing it must do (docs/security.md,
"What the edge costs"): the handlers are built once per method; with auth off a read passes
through, while the allow-list, the admin token and the audit of writes still hold; the owner
check is left out only where a request has no owner; request IDs are made per audit line."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message_factory import GetMessageClass

import broker_client.ibbroker.v1 as generated
from broker_client import BrokerError
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.ibbroker.v1 import lease_service_pb2 as lpb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_server.app import running_broker
from broker_server.config import AuthConfig
from broker_server.config_values import Secret
from broker_server.observability.rpc import RpcTelemetryInterceptor
from broker_server.services.owner import OwnerInterceptor
from broker_server.services.scopes import RULES
from tests.security.helpers import bearer, make_identities, secure_config
from tests.server.helpers import fast_config

GET_STATE = "/ibbroker.v1.ConnectionService/GetConnectionState"


def _request_types() -> dict[str, Any]:
    """Every RPC of the protos -> its request message class."""
    types = {}
    for info in pkgutil.iter_modules(generated.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"{generated.__name__}.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            for m in service.methods:
                types[f"/{service.full_name}/{m.name}"] = GetMessageClass(m.input_type)
    return types


class _Details:
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


async def _resolve(interceptor: grpc.aio.ServerInterceptor, method: str, handler: Any) -> Any:
    async def continuation(_details: Any) -> Any:
        return handler

    return await interceptor.intercept_service(continuation, _Details(method))


async def test_the_owner_check_stays_on_every_rpc_whose_request_has_an_owner() -> None:
    types = _request_types()
    assert set(types) == set(RULES)  # the walk found every RPC
    owner = OwnerInterceptor()
    checked = []
    for method, request_type in types.items():

        async def servicer(request: Any, context: Any) -> Any:
            return request

        handler = grpc.unary_unary_rpc_method_handler(
            servicer, request_type.FromString, request_type.SerializeToString
        )
        wrapped = await _resolve(owner, method, handler)
        fields = request_type.DESCRIPTOR.fields_by_name
        has_owner = "owner" in fields or "all_owners" in fields
        assert (wrapped is not handler) == has_owner, method
        if has_owner:
            checked.append(method)
            # Built once: the next call of the method gets the same handler object.
            assert await _resolve(owner, method, handler) is wrapped
    assert "/ibbroker.v1.LeaseService/AcquireLease" in checked
    assert "/ibbroker.v1.TradingService/PlaceOrder" in checked
    assert GET_STATE not in checked


async def test_each_interceptor_hands_out_one_handler_per_method(tmp_path: Path) -> None:
    cfg = secure_config(tmp_path, max_request_rate=100.0, max_streams_per_identity=5)
    make_identities(cfg)
    async with running_broker(cfg) as broker:
        chain = broker.grpc.interceptors
        names = [type(i).__name__ for i in chain]
        assert names[-2:] == ["OwnerInterceptor", "IdentityLimits"]  # auth on: installed

        async def servicer(request: Any, context: Any) -> Any:
            return request

        handler = grpc.unary_unary_rpc_method_handler(
            servicer, lpb.AcquireLeaseRequest.FromString, lpb.AcquireLeaseResponse.SerializeToString
        )
        for interceptor in chain:
            if isinstance(interceptor, RpcTelemetryInterceptor):
                continue  # observability/rpc.py still builds its wrapper per call
            method = "/ibbroker.v1.LeaseService/AcquireLease"
            first = await _resolve(interceptor, method, handler)
            assert await _resolve(interceptor, method, handler) is first, type(interceptor)
            # A different handler for the same name (a re-registration) is wrapped anew.
            other = grpc.unary_unary_rpc_method_handler(servicer)
            assert await _resolve(interceptor, method, other) is not first


async def test_auth_off_reads_pass_through_but_every_guard_still_holds(tmp_path: Path) -> None:
    base = fast_config(tmp_path / "s.sqlite3")
    audit = tmp_path / "audit.log"
    cfg = dataclasses.replace(
        base,
        auth=AuthConfig(allow_cidrs=("127.0.0.0/8",), audit_file=str(audit)),
        server=dataclasses.replace(base.server, admin_token=Secret("s3cret-admin")),
    )
    async with running_broker(cfg) as broker, aio_channel(broker.address) as channel:
        names = [type(i).__name__ for i in broker.grpc.interceptors]
        assert "OwnerInterceptor" not in names and "IdentityLimits" not in names
        conn = svc_grpc.ConnectionServiceStub(channel)
        await conn.GetConnectionState(svc.GetConnectionStateRequest(), timeout=5)
        # The admin token is still checked...
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await conn.Reconnect(svc.ReconnectRequest(), timeout=5)
        err = BrokerError.from_rpc_error(info.value)
        assert (err.code, err.reason) == (grpc.StatusCode.UNAUTHENTICATED, "ADMIN_TOKEN_REQUIRED")
        # ...and writes are audited, with the caller's request ID or one made per line.
        leases = lease_grpc.LeaseServiceStub(channel)
        held = await leases.AcquireLease(
            lpb.AcquireLeaseRequest(owner="a"), metadata=(("x-request-id", "rid-1"),), timeout=5
        )
        await leases.ReleaseLease(
            lpb.ReleaseLeaseRequest(
                lease_id=held.lease.lease_id, epoch=held.lease.epoch, owner="a"
            ),
            timeout=5,
        )
        await leases.ReleaseLease(
            lpb.ReleaseLeaseRequest(
                lease_id=held.lease.lease_id, epoch=held.lease.epoch, owner="a"
            ),
            timeout=5,
        )
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    acquired = [x for x in lines if x["rpc"].endswith("/AcquireLease")]
    assert acquired and acquired[0]["request_id"] == "rid-1" and acquired[0]["outcome"] == "OK"
    released = [x["request_id"] for x in lines if x["rpc"].endswith("/ReleaseLease")]
    assert len(released) == 2 and all(released) and released[0] != released[1]
    # The allow-list still refuses an address outside it, reads included.
    outside = dataclasses.replace(cfg, auth=AuthConfig(allow_cidrs=("10.0.0.0/8",)))
    async with running_broker(outside) as broker, aio_channel(broker.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await svc_grpc.ConnectionServiceStub(channel).GetConnectionState(
                svc.GetConnectionStateRequest(), timeout=5
            )
        assert BrokerError.from_rpc_error(info.value).reason == "PEER_NOT_ALLOWED"


async def test_with_auth_on_a_cached_read_still_authenticates_every_call(tmp_path: Path) -> None:
    cfg = secure_config(tmp_path)
    tokens = make_identities(cfg)
    async with running_broker(cfg) as broker, aio_channel(broker.address) as channel:
        conn = svc_grpc.ConnectionServiceStub(channel)
        request = svc.GetConnectionStateRequest()
        for _ in range(3):  # the handler is cached after the first: each call still checked
            await conn.GetConnectionState(request, metadata=bearer(tokens["reader"]), timeout=5)
            for metadata, reason in (
                ((), "CREDENTIALS_MISSING"),
                (bearer("ibb_" + "0" * 43), "CREDENTIALS_INVALID"),
                (bearer(tokens["leaser"]), "SCOPE_DENIED"),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await conn.GetConnectionState(request, metadata=metadata, timeout=5)
                assert BrokerError.from_rpc_error(info.value).reason == reason
