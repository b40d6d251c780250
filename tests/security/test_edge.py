"""The edge's other guards: the allow-list, failed-auth rate limiting under a flood, the
zero-config default (auth off, said first), bad bearer headers, the gateway transport check."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker_client import BrokerError
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_server.app import running_broker
from broker_server.config import AuthConfig, ConfigError, config_from_mapping
from broker_server.services.tokens import TokenFile, load_key
from tests.security.helpers import bearer, make_identities, secure_config
from tests.server.helpers import broker_process, fast_config

GET_HEALTH = "/ibbroker.v1.ConnectionService/GetHealth"


async def test_a_peer_outside_the_allow_list_is_refused_before_any_handler(tmp_path: Path) -> None:
    base = fast_config(tmp_path / "s.sqlite3")
    outside = dataclasses.replace(base, auth=AuthConfig(allow_cidrs=("10.0.0.0/8", "::2/128")))
    async with running_broker(outside) as broker, aio_channel(broker.address) as channel:
        for call in (
            svc_grpc.ConnectionServiceStub(channel).GetHealth(svc.GetHealthRequest(), timeout=5),
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call
            err = BrokerError.from_rpc_error(info.value)
            assert (err.code, err.reason) == (grpc.StatusCode.PERMISSION_DENIED, "PEER_NOT_ALLOWED")
    inside = dataclasses.replace(base, auth=AuthConfig(allow_cidrs=("127.0.0.0/8",)))
    async with running_broker(inside) as broker, aio_channel(broker.address) as channel:
        await svc_grpc.ConnectionServiceStub(channel).GetHealth(svc.GetHealthRequest(), timeout=5)


async def test_ten_thousand_failed_attempts_leave_good_callers_served(tmp_path: Path) -> None:
    cfg = secure_config(tmp_path, failure_burst=20, failure_rate=5.0)
    tokens = make_identities(cfg)
    attempts, concurrency = 10_000, 100
    good_codes: list[grpc.StatusCode] = []
    async with running_broker(cfg) as broker:
        async with aio_channel(broker.address) as bad, aio_channel(broker.address) as good:
            bad_stub = svc_grpc.ConnectionServiceStub(bad)
            good_stub = svc_grpc.ConnectionServiceStub(good)
            codes: dict[str, int] = {}
            stop = asyncio.Event()

            async def attacker(n: int) -> None:
                for i in range(n):
                    token = f"ibb_{i:043d}" if i % 2 else "garbage"
                    try:
                        await bad_stub.GetHealth(
                            svc.GetHealthRequest(), metadata=bearer(token), timeout=10
                        )
                    except grpc.aio.AioRpcError as err:
                        reason = BrokerError.from_rpc_error(err).reason
                        codes[reason] = codes.get(reason, 0) + 1

            async def good_caller() -> None:
                while not stop.is_set() and len(good_codes) < 1000:
                    reply = good_stub.GetHealth(
                        svc.GetHealthRequest(), metadata=bearer(tokens["reader"]), timeout=5
                    )
                    await reply
                    good_codes.append(await reply.code())
                    await asyncio.sleep(0.01)

            started = time.monotonic()
            watcher = asyncio.create_task(good_caller())
            await asyncio.gather(*(attacker(attempts // concurrency) for _ in range(concurrency)))
            stop.set()
            await watcher
            elapsed = time.monotonic() - started
        auth = broker.grpc.security.auth  # type: ignore[union-attr]
        assert auth.failures == attempts
        assert sum(codes.values()) == attempts
        # The first burst (plus what the rate refilled meanwhile) was checked and audited; the
        # rest answered AUTH_RATE_LIMITED.
        assert codes["AUTH_RATE_LIMITED"] == auth.rate_limited
        assert attempts - codes["AUTH_RATE_LIMITED"] <= 20 + 5.0 * elapsed + 1
    assert good_codes and set(good_codes) == {grpc.StatusCode.OK}
    audit_text = await asyncio.to_thread(Path(cfg.auth.audit_file).read_text)
    audit_lines = audit_text.splitlines()
    assert len(audit_lines) < 100 + 5.0 * elapsed  # the flood did not flood the audit log


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "CREDENTIALS_MISSING"),
        ("Bearer", "CREDENTIALS_INVALID"),
        ("Bearer ", "CREDENTIALS_INVALID"),
        ("Basic dXNlcjpwYXNz", "CREDENTIALS_INVALID"),
        ("Bearer ibb_" + "x" * 43, "CREDENTIALS_INVALID"),
        ("Bearer ibb_ a b c", "CREDENTIALS_INVALID"),
    ],
)
async def test_bad_authorization_headers(tmp_path: Path, header: str | None, reason: str) -> None:
    cfg = secure_config(tmp_path)
    make_identities(cfg)
    metadata = () if header is None else (("authorization", header),)
    async with running_broker(cfg) as broker, aio_channel(broker.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await svc_grpc.ConnectionServiceStub(channel).GetHealth(
                svc.GetHealthRequest(), metadata=metadata, timeout=5
            )
    err = BrokerError.from_rpc_error(info.value)
    assert (err.code, err.reason) == (grpc.StatusCode.UNAUTHENTICATED, reason)


async def test_an_expired_token_and_health_stays_open(tmp_path: Path) -> None:
    cfg = secure_config(tmp_path)
    table = TokenFile(
        cfg.auth.tokens_file, load_key(cfg.auth.token_key, cfg.auth.token_key_file, create=True)
    )
    token = table.create("old", frozenset({"read"}), expires_in=-1)
    async with running_broker(cfg) as broker, aio_channel(broker.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await svc_grpc.ConnectionServiceStub(channel).GetHealth(
                svc.GetHealthRequest(), metadata=bearer(token), timeout=5
            )
        err = BrokerError.from_rpc_error(info.value)
        assert (err.code, err.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_EXPIRED")
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    closed = dataclasses.replace(cfg, auth=dataclasses.replace(cfg.auth, open_health=False))
    async with running_broker(closed) as broker, aio_channel(broker.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_make_run_is_zero_config_and_says_auth_is_off_first(tmp_path: Path) -> None:
    env = {"IBBROKER_STORE": str(tmp_path / "s.sqlite3")}
    with broker_process(["serve", "--sim", "--listen", "127.0.0.1:0"], env) as (_, _, tail):
        first = tail.records[0]
    assert first["event"] == "security"
    assert str(first["auth"]).startswith("off") and first["tls"] == "off"


@pytest.mark.parametrize(
    ("gateway", "ok"),
    [
        ({"host": "10.1.2.3"}, False),
        ({"host": "ib.example.com"}, False),
        ({"host": "10.1.2.3", "transport": "tunnel"}, True),
        ({"host": "10.1.2.3", "allow_plaintext_remote_gateway": True}, True),
        ({"host": "127.0.0.2"}, True),
        ({"host": "::1"}, True),
        ({"transport": "ssh"}, False),
    ],
)
def test_a_remote_gateway_needs_a_protected_path(gateway: dict[str, object], ok: bool) -> None:
    data = {"gateways": {"paper": gateway}}
    if ok:
        config_from_mapping(data, {})
        return
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data, {})
    [problem] = info.value.problems
    assert problem.startswith("gateways.paper.")
