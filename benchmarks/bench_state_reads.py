"""GetConnectionState through gRPC: the served broker next to a bare ``grpc.aio`` hop answering
the same bytes, measured fairly in the same run (issue 9, finding 12: goal broker / bare <= 1.2
at p99).

    python benchmarks/bench_state_reads.py [--rounds 8] [--seconds 3] [--rate 200]
        [--concurrency 8] [--compare DIR]

The broker is what ``ibbroker serve --sim --store FILE`` runs (the real CLI in a child process,
default config: auth off); its reads serve the snapshot the connection manager publishes. Each
bare server (a child process: ``grpc.aio`` with a generic handler, no interceptors) answers every
call with the serialized response the broker gave first, so all send the same bytes. Two bare
servers run: the second is the noise floor (bare2 / bare is what the machine's noise alone gives).
With ``--compare DIR`` a "before" broker served from DIR (an export of an older commit) runs too.

Every server is started once and stays up; the same client process holds one channel to each.
The calls are interleaved: ``--concurrency`` paced callers share ``--rate`` ticks a second, and
every tick calls each server once, in an order that rotates from tick to tick (broker, bare,
bare2, then bare, bare2, broker, ...). So every server is measured at the same fixed load below
saturation, in the same instants of the machine: runs taken seconds apart do not compare (a bare
server's p99 moved from 8 to 64 ms between two such runs on a loaded machine). A round lasts
``--seconds``; per round the p50 and p99 of each server, and its ratios to that round's bare;
printed is the median over the rounds (a first warm-up round is not counted) with the spread.

Last, the edge's own cost, free of the network and the machine's noise: the CPU the broker's
interceptor chain (telemetry, auth, drain, stream bound, request guard, owner, identity limits:
what ``GrpcServer`` installs) adds to one unary GetConnectionState in process, with auth off and
on, for this tree and (``--compare``) for DIR, each in a child process importing its own tree.
Every wait is bounded. ``var/bench/state_reads.json`` keeps every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import grpc

# The edge-cost child imports the tree it measures (this one, or --compare's DIR).
ROOT = Path(os.environ.get("IBBROKER_EDGE_ROOT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

from broker_client.ibbroker.v1 import connection_pb2 as conn_pb  # noqa: E402
from broker_client.ibbroker.v1 import connection_service_pb2 as svc  # noqa: E402
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc  # noqa: E402

GOAL = 1.2
TURN_TIMEOUT = 60.0
"""Seconds a round may take beyond its planned length."""
BARE = "/bench.Bare/Get"
METHOD = "/ibbroker.v1.ConnectionService/GetConnectionState"


def _bare_main(conn: Connection, answer: bytes) -> None:
    async def run() -> None:
        async def get(_request: bytes, _context: grpc.aio.ServicerContext) -> bytes:
            return answer

        handler = grpc.method_handlers_generic_handler(
            "bench.Bare", {"Get": grpc.unary_unary_rpc_method_handler(get)}
        )
        from benchmarks.bare_server import serve_until_stopped

        await serve_until_stopped(handler, conn)

    asyncio.run(run())


@contextlib.contextmanager
def _bare(answer: bytes) -> Iterator[tuple[str, str, int]]:
    """A bare grpc.aio server in a child process answering ``answer``; yields its address,
    method and process ID."""
    from benchmarks.bare_server import BareServer  # here: the edge child runs another tree

    with BareServer(_bare_main, answer, start_timeout=30) as server:
        yield server.address, BARE, server.pid


async def _first_answer(address: str) -> bytes:
    """The broker's answer once its gateway is CONNECTED (waits on the state stream)."""
    from broker_server.aio import within

    async with grpc.aio.insecure_channel(address) as channel:
        stub = svc_grpc.ConnectionServiceStub(channel)

        async def connected() -> None:
            async for reply in stub.WatchConnectionState(svc.WatchConnectionStateRequest()):
                if reply.event.state == conn_pb.CONNECTION_STATE_CONNECTED:
                    return

        await within(connected(), 30)
        reply = await stub.GetConnectionState(svc.GetConnectionStateRequest(), timeout=10)
        return reply.SerializeToString()


