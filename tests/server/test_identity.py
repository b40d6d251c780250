"""The identity seam: one resolver of callers, one admin check (constant-time compare)."""

from __future__ import annotations

from typing import Any

import pytest

from broker_server.config import Secret
from broker_server.domain.errors import DomainError
from broker_server.services.identity import Identity


class _Context:
    """The two ServicerContext methods the resolver reads."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def peer(self) -> str:
        return "ipv4:127.0.0.1:5555"


class _Request:
    owner = "strategy-a"


def _caller(identity: Identity, *metadata: tuple[str, str]) -> Any:
    return identity.resolve(_Request(), _Context(metadata))


def test_the_caller_is_the_owner_with_its_peer_and_token_hidden() -> None:
    caller = _caller(Identity(), ("authorization", "Bearer abc"))
    assert caller.name == "strategy-a" and caller.peer == "ipv4:127.0.0.1:5555"
    assert caller.bearer.reveal() == "abc" and "abc" not in repr(caller)


@pytest.mark.parametrize(
    "metadata",
    [(), (("authorization", "Bearer wrong"),), (("authorization", "s3cret"),)],
)
def test_admin_needs_the_configured_token(metadata: tuple[tuple[str, str], ...]) -> None:
    identity = Identity(Secret("s3cret"))
    with pytest.raises(DomainError) as info:
        identity.require_admin(_caller(identity, *metadata), "Reconnect")
    assert info.value.reason == "ADMIN_TOKEN_REQUIRED"
    assert "s3cret" not in info.value.message


def test_admin_with_the_token_or_without_a_configured_one_passes() -> None:
    identity = Identity(Secret("s3cret"))
    identity.require_admin(_caller(identity, ("authorization", "bearer s3cret")), "Reconnect")
    Identity().require_admin(_caller(Identity()), "Reconnect")
