"""Starts and stops the observability of one broker: the composition root calls these two.

:func:`start_observability` attaches the gauges to the broker's managers, starts the
``/metrics`` listener when ``telemetry.metrics_listen`` is set and trace export when
``telemetry.otlp_endpoint`` is set; :meth:`Observability.close` undoes all three.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from broker_server.config import TelemetryConfig
from broker_server.observability import gauges, trading_gauges
from broker_server.observability.metrics_http import MetricsServer, start_metrics_server
from broker_server.observability.rpc import instrument_rpcs
from broker_server.observability.tracing import Tracing, start_tracing
from broker_server.runtime.connections import ConnectionManager
from broker_server.runtime.leases import LeaseManager
from broker_server.runtime.market_data import MarketDataManager
from broker_server.runtime.md_sessions import PooledDataSessions
from broker_server.runtime.orders import OrderManager


@dataclass
class Observability:
    """What one broker runs for its operators."""

    metrics: MetricsServer | None
    """The ``/metrics`` listener (None: not configured)."""
    tracing: Tracing | None
    """The OTLP trace export (None: not configured)."""
    _detach: list[Callable[[], None]] = field(default_factory=list)

    @property
    def metrics_address(self) -> str:
        """host:port of ``/metrics``, or "" without a listener."""
        return self.metrics.address if self.metrics else ""

    def attach(self, connections: ConnectionManager, leases: LeaseManager) -> None:
        """Report these managers in the gauges (call on the event loop, once)."""
        self._detach.append(gauges.attach(connections, leases))

    def attach_trading(
        self,
        connections: ConnectionManager,
        orders: OrderManager,
        market_data: MarketDataManager,
        data_sessions: PooledDataSessions,
    ) -> None:
        """Report the order and market-data runtimes in the trading series (orders by state,
        pacing, market-data lines; call on the event loop, once)."""
        self._detach.append(trading_gauges.attach(connections, orders, market_data, data_sessions))

    async def close(self) -> None:
        """Detach the gauges, stop the listener, flush and stop trace export."""
        while self._detach:
            self._detach.pop()()
        if self.metrics is not None:
            await asyncio.to_thread(self.metrics.close)
            self.metrics = None
        if self.tracing is not None:
            # Bounded by the exporter's timeout; off the loop so other tasks keep running.
            await asyncio.to_thread(self.tracing.close)
            self.tracing = None


def start_observability(cfg: TelemetryConfig) -> Observability:
    """Start trace export and the ``/metrics`` listener as configured (OSError when the
    listener's address is taken)."""
    instrument_rpcs(cfg.instrument_rpcs)
    tracing = start_tracing(cfg)
    try:
        metrics = (
            start_metrics_server(cfg.metrics_listen, cfg.metrics_allow_cidrs)
            if cfg.metrics_listen
            else None
        )
    except BaseException:
        if tracing is not None:
            tracing.close()
        raise
    return Observability(metrics, tracing)
