"""``kill -9`` a process writing through the store with group commit: every write it
acknowledged is in the file afterwards, and the file is intact.

The writer is a separate process (16 threads doing acquire+end pairs, so commits are shared); it
prints one line per acknowledged call, flushed, only after the call's future resolved. The test
SIGKILLs it mid-load and reads the file with a fresh connection.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from broker_server.store.sqlite import SqliteStore
from tests.store.helpers import rows

ROOT = Path(__file__).resolve().parents[2]
ACKED_BEFORE_KILL = 400
LOAD_TIMEOUT = 30.0

WRITER = r"""
import sys, threading
from broker_server.store.sqlite import SqliteStore
from tests.store.helpers import ended, lease

store = SqliteStore(sys.argv[1])
store.open_blocking()
out = threading.Lock()

def ack(kind, record):
    with out:
        sys.stdout.write(f"{kind} {record.lease_id}\n")
        sys.stdout.flush()

def worker(n):
    for i in range(100_000):  # bounded; the test kills the process long before
        held = lease(100 + n, epoch=i + 1, at=1000.0 + i)
        store.save_acquire(held).result()
        ack("acquired", held)
        done, quarantine = ended(held, 1000.5 + i)
        store.save_end(done, quarantine).result()
        ack("released", held)

threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


def test_a_sigkill_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "leases.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    acked: list[tuple[str, str]] = []
    enough = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            kind, lease_id = line.split()
            acked.append((kind, lease_id))
            if len(acked) >= ACKED_BEFORE_KILL:
                enough.set()
        enough.set()  # the writer died on its own: the assertions below say so

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert enough.wait(LOAD_TIMEOUT), f"only {len(acked)} acknowledgements"
        assert proc.poll() is None, "the writer exited before the kill"
        proc.send_signal(signal.SIGKILL)  # mid-load: commits are in flight
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=15)
    reader.join(timeout=15)
    assert proc.returncode == -signal.SIGKILL
    seen = {lease_id: state for lease_id, state in rows(path, "SELECT lease_id, state FROM leases")}
    for kind, lease_id in acked:
        assert lease_id in seen, f"acknowledged {kind} of {lease_id} lost"
        if kind == "released":
            assert seen[lease_id] == "RELEASED", f"acknowledged release of {lease_id} lost"
    # At most one live holder per ID survived, and the store reopens cleanly (quick_check).
    live = rows(path, "SELECT client_id, count(*) FROM leases WHERE state = 'ACTIVE' GROUP BY 1")
    assert all(count == 1 for _id, count in live)
    store = SqliteStore(path)
    store.open_blocking()
    store.close_blocking()
