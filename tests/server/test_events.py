"""EventHub: snapshot first, sequencing, resume, slow-watcher coalescing, final event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from broker_server.runtime.events import EventHub


@dataclass(frozen=True)
class Ev:
    seq: int
    value: str


class State:
    """A tiny stand-in for the connection manager's state: one value, snapshotted on demand."""

    def __init__(self) -> None:
        self.value = "A"
        self.hub: EventHub[Ev] = EventHub(
            lambda seq: [Ev(seq, f"snapshot:{self.value}")], queue_size=4
        )

    def set(self, value: str) -> Ev:
        self.value = value
        return self.hub.publish(lambda seq: Ev(seq, value))


async def take(it: AsyncIterator[Ev], n: int) -> list[Ev]:
    return [await asyncio.wait_for(it.__anext__(), 2) for _ in range(n)]


async def test_snapshot_first_then_changes_in_order() -> None:
    state = State()
    stream = state.hub.subscribe()
    first = await take(stream, 1)
    assert first == [Ev(0, "snapshot:A")]
    state.set("B")
    state.set("C")
    assert await take(stream, 2) == [Ev(1, "B"), Ev(2, "C")]
    await stream.aclose()
    assert state.hub.watcher_count == 0


async def test_resume_after_sequence_replays_retained_events() -> None:
    state = State()
    for v in "BCDE":
        state.set(v)
    stream = state.hub.subscribe(after_sequence=2)
    assert await take(stream, 2) == [Ev(3, "D"), Ev(4, "E")]
    await stream.aclose()


async def test_resume_with_unknown_sequence_gets_snapshot() -> None:
    state = State()
    state.set("B")
    stream = state.hub.subscribe(after_sequence=999)  # e.g. from an earlier broker process
    assert await take(stream, 1) == [Ev(1, "snapshot:B")]
    await stream.aclose()


async def test_slow_watcher_is_coalesced_and_never_blocks_others() -> None:
    state = State()
    slow = state.hub.subscribe()
    fast = state.hub.subscribe()
    await take(slow, 1)
    await take(fast, 1)
    seen_fast: list[Ev] = []
    for i in range(20):  # far more than queue_size=4, publishing never awaits
        state.set(f"v{i}")
        seen_fast.extend(await take(fast, 1))
    assert [e.value for e in seen_fast] == [f"v{i}" for i in range(20)]
    assert state.hub.coalesced_total == 1
    # The slow watcher gets the latest snapshot instead of its lost backlog.
    assert await take(slow, 1) == [Ev(20, "snapshot:v19")]
    state.set("after")
    assert await take(slow, 1) == [Ev(21, "after")]
    await slow.aclose()
    await fast.aclose()


async def test_close_sends_final_event_to_every_watcher() -> None:
    state = State()
    streams = [state.hub.subscribe() for _ in range(1000)]
    for s in streams:
        await take(s, 1)
    state.set("B")
    state.hub.close(lambda seq: Ev(seq, "final"))

    async def drain(s: AsyncIterator[Ev]) -> list[Ev]:
        return [e async for e in s]

    results = await asyncio.wait_for(asyncio.gather(*(drain(s) for s in streams)), 10)
    assert all(r == [Ev(1, "B"), Ev(2, "final")] for r in results)
    assert state.hub.watcher_count == 0
    late = [e async for e in state.hub.subscribe()]
    assert late == []