async def _round(
    calls: dict[str, grpc.aio.UnaryUnaryMultiCallable],
    shift: int,
    concurrency: int,
    rate: float,
    seconds: float,
) -> dict[str, list[float]]:
    """One round: ``concurrency`` paced callers share ``rate`` ticks a second for ``seconds``
    (each paced to its due times, so the load is the same whatever the servers' speed); a tick
    calls every server once, in an order that rotates from tick to tick. Every server is thus
    measured in the same instants of the machine, under the same load. Latencies per server."""
    from broker_server.aio import within

    names = list(calls)
    request = svc.GetConnectionStateRequest().SerializeToString()
    latencies: dict[str, list[float]] = {name: [] for name in names}
    started = time.perf_counter()
    deadline = started + seconds
    period = concurrency / rate

    async def caller(i: int) -> None:
        tick, due = shift + i, started + period * i / concurrency
        while due < deadline:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            due += period
            tick += 1
            turn = tick % len(names)
            for name in names[turn:] + names[:turn]:
                begun = time.perf_counter()
                await calls[name](request, timeout=10)
                latencies[name].append(time.perf_counter() - begun)

    await within(asyncio.gather(*(caller(i) for i in range(concurrency))), seconds + TURN_TIMEOUT)
    return latencies


def cpu_seconds(pid: int) -> float:
    """CPU time the process's threads have run so far (the sum of each thread's
    /proc/PID/task/*/schedstat, ns resolution; /proc/PID/stat counts 10 ms ticks)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):  # the thread ended meanwhile
            continue
    return total / 1e9


def _quantiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


async def _rounds(
    addresses: dict[str, tuple[str, str, int]], args: argparse.Namespace
) -> dict[str, dict[str, list[float]]]:
    """Per server name: the p50 and p99 (seconds) of each counted round, and the CPU seconds
    its process ran per call (below saturation that is the work a call costs it)."""
    from benchmarks.progress import Progress

    names = list(addresses)
    out: dict[str, dict[str, list[float]]] = {n: {"p50": [], "p99": [], "cpu": []} for n in names}
    request = svc.GetConnectionStateRequest().SerializeToString()
    async with contextlib.AsyncExitStack() as stack:
        calls = {}
        for name, (address, method, _pid) in addresses.items():
            channel = await stack.enter_async_context(grpc.aio.insecure_channel(address))
            calls[name] = channel.unary_unary(method)
            await calls[name](request, timeout=10)  # connect
        with Progress("state-read rounds", args.rounds + 1) as bar:
            for round_ in range(args.rounds + 1):  # round 0 warms up, not counted
                cpu = {name: cpu_seconds(pid) for name, (_, _, pid) in addresses.items()}
                samples = await _round(calls, round_, args.concurrency, args.rate, args.seconds)
                bar.advance()
                if round_:
                    for name, (_, _, pid) in addresses.items():
                        p50, p99 = _quantiles(samples[name])
                        out[name]["p50"].append(p50)
                        out[name]["p99"].append(p99)
                        used = cpu_seconds(pid) - cpu[name]
                        out[name]["cpu"].append(used / max(1, len(samples[name])))
    return out


def _pid(broker: Any) -> int:
    assert broker.proc is not None
    return int(broker.proc.pid)


def _ratios(rounds: dict[str, dict[str, list[float]]], name: str, q: str) -> list[float]:
    return [v / b for v, b in zip(rounds[name][q], rounds["bare"][q], strict=True)]


# --- the edge's own cost, in process --------------------------------------------------------


class _Context:
    """What the interceptors read of a call's context (no network)."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def peer(self) -> str:
        return "ipv4:127.0.0.1:50000"

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def code(self) -> None:
        return None

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}

    def trailing_metadata(self) -> tuple[()]:
        return ()

    async def abort_with_status(self, status: Any) -> None:
        raise RuntimeError(f"refused: {status}")


class _Details:
    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self.method = METHOD
        self.invocation_metadata = metadata


def _chain(server: Any, security: Any) -> list[Any]:
    """The interceptors ``GrpcServer`` installs, in order (an older tree without
    ``GrpcServer.interceptors`` installed all seven, in this order)."""
    chain = getattr(server, "interceptors", None)
    if chain is not None:
        return list(chain)
    from broker_server.observability.rpc import RpcTelemetryInterceptor
    from broker_server.server import MalformedRequestInterceptor

    return [
        RpcTelemetryInterceptor(),
        security.auth,
        server.drain,
        server.peer_streams,
        MalformedRequestInterceptor(),
        security.owner,
        *([security.limits] if security.limits else []),
    ]


