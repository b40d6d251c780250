"""BrokerClientSync's watches: the async resumable iterators run on a thread, read with a plain
``for`` loop, against a real broker with its simulator; errors reach the reader's thread, and
closing ends the stream and its thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broker_client import BrokerClientSync, GatewayUnknownError
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import lease_pb2
from tests.support.threaded_broker import ThreadedBroker, threaded_broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[ThreadedBroker]:
    with threaded_broker(tmp_path / "store.sqlite3") as running:
        yield running


def watch_threads() -> int:
    return sum(t.name == "ibbroker-watch" and t.is_alive() for t in threading.enumerate())


def test_a_blocking_watch_sees_a_drop_and_the_reconnect(broker: ThreadedBroker) -> None:
    with BrokerClientSync(broker.address) as client:
        states = []
        with client.watch_connection_state("paper") as events:
            for event in events:
                if event.session != "paper/monitor":
                    continue
                states.append(event.state)
                if event.kind == pb.EVENT_KIND_SNAPSHOT:
                    assert event.state == pb.CONNECTION_STATE_CONNECTED
                    broker.call(lambda: broker.broker.sim.drop_clients(None, rst=False))  # type: ignore[union-attr]
                elif event.state == pb.CONNECTION_STATE_CONNECTED:
                    break
        assert states[1] == pb.CONNECTION_STATE_RECONNECTING, states
        assert states[-1] == pb.CONNECTION_STATE_CONNECTED
    assert watch_threads() == 0


def test_lease_events_and_health_through_the_blocking_client(broker: ThreadedBroker) -> None:
    with BrokerClientSync(broker.address) as client:
        with client.watch_health("paper") as health:
            first = next(iter(health))
            assert first.kind == pb.EVENT_KIND_SNAPSHOT and first.status == pb.HEALTH_STATUS_HEALTHY
        with client.watch_leases("paper", owner="sync-watcher") as events:
            kinds = [next(events).kind]  # an empty snapshot: just its end marker
            with client.lease(owner="sync-watcher", ttl=30) as held:
                for event in events:
                    kinds.append(event.kind)
                    if event.kind == lease_pb2.LEASE_EVENT_KIND_ACQUIRED:
                        assert event.client_id == held.client_id
                        break
        assert kinds == [
            lease_pb2.LEASE_EVENT_KIND_SNAPSHOT_END,
            lease_pb2.LEASE_EVENT_KIND_ACQUIRED,
        ]
    assert watch_threads() == 0


def test_an_error_of_the_stream_is_raised_on_the_readers_thread(broker: ThreadedBroker) -> None:
    with BrokerClientSync(broker.address) as client:
        events = client.watch_connection_state("nope")
        with pytest.raises(GatewayUnknownError):
            next(events)
        with pytest.raises(StopIteration):  # and then it is over
            next(events)
    assert watch_threads() == 0


def test_a_slow_reader_holds_the_stream_back_and_close_ends_it() -> None:
    from broker_client.channel import aio_channel
    from broker_client.sync_watch import QUEUE_SIZE, SyncWatch

    produced: list[int] = []
    blocked = threading.Event()

    async def numbers(_channel: object) -> Any:
        for n in range(QUEUE_SIZE * 4):
            produced.append(n)
            if len(produced) == QUEUE_SIZE + 1:
                blocked.set()  # the queue is full: this one waits for the reader
            yield n

    # The channel is never used by this stream (it connects lazily, so no broker is needed).
    watch: SyncWatch[int] = SyncWatch(lambda: aio_channel("127.0.0.1:1"), numbers)
    assert blocked.wait(10)
    assert len(produced) <= QUEUE_SIZE + 2  # bounded: not the whole stream
    got = [next(watch) for _ in range(QUEUE_SIZE * 2)]
    assert got == list(range(QUEUE_SIZE * 2))  # in order, nothing lost
    watch.close()
    assert watch_threads() == 0
    with pytest.raises(StopIteration):
        next(watch)
    assert len(produced) < QUEUE_SIZE * 4  # the rest was never produced
