"""Channel settings that match the broker server's keepalive policy."""

from __future__ import annotations

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
    target: str, *, tls: TLSConfig | None = None, token: str | None = None
) -> grpc.aio.Channel:
    """A ``grpc.aio`` channel to ``target`` (host:port) with the broker's options: plaintext,
    or TLS with ``tls``; ``token`` is sent as ``authorization: Bearer`` (broker_client.auth)."""
    interceptors = aio_token_interceptors(token)
    if tls is not None:
        return grpc.aio.secure_channel(
            target,
            tls.credentials(),
            options=[*channel_options(), *tls.options()],
            interceptors=interceptors,
        )
    return grpc.aio.insecure_channel(target, options=channel_options(), interceptors=interceptors)


def sync_channel(
    target: str, *, tls: TLSConfig | None = None, token: str | None = None
) -> grpc.Channel:
    """A blocking channel to ``target`` with the broker's options (``tls``/``token`` as above)."""
    if tls is not None:
        channel = grpc.secure_channel(
            target, tls.credentials(), options=[*channel_options(), *tls.options()]
        )
    else:
        channel = grpc.insecure_channel(target, options=channel_options())
    return sync_with_token(channel, token)
