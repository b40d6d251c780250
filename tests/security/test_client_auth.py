"""broker_client with a token and a TLSConfig (async and blocking) against a secured broker."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from broker_client import (
    AuthError,
    BrokerClient,
    BrokerClientSync,
    RetryPolicy,
    TLSConfig,
)
from broker_client.errors import CredentialsInvalidError, CredentialsMissingError
from broker_server.app import running_broker
from tests.security.helpers import Ca, make_identities, secure_config


async def test_async_and_sync_clients_send_token_and_certificate(tmp_path: Path) -> None:
    ca = Ca(tmp_path / "pki")
    cfg = dataclasses.replace(secure_config(tmp_path), tls=ca.pki().tls(mtls=True))
    tokens = make_identities(cfg)
    cert, key = ca.issue("stranger")  # a certificate whose name is no identity: token needed
    tls = TLSConfig(
        server_root_ca_cert=ca.path.read_bytes(),
        client_cert=cert.read_bytes(),
        client_private_key=key.read_bytes(),
        domain="localhost",
    )
    assert key.read_text() not in repr(tls)
    once = RetryPolicy(attempts=1)
    async with running_broker(cfg, with_sim=True) as broker:
        target = broker.address  # 127.0.0.1:port, verified against the "localhost" name
        async with BrokerClient(target, tls=tls, token=tokens["reader"], retry=once) as client:
            [gateway] = await client.get_health()
            assert gateway.gateway == "paper"
        async with BrokerClient(target, tls=tls, retry=once) as client:
            with pytest.raises(CredentialsInvalidError):  # the stranger's certificate
                await client.get_health()
        async with BrokerClient(target, tls=tls, token="ibb_" + "x" * 43, retry=once) as client:
            with pytest.raises(AuthError):
                await client.get_health()

        def blocking() -> None:
            with BrokerClientSync(target, tls=tls, token=tokens["alice"], retry=once) as client:
                assert client.list_leases() == []

        await asyncio.to_thread(blocking)


async def test_a_plaintext_client_with_a_token(tmp_path: Path) -> None:
    cfg = secure_config(tmp_path)
    tokens = make_identities(cfg)
    async with running_broker(cfg) as broker:
        async with BrokerClient(broker.address, token=tokens["reader"]) as client:
            assert [g.gateway for g in await client.get_connection_state()] == ["paper"]
        async with BrokerClient(broker.address, retry=RetryPolicy(attempts=1)) as client:
            with pytest.raises(CredentialsMissingError):
                await client.get_connection_state()
