"""The Prometheus scrape endpoint: ``GET /metrics`` on its own HTTP listener.

prometheus_client's WSGI server runs on a daemon thread and serves
:data:`broker_server.telemetry.PROMETHEUS_REGISTRY` (the OpenTelemetry instruments, converted by
opentelemetry-exporter-prometheus): the exposition format is theirs, not ours. It is a separate
port from gRPC so a scraper needs no gRPC, no token and no TLS client, and a slow scrape never
competes with the gRPC server's event loop (observable gauges read immutable snapshots; the one
that counts leases asks the loop and waits a bounded time).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from opentelemetry import metrics
from prometheus_client import make_wsgi_app, start_http_server
from prometheus_client.exposition import ThreadingWSGIServer

from broker_server.logs import log_event
from broker_server.telemetry import PROMETHEUS_REGISTRY

log = logging.getLogger("ibbroker.metrics")

_refused = metrics.get_meter("ibbroker").create_counter(
    "ibbroker.metrics.refused", description="Scrapes refused: the peer is outside the allow-list"
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def allow_only(app: WsgiApp, networks: Sequence[Network]) -> WsgiApp:
    """``app`` for peers inside ``networks`` (every peer when empty); 403 before ``app`` runs
    for any other, logged and counted like the gRPC listener's allow-list (auth.allow_cidrs)."""
    if not networks:
        return app

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR", "")
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            address = None
        if address is not None and any(address in net for net in networks):
            return app(environ, start_response)
        _refused.add(1)
        log_event(log, logging.WARNING, "metrics_peer_refused", peer=peer)
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"this address may not scrape /metrics (telemetry.metrics_allow_cidrs)\n"]

    return guarded


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


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged line by line (a refused one is, by :func:`allow_only`)."""


def _start_guarded(
    host: str, port: int, networks: Sequence[Network]
) -> tuple[WSGIServer, threading.Thread]:
    """prometheus_client's threaded WSGI server with the allow-list around its app from the
    first request on (its ``start_http_server`` takes no middleware)."""

    class Server(ThreadingWSGIServer):
        address_family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]

    app = allow_only(make_wsgi_app(PROMETHEUS_REGISTRY), networks)
    server = make_server(host, port, app, Server, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return server, thread


def start_metrics_server(listen: str, allow_cidrs: Sequence[str] = ()) -> MetricsServer:
    """Serve ``/metrics`` on ``listen`` (host:port; port 0 picks one) to peers inside
    ``allow_cidrs`` (everyone when empty); OSError when the address is taken."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    networks = [ipaddress.ip_network(cidr, strict=False) for cidr in allow_cidrs]
    if networks:
        server, thread = _start_guarded(host, int(port), networks)
    else:
        server, thread = start_http_server(int(port), addr=host, registry=PROMETHEUS_REGISTRY)
    bound = server.server_port
    shown = f"[{host}]" if ":" in host else host
    address = f"{shown}:{bound}"
    log_event(log, logging.INFO, "metrics_listening", address=address, path="/metrics")
    return MetricsServer(server, thread, address)
