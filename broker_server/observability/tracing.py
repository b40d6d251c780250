"""Trace export over OTLP/gRPC, switched on by ``telemetry.otlp_endpoint``.

Spans end on the event loop into a bounded queue (``telemetry.span_queue_size``); a daemon
thread of the SDK's batch processor sends them to the collector. So a collector that is slow,
down or unreachable never blocks nor slows an RPC: the queue fills, further spans are dropped,
and both drops and failed exports are counted (``ibbroker.trace.spans_dropped`` with
``why=queue_full|export_failed``). Without an endpoint nothing is installed and
:func:`broker_server.telemetry.tracer` stays the no-op tracer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from opentelemetry import metrics as otel
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from broker_server.config import TelemetryConfig
from broker_server.logs import log_event
from broker_server.telemetry import set_tracer_provider

log = logging.getLogger("ibbroker.tracing")

FLUSH_WAIT = 1.0
"""Seconds the spans still queued at shutdown get to reach the collector."""

_meter = otel.get_meter("ibbroker")
_dropped = _meter.create_counter(
    "ibbroker.trace.spans_dropped",
    unit="{span}",
    description="Spans not delivered to the collector: queue full, or the export failed.",
)
_exported = _meter.create_counter(
    "ibbroker.trace.spans_exported", unit="{span}", description="Spans the collector accepted."
)


class _CountingExporter(SpanExporter):
    """The OTLP exporter, counting what it delivered and what it lost."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._inner.export(spans)
        except Exception:  # the SDK logs and drops; count it as lost
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            _exported.add(len(spans))
        else:
            _dropped.add(len(spans), {"why": "export_failed"})
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class _BoundedProcessor(BatchSpanProcessor):
    """The SDK's batch processor, counting the spans it drops because its queue is full."""

    def __init__(self, exporter: SpanExporter, cfg: TelemetryConfig) -> None:
        super().__init__(
            exporter,
            max_queue_size=cfg.span_queue_size,
            schedule_delay_millis=cfg.span_export_interval * 1000,
            max_export_batch_size=cfg.span_batch_size,
            export_timeout_millis=cfg.otlp_timeout * 1000,
        )
        self._capacity = cfg.span_queue_size

    def on_end(self, span: ReadableSpan) -> None:
        # The SDK drops the oldest span when its deque is full; it counts that only when its
        # internal metrics are switched on by environment, so count it here.
        queue = getattr(self._batch_processor, "_queue", None)
        if queue is not None and len(queue) >= self._capacity and span.context.trace_flags.sampled:
            _dropped.add(1, {"why": "queue_full"})
        super().on_end(span)


class Tracing:
    """An installed tracer provider; :meth:`close` flushes briefly and uninstalls it."""

    def __init__(self, provider: TracerProvider, exporter: SpanExporter, endpoint: str) -> None:
        self.provider = provider
        self._exporter = exporter
        self.endpoint = endpoint

    def close(self) -> None:
        """Uninstall, flush what the collector takes, stop (blocking: run it off the loop).

        The queue gets :data:`FLUSH_WAIT` seconds to reach the collector; then the exporter is
        shut down, which ends its retries at once, so a collector that is down costs no export
        timeout at shutdown (what is still queued then is counted as dropped)."""
        set_tracer_provider(None)
        flush = threading.Thread(target=self.provider.force_flush, daemon=True)
        flush.start()
        flush.join(FLUSH_WAIT)
        self._exporter.shutdown()
        self.provider.shutdown()


def start_tracing(cfg: TelemetryConfig) -> Tracing | None:
    """Install a tracer provider exporting to ``cfg.otlp_endpoint``; None when it is empty."""
    if not cfg.otlp_endpoint:
        return None
    exporter = OTLPSpanExporter(
        endpoint=cfg.otlp_endpoint, insecure=cfg.otlp_insecure, timeout=cfg.otlp_timeout
    )
    # The caller's sampling decision wins; calls that bring none are sampled at the ratio.
    sampler = ParentBased(TraceIdRatioBased(cfg.trace_sample_ratio))
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: cfg.service_name}), sampler=sampler
    )
    provider.add_span_processor(_BoundedProcessor(_CountingExporter(exporter), cfg))
    set_tracer_provider(provider)
    log_event(log, logging.INFO, "tracing_started", endpoint=cfg.otlp_endpoint)
    return Tracing(provider, exporter, cfg.otlp_endpoint)
