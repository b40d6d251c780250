"""Watch the broker's connection state and health, surviving broker restarts.

``watch_connection_state`` and ``watch_health`` are async iterators over the proto events of
``WatchConnectionState`` / ``WatchHealth``. When the stream breaks (the broker restarts or the
network blips: UNAVAILABLE, or the stream ends after the broker's FINAL event) they reconnect
with exponential backoff and full jitter and resume with ``resume_after_sequence`` set to the
last sequence seen. The broker then replays what was missed, or sends a fresh snapshot when it
no longer holds those events (always the case after a restart). Errors a retry cannot fix
(unknown gateway, bad token) are raised as :class:`~broker_client.errors.BrokerError`.

Example::

    async with grpc.aio.insecure_channel("127.0.0.1:50051") as channel:
        async for event in watch_connection_state(channel, gateway="paper"):
            print(event.sequence, event.session, event.state)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

import grpc

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})
"""Status codes after which the watch reconnects instead of raising."""

_FINAL = pb.EventKind.Value("EVENT_KIND_FINAL")


async def _watch(
    open_stream: Callable[[int], Any],
    resume_after_sequence: int,
    *,
    initial_backoff: float,
    max_backoff: float,
    max_attempts: int | None,
    stop_on_final: bool,
    rng: random.Random,
    final_kind: int = _FINAL,
) -> AsyncGenerator[Any, None]:
    """Iterate the events of ``open_stream(resume_after_sequence)``, reopening it after the last
    sequence seen when it breaks or ends; ``final_kind`` is the stream's FINAL enum value."""
    last = resume_after_sequence
    failures = 0
    while True:
        call = open_stream(last)
        try:
            async for response in call:
                event = response.event
                failures = 0
                last = max(last, int(event.sequence))
                yield event
                if stop_on_final and event.kind == final_kind:
                    return
        except grpc.RpcError as err:
            code = err.code() if callable(getattr(err, "code", None)) else None
            if code not in RETRYABLE:
                raise BrokerError.from_rpc_error(err) from err
        finally:
            call.cancel()
        # The stream ended (FINAL on shutdown) or broke: wait, then resume after ``last``.
        failures += 1
        if max_attempts is not None and failures > max_attempts:
            raise BrokerError(
                grpc.StatusCode.UNAVAILABLE,
                f"watch stream lost; gave up after {max_attempts} reconnect attempts",
            )
        ceiling = min(max_backoff, initial_backoff * 2 ** (failures - 1))
        await asyncio.sleep(rng.uniform(0, ceiling))


def watch_connection_state(
    channel: grpc.aio.Channel,
    gateway: str = "",
    *,
    resume_after_sequence: int = 0,
    metadata: Sequence[tuple[str, str]] | None = None,
    initial_backoff: float = 0.2,
    max_backoff: float = 5.0,
    max_attempts: int | None = None,
    stop_on_final: bool = False,
    rng: random.Random | None = None,
) -> AsyncGenerator[pb.ConnectionEvent, None]:
    """Connection-state events of ``gateway`` (all when empty), across broker restarts.

    ``max_attempts`` bounds consecutive failed reconnects (None: forever); ``stop_on_final``
    ends the iteration at the broker's FINAL event instead of waiting for its return.
    """
    stub = svc_grpc.ConnectionServiceStub(channel)

    def open_stream(after: int) -> Any:
        request = svc.WatchConnectionStateRequest(gateway=gateway, resume_after_sequence=after)
        return stub.WatchConnectionState(request, metadata=metadata)

    return _watch(
        open_stream,
        resume_after_sequence,
        initial_backoff=initial_backoff,
        max_backoff=max_backoff,
        max_attempts=max_attempts,
        stop_on_final=stop_on_final,
        rng=rng or random.Random(),
    )


def watch_health(
    channel: grpc.aio.Channel,
    gateway: str = "",
    *,
    resume_after_sequence: int = 0,
    metadata: Sequence[tuple[str, str]] | None = None,
    initial_backoff: float = 0.2,
    max_backoff: float = 5.0,
    max_attempts: int | None = None,
    stop_on_final: bool = False,
    rng: random.Random | None = None,
) -> AsyncGenerator[pb.HealthEvent, None]:
    """Health events of ``gateway`` (all when empty), across broker restarts."""
    stub = svc_grpc.ConnectionServiceStub(channel)

    def open_stream(after: int) -> Any:
        request = svc.WatchHealthRequest(gateway=gateway, resume_after_sequence=after)
        return stub.WatchHealth(request, metadata=metadata)

    return _watch(
        open_stream,
        resume_after_sequence,
        initial_backoff=initial_backoff,
        max_backoff=max_backoff,
        max_attempts=max_attempts,
        stop_on_final=stop_on_final,
        rng=rng or random.Random(),
    )


__all__ = ["watch_connection_state", "watch_health"]
