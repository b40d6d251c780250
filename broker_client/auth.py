"""Credentials for the broker: a bearer token and/or TLS (optionally with a client certificate).

:class:`TLSConfig` has the shape of temporalio's ``TLSConfig``: PEM bytes for the CA that signed
the broker's certificate, the client's certificate and key (mTLS), and the name to check the
broker's certificate against. The token travels as ``authorization: Bearer <token>`` on every
call, added by a client interceptor so it also works on a plaintext loopback channel (gRPC's
own call credentials refuse insecure channels).

Example::

    tls = TLSConfig(server_root_ca_cert=Path("ca.pem").read_bytes(),
                    client_cert=Path("me.pem").read_bytes(),
                    client_private_key=Path("me.key").read_bytes())
    channel = aio_channel("broker.internal:50051", tls=tls, token=os.environ["IBBROKER_TOKEN"])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc


@dataclass(frozen=True)
class TLSConfig:
    """TLS settings of a channel to the broker (temporalio's ``TLSConfig`` shape)."""

    server_root_ca_cert: bytes | None = None
    """PEM CA certificate(s) to verify the broker with; None uses the system roots."""
    domain: str | None = None
    """Name the broker's certificate must carry, when it differs from the target's host."""
    client_cert: bytes | None = None
    """PEM client certificate (mTLS); needs ``client_private_key``."""
    client_private_key: bytes | None = None
    """PEM private key of ``client_cert``."""

    def __repr__(self) -> str:  # never print the key
        return (
            f"TLSConfig(server_root_ca_cert={'set' if self.server_root_ca_cert else None}, "
            f"domain={self.domain!r}, client_cert={'set' if self.client_cert else None}, "
            f"client_private_key={'***' if self.client_private_key else None})"
        )

    def credentials(self) -> grpc.ChannelCredentials:
        """gRPC channel credentials of these settings."""
        if bool(self.client_cert) != bool(self.client_private_key):
            raise ValueError("client_cert and client_private_key go together")
        return grpc.ssl_channel_credentials(
            root_certificates=self.server_root_ca_cert,
            private_key=self.client_private_key,
            certificate_chain=self.client_cert,
        )

    def options(self) -> list[tuple[str, str]]:
        """Channel arguments (the name override of ``domain``)."""
        return [("grpc.ssl_target_name_override", self.domain)] if self.domain else []


class _Details(grpc.ClientCallDetails):
    def __init__(self, base: Any, metadata: list[tuple[str, str]]) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


def _with_token(metadata: Any, token: str) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in (metadata or ()) if k.lower() != "authorization"]
    return [*kept, ("authorization", f"Bearer {token}")]


def _aio_details(details: Any, token: str) -> Any:
    return grpc.aio.ClientCallDetails(
        details.method,
        details.timeout,
        grpc.aio.Metadata(*_with_token(details.metadata, token)),
        details.credentials,
        details.wait_for_ready,
    )


# Two classes, not one with both bases: grpc.aio files each interceptor under the FIRST kind it
# is an instance of (an if/elif chain), so one class for both kinds never saw a stream and the
# watches went out without the token.
class _AioTokenUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, token: str) -> None:
        self._token = token

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return await continuation(_aio_details(client_call_details, self._token), request)


class _AioTokenStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, token: str) -> None:
        self._token = token

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return await continuation(_aio_details(client_call_details, self._token), request)


class _SyncToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    def __init__(self, token: str) -> None:
        self._token = token

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        details = _Details(
            client_call_details, _with_token(client_call_details.metadata, self._token)
        )
        return continuation(details, request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        details = _Details(
            client_call_details, _with_token(client_call_details.metadata, self._token)
        )
        return continuation(details, request)


def aio_token_interceptors(token: str | None) -> list[Any]:
    """Client interceptors adding ``authorization: Bearer token`` (none without a token)."""
    return [_AioTokenUnary(token), _AioTokenStream(token)] if token else []


def sync_with_token(channel: grpc.Channel, token: str | None) -> grpc.Channel:
    """``channel`` with ``authorization: Bearer token`` on every call (as is without one)."""
    return grpc.intercept_channel(channel, _SyncToken(token)) if token else channel
