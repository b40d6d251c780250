"""One resumable watch iterator for every ``Watch*`` RPC of the broker.

Every watch stream of the broker has the same shape: a request with ``resume_after_sequence``,
responses whose ``event`` carries a ``sequence`` and a ``kind``, and one FINAL kind that ends the
stream when the broker shuts down. :func:`resumable` iterates such a stream and, when it breaks
(the broker restarts or the network blips: UNAVAILABLE, or the stream ends after FINAL),
reconnects with exponential backoff and full jitter and resumes after the last sequence seen.
The broker then replays what was missed, or sends a fresh snapshot when it no longer holds those
events (always the case after a restart: sequences start from the wall clock in milliseconds, so
they keep rising across restarts). Errors a retry cannot fix (unknown gateway, bad token) raise
:class:`~broker_client.errors.BrokerError`.

:class:`WatchOptions` holds the knobs every watch shares; :func:`watch_connection_state`,
:func:`watch_health` and :func:`broker_client.leases.watch_leases` take one (or the same names as
keyword arguments, as before).

Example::

    async with grpc.aio.insecure_channel("127.0.0.1:50051") as channel:
        async for event in watch_connection_state(channel, gateway="paper"):
            print(event.sequence, event.session, event.state)

        options = WatchOptions(stop_on_final=True, max_attempts=3)
        async for event in watch_health(channel, "paper", options=options):
            ...
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from broker_client.errors import BrokerError, BrokerUnavailableError
from broker_client.failover import StreamMethod, Targets
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})
"""Status codes after which the watch reconnects instead of raising."""

FINAL = pb.EventKind.Value("EVENT_KIND_FINAL")
"""The FINAL kind of the connection-state and health streams."""


@dataclass(frozen=True)
class WatchOptions:
    """How a watch resumes; the same for every ``Watch*`` RPC."""

    resume_after_sequence: int = 0
    """Start after this sequence (0: from a fresh snapshot)."""
    metadata: Sequence[tuple[str, str]] | None = None
    """Call metadata sent with every (re)opened stream, for example an authorization token."""
    initial_backoff: float = 0.2
    """Ceiling in seconds of the first reconnect delay (full jitter: uniform in [0, ceiling])."""
    max_backoff: float = 5.0
    """Largest reconnect delay ceiling in seconds; the ceiling doubles per failure up to it."""
    max_attempts: int | None = None
    """Consecutive failed reconnects before giving up with UNAVAILABLE (None: forever)."""
    stop_on_final: bool = False
    """End the iteration at the broker's FINAL event instead of waiting for its return."""
    rng: random.Random = field(default_factory=random.Random, compare=False)
    """The jitter's random source (seed it for reproducible delays)."""

    def with_overrides(self, **overrides: Any) -> WatchOptions:
        """These options with some fields replaced; unknown names raise TypeError, as a call with
        a misspelt keyword would. ``rng=None`` keeps the default source."""
        if overrides.get("rng", self.rng) is None:
            overrides["rng"] = random.Random()
        return dataclasses.replace(self, **overrides) if overrides else self


def _options(options: WatchOptions | None, overrides: dict[str, Any]) -> WatchOptions:
    return (options or WatchOptions()).with_overrides(**overrides)


