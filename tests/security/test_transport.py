"""TLS and mTLS on the listener: grpcurl against `ibbroker serve`, the CLI's identities,
certificate reload without restart, and what a wrong client or a wrong file gets."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from broker_client import BrokerClient, RetryPolicy
from broker_client.auth import TLSConfig
from broker_client.channel import aio_channel
from broker_client.errors import NotLeaderError
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.ibbroker.v1 import lease_service_pb2 as lease_pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_server.app import SERVICE_NAMES, running_broker
from broker_server.config import TlsConfig
from broker_server.server_standby import StandbyGate
from broker_server.services.transport import build_security
from tests.security.helpers import Ca, make_identities, secure_config
from tests.server.helpers import broker_process

BIN = Path(sys.executable).parent


def ibbroker(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker_server", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def grpcurl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "grpcurl"), *args], capture_output=True, text=True, timeout=60)


def write_config(tmp: Path, ca: Ca, **server: str) -> Path:
    pki = ca.pki()
    config = tmp / "ibbroker.toml"
    listen = server.get("listen", "127.0.0.1:0")
    config.write_text(
        f"""
[server]
listen = "{listen}"
metrics_log_interval = 0
[store]
path = "{tmp / "store.sqlite3"}"
[auth]
enabled = true
tokens_file = "{tmp / "tokens.json"}"
token_key_file = "{tmp / "token-key"}"
[tls]
cert_file = "{pki.server_cert}"
key_file = "{pki.server_key}"
client_ca_file = "{pki.ca}"
"""
    )
    return config


def test_grpcurl_over_mtls_against_ibbroker_serve(tmp_path: Path) -> None:
    ca = Ca(tmp_path / "pki")
    config = write_config(tmp_path, ca)
    made = ibbroker("token", "create", "ops", "--scopes", "read,admin", "--config", str(config))
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("ibb_") and "shown once" in made.stderr
    assert (
        ibbroker(
            "token", "create", "robot", "--scopes", "read", "--no-token", "--config", str(config)
        ).stdout
        == ""
    )
    listed = ibbroker("token", "list", "--config", str(config))
    assert "ops" in listed.stdout and "robot" in listed.stdout and token not in listed.stdout
    robot_cert, robot_key = ca.issue("robot")
    with broker_process(["serve", "--sim", "--config", str(config)]) as (proc, address, tail):
        port = address.rpartition(":")[2]
        target = f"localhost:{port}"
        tls = ["-cacert", str(ca.path), "-cert", str(robot_cert), "-key", str(robot_key)]
        listed = grpcurl(*tls, target, "list")
        assert listed.returncode == 0, listed.stderr
        assert "ibbroker.v1.ConnectionService" in listed.stdout
        state = grpcurl(*tls, target, "ibbroker.v1.ConnectionService/GetHealth")
        assert state.returncode == 0, state.stderr
        assert json.loads(state.stdout)["gateways"][0]["gateway"] == "paper"
        # robot has no admin scope; the ops token (sent over the same mTLS channel) has.
        denied = grpcurl(*tls, target, "ibbroker.v1.ConnectionService/Reconnect")
        assert "PermissionDenied" in denied.stderr and "SCOPE_DENIED" in denied.stderr
        allowed = grpcurl(
            *tls,
            "-H",
            f"authorization: Bearer {token}",
            "-d",
            '{"reason": "grpcurl test"}',
            target,
            "ibbroker.v1.ConnectionService/Reconnect",
        )
        assert allowed.returncode == 0, allowed.stderr
        # `ibbroker health` (the Docker HEALTHCHECK) over mTLS; health needs no identity.
        probe = ibbroker(
            "health", "--target", target, "--cacert", str(ca.path),
            "--cert", str(robot_cert), "--key", str(robot_key),
        )  # fmt: skip
        assert probe.returncode == 0 and "SERVING" in probe.stdout, probe.stderr
        # A plaintext client against the TLS port gets no answer from the broker.
        plain = grpcurl("-plaintext", address, "list")
        assert plain.returncode != 0
        # Deleting the identity takes effect at once, without a restart.
        assert ibbroker("token", "delete", "robot", "--config", str(config)).returncode == 0
        gone = grpcurl(*tls, target, "ibbroker.v1.ConnectionService/GetHealth")
        assert "Unauthenticated" in gone.stderr and "CREDENTIALS_INVALID" in gone.stderr
        tail.wait_for("identities_loaded", 10, identities=["ops"])  # the reload is logged
        tail.wait_for("audit", 10, rpc="/ibbroker.v1.ConnectionService/Reconnect", outcome="OK")
        proc.terminate()
        proc.wait(20)
    output = "".join(tail.lines)
    key = (tmp_path / "token-key").read_text().strip()
    assert token not in output and key not in output
    assert robot_key.read_text() not in output


def test_a_key_file_open_to_others_or_an_insecure_public_listen_exits_2(tmp_path: Path) -> None:
    ca = Ca(tmp_path / "pki")
    config = write_config(tmp_path, ca)
    ibbroker("token", "create", "ops", "--scopes", "read", "--config", str(config))
    (tmp_path / "pki" / "server.key").chmod(0o644)
    run = ibbroker("serve", "--config", str(config))
    assert run.returncode == 2
    assert "server.key is accessible by group or others" in run.stderr
    run = ibbroker("serve", "--listen", "0.0.0.0:0", env={"IBBROKER_STORE": str(tmp_path / "s")})
    assert run.returncode == 2
    [line] = run.stderr.splitlines()
    assert "refusing to listen on non-loopback 0.0.0.0:0 without TLS" in line
    (tmp_path / "tokens.json").unlink()
    (tmp_path / "pki" / "server.key").chmod(0o600)
    run = ibbroker("serve", "--config", str(config))
    assert run.returncode == 2 and "ibbroker token create" in run.stderr


def tls_for(ca: Ca, *, client: str | None = None) -> TLSConfig:
    cert, key = ca.issue(client) if client else (None, None)
    return TLSConfig(
        server_root_ca_cert=ca.path.read_bytes(),
        client_cert=cert.read_bytes() if cert else None,
        client_private_key=key.read_bytes() if key else None,
    )


async def health(target: str, tls: TLSConfig | None, token: str | None = None) -> grpc.StatusCode:
    async with aio_channel(target, tls=tls, token=token) as channel:
        stub = svc_grpc.ConnectionServiceStub(channel)
        try:
            await stub.GetHealth(svc.GetHealthRequest(), timeout=5)
        except grpc.aio.AioRpcError as err:
            return err.code()
    return grpc.StatusCode.OK


async def test_certificates_reload_on_file_change_and_wrong_clients_fail(tmp_path: Path) -> None:
    first, second, rogue = Ca(tmp_path / "one"), Ca(tmp_path / "two"), Ca(tmp_path / "rogue")
    pki = first.pki()
    # Server certificate files in one place, swapped below.
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    cert.write_bytes(pki.server_cert.read_bytes())
    key.write_bytes(pki.server_key.read_bytes())
    key.chmod(0o600)
    cfg = dataclasses.replace(
        secure_config(tmp_path, failure_burst=1000),
        tls=TlsConfig(cert_file=str(cert), key_file=str(key)),
    )
    tokens = make_identities(cfg)
    async with running_broker(cfg, with_sim=True) as broker:
        target = f"localhost:{broker.address.rpartition(':')[2]}"
        assert await health(target, tls_for(first), tokens["reader"]) == grpc.StatusCode.OK
        assert await health(target, tls_for(first)) == grpc.StatusCode.UNAUTHENTICATED
        assert (
            await health(target, tls_for(second), tokens["reader"]) == grpc.StatusCode.UNAVAILABLE
        )
        async with aio_channel(broker.address, token=tokens["reader"]) as plain:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await svc_grpc.ConnectionServiceStub(plain).GetHealth(
                    svc.GetHealthRequest(), timeout=5
                )
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        # Swap in a certificate from the second CA: the next handshake uses it, no restart.
        swapped = second.pki()
        cert.write_bytes(swapped.server_cert.read_bytes())
        key.write_bytes(swapped.server_key.read_bytes())
        assert await health(target, tls_for(second), tokens["reader"]) == grpc.StatusCode.OK
        assert await health(target, tls_for(first), tokens["reader"]) == grpc.StatusCode.UNAVAILABLE
        security = broker.grpc.security
        assert security is not None and security.reloader is not None
        assert security.reloader.reloads == 1
        # SIGHUP's handler re-reads even without a change.
        security.reload()
        assert await health(target, tls_for(second), tokens["reader"]) == grpc.StatusCode.OK
        assert security.reloader.reloads == 2
        # A key file made readable by others is not loaded; the current certificate stays.
        key.chmod(0o644)
        cert.write_bytes(first.pki().server_cert.read_bytes())
        assert await health(target, tls_for(second), tokens["reader"]) == grpc.StatusCode.OK
        assert security.reloader.reloads == 2
    del rogue


async def test_a_client_certificate_from_another_ca_is_refused(tmp_path: Path) -> None:
    ca, rogue = Ca(tmp_path / "ca"), Ca(tmp_path / "rogue")
    cfg = dataclasses.replace(secure_config(tmp_path), tls=ca.pki().tls(mtls=True))
    table_tokens = make_identities(cfg)
    async with running_broker(cfg, with_sim=True) as broker:
        target = f"localhost:{broker.address.rpartition(':')[2]}"
        rogue_client = tls_for(ca)
        rogue_cert, rogue_key = rogue.issue("alice")
        rogue_client = dataclasses.replace(
            rogue_client,
            client_cert=rogue_cert.read_bytes(),
            client_private_key=rogue_key.read_bytes(),
        )
        code = await health(target, rogue_client, table_tokens["alice"])
        assert code == grpc.StatusCode.UNAVAILABLE
        # No certificate at all: mTLS is required.
        assert (
            await health(target, tls_for(ca), table_tokens["alice"]) == grpc.StatusCode.UNAVAILABLE
        )
        # The right CA's certificate for alice (whose identity exists) passes.
        assert await health(target, tls_for(ca, client="alice")) == grpc.StatusCode.OK


async def test_the_identity_can_come_from_the_certificate_san(tmp_path: Path) -> None:
    ca = Ca(tmp_path / "ca")
    cfg = dataclasses.replace(
        secure_config(tmp_path, cert_identity="san"), tls=ca.pki().tls(mtls=True)
    )
    make_identities(cfg)
    cert, key = ca.issue("cn-is-not-the-identity", san="alice")
    tls = TLSConfig(ca.path.read_bytes(), None, cert.read_bytes(), key.read_bytes())
    async with running_broker(cfg, with_sim=True) as broker:
        target = f"localhost:{broker.address.rpartition(':')[2]}"
        async with aio_channel(target, tls=tls) as channel:
            stub = lease_grpc.LeaseServiceStub(channel)
            lease = (await stub.AcquireLease(lease_pb.AcquireLeaseRequest(), timeout=10)).lease
    assert lease.owner == "alice"


async def test_a_tls_standby_answers_not_leader_over_tls_and_the_client_follows(
    tmp_path: Path,
) -> None:
    """The standby's stand-in server speaks the broker's TLS: a TLS client reads its NOT_LEADER
    answer (instead of failing the handshake) and moves to the leader it names."""
    ca = Ca(tmp_path / "pki")
    pki = ca.pki()
    cfg = dataclasses.replace(
        secure_config(tmp_path),
        tls=TlsConfig(cert_file=str(pki.server_cert), key_file=str(pki.server_key)),
    )
    token = make_identities(cfg)["alice"]
    async with running_broker(cfg, with_sim=True) as leader:
        gate = StandbyGate(
            SERVICE_NAMES,
            lambda: leader.address,
            retry_after=0.25,
            credentials=build_security(cfg).credentials(),
        )
        standby = await gate.start("127.0.0.1:0")
        try:
            tls = tls_for(ca)
            async with BrokerClient(
                [standby], tls=tls, token=token, retry=RetryPolicy(attempts=1)
            ) as only:
                with pytest.raises(NotLeaderError) as caught:
                    await only.list_leases()
                assert caught.value.leader_address == leader.address
            async with BrokerClient([standby, leader.address], tls=tls, token=token) as client:
                assert await client.list_leases() == []
                assert client.target == leader.address
        finally:
            await gate.stop()
