"""OpenTelemetry metrics and the process's tracer: one MeterProvider, readable in-process,
logged, and scraped.

Instruments are created with ``opentelemetry.metrics.get_meter("ibbroker")`` anywhere in the
code. :func:`setup_metrics` installs the SDK provider with two readers: an in-memory one, so
tests and the periodic JSON ``metrics`` log line read every counter without a collector, and a
Prometheus one on its own registry (:data:`PROMETHEUS_REGISTRY`), which the ``/metrics`` listener
of :mod:`broker_server.observability.metrics_http` serves when configured. A reader only works
when asked (a scrape, a log line), so an unscraped registry costs nothing per measurement.

Traces: :func:`tracer` is what the code asks for a span. It is a no-op tracer until
:func:`set_tracer_provider` installs a real one (``telemetry.otlp_endpoint``), so a broker
without an exporter pays only the no-op call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from prometheus_client import CollectorRegistry

from broker_server.logs import log_event

log = logging.getLogger("ibbroker.metrics")

_reader: InMemoryMetricReader | None = None

PROMETHEUS_REGISTRY = CollectorRegistry(auto_describe=True)
"""The registry the ``/metrics`` endpoint serves: the broker's instruments and nothing else
(not the process collectors of prometheus_client's global registry)."""

SECONDS_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
"""Histogram bucket bounds in seconds for durations (the SDK default suits milliseconds; a
loopback heartbeat or a unary RPC would all land in its first bucket)."""

HISTOGRAMS_IN_SECONDS = ("ibbroker.heartbeat.rtt", "ibbroker.pacing.wait")
"""Histograms that get :data:`SECONDS_BUCKETS`."""


def setup_metrics() -> InMemoryMetricReader:
    """Install the SDK MeterProvider once per process and return its in-memory reader."""
    global _reader
    if _reader is None:
        _reader = InMemoryMetricReader()
        views = [
            View(
                instrument_name=name,
                aggregation=ExplicitBucketHistogramAggregation(SECONDS_BUCKETS),
            )
            for name in HISTOGRAMS_IN_SECONDS
        ]
        prometheus = PrometheusMetricReader(scope_info_enabled=False, registry=PROMETHEUS_REGISTRY)
        metrics.set_meter_provider(
            MeterProvider(
                metric_readers=[_reader, prometheus],
                views=views,
                resource=Resource.create({SERVICE_NAME: "ibbroker"}),
            )
        )
    return _reader


_tracer: trace.Tracer = trace.NoOpTracer()


def tracer() -> trace.Tracer:
    """The tracer every span of the broker is started with (a no-op until one is installed)."""
    return _tracer


def set_tracer_provider(provider: trace.TracerProvider | None) -> None:
    """Use ``provider``'s tracer from now on; None goes back to the no-op tracer.

    Not OpenTelemetry's global provider, which can be set once per process: a process that
    starts and stops brokers (the tests) installs one provider per broker."""
    global _tracer
    _tracer = trace.NoOpTracer() if provider is None else provider.get_tracer("ibbroker")


def ib_span(
    name: str, attributes: dict[str, Any], kind: trace.SpanKind = trace.SpanKind.CLIENT
) -> AbstractContextManager[trace.Span | None]:
    """A span named ``name`` around one IB request (CLIENT) or a step made of several
    (INTERNAL), current for the code inside, so it is a child of the RPC span that caused the
    request (the current span travels with the asyncio task) or a root span when none did.
    Without a tracer installed: nothing, not even a context switch (the ``with`` gives None)."""
    current = _tracer
    if isinstance(current, trace.NoOpTracer):
        return _NO_SPAN
    return current.start_as_current_span(name, kind=kind, attributes=attributes)


_NO_SPAN: AbstractContextManager[None] = nullcontext()


Points = dict[str, list[tuple[dict[str, Any], Any]]]
_point_sources: list[Callable[[], Points]] = []


def add_point_source(source: Callable[[], Points]) -> None:
    """Also report ``source()`` in :func:`metric_points`: series kept outside the SDK (the RPC
    metrics, :mod:`broker_server.observability.rpc_stats`, too hot for it)."""
    _point_sources.append(source)


def metric_points() -> Points:
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
    for source in _point_sources:
        for name, values in source().items():
            points.setdefault(name, []).extend(values)
    return points


async def log_metrics_every(interval: float) -> None:
    """Log every metric as one JSON line each ``interval`` seconds, until cancelled."""
    while True:
        await asyncio.sleep(interval)
        log_event(log, logging.INFO, "metrics", metrics=metric_points())
