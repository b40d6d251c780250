"""What telemetry costs an RPC: the same broker with telemetry on and off, measured in one run.

- off: ``telemetry.instrument_rpcs = false``, no ``/metrics`` listener, no trace export;
- off2: the same again: its "overhead" is what the machine's noise alone gives;
- on: the RPC interceptor (``rpc.server.duration``, active streams) and ``/metrics`` scraped
  once a second (as Prometheus would): what the Docker image runs;
- traced: on, plus a span for every call exported over OTLP/gRPC to a collector stub in this
  process (``trace_sample_ratio = 1``, the worst case);
- sampled: on, exporting, at the default ``trace_sample_ratio`` (callers send no traceparent);
- with ``--compare DIR``: also "on" as the broker in DIR serves it (an export of an older
  commit), so a change's before and after are measured in the same run.

Every broker is served exactly as ``ibbroker serve --sim`` runs it (``served.py``), side by
side; a first warm-up round is not counted. A round has two parts:

- throughput: each broker alone, in an order that rotates from round to round, takes unary
  GetConnectionState calls from ``--clients`` concurrent callers for ``--seconds`` s;
- interleaved: every broker at once for twice that, at a fixed load below saturation
  (``--rate`` calls/s each: the callers take turns, each turn calls every broker in a rotating
  order), so all are measured in the same instants of the machine doing the same work: the CPU
  time each broker's threads ran (from /proc, in ns) per call, and the
  p50 and p99 of a call. (At saturation CPU per call says nothing: each process gets its share.)

The overhead of a configuration is taken per round against that round's "off" (paired), and the
median over the rounds is printed with the spread. The goal (under 10 %) is read on the
interleaved figures: on a shared machine a broker's throughput moves by tens of percent from one
second to the next with what else runs, while brokers measured in the same instants see the same
machine. Last, the interceptor's own CPU per call is measured in this process without a network
(metrics only, and with a tracer at sample ratios 0, the default and 1): the part of a call
telemetry owns, free of the machine's noise, set against the broker's CPU per call.
``var/bench/telemetry.json`` keeps every figure (``benchmarks/report.py`` plots them).

    python benchmarks/bench_telemetry.py [--seconds 1.5] [--clients 8] [--rounds 8]
        [--rate 150] [--compare DIR]
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
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from benchmarks.figures import save
from benchmarks.progress import Progress
from benchmarks.served import ROOT, ServedBroker, write_config
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import connection_service_pb2 as csvc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as csvc_grpc
from broker_server.config import TelemetryConfig
from broker_server.observability.rpc import RpcTelemetryInterceptor
from broker_server.telemetry import set_tracer_provider, setup_metrics

GOAL = 0.10
"""Largest acceptable overhead of telemetry on RPC throughput."""
DEFAULT_RATIO = TelemetryConfig().trace_sample_ratio


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


async def throughput(address: str, clients: int, seconds: float) -> tuple[float, int]:
    """GetConnectionState calls/s from ``clients`` concurrent callers for ``seconds``, and
    how many calls that was."""
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
        return sum(counts) / (time.perf_counter() - started), sum(counts)


async def interleaved(
    brokers: dict[str, ServedBroker], clients: int, seconds: float, rate: float
) -> dict[str, tuple[float, float, float]]:
    """Every broker at once at a fixed load below saturation: ``clients`` callers share
    ``rate`` turns a second, and a turn calls GetConnectionState on each broker in a rotating
    order, so all are measured in the same instants of the machine with the same work. Per
    broker: CPU seconds per call (its process's CPU over the window: the work, since it is not
    saturated; a saturated process just gets its share of the machine), p50 and p99 of a call."""
    names = list(brokers)
    async with contextlib.AsyncExitStack() as stack:
        stubs = {}
        for name, broker in brokers.items():
            channel = await stack.enter_async_context(aio_channel(broker.address))
            stubs[name] = csvc_grpc.ConnectionServiceStub(channel)
        request = csvc.GetConnectionStateRequest()
        for stub in stubs.values():
            await stub.GetConnectionState(request, timeout=10)
        samples: dict[str, list[float]] = {name: [] for name in names}
        pids = {name: b.proc.pid for name, b in brokers.items() if b.proc is not None}
        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = time.perf_counter()
        deadline = started + seconds
        period = clients / rate

        async def caller(i: int) -> None:
            turn, due = i, started + period * i / clients
            while due < deadline:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                due += period
                turn += 1
                shift = turn % len(names)
                for name in names[shift:] + names[:shift]:
                    begun = time.perf_counter()
                    await stubs[name].GetConnectionState(request, timeout=10)
                    samples[name].append(time.perf_counter() - begun)

        await asyncio.gather(*(caller(i) for i in range(clients)))
        used = {name: cpu_seconds(pid) - cpu[name] for name, pid in pids.items()}
    out = {}
    for name in names:
        cuts = statistics.quantiles(samples[name], n=100, method="inclusive")
        out[name] = (used[name] / max(len(samples[name]), 1), cuts[49], cuts[98])
    return out


def cpu_seconds(pid: int) -> float:
    """CPU time the process's threads have run so far, in ns resolution (the sum of each
    thread's /proc schedstat; /proc/PID/stat counts in 10 ms ticks, too coarse for a few
    hundred calls). A thread that ended is no longer counted (a /metrics scrape's)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):  # the thread ended meanwhile
            continue
    return total / 1e9


class _Context:
    """What the interceptor reads of a call's context (no network: see interceptor_cost)."""

    def code(self) -> None:
        return None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("user-agent", "grpc-python-bench"),)


