"""Exclusive ownership of an SQLite store: a second store, or a second broker process, on a file
a live broker owns is refused before it reads or writes a row; the owner's dying frees it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as pb_grpc
from broker_server.store.base import StoreOwnedError
from broker_server.store.ownership import lock_path
from broker_server.store.sqlite import SqliteStore
from tests.conftest import free_port
from tests.server.helpers import broker_process
from tests.store.helpers import lease, rows

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_store_on_an_owned_file_is_refused_and_the_first_keeps_working(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    first = SqliteStore(path)
    first.open_blocking()
    first.save_acquire(lease(1)).result()
    second = SqliteStore(path)
    with pytest.raises(StoreOwnedError, match=r"owned by another live broker \(pid \d+"):
        second.open_blocking()
    first.save_acquire(lease(2)).result()  # untouched by the refusal
    first.close_blocking()
    again = SqliteStore(path)  # a clean close frees it
    again.open_blocking()
    assert sorted(x.client_id for x in again.load_live_leases().result()) == [1, 2]
    again.close_blocking()


def test_a_killed_owner_frees_the_store(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from broker_server.store.sqlite import SqliteStore\n"
         "s = SqliteStore(sys.argv[1]); s.open_blocking(); print('open', flush=True)\n"
         "sys.stdin.read()",
         str(path)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        with pytest.raises(StoreOwnedError, match=f"pid {holder.pid}"):
            SqliteStore(path).open_blocking()
    finally:
        holder.kill()
        holder.wait(15)
    store = SqliteStore(path)  # the kernel dropped the dead owner's lock
    store.open_blocking()
    store.close_blocking()


def test_a_second_broker_process_exits_with_one_line_and_the_live_lease_is_untouched(
    tmp_path: Path,
) -> None:
    store = tmp_path / "s.sqlite3"
    args = ["serve", "--sim", "--listen", f"127.0.0.1:{free_port()}", "--store", str(store)]
    with broker_process(args) as (proc, address, _tail):
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.LeaseServiceStub(channel)
            held = stub.AcquireLease(pb.AcquireLeaseRequest(owner="a"), timeout=10).lease
            stored = rows(store, "SELECT lease_id, state, expire_time FROM leases")
            second = subprocess.run(
                [sys.executable, "-m", "broker_server", "serve", "--sim",
                 "--listen", f"127.0.0.1:{free_port()}", "--store", str(store)],
                capture_output=True, text=True, timeout=60, cwd=ROOT,
            )  # fmt: skip
            assert second.returncode == 1
            refusal = [line for line in second.stderr.splitlines() if line.startswith("ibbroker:")]
            assert refusal == [
                f"ibbroker: store: {store}: owned by another live broker (pid {proc.pid}, lock "
                f"{lock_path(store)}); this broker touched nothing"
            ], second.stderr
            again = stub.GetLease(pb.GetLeaseRequest(lease_id=held.lease_id), timeout=10).lease
            assert again.expire_time == held.expire_time
            assert again.state == held.state
            assert rows(store, "SELECT lease_id, state, expire_time FROM leases") == stored
        assert proc.poll() is None