async def _edge_cost(auth_on: bool, calls: int) -> dict[str, float]:
    """CPU seconds the interceptor chain adds to one unary call, resolved and run the way
    grpc.aio does per call (each interceptor's ``intercept_service`` with a continuation to the
    next), against the registered handler called alone; best of 3 runs of ``calls`` calls.
    Also each interceptor alone, by class name."""
    import dataclasses

    from broker_server.config import AuthConfig, BrokerConfig
    from broker_server.server import GrpcServer
    from broker_server.services.tokens import TokenFile, load_key
    from broker_server.services.transport import build_security
    from broker_server.telemetry import setup_metrics

    setup_metrics()
    metadata: tuple[tuple[str, str], ...] = (("user-agent", "grpc-python-bench"),)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = BrokerConfig()
        if auth_on:
            auth = AuthConfig(
                enabled=True,
                tokens_file=f"{tmp}/tokens.json",
                token_key_file=f"{tmp}/token-key",
                audit_file=f"{tmp}/audit.log",
            )
            cfg = dataclasses.replace(cfg, auth=auth)
            table = TokenFile(
                auth.tokens_file, load_key(auth.token_key, auth.token_key_file, create=True)
            )
            token = table.create("alice", frozenset({"read", "lease"}))
            metadata += (("authorization", f"Bearer {token}"),)
        security = build_security(cfg)
        server = GrpcServer(cfg.server, [], security)
        chain = _chain(server, security)
        answer = svc.GetConnectionStateResponse()

        async def servicer(request: Any, context: Any) -> Any:
            return answer

        registered = grpc.unary_unary_rpc_method_handler(
            servicer,
            svc.GetConnectionStateRequest.FromString,
            svc.GetConnectionStateResponse.SerializeToString,
        )
        raw = svc.GetConnectionStateRequest().SerializeToString()
        context, details = _Context(metadata), _Details(metadata)

        async def resolve(interceptors: Iterator[Any], d: Any) -> Any:
            # grpc.aio's _run_interceptor: each interceptor continues to the next, per call.
            interceptor = next(interceptors, None)
            if interceptor is None:
                return registered
            return await interceptor.intercept_service(lambda dd: resolve(interceptors, dd), d)

        async def per_call(interceptors: list[Any] | None) -> float:
            best = float("inf")
            for _ in range(3):
                started = time.process_time()
                for _ in range(calls):
                    handler = (
                        await resolve(iter(interceptors), details)
                        if interceptors is not None
                        else registered
                    )
                    des = handler.request_deserializer
                    await handler.unary_unary(des(raw) if des else raw, context)
                best = min(best, (time.process_time() - started) / calls)
            return best

        bare = await per_call(None)
        cost = {"chain": await per_call(chain) - bare}
        for interceptor in chain:
            cost[type(interceptor).__name__] = await per_call([interceptor]) - bare
        await server.server.stop(None)
    return cost


def _edge_main(calls: int) -> None:
    out = {
        "off": asyncio.run(_edge_cost(False, calls)),
        "on": asyncio.run(_edge_cost(True, calls)),
    }
    print("EDGE " + json.dumps(out))


