"""The failover soak of issue 15: two broker processes on one PostgreSQL and one simulator, 8
clients that follow the leader (``BrokerClient([a, b])``) holding PROXIED leases and placing
idempotent orders, and the leader SIGKILLed again and again. Checked from the clients' own
records and from the simulator's order book:

- client IDs held twice (two holders' intervals of one ID intersect) and leases lost before
  their TTL (``tests.support.soak.check``, the lease soak's check), and leases lost at all;
- orders: every acknowledged order is at the simulator exactly once (its orderRef, derived from
  the owner and idempotency key), and no orderRef is there twice (0 duplicate, 0 lost);
- the leadership epoch after each failover is strictly greater than before it;
- every client is served by the new leader within the failover goal (leadership TTL + 2 s):
  the time from the SIGKILL to each client's first successful call answered there.

The two brokers keep their two addresses: the killed one is restarted on its port as the next
standby, so the clients' address list stays right. Every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from broker_client import (
    BrokerClient,
    BrokerError,
    LeaseLostError,
    LeasePolicy,
    RetryPolicy,
    limit,
)
from broker_client.leases import PROXIED
from broker_server.domain.order_identity import derive_order_ref
from broker_server.sim.server import SimServer
from tests.support.brokers import BrokerProc
from tests.support.soak import Holding, SoakResult, SoakSettings, check
from tests.trading.served import simulator

WAIT = 60.0


@dataclass(frozen=True)
class FailoverSoakSettings:
    """What the soak does; every count and duration is a parameter so it can run short."""

    clients: int = 8
    kills: int = 10
    ttl: float = 1.0
    """Leadership TTL in seconds; the failover goal is ``ttl + 2``."""
    lease_ttl: float = 10.0
    """The clients' lease TTL: longer than a failover, so no lease may be lost."""
    orders: bool = True
    """Place idempotent orders (the journal on PostgreSQL)."""
    order_interval: float = 0.25
    """Seconds between a client's rounds (a read, then an order)."""
    max_orders: int = 400
    """Orders per client at most (then it only reads)."""
    settle: float = 1.0
    """Seconds every client must have been served by a new leader before the next kill."""
    max_seconds: float = 600.0
    """Hard limit of the whole run."""
    seed: int = 1


