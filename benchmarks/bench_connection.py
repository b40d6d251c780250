"""Connection health figures, measured against the simulator on loopback:

- time to detect a dropped socket (fault -> RECONNECTING event),
- time to detect a stalled socket (peer mute -> RECONNECTING, default heartbeat 1 s / 2 s),
- time from the gateway's return to RESTORED (default backoff 0.5 s x2, full jitter),
- p99 latency of one state event to 1,000 watchers of the state hub,
- time from the gateway listening again to CONNECTED after a long outage (default 60 s, the
  simulator's restart window), with the port looks (fast return, the default) next to the same
  manager with them turned off (backoff and breaker only) in the same run,
- one client-ID probe (raw handshake) next to the old probe with a full ib_insync ``IB()``,
  and one GetConnectionState-style read of the published snapshot next to a rebuild,

each printed next to the seed's 30 s target and ib_insync's Watchdog defaults (20 s idle timeout
plus a 4 s probe before it acts).

    python benchmarks/bench_connection.py [--runs 5] [--outage 60] [--outage-runs 1]

The simulator runs in this process on 127.0.0.1 (one event loop, as in ``serve --sim``); every
run is bounded by a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dataclasses

from benchmarks.figures import save
from benchmarks.progress import timed, track
from broker_server.config import GatewayConfig
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.events import ConnectionEvent, EventKind
from broker_server.runtime.connections import ConnectionManager
from broker_server.sim.server import SimConfig, SimServer

SEED_TARGET = 30.0
"""The seed's target: a broken connection noticed and healed within 30 s."""
WATCHDOG_STALL = 20.0 + 4.0
"""ib_insync Watchdog defaults: appTimeout 20 s of silence, then a 4 s probe."""

S = ConnectionState


class Waiter:
    """State events with the monotonic time they arrived."""

    def __init__(self, manager: ConnectionManager) -> None:
        self.events: list[tuple[float, ConnectionEvent]] = []
        self._changed = asyncio.Event()
        manager.register_state_callback(self._on)

    def _on(self, event: ConnectionEvent) -> None:
        self.events.append((time.monotonic(), event))
        self._changed.set()

    async def first(
        self, after: int, kind: EventKind, state: S | None = None, within: float = 60
    ) -> float:
        i = after
        async with asyncio.timeout(within):
            while True:
                while i < len(self.events):
                    at, e = self.events[i]
                    if e.kind is kind and (state is None or e.state is state):
                        return at
                    i += 1
                self._changed.clear()
                await self._changed.wait()


def _row(name: str, samples: list[float], reference: str, *, micro: bool = False) -> None:
    med = statistics.median(samples)
    worst = max(samples)
    scale, unit = (1e6, "us") if micro else (1e3, "ms")
    print(
        f"{name:<34} median {med * scale:9.1f} {unit}   max {worst * scale:9.1f} {unit}   "
        f"(n={len(samples)})   {reference}"
    )


async def probes(runs: int) -> None:
    """Cost of one client-ID probe and of one snapshot read, each next to the old way."""
    from broker_server.ib.session import IBSession
    from broker_server.runtime.snapshots import gateway_snapshot

    async with SimServer(SimConfig(port=0, tick_interval=0.25)) as sim:
        cfg = GatewayConfig(port=sim.port)
        manager = ConnectionManager(cfg)
        await manager.connect(timeout=10)
        raw: list[float] = []
        full: list[float] = []
        for i in range(runs * 20):
            start = time.perf_counter()
            assert await manager.probe("paper", 120 + i % 5)
            raw.append(time.perf_counter() - start)
            start = time.perf_counter()
            old = IBSession(cfg, 125 + i % 5)
            await old.connect(sync=False)
            await old.disconnect()
            full.append(time.perf_counter() - start)
        read: list[float] = []
        rebuild: list[float] = []
        entry = manager._pool.gateway("paper")  # the rebuild the reads used to do
        for _ in range(runs * 200):
            start = time.perf_counter()
            manager.gateways("paper")
            read.append(time.perf_counter() - start)
            start = time.perf_counter()
            gateway_snapshot(entry)
            rebuild.append(time.perf_counter() - start)
        await manager.close("benchmark over")
    print("probe and read cost (in-process simulator)")
    _row("client-ID probe (raw handshake)", raw, "reference below: the old probe")
    _row("  old probe (ib_insync IB())", full, "reference")
    _row("GetConnectionState read", read, "reference below: rebuild per call", micro=True)
    _row("  rebuild per call (old)", rebuild, "reference", micro=True)