def _edge_of(root: Path, calls: int) -> dict[str, dict[str, float]]:
    """The edge cost of the tree at ``root``, measured in a child process importing it."""
    env = {**os.environ, "IBBROKER_EDGE_ROOT": str(root)}
    done = subprocess.run(
        [sys.executable, __file__, "--edge-only", "--edge-calls", str(calls)],
        cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    for line in done.stdout.splitlines():
        if line.startswith("EDGE "):
            return dict(json.loads(line[5:]))
    raise RuntimeError(f"edge cost of {root} failed:\n{done.stderr[-3000:]}")


def _edge_line(what: str, cost: dict[str, float]) -> str:
    parts = ", ".join(f"{k} {v * 1e6:.1f}" for k, v in cost.items() if k != "chain")
    return f"  {what:<44} chain {cost['chain'] * 1e6:5.1f} us/call   ({parts})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="counted rounds")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per round")
    parser.add_argument("--rate", type=float, default=200.0, help="ticks/s (a call to each)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent paced callers")
    parser.add_argument("--compare", default="", help="a source tree to serve as 'before'")
    parser.add_argument("--edge-calls", type=int, default=20_000, help=argparse.SUPPRESS)
    parser.add_argument("--edge-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.edge_only:
        _edge_main(args.edge_calls)
        return
    from benchmarks.figures import save
    from benchmarks.served import ServedBroker

    compare = Path(args.compare).resolve() if args.compare else None
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        broker = stack.enter_context(ServedBroker(Path(tmp) / "leases.sqlite3"))
        answer = asyncio.run(_first_answer(broker.address))
        addresses = {
            "broker": (broker.address, METHOD, _pid(broker)),
            "bare": stack.enter_context(_bare(answer)),
            "bare2": stack.enter_context(_bare(answer)),
        }
        if compare is not None:
            before = stack.enter_context(ServedBroker(Path(tmp) / "before.sqlite3", root=compare))
            asyncio.run(_first_answer(before.address))
            addresses["before"] = (before.address, METHOD, _pid(before))
        rounds = asyncio.run(_rounds(addresses, args))
    edge = {"this tree": _edge_of(ROOT, args.edge_calls)}
    if compare is not None:
        edge[f"before ({compare})"] = _edge_of(compare, args.edge_calls)

    med = {n: {q: statistics.median(v) * 1e3 for q, v in r.items()} for n, r in rounds.items()}
    per_round = int(args.rate * args.seconds)
    print(
        f"GetConnectionState ({len(answer)} B answer), {args.rounds} rounds of {args.seconds:g} s,"
        f" calls interleaved: {args.rate:g} calls/s to each server from {args.concurrency} paced "
        f"callers (~{per_round} calls each per round); median of the rounds:"
    )
    labels = {
        "broker": "served broker (ibbroker serve --sim)",
        "bare": "bare grpc.aio, same answer",
        "bare2": "a second bare grpc.aio (noise floor)",
        "before": f"served broker from {compare}",
    }
    for name in rounds:
        print(
            f"  {labels[name]:<40} p50 {med[name]['p50']:6.3f} ms   p99 {med[name]['p99']:6.3f} ms"
            f"   CPU/call {med[name]['cpu'] * 1e3:4.0f} us"
        )
    figures: dict[str, Any] = {"goal": GOAL, "rounds": rounds, "edge_s": edge}
    for name in [n for n in rounds if n != "bare"]:
        r50, r99 = _ratios(rounds, name, "p50"), _ratios(rounds, name, "p99")
        figures[f"{name}_over_bare_p50"], figures[f"{name}_over_bare_p99"] = r50, r99
    q50 = statistics.median(figures["broker_over_bare_p50"])
    q99 = statistics.median(figures["broker_over_bare_p99"])
    n50 = statistics.median(figures["bare2_over_bare_p50"])
    n99 = statistics.median(figures["bare2_over_bare_p99"])
    spread = sorted(figures["broker_over_bare_p99"])
    verdict = "meets" if q99 <= GOAL else "misses"
    print(
        f"broker / bare: p50 {q50:.2f}   p99 {q99:.2f} (rounds {spread[0]:.2f} .. {spread[-1]:.2f})"
        f"   noise floor bare2 / bare: p50 {n50:.2f}   p99 {n99:.2f}"
        f"   -> {verdict} the goal p99 <= {GOAL}"
    )
    if compare is not None:
        b50 = statistics.median(figures["before_over_bare_p50"])
        b99 = statistics.median(figures["before_over_bare_p99"])
        print(f"before / bare (same rounds): p50 {b50:.2f}   p99 {b99:.2f}")
    print(
        "the edge's own CPU per unary GetConnectionState, in process (no network; interceptor "
        "chain minus the handler alone, best of 3):"
    )
    for tree, cost in edge.items():
        print(_edge_line(f"{tree}, auth off", cost["off"]))
        print(_edge_line(f"{tree}, auth on (token)", cost["on"]))
    save("state_reads", **figures)


if __name__ == "__main__":
    main()