@dataclass
class FailoverSoakResult:
    settings: FailoverSoakSettings
    holdings: list[Holding] = field(default_factory=list)
    leases_lost: list[Holding] = field(default_factory=list)
    overlaps: int = 0
    lost_early: int = 0
    lost_early_holdings: list[Holding] = field(default_factory=list)
    epoch_regressions: int = 0
    epochs: list[int] = field(default_factory=list)
    follow_times: list[list[float]] = field(default_factory=list)
    """Per failover: seconds from the SIGKILL to each client's first call answered by the new
    leader."""
    listen_times: list[float] = field(default_factory=list)
    """Per failover: seconds from the SIGKILL to the new leader listening as the broker proper."""
    order_times: list[float] = field(default_factory=list)
    """Per failover: seconds from the SIGKILL until every client had an order acknowledged by
    the new leader."""
    acked: dict[str, str] = field(default_factory=dict)
    """Idempotency key -> orderRef of every acknowledged order."""
    unacknowledged: set[str] = field(default_factory=set)
    """Keys whose every attempt failed (the order may or may not exist)."""
    at_ib: collections.Counter[str] = field(default_factory=collections.Counter)
    """orderRef -> orders the simulator holds with it."""
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: float = 0.0

    @property
    def goal(self) -> float:
        return self.settings.ttl + 2.0

    @property
    def duplicates(self) -> list[str]:
        return [ref for ref, n in self.at_ib.items() if n > 1]

    @property
    def lost_orders(self) -> list[str]:
        return [key for key, ref in self.acked.items() if self.at_ib[ref] == 0]

    @property
    def strays(self) -> list[str]:
        """Orders at IB that no key of the clients' names."""
        mine = set(self.acked.values()) | {self._ref(k) for k in self.unacknowledged}
        return [ref for ref in self.at_ib if ref not in mine]

    def _ref(self, key: str) -> str:
        owner = key.rsplit("/", 1)[0]
        return derive_order_ref(owner, key)

    @property
    def epochs_increasing(self) -> bool:
        return all(b > a for a, b in zip(self.epochs, self.epochs[1:], strict=False))

    @property
    def slowest_follow(self) -> float:
        return max((max(t) for t in self.follow_times if t), default=0.0)

    @property
    def late_clients(self) -> int:
        return sum(1 for times in self.follow_times for t in times if t > self.goal)

    @property
    def client_lags(self) -> list[float]:
        """Per failover: the slowest client's time from the new leader listening to its first
        call answered there (the clients' own part of the failover time)."""
        return [
            max(times) - listen
            for times, listen in zip(self.follow_times, self.listen_times, strict=False)
            if times
        ]

    @property
    def median_follow(self) -> float:
        slowest = sorted(max(t) for t in self.follow_times if t)
        return slowest[len(slowest) // 2] if slowest else 0.0

    def summary(self) -> str:
        follows = [max(t) for t in self.follow_times if t]
        lines = [
            f"failovers: {len(self.follow_times)} SIGKILLs of the leader in {self.seconds:.1f} s; "
            f"leadership epochs {self.epochs}",
            f"epochs strictly increasing: {self.epochs_increasing}",
            "kill -> every client served by the new leader (slowest client per failover): "
            + ", ".join(f"{t:.2f}" for t in follows)
            + f" s; goal {self.goal:.1f} s; clients later than the goal: {self.late_clients}",
            "kill -> new leader listening: "
            + ", ".join(f"{t:.2f}" for t in self.listen_times)
            + " s",
            f"lease holdings: {len(self.holdings)}; client IDs held twice: {self.overlaps}; "
            f"leases lost before their TTL: {self.lost_early}; leases lost at all: "
            f"{len(self.leases_lost)}; epoch regressions per client ID: {self.epoch_regressions}",
        ]
        if self.settings.orders:
            lines.append(
                f"orders: {len(self.acked)} acknowledged, {sum(self.at_ib.values())} at the "
                f"simulator; duplicates {len(self.duplicates)}, lost acknowledged "
                f"{len(self.lost_orders)}, strays {len(self.strays)}, never acknowledged "
                f"{len(self.unacknowledged)}"
            )
            lines.append(
                "kill -> every client with an order acknowledged by the new leader: "
                + ", ".join(f"{t:.2f}" for t in self.order_times)
                + " s"
            )
        for h in self.lost_early_holdings[:5]:
            lines.append(f"  lost early: {h.owner} client ID {h.client_id} {h.why}: {h.detail}")
        for h in self.leases_lost[:10]:
            lines.append(f"  lost: {h.owner} client ID {h.client_id} {h.why} {h.detail}")
        lines.append(f"call failures (retried): {dict(self.errors)}")
        return "\n".join(lines)

    @property
    def ok(self) -> bool:
        return (
            self.overlaps == 0
            and self.lost_early == 0
            and not self.leases_lost
            and self.epoch_regressions == 0
            and self.epochs_increasing
            and len(self.epochs) == self.settings.kills + 1
            and self.late_clients == 0
            and not self.duplicates
            and not self.lost_orders
            and not self.strays
        )


def _config(path: Path, settings: FailoverSoakSettings, sim: SimServer) -> Path:
    path.write_text(
        f"""
[server]
grace_period = 0.5
metrics_log_interval = 0

[store]
backend = "postgres"
leadership_ttl = {settings.ttl}
standby = true

[leases]
quarantine_cooldown = 0.2
sweep_interval = 0.05
max_ttl = {max(60.0, settings.lease_ttl)}

[trading]
ack_timeout = 3.0
request_timeout = 3.0
reconcile_retry = 0.1
orphan_poll_interval = 0.1

[gateways.paper]
host = "127.0.0.1"
port = {sim.port}
heartbeat_interval = 0.3
heartbeat_timeout = 0.6
retry_delay = 0.05
backoff_cap = 0.5
timeout = 3.0
breaker_open = 0.5
breaker_open_max = 1.0
"""
    )
    return path


@dataclass
class _Client:
    n: int
    owner: str
    successes: list[tuple[float, str]] = field(default_factory=list)
    """(monotonic time, address) of every successful read."""
    orders: list[tuple[float, str]] = field(default_factory=list)
    """(monotonic time, address) of every acknowledged order."""
    done_ordering: bool = False
    """It placed its last order (max_orders)."""
    crashed: str = ""
    """What ended it unexpectedly."""
    target: str = ""
    """Where its client's router points (updated each round)."""
    last_error: str = ""


async def _run_client(
    client_state: _Client,
    addresses: list[str],
    settings: FailoverSoakSettings,
    result: FailoverSoakResult,
    stop: asyncio.Event,
) -> None:
    """One client; anything unexpected is recorded (a crashed client would otherwise only show
    as one that is never served)."""
    try:
        await _client_rounds(client_state, addresses, settings, result, stop)
    except asyncio.CancelledError:
        raise
    except Exception as err:
        client_state.crashed = f"{type(err).__name__}: {err}"
        result.errors[f"client crashed: {type(err).__name__}"] += 1


async def _client_rounds(
    client_state: _Client,
    addresses: list[str],
    settings: FailoverSoakSettings,
    result: FailoverSoakResult,
    stop: asyncio.Event,
) -> None:
    rng = random.Random(settings.seed * 1000 + client_state.n)
    owner = client_state.owner
    # A short backoff ceiling: while the standby takes over, each retry is a cheap NOT_LEADER or
    # refused connect, and the client should notice the new leader soon after it listens.
    retry = RetryPolicy(attempts=8, initial_backoff=0.05, max_backoff=0.25, rng=rng)
    policy = LeasePolicy(acquire_attempts=8, max_backoff=0.5)
    placed = 0
    pending: list[str] = []
    async with BrokerClient(addresses, retry=retry, timeout=3.0) as client:
        for _round in range(100):  # re-acquire after a loss (there should be none)
            if stop.is_set():
                return
            try:
                lease = client.lease(
                    owner=owner, ttl=settings.lease_ttl, mode=PROXIED, policy=policy
                )
                async with lease as held:
                    got = held.lease
                    record = Holding(
                        owner, got.client_id, got.lease_id, got.epoch, held.acquired_at
                    )
                    result.holdings.append(record)
                    while not stop.is_set() and not held.lost.is_set():
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(
                                settings.order_interval * rng.uniform(0.5, 1.5)
                            ):
                                await stop.wait()
                        if stop.is_set() or held.lost.is_set():
                            break
                        client_state.target = client.target
                        try:  # a read: is this client served, and by whom?
                            await client.get_lease(held.lease_id)
                            client_state.successes.append((time.monotonic(), client.target))
                        except BrokerError as err:
                            result.errors[f"read {err.reason or err.code.name}"] += 1
                            client_state.last_error = f"{client.target}: {err}"
                            continue
                        if not settings.orders or not (pending or placed < settings.max_orders):
                            client_state.done_ordering = True
                            continue
                        if not pending:
                            placed += 1
                            pending.append(f"{owner}/{placed}")
                        key = pending[0]  # retried under the same key until acknowledged
                        result.unacknowledged.add(key)
                        try:
                            answer = await client.place_order(
                                held, limit("AAPL", "BUY", "1", "1.00"), owner=owner,
                                idempotency_key=key,
                            )  # fmt: skip
                        except BrokerError as err:
                            result.errors[f"order {err.reason or err.code.name}"] += 1
                            client_state.last_error = f"{client.target}: {err}"
                            continue
                        except LeaseLostError:
                            break  # recorded below, with the holding
                        result.acked[key] = answer.order.order_ref
                        result.unacknowledged.discard(key)
                        pending.pop(0)
                        client_state.orders.append((time.monotonic(), client.target))
                record.end, record.deadline = held.ended_at, held.deadline
                record.why = held.error.why if held.error is not None else "?"
                noticed = held.keeper.noticed_at
                if held.error is not None and held.error.cause is not None and noticed:
                    record.detail = (
                        f"{held.error.cause} at deadline{noticed - record.deadline:+.3f} s "
                        f"(router at {client.target})"
                    )
                refused, at = held.keeper.release_error, held.keeper.release_failed_at
                if refused is not None:
                    record.detail += (
                        f"; release: {refused} at deadline{(at or 0) - record.deadline:+.3f} s"
                    )
                if held.error is not None and held.error.why != "released":
                    result.leases_lost.append(record)
            except BrokerError as err:
                result.errors[f"acquire {err.reason or err.code.name}"] += 1
                client_state.last_error = f"acquire: {err}"
                await asyncio.sleep(0.2)


async def _epoch(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT epoch FROM leadership"))
    finally:
        await conn.close()


async def _wait(proc: BrokerProc, event: str, within: float) -> None:
    await asyncio.to_thread(proc.tail.wait_for, event, within)


async def soak(settings: FailoverSoakSettings, dsn: str, workdir: Path) -> FailoverSoakResult:
    """Run the soak on the PostgreSQL database ``dsn``; returns the records and the figures."""
    result = FailoverSoakResult(settings)
    started = time.monotonic()
    async with simulator() as sim:
        config = _config(workdir / "broker.toml", settings, sim)
        procs: list[BrokerProc] = []
        clients = [_Client(n, f"soak{n:02d}") for n in range(settings.clients)]
        tasks: list[asyncio.Task[None]] = []
        stop = asyncio.Event()
        try:
            leader = BrokerProc("a", workdir, dsn, config, sim=False)
            procs.append(leader)
            await _wait(leader, "grpc_listening", WAIT)
            standby = BrokerProc("b", workdir, dsn, config, sim=False)
            procs.append(standby)
            await _wait(standby, "standby_listening", WAIT)
            addresses = [leader.address, standby.address]
            result.epochs.append(await _epoch(dsn))
            tasks = [
                asyncio.create_task(_run_client(c, addresses, settings, result, stop))
                for c in clients
            ]
            async with asyncio.timeout(settings.max_seconds):
                await _until_served(clients, leader.address, 0.0, settings, WAIT)
                for _kill in range(settings.kills):
                    await _wait(standby, "standby_listening", WAIT)
                    leader.signal(signal.SIGKILL)
                    killed = time.monotonic()
                    await asyncio.to_thread(leader.proc.wait, 10)
                    await _wait(standby, "grpc_listening", WAIT)
                    result.listen_times.append(time.monotonic() - killed)
                    times = await _until_served(clients, standby.address, killed, settings, WAIT)
                    result.follow_times.append(times)
                    if settings.orders:
                        result.order_times.append(
                            await _until_ordered(clients, standby.address, killed, WAIT)
                        )
                    result.epochs.append(await _epoch(dsn))
                    # The killed broker comes back on its own address as the next standby.
                    again = BrokerProc(
                        leader.name, workdir, dsn, config, sim=False, port=leader.port
                    )
                    procs.append(again)
                    leader, standby = standby, again
                await asyncio.sleep(settings.settle)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 60)
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for proc in procs:
                await asyncio.to_thread(proc.stop)
        for order in sim.book.orders.values():
            result.at_ib[order.order_ref] += 1
    result.seconds = time.monotonic() - started
    lease_check = SoakResult(SoakSettings())
    lease_check.holdings = result.holdings
    check(lease_check)
    result.overlaps = len(lease_check.overlaps)
    result.lost_early = len(lease_check.lost_early)
    result.lost_early_holdings = list(lease_check.lost_early)
    result.epoch_regressions = lease_check.epoch_regressions
    return result


async def _until_served(
    clients: list[_Client],
    address: str,
    since: float,
    settings: FailoverSoakSettings,
    within: float,
) -> list[float]:
    """Wait until every client had a call answered by ``address`` after ``since`` (and has been
    on it for ``settle`` seconds); returns each one's first such time minus ``since``."""
    deadline = time.monotonic() + within
    while True:
        firsts = []
        for c in clients:
            at = [t for t, a in c.successes if t > since and a == address]
            firsts.append(at[0] if at else None)
        if all(f is not None for f in firsts):
            if time.monotonic() - max(f for f in firsts if f is not None) >= settings.settle:
                return [f - since for f in firsts if f is not None]
        if time.monotonic() > deadline:
            missing = [
                f"{c.owner} (router at {c.target}; crashed: {c.crashed or 'no'}; last error: "
                f"{c.last_error}; last success: {c.successes[-1] if c.successes else None})"
                for c, f in zip(clients, firsts, strict=True)
                if f is None
            ]
            raise AssertionError(f"clients never served by {address}:\n" + "\n".join(missing))
        await asyncio.sleep(0.05)


async def _until_ordered(
    clients: list[_Client], address: str, since: float, within: float
) -> float:
    """Wait until every client had an order acknowledged by ``address`` after ``since``;
    returns the last such time minus ``since``."""
    deadline = time.monotonic() + within
    while True:
        firsts = [
            next((t for t, a in c.orders if t > since and a == address), None)
            for c in clients
            if not c.done_ordering
        ]
        if all(f is not None for f in firsts):
            return max(f for f in firsts if f is not None) - since
        if time.monotonic() > deadline:
            raise AssertionError(f"not every client placed an order on {address}")
        await asyncio.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    import argparse

    from tests.support.postgres import fresh_database, start_server

    defaults = FailoverSoakSettings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, value in vars(defaults).items():
        kind = (
            (lambda s: s.lower() in ("1", "true", "yes"))
            if isinstance(value, bool)
            else type(value)
        )
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=value)
    parser.add_argument("--dsn", default="", help="a PostgreSQL server of your own")
    args = parser.parse_args(argv)
    settings = FailoverSoakSettings(**{k: getattr(args, k) for k in vars(defaults)})
    logging.getLogger("ibbroker.client").setLevel(logging.ERROR)
    servers = iter([args.dsn]) if args.dsn else start_server()
    server = next(servers)
    try:
        dsn = asyncio.run(fresh_database(server))
        with tempfile.TemporaryDirectory(prefix="fosoak-") as tmp:
            result = asyncio.run(soak(settings, dsn, Path(tmp)))
    finally:
        for _ in servers:
            pass
    print(result.summary())
    return 0 if result.ok else 1
