"""The SQLite store: WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE``, one writer thread, group
commit.

SQLite allows one writer at a time, so one dedicated thread owns the only connection. Calls are
queued; the thread takes every call that is waiting (up to :data:`MAX_BATCH`) and runs them,
in call order, in one ``BEGIN IMMEDIATE`` ... ``COMMIT``: calls that arrive while a commit
(and its fsync) is in progress share the next one, so 16 concurrent callers pay for a handful
of fsyncs instead of 16. Each call runs inside its own ``SAVEPOINT``: a failing statement
rolls back only its own call, which alone gets the error, and the rest of the batch commits.
No future resolves before the ``COMMIT`` that holds its call returned, so a call is durable
(fsynced, ``synchronous=FULL``) when its future resolves: nothing acknowledged is lost to
``kill -9`` or a power cut. The commit order is the call order.

Ended leases are pruned in the same transactions (:class:`History`): the table keeps the ended
leases of the last ``seconds`` and at most ``max_rows`` of them, whatever the uptime.

The file, its schema and migrations are :mod:`broker_server.store.sqlite_schema` (a foreign,
corrupt or newer file is refused untouched); rows <-> records are
:mod:`broker_server.store.rows`; the order journal is
:mod:`broker_server.store.order_journal`, on this store's writer.

Why this file is over 500 lines: :class:`SqliteStore` is the one owner of the one connection;
its writer loop, the batch commit with savepoints, pruning and the lease statements all run on
that connection's thread, and splitting the class would spread one thread's state over modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from opentelemetry import metrics

from broker_server.domain.leases import (
    LeaseRecord,
    LeaseState,
    Quarantine,
)
from broker_server.logs import log_event
from broker_server.store.base import StoreError, StoreSnapshot
from broker_server.store.ownership import FileOwnership
from broker_server.store.rows import client_id_from_row, lease_from_row, lease_params
from broker_server.store.sqlite_schema import open_store_file, prepare_store_file

log = logging.getLogger("ibbroker.store")

T = TypeVar("T")

MAX_BATCH = 512
"""Most calls sharing one commit: bounds a transaction's size and the latency of its first call."""

_Job = tuple[Callable[[sqlite3.Connection], Any], "Future[Any]"]

_meter = metrics.get_meter("ibbroker")
_commits = _meter.create_counter(
    "ibbroker.store.commits", unit="{commit}", description="Store transactions, by outcome."
)
_calls = _meter.create_counter(
    "ibbroker.store.calls",
    unit="{call}",
    description="Store calls, by outcome; calls per commit is the group-commit batch size.",
)
_pruned = _meter.create_counter(
    "ibbroker.store.pruned", unit="{lease}", description="Ended leases pruned from the store."
)


@dataclass(frozen=True)
class StoreStats:
    """Counts since the store was opened (the same figures as the ``ibbroker.store.*`` metrics)."""

    commits: int
    """Transactions committed; each holds one or more calls."""
    calls: int
    """Calls committed (calls / commits is the mean group-commit batch)."""
    failed_calls: int
    """Calls that failed (their own statement, or their batch's commit)."""
    pruned: int
    """Ended leases pruned."""


@dataclass(frozen=True)
class History:
    """How many ended (released or expired) leases the store keeps.

    A lease that ended stays in the table while it ended less than ``seconds`` before the newest
    end in the table, and at most ``max_rows`` ended leases stay, the oldest going first. The
    horizon is the data's own time, not the store's clock: lease times come from the runtime's
    clock (injected in tests, re-anchored at each start), which the store does not share. Active
    leases are never pruned; epochs and quarantines live in their own table and are never
    pruned either.
    """

    seconds: float = 600.0
    """Keep ended leases this long (GetLease and idempotent retries after a restart need them)."""
    max_rows: int = 10_000
    """Keep at most this many ended leases."""


