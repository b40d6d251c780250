"""The lease soak of issue 9: many lease holders, a broker that is killed and paused, a network
that stalls and resets, and a check of the clients' own records.

The broker is the real CLI in a child process (``python -m broker_server serve --sim``) on a
fixed address and store file, restarted on both after each ``SIGKILL``. Each client holds leases
with :func:`broker_client.lease` through a :class:`~tests.support.proxy.Proxy` (clients are
spread over a few proxies) and records, from its own view, when it started and stopped believing
it holds each lease. Two figures come out:

- overlaps: pairs of holdings of one client ID by two leases whose intervals intersect (from
  the clients' records, all on one monotonic clock);
- acknowledged leases lost before their TTL: holdings that ended because the broker refused a
  renew (or answered with an ended lease) *before* the holder's local deadline (last renewal
  sent + TTL). The broker may only end a lease after that deadline, so any such answer means
  the broker ended an acknowledged lease early.

Every loop is bounded in count and in time; the whole run stops by itself.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from broker_client import BrokerError, LeasePolicy, lease
from broker_client.channel import channel_options
from broker_client.fencing import ENDED_REASONS
from broker_client.ibbroker.v1 import lease_service_pb2_grpc
from tests.support.proxy import Proxy

ROOT = Path(__file__).resolve().parents[2]
MAX_ROUNDS = 10_000
"""Lease rounds per client at most."""


@dataclass(frozen=True)
class SoakSettings:
    """What the soak does; every count and duration is a parameter so it can run short."""

    clients: int = 24
    kills: int = 50
    """Broker SIGKILLs (each followed by a restart on the same address and store)."""
    stops: int = 50
    """Broker SIGSTOP ... SIGCONT pauses."""
    stalls: int = 50
    """Proxy stalls of the client-broker path."""
    drops: int = 10
    """Proxy resets (RST) of every connection of one proxy."""
    ttl: float = 1.0
    """Lease TTL in seconds (the broker's min_ttl is set below it)."""
    client_ids: int = 12
    """Client IDs in the gateway's range: fewer than clients, so IDs change hands."""
    proxies: int = 4
    max_fault: float = 1.5
    """Longest pause or stall, in TTLs (some are longer than a TTL)."""
    max_seconds: float = 900.0
    """Hard limit of the whole run."""
    seed: int = 1


@dataclass
class Holding:
    """One lease as its holder saw it."""

    owner: str
    client_id: int
    lease_id: str
    epoch: int
    start: float
    end: float | None = None
    deadline: float = 0.0
    why: str = ""
    detail: str = ""
    """For an end the broker caused: its error and when it arrived relative to the deadline."""


@dataclass
class SoakResult:
    settings: SoakSettings
    holdings: list[Holding] = field(default_factory=list)
    faults: collections.Counter[str] = field(default_factory=collections.Counter)
    acquire_failures: collections.Counter[str] = field(default_factory=collections.Counter)
    overlaps: list[tuple[Holding, Holding]] = field(default_factory=list)
    lost_early: list[Holding] = field(default_factory=list)
    epoch_regressions: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        ends = collections.Counter(
            "released" if h.why == "released" else h.why.split(":")[0] for h in self.holdings
        )
        lines = [
            f"faults injected: {dict(self.faults)}",
            f"holdings: {len(self.holdings)} by {self.settings.clients} clients on "
            f"{self.settings.client_ids} client IDs in {self.seconds:.1f} s; ended: {dict(ends)}",
            f"acquire failures (retried): {dict(self.acquire_failures)}",
            f"epoch regressions per client ID: {self.epoch_regressions}",
            f"intervals where two owners believe they hold one client ID: {len(self.overlaps)}",
            f"acknowledged leases lost before their TTL: {len(self.lost_early)}",
        ]
        for a, b in self.overlaps[:5]:
            lines.append(f"  overlap: {a} / {b}")
        refused = [h for h in self.holdings if h.why.startswith(("refused", "release refused"))]
        refused_late = [h for h in refused if h not in self.lost_early]
        lines.append(
            f"ends the broker caused at or after the holder's deadline: {len(refused_late)}"
        )
        for h in refused_late[:5]:
            lines.append(f"  {h.why}: {h.detail}")
        for h in self.lost_early[:5]:
            lines.append(f"  lost early: {h} ({h.deadline - (h.end or 0):.3f} s before deadline)")
        return "\n".join(lines)


class BrokerProcess:
    """``python -m broker_server serve --sim`` on a fixed address and store file."""

    def __init__(self, listen: str, store: Path, config: Path) -> None:
        self.listen, self.store, self.config = listen, store, config
        self.proc: asyncio.subprocess.Process | None = None
        self.tail: collections.deque[str] = collections.deque(maxlen=40)
        self._reader: asyncio.Task[None] | None = None

    async def start(self, within: float = 30.0) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name in ("IBBROKER_STORE", "IBBROKER_LISTEN"):
            env.pop(name, None)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "broker_server", "serve", "--sim", "--config", str(self.config),
            "--listen", self.listen, "--store", str(self.store),
            cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        listening: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(self.proc, listening))
        try:
            await asyncio.wait_for(listening, within)
        except TimeoutError:
            await self.stop(signal.SIGKILL)  # never leave a child behind
            raise RuntimeError("broker did not listen:\n" + "\n".join(self.tail)) from None

    async def _read(
        self, proc: asyncio.subprocess.Process, listening: asyncio.Future[None]
    ) -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:  # drained to the end so the child never blocks on it
            line = raw.decode(errors="replace").strip()
            self.tail.append(line)
            if not listening.done() and '"grpc_listening"' in line:
                with contextlib.suppress(ValueError):
                    if json.loads(line).get("event") == "grpc_listening":
                        listening.set_result(None)
        if not listening.done():
            listening.set_exception(RuntimeError("broker exited:\n" + "\n".join(self.tail)))

    def send(self, sig: int) -> None:
        assert self.proc is not None and self.proc.returncode is None
        self.proc.send_signal(sig)

    async def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGCONT)
                self.proc.send_signal(sig)
        await asyncio.wait_for(self.proc.wait(), 30)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 10)


