"""``kill -9`` the broker under load and restart it on the same store: every acknowledged lease is
back with its client ID and epoch, and no client ID is held twice.

The broker runs as a separate process through the real CLI:
``python -m broker_server serve --sim --listen 127.0.0.1:0 --store PATH``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 16
ACKED_BEFORE_KILL = 24
LOAD_TIMEOUT = 15.0
MAX_ROUNDS = 2_000
"""Acquire rounds per worker at most: the load is bounded in count as well as in time."""


class BrokerProcess:
    """The broker CLI in a child process; its JSON log on stderr gives the listening address."""

    def __init__(self, store: Path, extra: list[str] | None = None) -> None:
        self.store = store
        self.extra = extra or []
        self.proc: asyncio.subprocess.Process | None = None
        self.address = ""
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("IBBROKER_STORE", None)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "broker_server", "serve", "--sim",
            "--listen", "127.0.0.1:0", "--store", str(self.store), *self.extra,
            cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        listening: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(listening))
        self.address = await asyncio.wait_for(listening, timeout=20)

    async def _read(self, listening: asyncio.Future[str]) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for raw in self.proc.stderr:
            line = raw.decode(errors="replace").strip()
            self.lines.append(line)
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if record.get("event") == "grpc_listening" and not listening.done():
                    listening.set_result(record["address"])
        if not listening.done():
            listening.set_exception(RuntimeError("broker exited:\n" + "\n".join(self.lines[-20:])))

    async def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        await asyncio.wait_for(self.proc.wait(), timeout=15)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, timeout=5)


@contextlib.asynccontextmanager
async def stub_for(address: str) -> AsyncIterator[lease_service_pb2_grpc.LeaseServiceStub]:
    async with grpc.aio.insecure_channel(address) as channel:
        yield lease_service_pb2_grpc.LeaseServiceStub(channel)


@pytest.mark.slow
async def test_every_acknowledged_lease_survives_sigkill(tmp_path: Path) -> None:
    store = tmp_path / "var" / "leases.sqlite3"
    broker = BrokerProcess(store)
    await broker.start()
    acked: dict[str, tuple[int, int, str]] = {}  # lease_id -> (client_id, epoch, owner)
    released: set[str] = set()
    releasing: set[str] = set()  # release sent, not acknowledged: either outcome is fine
    enough = asyncio.Event()
    counts = {"acquire": 0, "renew": 0, "release": 0, "exhausted": 0, "failed": 0}

    async def worker(n: int, stub: lease_service_pb2_grpc.LeaseServiceStub) -> None:
        owner = f"w{n}"
        for i in range(1, MAX_ROUNDS + 1):
            try:
                lease = (
                    await stub.AcquireLease(
                        pb.AcquireLeaseRequest(owner=owner, request_id=f"{owner}-{i}"), timeout=5
                    )
                ).lease
            except grpc.aio.AioRpcError as err:
                if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    counts["exhausted"] += 1
                    if enough.is_set():
                        return
                    continue
                counts["failed"] += 1
                return  # the broker is gone
            acked[lease.lease_id] = (lease.client_id, lease.epoch, owner)
            counts["acquire"] += 1
            if len(acked) >= ACKED_BEFORE_KILL:
                enough.set()
            try:
                await stub.RenewLease(
                    pb.RenewLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner=owner),
                    timeout=5,
                )
                counts["renew"] += 1
                if i % 2:
                    releasing.add(lease.lease_id)
                    await stub.ReleaseLease(
                        pb.ReleaseLeaseRequest(
                            lease_id=lease.lease_id, epoch=lease.epoch, owner=owner
                        ),
                        timeout=5,
                    )
                    released.add(lease.lease_id)
                    counts["release"] += 1
            except grpc.aio.AioRpcError:
                counts["failed"] += 1
                return

    async with stub_for(broker.address) as stub:
        workers = [asyncio.create_task(worker(n, stub)) for n in range(WORKERS)]
        try:
            await asyncio.wait_for(enough.wait(), timeout=LOAD_TIMEOUT)
            await broker.kill(signal.SIGKILL)  # mid-load: calls are in flight
            await asyncio.wait_for(asyncio.gather(*workers), timeout=15)
        finally:
            for task in workers:
                task.cancel()
    assert counts["acquire"] >= ACKED_BEFORE_KILL, counts
    print("load before the kill:", counts, "in flight releases:", len(releasing - released))

    restarted = BrokerProcess(store)
    await restarted.start()
    try:
        async with stub_for(restarted.address) as stub:
            listed = (await stub.ListLeases(pb.ListLeasesRequest(), timeout=5)).leases
            back = {lease.lease_id: (lease.client_id, lease.epoch, lease.owner) for lease in listed}
            client_ids = [lease.client_id for lease in listed]
            assert len(client_ids) == len(set(client_ids)), "a client ID is held twice"
            must_be_back = {
                lid: v for lid, v in acked.items() if lid not in released and lid not in releasing
            }
            assert must_be_back, counts
            for lease_id, expected in must_be_back.items():
                assert back.get(lease_id) == expected, (lease_id, expected, counts)
            for lease_id in released:
                assert lease_id not in back
            # The time the broker was down does not count: the leases (30 s TTL, taken in the
            # last seconds before the kill) have nearly all of their TTL left.
            assert all(lease.expire_time.seconds >= time.time() + 25 for lease in listed)
            # The owners keep renewing with the epochs they hold.
            lease_id, (_, epoch, owner) = next(iter(must_be_back.items()))
            await stub.RenewLease(
                pb.RenewLeaseRequest(lease_id=lease_id, epoch=epoch, owner=owner), timeout=5
            )
    finally:
        await restarted.kill(signal.SIGTERM)
