"""Child spans for the IB requests the lease runtime makes on a caller's behalf.

The lease manager reaches the connection layer only through the small Protocols of
:mod:`broker_server.runtime.lease_ports`. The composition root hands it :class:`TracedPorts`
instead of the connection manager itself: each IB request (a probe connect that proves a client
ID free, a PROXIED session opened for an AcquireLease, its close) then runs in a span, a child of
the RPC's span when an RPC caused it (the current span travels with the asyncio task), a root
span when the sweeper did. With no tracer installed the spans are no-ops.
"""

from __future__ import annotations

from opentelemetry import trace

from broker_server.runtime.connections import ConnectionManager
from broker_server.telemetry import tracer


class TracedPorts:
    """The connection manager's lease ports (prober, PROXIED sessions, accounts), traced."""

    def __init__(self, connections: ConnectionManager) -> None:
        self._connections = connections

    async def probe(self, gateway: str, client_id: int) -> bool:
        """:meth:`ConnectionManager.probe` in an ``ib.probe_client_id`` span."""
        with tracer().start_as_current_span(
            "ib.probe_client_id",
            kind=trace.SpanKind.CLIENT,
            attributes={"ib.gateway": gateway, "ib.client_id": client_id},
        ) as span:
            free = await self._connections.probe(gateway, client_id)
            span.set_attribute("ib.client_id_free", free)
            return free

    async def open_session(self, gateway: str, client_id: int, lease_id: str) -> None:
        """:meth:`ConnectionManager.open_session` in an ``ib.open_session`` span."""
        with tracer().start_as_current_span(
            "ib.open_session",
            kind=trace.SpanKind.CLIENT,
            attributes={"ib.gateway": gateway, "ib.client_id": client_id, "lease.id": lease_id},
        ):
            await self._connections.open_session(gateway, client_id, lease_id)

    async def close_session(self, gateway: str, client_id: int) -> None:
        """:meth:`ConnectionManager.close_session` in an ``ib.close_session`` span."""
        with tracer().start_as_current_span(
            "ib.close_session",
            kind=trace.SpanKind.CLIENT,
            attributes={"ib.gateway": gateway, "ib.client_id": client_id},
        ):
            await self._connections.close_session(gateway, client_id)

    def account_mismatch(self, gateway: str) -> str | None:
        """:meth:`ConnectionManager.account_mismatch` (no IB request: no span)."""
        return self._connections.account_mismatch(gateway)