async def outage(seconds: float, runs: int) -> None:
    """Gateway back -> CONNECTED after an outage of ``seconds``: port looks on vs off."""
    async with SimServer(SimConfig(port=0, tick_interval=0.25)) as sim:
        fast = GatewayConfig(port=sim.port, monitor_client_ids=())
        slow = dataclasses.replace(
            fast, name="backoff-only", monitor_client_id=98, port_probe_interval=0.0
        )
        managers = {"fast": ConnectionManager(fast), "slow": ConnectionManager(slow)}
        waiters = {k: Waiter(m) for k, m in managers.items()}
        for m in managers.values():
            await m.connect(timeout=10)
        back: dict[str, list[float]] = {"fast": [], "slow": []}
        # A backoff-only manager may sleep a breaker interval of up to 60 s after the return.
        bound = seconds + 2 * slow.breaker_open_max + 30
        for run in range(runs):
            marks = {k: len(w.events) for k, w in waiters.items()}
            async with timed(f"outage {run + 1}/{runs} ({seconds:g} s)", seconds):
                await sim.faults.restart(seconds)
                await sim.faults.wait_accepting()
            start = time.monotonic()
            for k, w in waiters.items():
                back[k].append(
                    await w.first(marks[k], EventKind.TRANSITION, S.CONNECTED, within=bound) - start
                )
        for m in managers.values():
            await m.close("benchmark over")
    print(f"gateway back after a {seconds:g} s outage, {runs} run(s), defaults otherwise")
    _row(
        f"back -> CONNECTED ({seconds:g} s outage)",
        back["fast"],
        f"goal 1 s; port look every {fast.port_probe_interval:g} s",
    )
    _row(
        "  same, backoff + breaker only",
        back["slow"],
        f"reference (issue 9: 0.02/1.06/13.2 s min/median/max); cap {fast.backoff_cap:g} s, "
        f"breaker open <= {fast.breaker_open_max:g} s",
    )


async def main(runs: int) -> None:
    logging.disable(logging.CRITICAL)  # the client libraries log every drop
    async with SimServer(SimConfig(port=0, tick_interval=0.25)) as sim:
        # Defaults except the port: heartbeat 1 s / 2 s, backoff 0.5 s .. 30 s, breaker 5.
        cfg = GatewayConfig(port=sim.port)
        manager = ConnectionManager(cfg)
        waiter = Waiter(manager)
        await manager.connect(timeout=10)

        drop: list[float] = []
        for _ in track(range(runs * 4), "drops", runs * 4):
            mark = len(waiter.events)
            start = time.monotonic()
            await sim.faults.drop()
            drop.append(await waiter.first(mark, EventKind.TRANSITION, S.RECONNECTING) - start)
            await waiter.first(mark, EventKind.RESTORED)

        stall: list[float] = []
        for _ in track(range(runs), "stalls (about 3 s each)", runs):
            mark = len(waiter.events)
            start = time.monotonic()
            sim.faults.stall()
            stall.append(await waiter.first(mark, EventKind.TRANSITION, S.RECONNECTING) - start)
            sim.faults.resume()
            await waiter.first(mark, EventKind.RESTORED)

        back: list[float] = []
        for _ in track(range(runs), "gateway restarts", runs):
            mark = len(waiter.events)
            await sim.faults.restart(1.0)
            await waiter.first(mark, EventKind.TRANSITION, S.RECONNECTING)
            await sim.faults.wait_accepting()
            start = time.monotonic()
            back.append(await waiter.first(mark, EventKind.RESTORED) - start)

        latencies: list[float] = []
        received = 0
        ready = asyncio.Event()

        async def watch() -> None:
            nonlocal received
            async for event in manager.state_events.subscribe():
                if event.kind is EventKind.SNAPSHOT:
                    received += 1
                    if received == 1000:
                        ready.set()
                elif event.kind is not EventKind.FINAL:
                    latencies.append(time.time() - event.event_time)

        watchers = [asyncio.create_task(watch()) for _ in range(1000)]
        await asyncio.wait_for(ready.wait(), 30)
        for _ in range(runs):
            mark = len(waiter.events)
            await sim.faults.drop()
            await waiter.first(mark, EventKind.GAP)
        await manager.close("benchmark over")
        await asyncio.wait_for(asyncio.gather(*watchers), 30)

    print(f"connection health on loopback, {runs} runs (in-process simulator, ib_insync)")
    _row(
        "dropped socket -> RECONNECTING",
        drop,
        f"seed target {SEED_TARGET:.0f} s; Watchdog: disconnectedEvent, then retryDelay 2 s",
    )
    _row(
        "stalled socket -> RECONNECTING",
        stall,
        f"bound interval+timeout = 3 s; Watchdog {WATCHDOG_STALL:.0f} s (20 s idle + 4 s probe)",
    )
    _row(
        "gateway back -> RESTORED",
        back,
        f"seed target {SEED_TARGET:.0f} s; backoff cap {cfg.backoff_cap:.0f} s",
    )
    latencies.sort()
    save(
        "connection",
        drop_s=drop,
        stall_s=stall,
        back_s=back,
        fanout_latency_s=latencies,
        watchdog_stall_s=WATCHDOG_STALL,
        seed_target_s=SEED_TARGET,
    )
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    p50 = latencies[len(latencies) // 2]
    print(
        f"{'event -> 1,000 watchers':<34} p50    {p50 * 1000:9.1f} ms   p99 {p99 * 1000:9.1f} ms   "
        f"(n={len(latencies)} deliveries)   seed target {SEED_TARGET:.0f} s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument(
        "--outage", type=float, default=60.0, help="outage in seconds for the gateway-back figure"
    )
    parser.add_argument(
        "--outage-runs", type=int, default=1, help="runs of the long-outage figure (default 1)"
    )
    args = parser.parse_args()
    asyncio.run(main(max(1, args.runs)))
    asyncio.run(probes(max(1, args.runs)))
    asyncio.run(outage(max(0.1, args.outage), max(1, args.outage_runs)))
