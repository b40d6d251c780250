"""OpenTelemetry metrics: one MeterProvider for the process, readable in-process and logged.

Instruments are created with ``opentelemetry.metrics.get_meter("ibbroker")`` anywhere in the
code. :func:`setup_metrics` installs the SDK provider with an in-memory reader, so tests and the
periodic JSON ``metrics`` log line can read every counter without an external collector.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from broker_server.logs import log_event

log = logging.getLogger("ibbroker.metrics")

_reader: InMemoryMetricReader | None = None


def setup_metrics() -> InMemoryMetricReader:
    """Install the SDK MeterProvider once per process and return its reader."""
    global _reader
    if _reader is None:
        _reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[_reader]))
    return _reader


def metric_points() -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """Every metric's data points as ``{name: [(attributes, value)]}`` (sums and gauges)."""
    reader = setup_metrics()
    data = reader.get_metrics_data()
    points: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is None:
                        value = {
                            "count": getattr(point, "count", 0),
                            "sum": getattr(point, "sum", 0),
                        }
                    points.setdefault(metric.name, []).append((dict(point.attributes or {}), value))
    return points


async def log_metrics_every(interval: float) -> None:
    """Log every metric as one JSON line each ``interval`` seconds, until cancelled."""
    while True:
        await asyncio.sleep(interval)
        log_event(log, logging.INFO, "metrics", metrics=metric_points())
