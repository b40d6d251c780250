"""Channel settings that match the broker server's keepalive policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from broker_client.auth import TLSConfig, aio_token_interceptors, sync_with_token

KEEPALIVE_TIME_MS = 20_000
"""Clients ping every 20 s on idle connections; the server accepts pings every 10 s or slower."""


def channel_options(max_message_bytes: int = 4 * 1024 * 1024) -> list[tuple[str, int]]:
    """gRPC channel arguments for talking to the broker (keepalive, message size)."""
    return [
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]


def aio_channel(
    target: str,
    *,
    tls: TLSConfig | None = None,
    token: str | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.aio.Channel:
    """A ``grpc.aio`` channel to ``target`` (host:port) with the broker's options: plaintext,
    or TLS with ``tls``; ``token`` is sent as ``authorization: Bearer`` (broker_client.auth);
    ``options``: extra channel arguments."""
    interceptors = aio_token_interceptors(token)
    if tls is not None:
        return grpc.aio.secure_channel(
            target,
            tls.credentials(),
            options=[*channel_options(), *tls.options(), *options],
            interceptors=interceptors,
        )
    return grpc.aio.insecure_channel(
        target, options=[*channel_options(), *options], interceptors=interceptors
    )


def sync_channel(
    target: str,
    *,
    tls: TLSConfig | None = None,
    token: str | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.Channel:
    """A blocking channel to ``target`` with the broker's options (``tls``/``token``/``options``
    as above)."""
    if tls is not None:
        channel = grpc.secure_channel(
            target, tls.credentials(), options=[*channel_options(), *tls.options(), *options]
        )
    else:
        channel = grpc.insecure_channel(target, options=[*channel_options(), *options])
    return sync_with_token(channel, token)


FAILOVER_RECONNECT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 250),
)
"""Channel arguments of a client given several addresses. gRPC's own reconnect backoff starts at
1 s and grows to 120 s, and while it waits a call to that address fails at once: a standby
whose port is closed while it takes over (the stand-in stopped, the broker proper starting)
would be skipped for seconds after it listens. The broker is on loopback or a LAN, so trying
every quarter of a second while it is away costs nothing."""


@dataclass(frozen=True)
class ChannelSpec:
    """How a client opens its channels: the same credentials and arguments for every channel
    it opens (to each of its addresses, and on a blocking client's watch threads)."""

    tls: TLSConfig | None = None
    """TLS settings (None: plaintext)."""
    token: str | None = None
    """Bearer token sent as ``authorization`` on every call."""
    options: tuple[tuple[str, Any], ...] = ()
    """Extra channel arguments, after the broker's (:func:`channel_options`)."""

    def aio(self, target: str) -> grpc.aio.Channel:
        """A ``grpc.aio`` channel to ``target`` with these settings."""
        return aio_channel(target, tls=self.tls, token=self.token, options=self.options)

    def sync(self, target: str) -> grpc.Channel:
        """A blocking channel to ``target`` with these settings."""
        return sync_channel(target, tls=self.tls, token=self.token, options=self.options)
