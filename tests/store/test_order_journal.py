"""The order journal on real SQLite files: round trip, high-water, group commit, dedup, bounds,
and an acknowledged intent surviving a SIGKILL of the writing process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from broker_server.domain.journal import advance
from broker_server.domain.order_ids import OrderIdScope
from broker_server.domain.order_state import OrderState
from broker_server.store.order_journal import SqliteOrderJournal, StoredOrderEvent
from broker_server.store.sqlite import SqliteStore
from tests.trading.helpers import NOW, bracket_order, journal, limit_order

ROOT = Path(__file__).resolve().parents[2]


def _open(path: Path, **kw: int) -> tuple[SqliteStore, SqliteOrderJournal]:
    store = SqliteStore(path)
    store.open_blocking()
    return store, SqliteOrderJournal(store, **kw)


def test_intents_round_trip_and_high_water(tmp_path: Path) -> None:
    store, j = _open(tmp_path / "s.db")
    single = journal(limit_order("150.50"), key="a")
    bracket = journal(bracket_order(), key="b", client_id=102)
    j.save_intents(single).result()
    j.save_intents(bracket).result()
    filled, _ = advance(single[0], OrderState.SUBMITTED, "sent", now=NOW + 1)
    filled, _ = advance(filled, OrderState.FILLED, "fill", now=NOW + 2, perm_id=7,
                        filled_quantity=Decimal(100), average_fill_price=Decimal("150.25"))  # fmt: skip
    j.save_entries([filled]).result()
    store.close_blocking()

    store, j = _open(tmp_path / "s.db")
    snap = j.load().result()
    by_ref = {e.order_ref: e for e in snap.entries}
    assert by_ref[filled.order_ref] == filled
    for e in bracket:
        assert by_ref[e.order_ref] == e
    marks = dict(snap.high_water)
    assert marks[OrderIdScope("paper", 101)] == single[0].order_id
    assert marks[OrderIdScope("paper", 102)] == max(e.order_id for e in bracket)
    # The high-water never goes down.
    j.raise_high_water(OrderIdScope("paper", 101), 0).result()
    assert dict(j.load().result().high_water)[OrderIdScope("paper", 101)] == single[0].order_id
    store.close_blocking()


def test_same_key_other_order_ref_is_refused(tmp_path: Path) -> None:
    store, j = _open(tmp_path / "s.db")
    (entry,) = journal(limit_order(), key="k")
    j.save_intents([entry]).result()
    clash = replace(entry, order_ref="ibb1-other-n")
    fut = j.save_intents([clash])
    try:
        fut.result()
    except Exception as err:
        assert "UNIQUE" in str(err)
    else:
        raise AssertionError("a second intent for the same (owner, key, role) was stored")
    assert [e.order_ref for e in j.load().result().entries] == [entry.order_ref]
    store.close_blocking()


def test_concurrent_intents_share_commits(tmp_path: Path) -> None:
    store, j = _open(tmp_path / "s.db")

    async def run() -> None:
        futures = [j.save_intents(journal(limit_order(), key=f"k{i}")) for i in range(64)]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))

    asyncio.run(run())
    assert len(j.load().result().entries) == 64
    assert store.stats.commits < 64  # group commit: some calls shared a transaction
    store.close_blocking()


def test_fill_dedup_is_durable_and_events_are_bounded(tmp_path: Path) -> None:
    store, j = _open(tmp_path / "s.db", max_events=5)
    assert j.record_fills([("e1", "r", 1.0), ("e2", "r", 2.0)]).result() == ("e1", "e2")
    assert j.record_fills([("e2", "r", 2.0), ("e3", "r", 3.0)]).result() == ("e3",)
    events = [StoredOrderEvent(i, float(i), "r", "FILL", {"n": i}) for i in range(1, 13)]
    j.append_events(events).result()
    store.close_blocking()
    store, j = _open(tmp_path / "s.db", max_events=5)
    snap = j.load().result()
    assert snap.reported_exec_ids == {"e1", "e2", "e3"}
    assert snap.last_sequence == 12
    kept = j.load_events().result()
    assert [e.sequence for e in kept] == [8, 9, 10, 11, 12]
    assert kept[-1].body == {"n": 12}
    assert [e.sequence for e in j.load_events(10).result()] == [11, 12]
    store.close_blocking()


def test_finished_orders_are_bounded(tmp_path: Path) -> None:
    store, j = _open(tmp_path / "s.db", max_finished=3)
    for i in range(6):
        (entry,) = journal(limit_order(), key=f"k{i}", now=NOW + i)
        j.save_intents([entry]).result()
        done, _ = advance(entry, OrderState.REJECTED, "201", now=NOW + i)
        j.save_entries([done]).result()
    (live,) = journal(limit_order(), key="live")
    j.save_intents([live]).result()
    keys = sorted(e.key for e in j.load().result().entries)
    assert keys == ["k3", "k4", "k5", "live"]
    store.close_blocking()


CHILD = textwrap.dedent(
    """
    import sys, time
    from broker_server.store.order_journal import SqliteOrderJournal
    from broker_server.store.sqlite import SqliteStore
    from tests.trading.helpers import journal, limit_order
    store = SqliteStore(sys.argv[1]); store.open_blocking()
    j = SqliteOrderJournal(store)
    for i in range(int(sys.argv[2])):
        j.save_intents(journal(limit_order(), key=f"k{i}", client_id=101)).result()
        print(f"acked k{i}", flush=True)
    time.sleep(60)
    """
)


def test_acknowledged_intents_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), "20"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    acked = [proc.stdout.readline().strip() for _ in range(20)]
    assert acked[-1] == "acked k19"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    store, j = _open(path)
    snap = j.load().result()
    assert sorted(e.key for e in snap.entries) == sorted(a.split()[1] for a in acked)
    assert all(e.state is OrderState.PENDING for e in snap.entries)
    assert dict(snap.high_water)[OrderIdScope("paper", 101)] >= 1
    store.close_blocking()
