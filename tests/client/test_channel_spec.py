"""The blocking client's watch threads and the seed's API open their channels with the client's
credentials (issue 13's gap): against a broker with auth on, a token given once reaches the
watches too."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from broker_client import BrokerClientSync, ConnectionConfig, IBKRConnectionManager
from broker_client.errors import CredentialsMissingError
from broker_server.app import running_broker
from tests.security.helpers import make_identities, secure_config


async def test_blocking_watches_and_the_seed_api_carry_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IBBROKER_TOKEN", raising=False)
    cfg = secure_config(tmp_path)
    tokens = make_identities(cfg)
    async with running_broker(cfg, with_sim=True) as broker:
        address = broker.address

        def blocking() -> None:
            with BrokerClientSync(address, token=tokens["ops"]) as client:
                with client.watch_connection_state("paper") as events:
                    assert next(iter(events)).gateway == "paper"
                with client.watch_leases() as leases:
                    next(iter(leases))
            with BrokerClientSync(address) as client:  # no token: refused, not hanging
                with client.watch_health("paper") as events:
                    with pytest.raises(CredentialsMissingError):
                        next(iter(events))
            config = ConnectionConfig(
                broker=address, timeout=10, max_retries=1, token=tokens["ops"], client_id=101
            )
            with IBKRConnectionManager(config) as manager:
                assert manager.is_healthy()  # its state watch got through
                with manager.lease(owner="ops", ttl=5) as held:
                    assert held.client_id >= 100

        await asyncio.to_thread(blocking)