class _Details:
    method = "/ibbroker.v1.ConnectionService/GetConnectionState"
    invocation_metadata = ()


async def interceptor_cost(calls: int = 20_000) -> dict[str, float]:
    """Seconds of CPU the RPC telemetry interceptor adds to one unary call, in this process
    and without a network (the part of a call it owns, free of the machine's noise): metrics
    only, then with a tracer installed at sample ratios 0, the default, and 1 (spans made and
    ended, no exporter). Best of 3 runs of ``calls`` calls each, minus the bare handler."""
    setup_metrics()

    async def handler(request: bytes, context: Any) -> bytes:
        return request

    registered = grpc.unary_unary_rpc_method_handler(handler)

    async def continuation(_details: Any) -> grpc.RpcMethodHandler:
        return registered

    async def per_call(interceptor: RpcTelemetryInterceptor | None) -> float:
        context, details = _Context(), _Details()
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            for _ in range(calls):
                wrapped = (
                    await interceptor.intercept_service(continuation, details)
                    if interceptor is not None
                    else registered
                )
                await wrapped.unary_unary(b"", context)
            best = min(best, (time.process_time() - started) / calls)
        return best

    bare = await per_call(None)
    cost = {"metrics": await per_call(RpcTelemetryInterceptor()) - bare}
    for ratio in sorted({0.0, DEFAULT_RATIO, 1.0}):
        set_tracer_provider(TracerProvider(sampler=ParentBased(TraceIdRatioBased(ratio))))
        try:
            cost[f"traced at {ratio:g}"] = await per_call(RpcTelemetryInterceptor()) - bare
        finally:
            set_tracer_provider(None)
    return cost


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


def _paired(values: dict[str, list[float]], name: str, lower_is_better: bool) -> list[float]:
    """Per round: how much worse ``name`` is than that round's "off" (0.1 = 10 %)."""
    if lower_is_better:  # latency: on / off - 1
        return [v / o - 1 for v, o in zip(values[name], values["off"], strict=True)]
    return [1 - v / o for v, o in zip(values[name], values["off"], strict=True)]  # calls/s