def write_config(path: Path, settings: SoakSettings) -> None:
    path.write_text(
        "[server]\n"
        "grace_period = 0.5\n"
        'log_level = "INFO"\n'
        "metrics_log_interval = 0\n"
        "[leases]\n"
        f"min_ttl = {settings.ttl / 2}\n"
        f"default_ttl = {settings.ttl}\n"
        "quarantine_cooldown = 0.1\n"
        "sweep_interval = 0.05\n"
        "probe_timeout = 1.0\n"
        "[gateways.paper]\n"
        "client_id_min = 100\n"
        f"client_id_max = {99 + settings.client_ids}\n"
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _client(
    n: int, address: str, settings: SoakSettings, result: SoakResult, stop: asyncio.Event
) -> None:
    rng = random.Random(settings.seed * 1000 + n)
    owner = f"c{n:02d}"
    policy = LeasePolicy(acquire_attempts=3, release_timeout=settings.ttl)
    # Reconnect quickly after a kill: gRPC's default reconnect backoff starts at 1 s.
    options = [
        *channel_options(),
        ("grpc.initial_reconnect_backoff_ms", 50),
        ("grpc.min_reconnect_backoff_ms", 50),
        ("grpc.max_reconnect_backoff_ms", 500),
    ]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        stub = lease_service_pb2_grpc.LeaseServiceStub(channel)
        for _ in range(MAX_ROUNDS):
            if stop.is_set():
                return
            try:
                async with lease(stub, owner=owner, ttl=settings.ttl, policy=policy) as held:
                    got = held.lease
                    record = Holding(
                        owner, got.client_id, got.lease_id, got.epoch, held.acquired_at
                    )
                    result.holdings.append(record)
                    hold = rng.uniform(0.2, 4 * settings.ttl)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(hold):
                            await held.lost.wait()
                record.end, record.deadline = held.ended_at, held.deadline
                record.why = held.error.why if held.error is not None else "?"
                noticed = held.keeper.noticed_at
                if held.error is not None and held.error.cause is not None and noticed:
                    record.detail = (
                        f"{held.error.cause} at deadline{noticed - record.deadline:+.3f} s"
                    )
                refused, at = held.keeper.release_error, held.keeper.release_failed_at
                if refused is not None and refused.reason in ENDED_REASONS:
                    # Answered before the holder's deadline: the broker had ended it early.
                    record.why = f"release refused: {refused.reason}"
                    record.end = min(at or record.deadline, record.deadline)
                    record.detail = f"{refused} at deadline{(at or 0) - record.deadline:+.3f} s"
            except BrokerError as err:
                result.acquire_failures[err.reason or err.code.name] += 1
            await asyncio.sleep(rng.uniform(0.01, 0.2))


async def _broker_faults(
    broker: BrokerProcess, settings: SoakSettings, result: SoakResult, rng: random.Random
) -> None:
    actions = ["kill"] * settings.kills + ["stop"] * settings.stops
    rng.shuffle(actions)
    for action in actions:
        await asyncio.sleep(rng.uniform(0.2, 1.5 * settings.ttl))
        pause = rng.uniform(0.05, settings.max_fault * settings.ttl)
        if action == "kill":
            await broker.stop(signal.SIGKILL)
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            await broker.start()
        else:
            broker.send(signal.SIGSTOP)
            await asyncio.sleep(pause)
            broker.send(signal.SIGCONT)
        result.faults[action] += 1


async def _network_faults(
    proxies: list[Proxy], settings: SoakSettings, result: SoakResult, rng: random.Random
) -> None:
    actions = ["stall"] * settings.stalls + ["drop"] * settings.drops
    rng.shuffle(actions)
    for action in actions:
        await asyncio.sleep(rng.uniform(0.2, 1.5 * settings.ttl))
        proxy = rng.choice(proxies)
        if action == "stall":
            proxy.stall()
            await asyncio.sleep(rng.uniform(0.05, settings.max_fault * settings.ttl))
            proxy.resume()
        else:
            await proxy.drop()
        result.faults[action] += 1


def check(result: SoakResult) -> None:
    """Fill in the overlaps, the early losses and the epoch regressions from the records."""
    by_id: dict[int, list[Holding]] = collections.defaultdict(list)
    for h in result.holdings:
        by_id[h.client_id].append(h)
        ended_by_broker = h.why not in ("released", "?") and not h.why.startswith("expired")
        # A refused release was sent while held: the broker had ended the lease before then.
        ended_by_broker |= h.why.startswith("release refused")
        if ended_by_broker and h.end is not None and h.end < h.deadline:
            result.lost_early.append(h)
    for holdings in by_id.values():
        holdings.sort(key=lambda h: h.start)
        for i, a in enumerate(holdings):
            a_end = a.end if a.end is not None else float("inf")
            for b in holdings[i + 1 :]:
                if b.start >= a_end:
                    break
                if b.lease_id != a.lease_id:
                    result.overlaps.append((a, b))
        epochs = [h.epoch for h in holdings]
        result.epoch_regressions += sum(1 for x, y in itertools.pairwise(epochs) if y < x)


async def soak(settings: SoakSettings, workdir: Path | None = None) -> SoakResult:
    """Run the soak; returns the records and the figures."""
    result = SoakResult(settings)
    rng = random.Random(settings.seed)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-")))
        config = workdir / "soak.toml"
        write_config(config, settings)
        broker = BrokerProcess(f"127.0.0.1:{free_port()}", workdir / "leases.sqlite3", config)
        proxies: list[Proxy] = []
        clients: list[asyncio.Task[None]] = []
        stop = asyncio.Event()
        try:
            await broker.start()
            proxies = [await Proxy(broker.listen).start() for _ in range(settings.proxies)]
            clients = [
                asyncio.create_task(
                    _client(n, proxies[n % len(proxies)].address, settings, result, stop)
                )
                for n in range(settings.clients)
            ]
            async with asyncio.timeout(settings.max_seconds):
                await asyncio.gather(
                    _broker_faults(broker, settings, result, random.Random(rng.random())),
                    _network_faults(proxies, settings, result, random.Random(rng.random())),
                )
                for proxy in proxies:
                    proxy.resume()
                stop.set()
                await asyncio.gather(*clients)
        finally:
            stop.set()
            for task in clients:
                task.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
            for proxy in proxies:
                await proxy.close()
            await broker.stop(signal.SIGTERM)
    result.seconds = time.monotonic() - started
    check(result)
    return result


def main(argv: list[str] | None = None) -> int:
    import argparse

    defaults = SoakSettings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, value in vars(defaults).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    settings = SoakSettings(**{k: getattr(args, k) for k in vars(defaults)})
    # Each lost lease logs a warning; the summary counts them instead.
    logging.getLogger("ibbroker.client.leases").setLevel(logging.ERROR)
    result = asyncio.run(soak(settings))
    print(result.summary())
    return 1 if result.overlaps or result.lost_early or result.epoch_regressions else 0