class SqliteStore:
    """The :class:`~broker_server.store.base.Store` on one SQLite file; ``history`` bounds the
    ended leases kept (:class:`History`)."""

    def __init__(self, path: str | Path, *, history: History | None = None) -> None:
        self.path = Path(path)
        self.history = history or History()
        self._owner = FileOwnership(self.path)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._opened: Future[None] | None = None
        self._closed = False
        self._lock = threading.Lock()
        # Writer-thread state for pruning: the ended rows in the table and the newest end_time
        # written. Both are recounted after a failed commit.
        self._ended_rows = 0
        self._newest_end = 0.0
        self._ends_in_batch = False
        self._stats = StoreStats(0, 0, 0, 0)

    @property
    def stats(self) -> StoreStats:
        """Commits, calls, failures and prunes so far."""
        return self._stats

    def _count(self, commits: int = 0, calls: int = 0, failed: int = 0, pruned: int = 0) -> None:
        s = self._stats  # only the writer thread replaces it; readers see a whole snapshot
        self._stats = StoreStats(
            s.commits + commits, s.calls + calls, s.failed_calls + failed, s.pruned + pruned
        )

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._thread else "new")
        return f"SqliteStore({str(self.path)!r}, {state})"

    # --- the writer ------------------------------------------------------------------------

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queue ``fn(conn)`` as one call of the next group commit (other tables' stores, such
        as the order journal, share the writer and its durability this way)."""
        return self._submit(fn)

    def _submit(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed or self._thread is None:
                future.set_exception(StoreError(f"store {self.path} is not open"))
                return future
            self._queue.put((fn, future))
        return future

    def _run(self, ready: Future[None]) -> None:
        try:
            conn = self._connect()
        except BaseException as err:  # the thread ends: the store never opened
            ready.set_exception(
                err if isinstance(err, StoreError) else StoreError(f"{self.path}: {err}")
            )
            with self._lock:
                self._closed = True
            self._drain(StoreError(f"store {self.path} failed to open"))
            return
        ready.set_result(None)
        try:
            stop = False
            while not stop:
                job = self._queue.get()
                if job is None:
                    break
                batch = [job]
                # Everything queued while the previous commit ran shares this one.
                while len(batch) < MAX_BATCH:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:  # close(): nothing is queued after it
                        stop = True
                        break
                    batch.append(job)
                self._commit_batch(conn, batch)
        finally:
            conn.close()
            self._owner.release()

    def _commit_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        """Run ``batch`` in call order in one transaction (cancelled calls are skipped)."""
        jobs = [(fn, future) for fn, future in batch if future.set_running_or_notify_cancel()]
        if not jobs:
            return
        try:
            self._commit(conn, jobs)
        except Exception as err:  # outside any call (SAVEPOINT itself failed): no caller hangs
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            for _fn, future in jobs:
                if not future.done():
                    self._fail_one(future, err)
            self._recount(conn)

    def _commit(self, conn: sqlite3.Connection, jobs: list[_Job]) -> None:
        """Run ``jobs`` in one transaction, each call in its own savepoint, then resolve every
        future: a future resolves only after the COMMIT holding its call returned."""
        outcomes: list[tuple[Future[Any], bool, Any]] = []
        self._ends_in_batch = False
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:  # locked by another process past busy_timeout, I/O error
            self._fail(jobs, err)
            return
        for index, (fn, future) in enumerate(jobs):
            conn.execute("SAVEPOINT call")
            try:
                value = fn(conn)
            except Exception as err:
                if not self._undo_call(conn):
                    # The whole transaction is gone (I/O error, disk full): the calls before
                    # this one were never committed, so they fail too (none was acknowledged)
                    # and the rest get a transaction of their own.
                    _commits.add(1, {"outcome": "failed"})
                    for earlier, ok, result in outcomes:
                        self._fail_one(earlier, err if ok else result)
                    self._fail_one(future, err)
                    self._recount(conn)
                    if jobs[index + 1 :]:
                        self._commit(conn, jobs[index + 1 :])
                    return
                outcomes.append((future, False, err))
            else:
                conn.execute("RELEASE call")
                outcomes.append((future, True, value))
        if self._ends_in_batch:
            self._prune(conn, self._newest_end - self.history.seconds)
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            self._fail(jobs, err)
            self._recount(conn)
            return
        _commits.add(1, {"outcome": "ok"})
        committed = sum(ok for _f, ok, _v in outcomes)
        self._count(commits=1, calls=committed)
        _calls.add(committed, {"outcome": "ok"})  # once per batch, not per call
        for future, ok, value in outcomes:
            if ok:
                future.set_result(value)
            else:
                self._fail_one(future, value)

    def _prune(self, conn: sqlite3.Connection, ended_before: float) -> int:
        """Delete ended leases that ended before ``ended_before``, then the oldest ended leases
        beyond ``history.max_rows``; in its own savepoint, so a failure only skips the prune."""
        conn.execute("SAVEPOINT prune")
        try:
            pruned = conn.execute(
                "DELETE FROM leases WHERE end_time < ? AND state != 'ACTIVE'", (ended_before,)
            ).rowcount
            excess = self._ended_rows - pruned - self.history.max_rows
            if excess > 0:
                pruned += conn.execute(
                    "DELETE FROM leases WHERE lease_id IN (SELECT lease_id FROM leases "
                    "WHERE end_time IS NOT NULL AND state != 'ACTIVE' "
                    "ORDER BY end_time, lease_id LIMIT ?)",
                    (excess,),
                ).rowcount
            conn.execute("RELEASE prune")
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO prune")
                conn.execute("RELEASE prune")
            log_event(
                log, logging.WARNING, "store_prune_failed", path=str(self.path), error=str(err)
            )
            return 0
        self._ended_rows -= pruned
        if pruned:
            _pruned.add(pruned)
            self._count(pruned=pruned)
        return pruned

    def _recount(self, conn: sqlite3.Connection) -> None:
        """Re-read the prune bookkeeping from the table (after a failed commit)."""
        try:
            row = conn.execute(
                "SELECT count(*), max(end_time) FROM leases WHERE state != 'ACTIVE'"
            ).fetchone()
        except sqlite3.Error:
            return
        self._ended_rows = int(row[0])
        self._newest_end = float(row[1] or 0.0)

    @staticmethod
    def _undo_call(conn: sqlite3.Connection) -> bool:
        """Roll back the current call's savepoint; False when the transaction itself is gone."""
        if not conn.in_transaction:
            return False
        try:
            conn.execute("ROLLBACK TO call")
            conn.execute("RELEASE call")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return False
        return True

    def _fail(self, jobs: Sequence[_Job], err: BaseException) -> None:
        _commits.add(1, {"outcome": "failed"})
        for _fn, future in jobs:
            self._fail_one(future, err)

    def _fail_one(self, future: Future[Any], err: BaseException) -> None:
        _calls.add(1, {"outcome": "failed"})
        self._count(failed=1)
        if isinstance(err, sqlite3.Error):
            log_event(log, logging.ERROR, "store_write_failed", path=str(self.path), error=str(err))
            future.set_exception(StoreError(f"{self.path}: {err}"))
        else:
            future.set_exception(err)

    def _drain(self, err: StoreError) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None and job[1].set_running_or_notify_cancel():
                job[1].set_exception(err)

    # --- opening ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        exists = prepare_store_file(self.path)
        # Ownership before SQLite opens the file: a live broker's store is never read or written.
        self._owner.acquire()
        try:
            return self._connect_owned(exists)
        except BaseException:
            self._owner.release()
            raise

    def _connect_owned(self, exists: bool) -> sqlite3.Connection:
        conn = open_store_file(self.path, exists)
        try:
            self._prune_at_open(conn)
        except sqlite3.Error as err:
            conn.close()
            raise StoreError(
                f"{self.path}: corrupt or unreadable store ({err}); left untouched"
            ) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _prune_at_open(self, conn: sqlite3.Connection) -> None:
        """Bound the history a previous run left (older code never pruned)."""
        self._recount(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            pruned = self._prune(conn, self._newest_end - self.history.seconds)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if pruned:
            log_event(
                log,
                logging.INFO,
                "store_pruned",
                path=str(self.path),
                pruned=pruned,
                kept=self._ended_rows,
                history_seconds=self.history.seconds,
                history_max_rows=self.history.max_rows,
            )

    def _load(self, conn: sqlite3.Connection, since: float) -> StoreSnapshot:
        leases = tuple(
            lease_from_row(row)
            for row in conn.execute(
                "SELECT * FROM leases WHERE state = 'ACTIVE' OR end_time >= ? ORDER BY acquire_time",
                (since,),
            )
        )
        rows = tuple(client_id_from_row(row) for row in conn.execute("SELECT * FROM client_ids"))
        return StoreSnapshot(leases, rows, conn.execute("PRAGMA user_version").fetchone()[0])

    def open_future(self) -> Future[None]:
        """Start the writer thread, which opens, checks and migrates the file. Idempotent: a
        second call returns the first call's future."""
        with self._lock:
            if self._opened is not None:
                return self._opened
            self._opened = Future()
            if self._closed:
                self._opened.set_exception(StoreError(f"store {self.path} is closed"))
                return self._opened
            self._thread = threading.Thread(
                target=self._run,
                args=(self._opened,),
                name=f"store-writer:{self.path.name}",
                daemon=True,
            )
            self._thread.start()
            return self._opened

    async def open(self) -> None:
        """Open the store (see :meth:`open_future`); raises :class:`StoreError`."""
        await asyncio.wrap_future(self.open_future())

    def open_blocking(self) -> None:
        """Open the store from plain code (tests, benchmarks, tools)."""
        self.open_future().result()

    def load(self, since: float) -> Future[StoreSnapshot]:
        """Every active lease, finished leases that ended at or after ``since``, and every
        client ID's epoch high-water mark and quarantine."""
        return self._submit(lambda conn: self._load(conn, since))

    def close_blocking(self) -> None:
        """Commit everything queued, stop the writer thread and close the file. Idempotent."""
        with self._lock:
            if self._closed or self._thread is None:
                self._closed = True
                return
            self._closed = True
            self._queue.put(None)
            thread = self._thread
        thread.join()

    def downtime(self) -> float | None:
        """None: the alive mark of a SQLite store is a local file beside it, which the lease
        runtime keeps (:mod:`broker_server.runtime.alive`)."""
        return None

    async def close(self) -> None:
        """:meth:`close_blocking` without blocking the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.close_blocking)

    # --- transactions ----------------------------------------------------------------------

    def _write(self, statements: Sequence[tuple[str, Any]]) -> Future[None]:
        """Queue one call running ``statements``; the writer gives it a savepoint in the batch's
        transaction, so they apply all together or not at all."""

        def run(conn: sqlite3.Connection) -> None:
            for sql, params in statements:
                conn.execute(sql, params)

        return self._submit(run)

    def save_acquire(self, lease: LeaseRecord) -> Future[None]:
        """Insert a new lease and raise its ID's epoch high-water mark."""
        insert = (
            "INSERT INTO leases VALUES (:lease_id, :gateway, :client_id, :epoch, :owner, :mode, "
            ":state, :ttl, :acquire_time, :expire_time, :end_time, :request_id)"
        )
        upsert = (
            "INSERT INTO client_ids (gateway, client_id, epoch_high_water) VALUES (?, ?, ?) "
            "ON CONFLICT (gateway, client_id) DO UPDATE SET "
            "epoch_high_water = max(epoch_high_water, excluded.epoch_high_water), "
            "quarantine_until = NULL, quarantine_mode = NULL, quarantine_reason = NULL"
        )
        # A request_id reused after the old lease was forgotten (FINISHED_RETENTION) is a new key.
        forget = "UPDATE leases SET request_id = NULL WHERE owner = ? AND request_id = ? AND state != 'ACTIVE'"
        statements: list[tuple[str, Any]] = []
        if lease.request_id:
            statements.append((forget, (lease.owner, lease.request_id)))
        statements += [
            (insert, lease_params(lease)),
            (upsert, (lease.gateway, lease.client_id, lease.epoch)),
        ]
        return self._write(statements)

    def save_renew(self, lease: LeaseRecord) -> Future[None]:
        """Store a renewed lease's ttl and expire_time."""
        sql = "UPDATE leases SET ttl = ?, expire_time = ? WHERE lease_id = ?"
        return self._write([(sql, (lease.ttl, lease.expire_time, lease.lease_id))])

    def save_end(self, lease: LeaseRecord, quarantine: Quarantine) -> Future[None]:
        """Store a released or expired lease and quarantine its ID."""
        update = (
            "UPDATE leases SET state = ?, end_time = ?, expire_time = ?, request_id = ? "
            "WHERE lease_id = ?"
        )
        params = (
            lease.state.value,
            lease.end_time,
            lease.expire_time,
            lease.request_id or None,
            lease.lease_id,
        )
        statements = [(update, params), *self._quarantine_sql(quarantine)]

        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT state FROM leases WHERE lease_id = ?", (lease.lease_id,)
            ).fetchone()
            for sql, values in statements:
                conn.execute(sql, values)
            # Reached only when every statement succeeded, so the savepoint is released.
            if row is not None and row[0] == LeaseState.ACTIVE.value:
                self._ended_rows += 1
            if lease.end_time is not None:
                self._newest_end = max(self._newest_end, lease.end_time)
                self._ends_in_batch = True

        return self._submit(run)

    @staticmethod
    def _quarantine_sql(q: Quarantine) -> list[tuple[str, Any]]:
        sql = (
            "INSERT INTO client_ids VALUES (?, ?, 0, ?, ?, ?) ON CONFLICT (gateway, client_id) DO UPDATE "
            "SET quarantine_until = excluded.quarantine_until, "
            "quarantine_mode = excluded.quarantine_mode, quarantine_reason = excluded.quarantine_reason"
        )
        return [(sql, (q.gateway, q.client_id, q.until, q.mode.value, q.reason.value))]

    def save_quarantine(self, quarantine: Quarantine) -> Future[None]:
        """Store a (re-)quarantined ID."""
        return self._write(self._quarantine_sql(quarantine))

    def save_free(self, gateway: str, client_id: int) -> Future[None]:
        """Clear an ID's quarantine."""
        sql = (
            "UPDATE client_ids SET quarantine_until = NULL, quarantine_mode = NULL, "
            "quarantine_reason = NULL WHERE gateway = ? AND client_id = ?"
        )
        return self._write([(sql, (gateway, client_id))])

    def save_leases(self, leases: Sequence[LeaseRecord]) -> Future[None]:
        """Store several leases' ttl and expire_time in one transaction."""
        sql = "UPDATE leases SET ttl = ?, expire_time = ? WHERE lease_id = ?"
        statements = [(sql, (lease.ttl, lease.expire_time, lease.lease_id)) for lease in leases]
        return self._write(statements)

    def load_live_leases(self) -> Future[tuple[LeaseRecord, ...]]:
        """The active leases as stored, by gateway and client ID."""

        def load(conn: sqlite3.Connection) -> tuple[LeaseRecord, ...]:
            rows = conn.execute(
                "SELECT * FROM leases WHERE state = 'ACTIVE' ORDER BY gateway, client_id"
            )
            return tuple(lease_from_row(row) for row in rows)

        return self._submit(load)

    def epoch_high_water(self, gateway: str, client_id: int) -> Future[int]:
        """The largest epoch given out for (gateway, client_id); 0 when never leased."""

        def load(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT epoch_high_water FROM client_ids WHERE gateway = ? AND client_id = ?",
                (gateway, client_id),
            ).fetchone()
            return 0 if row is None else int(row[0])

        return self._submit(load)