async def _measure(
    args: argparse.Namespace, collector: Collector, collector_port: int
) -> dict[str, Any]:
    quiet = "[server]\nmetrics_log_interval = 0\n"
    ports = {name: free_port() for name in ("on", "traced", "sampled", "before")}
    export = f'otlp_endpoint = "127.0.0.1:{collector_port}"\nspan_export_interval = 0.2\n'
    configs: dict[str, tuple[str, Path]] = {
        "off": ("[telemetry]\ninstrument_rpcs = false\n", ROOT),
        "off2": ("[telemetry]\ninstrument_rpcs = false\n", ROOT),  # the noise floor
        "on": (f'[telemetry]\nmetrics_listen = "127.0.0.1:{ports["on"]}"\n', ROOT),
        "traced": (
            f'[telemetry]\nmetrics_listen = "127.0.0.1:{ports["traced"]}"\n{export}'
            "trace_sample_ratio = 1.0\n",
            ROOT,
        ),
        "sampled": (
            f'[telemetry]\nmetrics_listen = "127.0.0.1:{ports["sampled"]}"\n{export}',
            ROOT,
        ),
    }
    if args.compare:
        before = f'[telemetry]\nmetrics_listen = "127.0.0.1:{ports["before"]}"\n'
        configs["before"] = (before, Path(args.compare))
    names = list(configs)
    rates: dict[str, list[float]] = {name: [] for name in names}
    p50s: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    p99s: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        brokers = {
            name: stack.enter_context(
                ServedBroker(
                    folder / f"{name}.sqlite3",
                    write_config(folder / f"{name}.toml", quiet + text),
                    root=root,
                )
            )
            for name, (text, root) in configs.items()
        }
        scrapers = [
            Scraper(f"http://127.0.0.1:{ports[name]}/metrics")
            for name in names
            if not name.startswith("off")
        ]
        try:
            with Progress("telemetry rounds", (args.rounds + 1) * (len(names) + 1)) as bar:
                for round_ in range(args.rounds + 1):  # round 0 warms up, not counted
                    # A different order each round, so no configuration always goes first.
                    shift = round_ % len(names)
                    for name in names[shift:] + names[:shift]:
                        rate, _calls = await throughput(
                            brokers[name].address, args.clients, args.seconds
                        )
                        if round_:
                            rates[name].append(rate)
                        bar.advance()
                    together = await interleaved(brokers, args.clients, 2 * args.seconds, args.rate)
                    if round_:
                        for name, (cpu, p50, p99) in together.items():
                            cpus[name].append(cpu)
                            p50s[name].append(p50)
                            p99s[name].append(p99)
                    bar.advance()
                    if round_:
                        print(
                            f"round {round_}/{args.rounds}: calls/s "
                            + "  ".join(f"{n} {rates[n][-1]:7.0f}" for n in names),
                            flush=True,
                        )
        finally:
            for scraper in scrapers:
                scraper.stop()
    figures: dict[str, Any] = {
        "clients": args.clients,
        "rounds": args.rounds,
        "calls_per_s": rates,
        "p50_s": p50s,
        "cpu_per_call_s": cpus,
        "p99_s": p99s,
        "spans_received": collector.spans,
        "scrapes": sum(s.scrapes for s in scrapers),
        "goal": GOAL,
        "compare": str(args.compare or ""),
    }
    for name in names[1:]:
        prefix = "" if name == "on" else f"{name}_"
        thr, lat = _paired(rates, name, False), _paired(p50s, name, True)
        tail = _paired(p99s, name, True)
        figures[f"{prefix}overhead_p99"] = statistics.median(tail)
        per_call = _paired(cpus, name, True)
        figures[f"{prefix}overhead_cpu"] = statistics.median(per_call)
        figures[f"{prefix}overhead_cpu_rounds"] = per_call
        figures[f"{prefix}overhead_throughput"] = statistics.median(thr)
        figures[f"{prefix}overhead_p50"] = statistics.median(lat)
        figures[f"{prefix}overhead_throughput_rounds"] = thr
        figures[f"{prefix}overhead_p50_rounds"] = lat
    return figures


