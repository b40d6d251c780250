"""Fan-out of sequenced events to many watchers, with resume and slow-watcher coalescing.

One :class:`EventHub` per stream kind (connection state, health, leases). ``publish`` stamps each event
with the next sequence number, keeps the last ``retain`` events for resuming watchers and puts
the event into every watcher's bounded queue without awaiting, so publishing never blocks the
event loop. A watcher whose queue is full is *coalesced*: its queue is emptied and its next read
returns a fresh snapshot of the current state (which supersedes everything it missed), then it
continues live.

A watcher first receives the snapshot (or, resuming after a sequence number the hub still
retains, the events after it), then every later event. :meth:`EventHub.close` ends every
stream after one final event.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

E = TypeVar("E")

_CLOSED = object()
_COALESCED = object()


@dataclass(eq=False)
class _Watcher(Generic[E]):
    queue: asyncio.Queue[object]
    coalesced: bool = False


class EventHub(Generic[E]):
    """Sequenced publish/subscribe with a bounded queue per watcher.

    ``snapshot(sequence)`` builds the events describing the current state (stamped with the
    current sequence number); ``final(sequence)`` builds the last event sent on close.
    """

    def __init__(
        self,
        snapshot: Callable[[int], list[E]],
        *,
        queue_size: int = 256,
        retain: int = 1024,
        first_sequence: int = 0,
    ) -> None:
        self._snapshot = snapshot
        self._queue_size = queue_size
        self._retained: collections.deque[tuple[int, E]] = collections.deque(maxlen=retain)
        self._watchers: set[_Watcher[E]] = set()
        # Seeding from the wall clock (ms) keeps sequences increasing across broker restarts,
        # so a client resuming with a sequence from an earlier process gets a snapshot.
        self._sequence = first_sequence
        self._closed = False
        self.coalesced_total = 0

    @property
    def sequence(self) -> int:
        """The sequence number of the last published event."""
        return self._sequence

    def continue_after(self, sequence: int) -> None:
        """Number the next events after ``sequence`` when it is above the current number (the
        last sequence a store holds: a clock stepped back, or another broker's clock behind
        after a failover, never reuses or goes below a number already stored). Only before the
        first event is published."""
        if sequence > self._sequence:
            self._sequence = sequence

    @property
    def watcher_count(self) -> int:
        """How many watchers are subscribed."""
        return len(self._watchers)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def publish(self, build: Callable[[int], E]) -> E:
        """Stamp the next sequence number via ``build(sequence)`` and deliver the event."""
        self._sequence += 1
        event = build(self._sequence)
        self._retained.append((self._sequence, event))
        for watcher in self._watchers:
            self._offer(watcher, event)
        return event

    def _offer(self, watcher: _Watcher[E], event: object) -> None:
        if watcher.coalesced:
            return  # its next read is a fresh snapshot that already includes this event
        if watcher.queue.qsize() < self._queue_size:
            watcher.queue.put_nowait(event)
            return
        # Dropping the backlog is safe: a snapshot supersedes every event in it.
        while not watcher.queue.empty():
            watcher.queue.get_nowait()
        watcher.coalesced = True
        self.coalesced_total += 1
        watcher.queue.put_nowait(_COALESCED)

    def close(self, final: Callable[[int], E] | None = None) -> None:
        """Send ``final`` (if given) to every watcher, then end every stream."""
        if self._closed:
            return
        self._closed = True
        event = None
        if final is not None:
            self._sequence += 1
            event = final(self._sequence)
        for watcher in self._watchers:
            # The queues are unbounded underneath (the bound is enforced in _offer), so the
            # final event and the end marker are never dropped.
            if event is not None:
                watcher.queue.put_nowait(event)
            watcher.queue.put_nowait(_CLOSED)

    async def subscribe(self, after_sequence: int = 0) -> AsyncGenerator[E, None]:
        """Yield the snapshot (or the retained events after ``after_sequence``), then live events."""
        watcher: _Watcher[E] = _Watcher(asyncio.Queue())
        if self._closed:
            return
        self._watchers.add(watcher)
        try:
            for event in self._initial(after_sequence):
                yield event
            while True:
                item = await watcher.queue.get()
                if item is _CLOSED:
                    return
                if item is _COALESCED:
                    watcher.coalesced = False
                    if self._closed:
                        continue  # the final event and the end marker follow
                    for event in self._snapshot(self._sequence):
                        yield event
                    continue
                yield item  # type: ignore[misc]
        finally:
            self._watchers.discard(watcher)

    def _initial(self, after_sequence: int) -> list[E]:
        if after_sequence and self._retained and self._retained[0][0] <= after_sequence + 1:
            if after_sequence <= self._sequence:
                return [event for seq, event in self._retained if seq > after_sequence]
        return self._snapshot(self._sequence)
