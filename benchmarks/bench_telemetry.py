"""What telemetry costs an RPC: the same broker with telemetry on and off, measured in one run.

- off: ``telemetry.instrument_rpcs = false``, no ``/metrics`` listener, no trace export;
- on: the RPC interceptor (``rpc.server.duration``, active streams) and ``/metrics`` scraped
  once a second (as Prometheus would): what the Docker image runs;
- traced: on, plus a span for every call exported over OTLP/gRPC to a collector stub in this
  process (``trace_sample_ratio = 1``, the worst case).

Both are served exactly as ``ibbroker serve --sim`` runs them (``served.py``), side by side; the
rounds alternate between them so a busy machine weighs on both alike. Per round: unary
GetConnectionState calls/s from ``--clients`` concurrent callers for ``--seconds`` s, and the
p50 latency of ``--sequential`` one-at-a-time calls. It prints both, and the overhead
``1 - on/off`` of the medians (goal: under 10 %), the same for traced, and writes ``var/bench/telemetry.json``
(``benchmarks/report.py`` puts it in the report).

    python benchmarks/bench_telemetry.py [--seconds 2] [--clients 8] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as ts_grpc

from benchmarks.figures import save
from benchmarks.served import ServedBroker, write_config
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import connection_service_pb2 as csvc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as csvc_grpc

GOAL = 0.10
"""Largest acceptable overhead of telemetry on RPC throughput."""


class Collector(ts_grpc.TraceServiceServicer):
    """An OTLP trace collector stub that counts the spans it receives."""

    def __init__(self) -> None:
        self.spans = 0

    async def Export(
        self, request: ts.ExportTraceServiceRequest, context: grpc.aio.ServicerContext
    ) -> ts.ExportTraceServiceResponse:
        self.spans += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        return ts.ExportTraceServiceResponse()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Scraper:
    """GET /metrics once a second on a thread, until stopped (what Prometheus does)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.scrapes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            with urllib.request.urlopen(self.url, timeout=5) as reply:
                reply.read()
            self.scrapes += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


async def throughput(address: str, clients: int, seconds: float) -> float:
    """GetConnectionState calls/s from ``clients`` concurrent callers for ``seconds``."""
    async with aio_channel(address) as channel:
        stub = csvc_grpc.ConnectionServiceStub(channel)
        request = csvc.GetConnectionStateRequest()
        await stub.GetConnectionState(request, timeout=10)
        deadline = time.perf_counter() + seconds
        counts = [0] * clients

        async def caller(i: int) -> None:
            while time.perf_counter() < deadline:
                await stub.GetConnectionState(request, timeout=10)
                counts[i] += 1

        started = time.perf_counter()
        await asyncio.gather(*(caller(i) for i in range(clients)))
        return sum(counts) / (time.perf_counter() - started)


async def latency(address: str, calls: int) -> float:
    """Median seconds of one GetConnectionState, one call at a time."""
    async with aio_channel(address) as channel:
        stub = csvc_grpc.ConnectionServiceStub(channel)
        request = csvc.GetConnectionStateRequest()
        await stub.GetConnectionState(request, timeout=10)
        samples = []
        for _ in range(calls):
            t0 = time.perf_counter()
            await stub.GetConnectionState(request, timeout=10)
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    collector = Collector()
    server = grpc.aio.server()
    ts_grpc.add_TraceServiceServicer_to_server(collector, server)
    collector_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        return await _measure(args, collector, collector_port)
    finally:
        await server.stop(0)


async def _measure(
    args: argparse.Namespace, collector: Collector, collector_port: int
) -> dict[str, Any]:
    metrics_port, traced_metrics_port = free_port(), free_port()
    quiet = "[server]\nmetrics_log_interval = 0\n"
    configs = {
        "off": "[telemetry]\ninstrument_rpcs = false\n",
        "on": f'[telemetry]\nmetrics_listen = "127.0.0.1:{metrics_port}"\n',
        "traced": (
            "[telemetry]\n"
            f'metrics_listen = "127.0.0.1:{traced_metrics_port}"\n'
            f'otlp_endpoint = "127.0.0.1:{collector_port}"\n'
            "span_export_interval = 0.2\n"
        ),
    }
    rates: dict[str, list[float]] = {name: [] for name in configs}
    p50s: dict[str, list[float]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        brokers = {
            name: stack.enter_context(
                ServedBroker(
                    folder / f"{name}.sqlite3", write_config(folder / f"{name}.toml", quiet + text)
                )
            )
            for name, text in configs.items()
        }
        scrapers = [
            Scraper(f"http://127.0.0.1:{port}/metrics")
            for port in (metrics_port, traced_metrics_port)
        ]
        try:
            names = list(configs)
            for round_ in range(args.rounds):
                # A different order each round, so no configuration always goes first.
                order = names[round_ % 3 :] + names[: round_ % 3]
                for name in order:
                    address = brokers[name].address
                    rates[name].append(await throughput(address, args.clients, args.seconds))
                    p50s[name].append(await latency(address, args.sequential))
                print(
                    f"round {round_ + 1}/{args.rounds}: calls/s "
                    + "  ".join(f"{n} {rates[n][-1]:7.0f}" for n in names),
                    flush=True,
                )
        finally:
            for scraper in scrapers:
                scraper.stop()
    rate = {name: statistics.median(values) for name, values in rates.items()}
    p50 = {name: statistics.median(values) for name, values in p50s.items()}
    return {
        "clients": args.clients,
        "rounds": args.rounds,
        "calls_per_s": rates,
        "p50_s": p50s,
        "overhead_throughput": 1 - rate["on"] / rate["off"],
        "overhead_p50": p50["on"] / p50["off"] - 1,
        "traced_overhead_throughput": 1 - rate["traced"] / rate["off"],
        "traced_overhead_p50": p50["traced"] / p50["off"] - 1,
        "spans_received": collector.spans,
        "scrapes": sum(s.scrapes for s in scrapers),
        "goal": GOAL,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per throughput run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent callers")
    parser.add_argument("--sequential", type=int, default=300, help="calls for the p50")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per broker")
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    rates, p50s = figures["calls_per_s"], figures["p50_s"]
    for name, what in (
        ("off", "telemetry off"),
        ("on", "metrics on (interceptor, /metrics scraped)"),
        ("traced", "metrics and every call traced (OTLP)"),
    ):
        print(
            f"{what:<46} calls/s {statistics.median(rates[name]):7.0f} ({args.clients} clients)"
            f"   one call p50 {statistics.median(p50s[name]) * 1e3:.3f} ms"
        )
    print(f"spans the collector received: {figures['spans_received']}; "
          f"/metrics scrapes: {figures['scrapes']}")  # fmt: skip
    print(
        f"RPC overhead with telemetry on vs off, same run: "
        f"{figures['overhead_throughput'] * 100:.1f} % of throughput, "
        f"{figures['overhead_p50'] * 100:.1f} % of p50 latency (goal < {GOAL * 100:.0f} %)"
    )
    print(
        f"with every call traced and exported as well: "
        f"{figures['traced_overhead_throughput'] * 100:.1f} % of throughput, "
        f"{figures['traced_overhead_p50'] * 100:.1f} % of p50 latency"
    )
    save("telemetry", **figures)


if __name__ == "__main__":
    main()
