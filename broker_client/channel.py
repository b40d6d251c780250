"""Channel settings that match the broker server's keepalive policy."""

from __future__ import annotations

import grpc

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


def aio_channel(target: str) -> grpc.aio.Channel:
    """An insecure ``grpc.aio`` channel to ``target`` (host:port) with the broker's options."""
    return grpc.aio.insecure_channel(target, options=channel_options())


def sync_channel(target: str) -> grpc.Channel:
    """An insecure blocking channel to ``target`` with the broker's options."""
    return grpc.insecure_channel(target, options=channel_options())
