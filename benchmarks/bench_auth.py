"""What authentication costs a call: GetHealth with auth off (the reference) and with a bearer
token checked on every call (HMAC-SHA256 against every identity of the table), in the same run.

    python benchmarks/bench_auth.py [--calls 1500] [--concurrency 8] [--identities 100] [--repeats 2]

Both brokers run as ``ibbroker serve --sim`` does (the real CLI, child processes,
benchmarks/served.py); the secured one has ``--identities`` identities in its table, created
as ``ibbroker token create`` does. The two take turns ``--repeats`` times; latencies are pooled.
The HMAC rather than a slow KDF (docs/security.md) is what keeps the ratio near 1. Every wait
is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.served import ServedBroker, write_config
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_server.aio import within
from broker_server.config_values import Secret
from broker_server.services.tokens import TokenFile, load_key

TURN_TIMEOUT = 120.0
"""Seconds one broker's turn may take."""


async def _hammer(address: str, token: str | None, calls: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    # The token as call metadata (what BrokerClient's interceptor adds), so the figure is the
    # broker's cost, not that of grpc.aio's client interceptor machinery in this process.
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    async with aio_channel(address) as channel:
        stub = svc_grpc.ConnectionServiceStub(channel)
        await stub.GetHealth(svc.GetHealthRequest(), metadata=metadata, timeout=10)  # warm

        async def caller() -> None:
            for _ in range(calls):
                started = time.perf_counter()
                await stub.GetHealth(svc.GetHealthRequest(), metadata=metadata, timeout=10)
                latencies.append(time.perf_counter() - started)

        await within(asyncio.gather(*(caller() for _ in range(concurrency))), TURN_TIMEOUT)
    return latencies


def _quantiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100)
    return cuts[49], cuts[98]


def _make_identities(folder: Path, count: int) -> str:
    """Create ``count`` identities (as ``ibbroker token create`` does); the last one's token."""
    table = TokenFile(
        folder / "tokens.json", load_key(Secret(""), str(folder / "token-key"), create=True)
    )
    return [table.create(f"bench{i}", frozenset({"read"})) for i in range(count)][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1500, help="calls per caller per turn")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--identities", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        secured_cfg = write_config(
            folder / "secured.toml",
            f"""
[server]
metrics_log_interval = 0
[auth]
enabled = true
tokens_file = "{folder / "tokens.json"}"
token_key_file = "{folder / "token-key"}"
audit_file = "{folder / "audit.log"}"
""",
        )
        plain_cfg = write_config(folder / "plain.toml", "[server]\nmetrics_log_interval = 0\n")
        token = _make_identities(folder, args.identities)
        plain = ServedBroker(folder / "plain.sqlite3", plain_cfg)
        secured = ServedBroker(folder / "secured.sqlite3", secured_cfg)
        pooled: dict[str, list[float]] = {"off": [], "token": []}
        with plain, secured:
            for _ in range(args.repeats):
                for name, broker, credential in (
                    ("off", plain, None),
                    ("token", secured, token),
                ):
                    pooled[name] += asyncio.run(
                        _hammer(broker.address, credential, args.calls, args.concurrency)
                    )
    off50, off99 = _quantiles(pooled["off"])
    tok50, tok99 = _quantiles(pooled["token"])
    calls = len(pooled["off"])
    print(
        f"GetHealth, {calls} calls each, {args.concurrency} callers, "
        f"{args.identities} identities in the table"
    )
    print(f"auth off (reference): p50 {off50 * 1e3:.3f} ms   p99 {off99 * 1e3:.3f} ms")
    print(f"bearer token        : p50 {tok50 * 1e3:.3f} ms   p99 {tok99 * 1e3:.3f} ms")
    print(f"token / off         : p50 {tok50 / off50:.2f}   p99 {tok99 / off99:.2f}")


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as err:  # pragma: no cover - a broken broker: say so, exit 1
        print(f"bench_auth: {err}", file=sys.stderr)
        sys.exit(1)
