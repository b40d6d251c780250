"""The Prometheus scrape endpoint: ``GET /metrics`` on its own HTTP listener.

prometheus_client's WSGI server runs on a daemon thread and serves
:data:`broker_server.telemetry.PROMETHEUS_REGISTRY` (the OpenTelemetry instruments, converted by
opentelemetry-exporter-prometheus): the exposition format is theirs, not ours. It is a separate
port from gRPC so a scraper needs no gRPC, no token and no TLS client, and a slow scrape never
competes with the gRPC server's event loop (observable gauges read immutable snapshots; the one
that counts leases asks the loop and waits a bounded time).
"""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from broker_server.logs import log_event
from broker_server.telemetry import PROMETHEUS_REGISTRY

log = logging.getLogger("ibbroker.metrics")


class MetricsServer:
    """A running ``/metrics`` listener; :meth:`close` stops it."""

    def __init__(self, server: WSGIServer, thread: threading.Thread, address: str) -> None:
        self._server = server
        self._thread = thread
        self.address = address
        """host:port it listens on (the real port when 0 was asked)."""

    @property
    def url(self) -> str:
        """The scrape URL."""
        return f"http://{self.address}/metrics"

    def close(self) -> None:
        """Stop serving and free the port (waits for a scrape in progress, briefly)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)


def start_metrics_server(listen: str) -> MetricsServer:
    """Serve ``/metrics`` on ``listen`` (host:port; port 0 picks one); OSError when taken."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    server, thread = start_http_server(int(port), addr=host, registry=PROMETHEUS_REGISTRY)
    bound = server.server_port
    shown = f"[{host}]" if ":" in host else host
    address = f"{shown}:{bound}"
    log_event(log, logging.INFO, "metrics_listening", address=address, path="/metrics")
    return MetricsServer(server, thread, address)