async def resumable(
    open_stream: Callable[[int], Any],
    final_kind: int,
    options: WatchOptions | None = None,
    *,
    source: StreamMethod | None = None,
) -> AsyncGenerator[Any, None]:
    """Iterate the events of ``open_stream(resume_after_sequence)``, reopening it after the last
    sequence seen when it breaks or ends. ``open_stream`` returns a server-streaming call whose
    responses have an ``event``; ``final_kind`` is that stream's FINAL enum value.

    With ``source`` (the stream's method over several broker addresses) a break tells the
    router where to go (:mod:`broker_client.failover`): a reopen on an address not tried since
    the last event happens at once and counts no failure; the backoff applies once every
    address has been tried."""
    opts = options or WatchOptions()
    last = opts.resume_after_sequence
    failures = 0
    tried: set[str] = set()
    while True:
        call = open_stream(last)
        if source is not None:
            tried.add(source.address)
        moved = ""
        try:
            async for response in call:
                event = response.event
                failures = 0
                tried.clear()
                last = max(last, int(event.sequence))
                yield event
                if opts.stop_on_final and event.kind == final_kind:
                    return
        except grpc.RpcError as err:
            code = err.code() if callable(getattr(err, "code", None)) else None
            if code not in RETRYABLE:
                raise BrokerError.from_rpc_error(err) from err
            if source is not None:
                moved = source.failed(BrokerError.from_rpc_error(err))
        finally:
            call.cancel()
        if moved and moved not in tried:
            continue  # the leader is elsewhere: reopen there now
        # The stream ended (FINAL on shutdown) or broke: wait, then resume after ``last``.
        failures += 1
        if opts.max_attempts is not None and failures > opts.max_attempts:
            raise BrokerUnavailableError(
                grpc.StatusCode.UNAVAILABLE,
                f"watch stream lost; gave up after {opts.max_attempts} reconnect attempts",
            )
        ceiling = min(opts.max_backoff, opts.initial_backoff * 2 ** (failures - 1))
        await asyncio.sleep(opts.rng.uniform(0, ceiling))


def watch_rpc(
    method: Callable[..., Any],
    make_request: Callable[[int], Any],
    final_kind: int,
    options: WatchOptions | None = None,
) -> AsyncGenerator[Any, None]:
    """:func:`resumable` over a generated stub's streaming ``method`` (or a
    :class:`~broker_client.failover.StreamMethod`, which follows the leader);
    ``make_request(after)`` builds the request that resumes after sequence ``after``."""
    opts = options or WatchOptions()

    def open_stream(after: int) -> Any:
        return method(make_request(after), metadata=opts.metadata)

    source = method if isinstance(method, StreamMethod) else None
    return resumable(open_stream, final_kind, opts, source=source)


def stream_method(target: Any, stub_class: Callable[[Any], Any], name: str) -> Any:
    """The streaming method ``name`` for a watch on ``target``: a client's
    :class:`~broker_client.failover.Targets` (reopened wherever the leader is), a stub that has
    the method, or a channel."""
    if isinstance(target, Targets):
        return StreamMethod(target, stub_class, name)
    if hasattr(target, name):
        return getattr(target, name)
    return getattr(stub_class(target), name)


def watch_connection_state(
    channel: Any,
    gateway: str = "",
    *,
    options: WatchOptions | None = None,
    **overrides: Any,
) -> AsyncGenerator[pb.ConnectionEvent, None]:
    """Connection-state events of ``gateway`` (all when empty), across broker restarts.
    ``channel``: a ``grpc.aio.Channel``, or a client's Targets (following the leader).

    ``options`` (or the same names as keywords: ``resume_after_sequence``, ``metadata``,
    ``initial_backoff``, ``max_backoff``, ``max_attempts``, ``stop_on_final``, ``rng``) say how
    it resumes; see :class:`WatchOptions`.
    """
    return watch_rpc(
        stream_method(channel, svc_grpc.ConnectionServiceStub, "WatchConnectionState"),
        lambda after: svc.WatchConnectionStateRequest(gateway=gateway, resume_after_sequence=after),
        FINAL,
        _options(options, overrides),
    )


def watch_health(
    channel: Any,
    gateway: str = "",
    *,
    options: WatchOptions | None = None,
    **overrides: Any,
) -> AsyncGenerator[pb.HealthEvent, None]:
    """Health events of ``gateway`` (all when empty), across broker restarts; ``options`` as for
    :func:`watch_connection_state`."""
    return watch_rpc(
        stream_method(channel, svc_grpc.ConnectionServiceStub, "WatchHealth"),
        lambda after: svc.WatchHealthRequest(gateway=gateway, resume_after_sequence=after),
        FINAL,
        _options(options, overrides),
    )


__all__ = [
    "WatchOptions",
    "resumable",
    "stream_method",
    "watch_connection_state",
    "watch_health",
    "watch_rpc",
]