def _spread(values: list[float]) -> str:
    ordered = sorted(values)
    return f"rounds {ordered[0] * 100:.1f} .. {ordered[-1] * 100:.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="seconds per throughput run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent callers")
    parser.add_argument("--rounds", type=int, default=8, help="counted rounds per broker")
    parser.add_argument(
        "--rate", type=float, default=150.0, help="calls/s per broker when all run at once"
    )
    parser.add_argument("--compare", default="", help="a source tree to serve as 'before'")
    args = parser.parse_args()
    if args.compare:
        args.compare = str(Path(args.compare).resolve())
    figures = asyncio.run(run(args))
    figures["interceptor_s"] = asyncio.run(interceptor_cost())
    rates, p50s = figures["calls_per_s"], figures["p50_s"]
    rows = [
        ("off", "telemetry off"),
        ("off2", "telemetry off, a second broker (noise floor)"),
        ("on", "metrics on (interceptor, /metrics scraped)"),
        ("traced", "metrics and every call traced (OTLP)"),
        ("sampled", f"metrics, traces sampled at {DEFAULT_RATIO:g} (OTLP)"),
    ]
    if args.compare:
        rows.append(("before", f"metrics on, served from {args.compare}"))
    cpus, p99s = figures["cpu_per_call_s"], figures["p99_s"]
    for name, what in rows:
        print(
            f"{what:<44} CPU/call {statistics.median(cpus[name]) * 1e6:5.0f} us"
            f"  p50 {statistics.median(p50s[name]) * 1e3:6.3f} ms"
            f"  p99 {statistics.median(p99s[name]) * 1e3:6.3f} ms"
            f"  alone: calls/s {statistics.median(rates[name]):5.0f}"
        )
    print(f"spans the collector received: {figures['spans_received']}; "
          f"/metrics scrapes: {figures['scrapes']}; {args.clients} clients")  # fmt: skip
    print(
        f"RPC overhead with telemetry on vs off, same run (median of {args.rounds} paired "
        f"rounds): {figures['overhead_cpu'] * 100:.1f} % of the broker's CPU per call "
        f"({_spread(figures['overhead_cpu_rounds'])}), "
        f"{figures['overhead_p50'] * 100:.1f} % of p50 latency "
        f"({_spread(figures['overhead_p50_rounds'])}), {figures['overhead_p99'] * 100:.1f} % "
        f"of p99 (goal < {GOAL * 100:.0f} %); alone: "
        f"{figures['overhead_throughput'] * 100:.1f} % of throughput "
        f"({_spread(figures['overhead_throughput_rounds'])})"
    )
    for name, what in (
        ("off2", "a second broker with telemetry off (the machine's noise)"),
        ("traced", "with every call traced and exported as well"),
        ("sampled", f"with traces sampled at the default {DEFAULT_RATIO:g}"),
        ("before", f"metrics on, {args.compare} (before)"),
    ):
        if f"{name}_overhead_throughput" not in figures:
            continue
        print(
            f"{what}: {figures[f'{name}_overhead_cpu'] * 100:.1f} % of CPU per call, "
            f"{figures[f'{name}_overhead_p50'] * 100:.1f} % of p50, "
            f"{figures[f'{name}_overhead_p99'] * 100:.1f} % of p99; alone: "
            f"{figures[f'{name}_overhead_throughput'] * 100:.1f} % of throughput"
        )
    off_cpu = statistics.median(cpus["off"])
    print(
        "the RPC interceptor's own CPU per unary call, in process (no network), against the "
        f"broker's {off_cpu * 1e6:.0f} us per GetConnectionState with telemetry off: "
        + ", ".join(
            f"{what} {cost * 1e6:.1f} us ({cost / off_cpu * 100:.1f} %)"
            for what, cost in figures["interceptor_s"].items()
        )
    )
    save("telemetry", **figures)


if __name__ == "__main__":
    main()
