"""The PostgreSQL store: the :class:`~broker_server.store.base.Store` on asyncpg, for brokers on
several hosts sharing one database. (Over 500 lines: one class, the Store protocol's methods
next to the call machinery they share; leadership, schema and rows are modules of their own.)

**Concurrency.** No writer thread and no queue: every call becomes a task on the event loop the
store was opened on, runs in its own transaction on a connection of a small pool, and resolves
its :class:`concurrent.futures.Future` when that transaction committed (PostgreSQL's default
``synchronous_commit = on``: durable on resolve). Calls on disjoint keys run concurrently. Calls
on one key keep call order: each call names its keys (the lease, the (gateway, client ID), the
(owner, request_id)) and starts only after the calls called earlier on any of them finished;
a read of everything (:meth:`load`, :meth:`load_live_leases`) waits for every write called
before it.

**Isolation.** ``READ COMMITTED`` plus explicit row locks, not ``SERIALIZABLE``: an acquire locks
its (gateway, client ID) row of ``client_ids`` (``SELECT ... FOR UPDATE``) and refuses an epoch
not above the stored high-water mark, and the partial unique index ``leases_one_holder`` refuses
a second ACTIVE lease of one ID. Two brokers racing for one ID therefore serialize on that row:
the second waits, then fails with :class:`StoreError`; it is never a double holder. Row locks
block and decide instead of aborting with serialization failures that every call would have to
retry.

**Leadership.** Opening takes the store's leadership row (:mod:`.postgres_leader`) before any
lease row is read or written; a store another live broker leads is refused. Every write is
fenced by the leadership epoch in its own transaction.

The order journal (:mod:`.postgres_journal`) runs on this store the same way: its methods are
calls with their own keys (the orderRef, the (owner, idempotency key), the (gateway, client ID)
of the order-ID high-water) in fenced transactions (:meth:`PostgresStore.submit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Hashable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

import asyncpg

from broker_server.aio import within
from broker_server.domain.clock import Clock, SystemClock
from broker_server.domain.leader_deadline import LOCAL_EXPIRY, NEWER_LEADER, LeaderDeadline
from broker_server.domain.leases import LeaseRecord, Quarantine
from broker_server.logs import log_event
from broker_server.store import postgres_leader as leader
from broker_server.store.base import NotLeaderError, StoreError, StoreOwnedError, StoreSnapshot
from broker_server.store.postgres_rows import COLUMNS, id_key, lease_keys, redact
from broker_server.store.postgres_schema import (
    ALIVE_SCHEMA,
    SCHEMA_VERSION,
    migrate,
    stored_version,
)
from broker_server.store.rows import client_id_from_row, lease_from_row
from broker_server.store.sqlite import History, _calls, _commits, _pruned

log = logging.getLogger("ibbroker.store")

T = TypeVar("T")
_Work = Callable[[asyncpg.Connection], Awaitable[T]]

PRUNE_LOCK = 0x49424B53
"""Advisory lock key of pruning: one transaction prunes at a time, the others skip it."""


class PostgresStore:
    """The store on one PostgreSQL database.

    ``dsn`` is a libpq URI (it may hold a password: it is never logged). ``scope`` names the
    leadership this store takes; ``address`` is where clients reach this broker (shown to a
    broker refused by it). ``leadership_ttl``: seconds another broker waits after this one
    stopped renewing (it renews four times per ``ttl * (1 - leadership_margin)``, each timed
    from the previous send; ``renew=False`` leaves renewing to the caller, as tests do with
    :meth:`renew_leadership`). ``standby``: :meth:`open` waits while
    another live broker leads, and takes over once its leadership expired (instead of raising
    :class:`StoreOwnedError`). ``leadership_margin``: the fraction of the TTL the broker gives
    up locally (:attr:`deadline`, :mod:`broker_server.domain.leader_deadline`); ``clock`` reads
    its monotonic time.
    """

    def __init__(
        self,
        dsn: str,
        *,
        history: History | None = None,
        scope: str = "ibbroker",
        address: str = "",
        leadership_ttl: float = 10.0,
        pool_size: int = 8,
        renew: bool = True,
        standby: bool = False,
        leadership_margin: float = 0.2,
        clock: Clock | None = None,
    ) -> None:
        self.dsn = dsn
        self.where = redact(dsn)
        self.history = history or History()
        self.scope = scope
        self.address = address
        self.leadership_ttl = leadership_ttl
        self.holder = f"broker-{uuid.uuid4().hex[:12]}"
        """This store's identity in the leadership row (one per process start)."""
        self._pool_size = pool_size
        self._renew = renew
        self._standby = standby
        self.leader_address = ""
        """A standby's view of where the leader listens ("" before it saw one)."""
        self._pool: asyncpg.Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lead: leader.Leadership | None = None
        self._lost = False
        self._renewer: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None
        self._on_lost: list[Callable[[], None]] = []
        self._clock = clock or SystemClock()
        self.deadline = LeaderDeadline(self._clock, leadership_ttl, leadership_margin)
        """The local deadline of the leadership: moved out by every take and renewal that
        succeeded, from the moment it was sent; nothing goes to IB once it has passed."""
        self._opening: asyncio.Lock | None = None
        self._taken_at: float | None = None  # monotonic, when the leadership was taken
        self._downtime_read = False
        self._closed = False
        self._lock = threading.Lock()  # guards the maps below (calls may come from any thread)
        self._tails: dict[Hashable, Future[Any]] = {}
        self._inflight: set[Future[Any]] = set()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._pool else "new")
        return f"PostgresStore({self.where!r}, {state})"

    @property
    def leadership(self) -> leader.Leadership | None:
        """The leadership held (None before open, after close, or once lost)."""
        return None if self._lost else self._lead

    # --- opening and closing ------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, check the schema (a newer one or a foreign database is refused untouched),
        take the leadership (refused, untouched, when another live broker holds it), migrate
        and prune. Idempotent."""
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is not None:
                return
            if self._closed:
                raise StoreError(f"store {self.where} is closed")
            try:
                pool = await asyncpg.create_pool(
                    self.dsn, min_size=1, max_size=self._pool_size, command_timeout=30
                )
            except Exception as err:
                raise StoreError(f"{self.where}: cannot connect: {err}") from None
            try:
                async with pool.acquire() as conn:
                    version = await stored_version(conn, self.where)
                    if version > 0:  # the leadership table exists: ownership before anything
                        self._lead = await self._take(conn, version)
                    if version < SCHEMA_VERSION:
                        await migrate(conn, self.where)
                    if self._lead is None:
                        self._lead = await self._take(conn, SCHEMA_VERSION)
                    async with conn.transaction():
                        pruned = await self._prune(conn)
                if pruned:
                    log_event(log, logging.INFO, "store_pruned", dsn=self.where, pruned=pruned)
            except StoreError:
                await pool.close()
                raise
            except Exception as err:
                await pool.close()
                raise StoreError(f"{self.where}: cannot open: {err}") from None
            except BaseException:  # cancelled while a standby waited: nothing was taken
                pool.terminate()
                raise
            self._pool = pool
            self._loop = asyncio.get_running_loop()
            if self._renew:
                self._renewer = asyncio.create_task(self._renew_forever(), name="store-leadership")
            log_event(
                log, logging.INFO, "store_opened", dsn=self.where, schema_version=SCHEMA_VERSION,
                scope=self.scope, epoch=self._lead.epoch,
            )  # fmt: skip

    async def _take(self, conn: asyncpg.Connection, version: int) -> leader.Leadership:
        """Take the leadership; a standby waits (checking every third of the TTL) while another
        live broker holds it, a broker that is not a standby is refused at once. ``version``:
        the schema's (the alive mark needs 3)."""
        waiting = False
        while True:
            sent = self._clock.monotonic()  # before the statement: the server's expiry is later
            slack = self.deadline.window if version >= ALIVE_SCHEMA else None
            try:
                lead = await leader.take(
                    conn, self.scope, self.holder, self.address, self.leadership_ttl, self.where,
                    slack,
                )  # fmt: skip
                self.deadline.renewed(sent)
                self._taken_at = self._clock.monotonic()
                return lead
            except StoreOwnedError as err:
                if not self._standby:
                    raise
                self.leader_address = err.address
                if not waiting:
                    waiting = True
                    log_event(
                        log, logging.INFO, "store_standby", scope=self.scope,
                        leader=err.holder, leader_address=err.address,
                    )  # fmt: skip
            await asyncio.sleep(self.leadership_ttl / 3)
            version = await stored_version(conn, self.where)  # the leader may have upgraded it

    async def close(self) -> None:
        """Finish every call made so far, step down (a standby takes over at once) and close
        the pool. Idempotent.

        A store that lost its leadership (often because PostgreSQL stopped answering) closes
        without asking PostgreSQL anything: its writes are refused locally anyway, and a
        graceful close (or cancelling a query, which asyncpg does with a request to the server)
        would wait for a server that may not answer, and the rejoin or exit 75 behind it."""
        with self._lock:
            self._closed = True
            pending = list(self._inflight)
        tasks = [t for t in (self._renewer, self._follower) if t is not None]
        self._renewer = self._follower = None
        pool, self._pool = self._pool, None
        if self._lost:
            for task in tasks:
                task.cancel()
            if pool is not None:
                pool.terminate()  # aborts the connections: the cancelled queries end at once
            await asyncio.gather(*tasks, return_exceptions=True)
            return
        if pending:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in pending), return_exceptions=True)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if pool is None:
            return
        if self._lead is not None:
            with contextlib.suppress(Exception):
                async with pool.acquire() as conn:
                    await leader.release(conn, self._lead)
                log_event(log, logging.INFO, "store_leadership_released", scope=self.scope)
        await pool.close()

    # --- leadership ---------------------------------------------------------------------------

    async def renew_leadership(self) -> bool:
        """Renew the leadership now; False (and every later write refused) once a newer leader
        took over. A connection failure raises StoreError and changes nothing."""
        if self._pool is None or self._lead is None:
            raise StoreError(f"store {self.where} is not open")
        if self._lost:
            return False
        sent = self._clock.monotonic()  # before the connection: the server's expiry is later
        try:
            async with self._pool.acquire() as conn:
                expires = await leader.renew(conn, self._lead, self.leadership_ttl)
        except Exception as err:
            raise StoreError(f"{self.where}: leadership renewal failed: {err}") from None
        if expires is None:
            self._lose(self._lead.epoch)
            return False
        self.deadline.renewed(sent)
        return True

    def downtime(self) -> float | None:
        """Seconds no broker of this store served leases before this one took over: from the
        previous holder's alive mark in the leadership row (plus its slack) to the take, on the
        server's clock (:mod:`.postgres_leader`), plus the time since the take (this broker
        serves no lease before its lease manager starts). 0.0 when the row had no mark (first
        take, or a row from schema 2: no downtime is counted), and on every call after the
        first (a second start on one open store must not count the takeover's gap again).
        Never None: this store keeps the alive mark, no local file does."""
        lead = self._lead
        if lead is None or lead.downtime is None or self._taken_at is None or self._downtime_read:
            return 0.0
        self._downtime_read = True
        return lead.downtime + max(0.0, self._clock.monotonic() - self._taken_at)

    def step_down(self) -> None:
        """Stop leading without a newer leader (the local deadline passed): every later write
        is refused here, before PostgreSQL is asked; the row expires on the server."""
        self._lose(self._lead.epoch if self._lead else 0, cause=LOCAL_EXPIRY)

    def _lose(self, epoch: int, leader_address: str = "", cause: str = NEWER_LEADER) -> None:
        """Mark the leadership lost (once): step the deadline down (the broker drops its IB
        sessions first), log it and tell the listeners."""
        if self._lost:
            return
        self._lost = True
        self.deadline.step_down(cause, leader_address)
        if cause == LOCAL_EXPIRY and self._loop is not None and self._pool is not None:
            # No newer leader known yet: find out where it is before telling the listeners.
            self._follower = self._loop.create_task(self._follow_leader(epoch, cause))
        else:
            self._tell(epoch, cause)

    def _tell(self, epoch: int, cause: str) -> None:
        log_event(
            log, logging.ERROR, "store_leadership_lost", scope=self.scope, epoch=epoch,
            cause=cause, leader_address=self.deadline.leader_address,
        )  # fmt: skip
        for callback in self._on_lost:
            callback()

    async def _follow_leader(self, epoch: int, cause: str) -> None:
        """After a local expiry: read the leadership row (never write it) until another broker
        holds it, so refused calls can name ``leader_address``; tell the listeners after the
        first read (bounded by a third of the TTL: PostgreSQL may be what is unreachable)."""
        told = False
        try:
            while not self._closed and self._pool is not None:
                try:
                    row = await within(self._read_leadership(), self.leadership_ttl / 3)
                except Exception:  # PostgreSQL away or slow: keep looking
                    row = None
                if row is not None and row["epoch"] != epoch:
                    self.leader_address = row["address"]
                    self.deadline.step_down(cause, row["address"])  # records the address
                    return
                if not told:
                    told = True
                    self._tell(epoch, cause)
                await asyncio.sleep(self.leadership_ttl / 3)
        finally:
            if not told:
                self._tell(epoch, cause)

    async def _read_leadership(self) -> asyncpg.Record | None:
        assert self._pool is not None
        async with self._pool.acquire() as conn:
            row: asyncpg.Record | None = await conn.fetchrow(
                "SELECT address, epoch FROM leadership WHERE scope = $1", self.scope
            )
        return row

    @property
    def leading(self) -> bool:
        """True while this store holds its leadership (False before open and once lost)."""
        return self._lead is not None and not self._lost

    def on_leadership_lost(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the store's loop when a newer leader is found (once)."""
        self._on_lost.append(callback)

    def announce(self, address: str) -> Future[None]:
        """Record where clients reach this broker (the address the server bound, known only
        after the store opened), for brokers it refuses and writes it fences out."""
        self.address = address

        async def work(conn: asyncpg.Connection) -> None:
            lead = self._lead
            if lead is not None:
                await leader.set_address(conn, lead, address)

        return self.submit([("leadership",)], work, write=True)

    async def _renew_forever(self) -> None:
        # Four renewals per local window (0.2 TTL with the default margin), each timed from the
        # previous one's send, not its answer: a slow answer or a short stall of the loop does
        # not cost the leadership its local deadline.
        interval = self.deadline.window / 4
        loop = asyncio.get_running_loop()
        next_at = loop.time() + interval
        while not self._lost:
            await asyncio.sleep(max(next_at - loop.time(), 0.0))
            next_at = loop.time() + interval
            try:
                await self.renew_leadership()
            except StoreError as err:  # PostgreSQL away: the fence still guards every write
                log_event(log, logging.WARNING, "store_leadership_renew_failed", error=str(err))

    # --- calls --------------------------------------------------------------------------------

    def submit(
        self, keys: Sequence[Hashable] | None, work: _Work[T], *, write: bool = True
    ) -> Future[T]:
        """Run ``work(conn)`` in a transaction of its own, fenced by the leadership epoch when
        ``write`` (refused with :class:`NotLeaderError` once a newer leader took over), after
        the calls made earlier on any of ``keys`` (``None``: after every call made so far).
        The order journal (:mod:`.postgres_journal`) runs its calls through this too."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed or self._pool is None or self._loop is None:
                future.set_exception(StoreError(f"store {self.where} is not open"))
                return future
            if keys is None:
                after = list(self._inflight)
            else:
                after = [self._tails[k] for k in keys if k in self._tails]
                if write:
                    for k in keys:
                        self._tails[k] = future
            self._inflight.add(future)
            loop = self._loop

        def forget(done: Future[T]) -> None:
            with self._lock:
                self._inflight.discard(done)
                for k in keys or ():
                    if self._tails.get(k) is done:
                        del self._tails[k]

        future.add_done_callback(forget)
        coro = self._run(after, work, future, write)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(coro)
        else:
            asyncio.run_coroutine_threadsafe(coro, loop)
        return future

    async def _run(
        self, after: list[Future[Any]], work: _Work[T], future: Future[T], write: bool
    ) -> None:
        if after:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in after), return_exceptions=True)
        if not future.set_running_or_notify_cancel():
            return
        pool, lead = self._pool, self._lead
        try:
            if pool is None or lead is None:
                raise StoreError(f"store {self.where} is closed")
            if write and self._lost:  # stepped down: never ask PostgreSQL
                raise NotLeaderError(
                    f"{self.where}: this broker stepped down ({self.deadline.describe()}); "
                    "write refused",
                    leader_address=self.deadline.leader_address,
                )
            async with pool.acquire() as conn, conn.transaction():
                if write:
                    await leader.fence(conn, lead)
                result = await work(conn)
        except NotLeaderError as err:
            self._lose(lead.epoch if lead else 0, err.leader_address)
            self._failed(future, err)
        except StoreError as err:
            self._failed(future, err)
        except Exception as err:  # asyncpg's errors, a lost connection, a timeout
            log_event(log, logging.ERROR, "store_write_failed", dsn=self.where, error=str(err))
            self._failed(future, StoreError(f"{self.where}: {err}"))
        else:
            _commits.add(1, {"outcome": "committed"})
            _calls.add(1, {"outcome": "committed"})
            future.set_result(result)

    @staticmethod
    def _failed(future: Future[Any], err: BaseException) -> None:
        _commits.add(1, {"outcome": "failed"})
        _calls.add(1, {"outcome": "failed"})
        future.set_exception(err)

    # --- pruning ------------------------------------------------------------------------------

    async def _prune(self, conn: asyncpg.Connection) -> int:
        """Bound the ended leases (inside the caller's transaction, in a savepoint of its own:
        a failed prune is skipped); another transaction pruning makes this one skip."""
        try:
            async with conn.transaction():
                if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", PRUNE_LOCK):
                    return 0
                old = await conn.execute(
                    "DELETE FROM leases WHERE state <> 'ACTIVE' AND end_time < "
                    "(SELECT max(end_time) FROM leases WHERE state <> 'ACTIVE') - $1",
                    self.history.seconds,
                )
                excess = await conn.execute(
                    "DELETE FROM leases WHERE lease_id IN (SELECT lease_id FROM leases "
                    "WHERE state <> 'ACTIVE' ORDER BY end_time DESC, lease_id DESC OFFSET $1)",
                    self.history.max_rows,
                )
        except asyncpg.PostgresError as err:
            log_event(log, logging.WARNING, "store_prune_failed", dsn=self.where, error=str(err))
            return 0
        pruned = int(old.split()[-1]) + int(excess.split()[-1])
        if pruned:
            _pruned.add(pruned)
        return pruned

    # --- the Store interface ------------------------------------------------------------------

    def load(self, since: float) -> Future[StoreSnapshot]:
        """Every active lease, finished leases that ended at or after ``since``, and every
        client ID's epoch high-water mark and quarantine."""

        async def work(conn: asyncpg.Connection) -> StoreSnapshot:
            leases = await conn.fetch(
                f"SELECT {COLUMNS} FROM leases WHERE state = 'ACTIVE' OR end_time >= $1 "
                "ORDER BY acquire_time, lease_id",
                since,
            )
            rows = await conn.fetch("SELECT * FROM client_ids ORDER BY gateway, client_id")
            return StoreSnapshot(
                tuple(lease_from_row(r) for r in leases),
                tuple(client_id_from_row(r) for r in rows),
                SCHEMA_VERSION,
            )

        return self.submit(None, work, write=False)

    def save_acquire(self, lease: LeaseRecord) -> Future[None]:
        """Insert a new lease and raise its ID's epoch high-water mark, under the ID's row lock:
        an epoch not above the stored mark (another broker leased the ID) is refused."""

        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO client_ids (gateway, client_id, epoch_high_water) VALUES ($1, $2, 0) "
                "ON CONFLICT DO NOTHING",
                lease.gateway,
                lease.client_id,
            )
            high = await conn.fetchval(
                "SELECT epoch_high_water FROM client_ids WHERE gateway = $1 AND client_id = $2 "
                "FOR UPDATE",
                lease.gateway,
                lease.client_id,
            )
            if lease.epoch <= high:
                raise StoreError(
                    f"client ID {lease.gateway}/{lease.client_id}: epoch {lease.epoch} is not above "
                    f"the stored high-water mark {high} (leased elsewhere); refused"
                )
            if lease.request_id:  # a request_id reused after its old lease was forgotten
                await conn.execute(
                    "UPDATE leases SET request_id = NULL "
                    "WHERE owner = $1 AND request_id = $2 AND state <> 'ACTIVE'",
                    lease.owner,
                    lease.request_id,
                )
            await conn.execute(
                f"INSERT INTO leases ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                "$10, $11, $12)",
                lease.lease_id, lease.gateway, lease.client_id, lease.epoch, lease.owner,
                lease.mode.value, lease.state.value, lease.ttl, lease.acquire_time,
                lease.expire_time, lease.end_time, lease.request_id or None,
            )  # fmt: skip
            await conn.execute(
                "UPDATE client_ids SET epoch_high_water = $3, quarantine_until = NULL, "
                "quarantine_mode = NULL, quarantine_reason = NULL "
                "WHERE gateway = $1 AND client_id = $2",
                lease.gateway,
                lease.client_id,
                lease.epoch,
            )

        return self.submit(lease_keys(lease), work, write=True)

    def save_renew(self, lease: LeaseRecord) -> Future[None]:
        """Store a renewed lease's ttl and expire_time."""

        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "UPDATE leases SET ttl = $1, expire_time = $2 WHERE lease_id = $3",
                lease.ttl,
                lease.expire_time,
                lease.lease_id,
            )

        return self.submit(lease_keys(lease), work, write=True)

    @staticmethod
    async def _quarantine(conn: asyncpg.Connection, q: Quarantine) -> None:
        await conn.execute(
            "INSERT INTO client_ids VALUES ($1, $2, 0, $3, $4, $5) ON CONFLICT (gateway, client_id) "
            "DO UPDATE SET quarantine_until = excluded.quarantine_until, "
            "quarantine_mode = excluded.quarantine_mode, "
            "quarantine_reason = excluded.quarantine_reason",
            q.gateway, q.client_id, q.until, q.mode.value, q.reason.value,
        )  # fmt: skip

    def save_end(self, lease: LeaseRecord, quarantine: Quarantine) -> Future[None]:
        """Store a released or expired lease and quarantine its ID, then bound the history."""

        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "UPDATE leases SET state = $1, end_time = $2, expire_time = $3, request_id = $4 "
                "WHERE lease_id = $5",
                lease.state.value, lease.end_time, lease.expire_time, lease.request_id or None,
                lease.lease_id,
            )  # fmt: skip
            await self._quarantine(conn, quarantine)
            await self._prune(conn)

        return self.submit(lease_keys(lease), work, write=True)

    def save_quarantine(self, quarantine: Quarantine) -> Future[None]:
        """Store a (re-)quarantined ID."""
        key = [id_key(quarantine.gateway, quarantine.client_id)]
        return self.submit(key, lambda conn: self._quarantine(conn, quarantine), write=True)

    def save_free(self, gateway: str, client_id: int) -> Future[None]:
        """Clear an ID's quarantine."""

        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "UPDATE client_ids SET quarantine_until = NULL, quarantine_mode = NULL, "
                "quarantine_reason = NULL WHERE gateway = $1 AND client_id = $2",
                gateway,
                client_id,
            )

        return self.submit([id_key(gateway, client_id)], work, write=True)

    def save_leases(self, leases: Sequence[LeaseRecord]) -> Future[None]:
        """Store several leases' ttl and expire_time in one transaction."""

        async def work(conn: asyncpg.Connection) -> None:
            await conn.executemany(
                "UPDATE leases SET ttl = $1, expire_time = $2 WHERE lease_id = $3",
                [(x.ttl, x.expire_time, x.lease_id) for x in leases],
            )

        keys = [k for lease in leases for k in lease_keys(lease)]
        return self.submit(keys, work, write=True)

    def load_live_leases(self) -> Future[tuple[LeaseRecord, ...]]:
        """The active leases as stored, by gateway and client ID."""

        async def work(conn: asyncpg.Connection) -> tuple[LeaseRecord, ...]:
            rows = await conn.fetch(
                f"SELECT {COLUMNS} FROM leases WHERE state = 'ACTIVE' ORDER BY gateway, client_id"
            )
            return tuple(lease_from_row(r) for r in rows)

        return self.submit(None, work, write=False)

    def epoch_high_water(self, gateway: str, client_id: int) -> Future[int]:
        """The largest epoch given out for (gateway, client_id); 0 when never leased."""

        async def work(conn: asyncpg.Connection) -> int:
            value = await conn.fetchval(
                "SELECT epoch_high_water FROM client_ids WHERE gateway = $1 AND client_id = $2",
                gateway,
                client_id,
            )
            return 0 if value is None else int(value)

        return self.submit([id_key(gateway, client_id)], work, write=False)
