"""Following the leading broker among several addresses: which address to call, and when to move.

Brokers that share one PostgreSQL store elect a leader; a standby answers every call
``UNAVAILABLE`` with reason ``NOT_LEADER`` and the leader's address in the ``leader_address``
metadata (docs/store.md). A client given several addresses keeps one *current* address, shared
by every call and watch of the client, and moves it:

- ``NOT_LEADER`` with a ``leader_address`` that is one of the addresses (or any address, with
  ``follow_unlisted``): to that address, unless it failed to answer in the last ``down_for``
  seconds (a standby still names the dead leader until it takes over): then as below;
- ``UNAVAILABLE`` without a reason (connect failure, broker gone), ``SHUTTING_DOWN``,
  ``NOT_LEADER`` without a usable address, ``DEADLINE_EXCEEDED`` (a stopped or partitioned
  broker holds calls until their deadline): to the next address in list order that has not
  failed in the last ``down_for`` seconds (when all have: it stays on an address that answered
  NOT_LEADER, which is alive and may take over, else it takes the next one in any case).

Any other answer says nothing about where the leader is and moves nothing.

:class:`Router` is that decision, pure and thread-safe (no I/O, an injected clock).
:func:`route` runs one call step of a plan (:mod:`broker_client.plans`) over the router: a call
that is safe to repeat (``Call.repeatable``) is sent again at once to an address it has not
tried yet, within the step's own deadline; the answer it ends with goes to the plan, whose
retry policy (backoff, attempts) decides what follows. :class:`Targets` holds one channel per
address, opened on first use with the client's channel settings.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import grpc

from broker_client.errors import BrokerError

log = logging.getLogger("ibbroker.client.failover")

C = TypeVar("C")

MOVE_REASONS = frozenset({"", "SHUTTING_DOWN", "NOT_LEADER"})
"""UNAVAILABLE reasons that say this address is not (or no longer) the one to call."""

MIN_RESEND = 0.05
"""Seconds a re-sent call needs at least; with less of the step's deadline left, the step ends."""


def addresses_of(target: str | Sequence[str]) -> tuple[str, ...]:
    """The addresses of ``"host:port"``, ``"a:1,b:2"`` or a sequence of them, in order, once each."""
    parts = target.split(",") if isinstance(target, str) else list(target)
    seen: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise TypeError(f"a broker address is a 'host:port' string, not {part!r}")
        address = part.strip()
        if address and address not in seen:
            seen.append(address)
    if not seen:
        raise ValueError("at least one broker address (host:port) is needed")
    return tuple(seen)


@dataclass(frozen=True)
class Switch:
    """One move of a router's current address."""

    old: str
    new: str
    why: str


class Router:
    """The address a client calls now, and the rule that moves it (see the module docstring)."""

    def __init__(
        self,
        addresses: str | Sequence[str],
        *,
        follow_unlisted: bool = False,
        down_for: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._addresses = list(addresses_of(addresses))
        self.follow_unlisted = follow_unlisted
        """Follow a ``leader_address`` that is not one of the addresses (it is then added)."""
        self.down_for = down_for
        """Seconds an address that failed to answer is not moved to on a hint or in rotation."""
        self._clock = clock
        self._current = self._addresses[0]
        self._down: dict[str, float] = {}
        self._lock = threading.RLock()  # a listener may read the router
        self.switches: list[Switch] = []
        """Every move so far (oldest first; the last 100)."""
        self.listeners: list[Callable[[Switch], None]] = []
        """Called with each :class:`Switch` (on the thread of the call that moved it)."""

    @property
    def addresses(self) -> tuple[str, ...]:
        """The addresses in order (a followed unlisted leader is appended)."""
        with self._lock:
            return tuple(self._addresses)

    @property
    def current(self) -> str:
        """The address calls go to now."""
        with self._lock:
            return self._current

    def answered(self, address: str) -> None:
        """``address`` answered a call (any answer but a failure to reach it)."""
        with self._lock:
            self._down.pop(address, None)

    def failed(self, error: BrokerError, at: str) -> str:
        """A call to ``at`` failed with ``error``; returns the address to call next (the
        current one when the error says nothing about where to go)."""
        reason = error.reason
        moves = error.code == grpc.StatusCode.DEADLINE_EXCEEDED or (
            error.code == grpc.StatusCode.UNAVAILABLE and reason in MOVE_REASONS
        )
        with self._lock:
            if not moves or at != self._current:
                # Nothing to learn, or another call already moved on: go where it went.
                return self._current
            now = self._clock()
            if reason != "NOT_LEADER":
                self._down[at] = now  # it did not answer (or is going away)
            hint = error.metadata.get("leader_address", "") if reason == "NOT_LEADER" else ""
            if hint and hint != at and self._usable(hint, now):
                if hint not in self._addresses:
                    if not self.follow_unlisted:
                        log.warning(
                            "broker %s says the leader is %s, which is not in the addresses "
                            "%s; not following it (follow_unlisted=False)",
                            at,
                            hint,
                            ",".join(self._addresses),
                        )
                        return self._rotate(at, now, "not the leader")
                    self._addresses.append(hint)
                return self._move(hint, f"{at} is not the leader; it names {hint}")
            why = {
                "NOT_LEADER": "not the leader",
                "SHUTTING_DOWN": "shutting down",
            }.get(reason, "no answer" if reason == "" else reason.lower())
            if error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                why = "deadline exceeded"
            return self._rotate(at, now, why)

    def _usable(self, address: str, now: float) -> bool:
        down = self._down.get(address)
        return down is None or now - down >= self.down_for

    def _rotate(self, at: str, now: float, why: str) -> str:
        count = len(self._addresses)
        start = self._addresses.index(at) if at in self._addresses else -1
        order = [self._addresses[(start + i) % count] for i in range(1, count + 1)]
        usable = [a for a in order if a != at and self._usable(a, now)]
        # Every other address failed lately: stay where an answer came from (a standby that
        # answered NOT_LEADER is alive and may be the next leader), else keep rotating.
        fallback = at if self._usable(at, now) else order[0]
        target = usable[0] if usable else fallback
        if target == at:
            return at
        return self._move(target, f"{at}: {why}")

    def _move(self, address: str, why: str) -> str:
        switch = Switch(self._current, address, why)
        self._current = address
        self.switches = [*self.switches[-99:], switch]
        log.info("broker address %s -> %s (%s)", switch.old, switch.new, why)
        for listener in list(self.listeners):
            try:
                listener(switch)
            except Exception:  # a listener must not break the call that moved
                log.exception("router listener %r failed", listener)
        return address


# --- one call step over the router -------------------------------------------------------------

Attempt = tuple[str, float]
"""(address, timeout in seconds): send the step's call there with that deadline."""


def route(
    router: Router,
    timeout: float,
    repeatable: bool,
    clock: Callable[[], float] = time.monotonic,
) -> Generator[Attempt, Any, Any]:
    """Send one call step: yields ``(address, timeout)`` and receives the answer (a response or
    a :class:`BrokerError`); returns the answer the step ends with.

    A failure that moves the router (see :meth:`Router.failed`) is sent again at once to the
    new address when the call is ``repeatable``, that address was not tried in this step, and
    at least :data:`MIN_RESEND` seconds of the step's ``timeout`` are left; each send has what
    is left of it as its deadline. Otherwise the failure is the step's answer (the router has
    moved, so the plan's next attempt goes to the new address)."""
    deadline = clock() + timeout
    address = router.current
    tried: set[str] = set()
    while True:
        tried.add(address)
        answer = yield address, max(deadline - clock(), 0.0)
        if not isinstance(answer, BrokerError):
            router.answered(address)
            return answer
        moved = router.failed(answer, address)
        if answer.code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            router.answered(address)
        if not repeatable or moved in tried or deadline - clock() < MIN_RESEND:
            return answer
        address = moved


class Targets(Generic[C]):
    """A :class:`Router` and one channel per address, opened on first use by ``open_channel``.

    ``stub(StubClass)`` is the generated stub on the current address's channel. Stubs are cached
    per (class, address)."""

    def __init__(self, router: Router, open_channel: Callable[[str], C]) -> None:
        self.router = router
        self._open = open_channel
        self._channels: dict[str, C] = {}
        self._stubs: dict[tuple[Any, str], Any] = {}
        self._lock = threading.Lock()

    def channel(self, address: str | None = None) -> C:
        """The channel to ``address`` (default: the current one), opened on first use."""
        address = address or self.router.current
        with self._lock:
            channel = self._channels.get(address)
            if channel is None:
                channel = self._channels[address] = self._open(address)
            return channel

    def stub(self, stub_class: Callable[[C], Any], address: str | None = None) -> Any:
        """``stub_class`` on the channel to ``address`` (default: the current one)."""
        address = address or self.router.current
        key = (stub_class, address)
        with self._lock:
            found = self._stubs.get(key)
        if found is None:
            found = stub_class(self.channel(address))
            with self._lock:
                self._stubs[key] = found
        return found

    def opened(self) -> list[C]:
        """The channels opened so far."""
        with self._lock:
            return list(self._channels.values())

    def forget(self) -> list[C]:
        """Drop every channel and stub (for closing); returns the channels."""
        with self._lock:
            channels = list(self._channels.values())
            self._channels.clear()
            self._stubs.clear()
            return channels

    def close(self) -> None:
        """Close every blocking channel opened."""
        for channel in self.forget():
            cast(Any, channel).close()

    async def aclose(self) -> None:
        """Close every ``grpc.aio`` channel opened."""
        for channel in self.forget():
            await cast(Any, channel).close()

    async def __aenter__(self) -> Targets[C]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class Stubs:
    """Several generated stubs behind one object (method names are unique across services)."""

    def __init__(self, *stubs: Any) -> None:
        self._stubs = stubs

    def __getattr__(self, name: str) -> Any:
        for stub in self._stubs:
            if hasattr(stub, name):
                return getattr(stub, name)
        raise AttributeError(name)


class Routed:
    """What a plan driver (:func:`broker_client.plans.run_async`) calls when a client has a
    router: the stubs of ``stub_classes`` on whichever address :func:`route` picks."""

    def __init__(self, targets: Targets[Any], *stub_classes: Callable[[Any], Any]) -> None:
        self.targets = targets
        self._classes = stub_classes

    @property
    def router(self) -> Router:
        return self.targets.router

    def at(self, address: str) -> Stubs:
        """The stubs on ``address``."""
        return Stubs(*(self.targets.stub(c, address) for c in self._classes))


class StreamMethod:
    """A server-streaming stub method on the current address, called like a bound method; a
    watch (:func:`broker_client.watch.resumable`) reopens it wherever the router points and
    reports each break with :meth:`failed`."""

    def __init__(self, targets: Targets[Any], stub_class: Callable[[Any], Any], name: str) -> None:
        self.targets, self._class, self._name = targets, stub_class, name
        self.address = ""
        """Where the last stream was opened."""

    def __call__(self, request: Any, **kwargs: Any) -> Any:
        self.address = self.targets.router.current
        return getattr(self.targets.stub(self._class, self.address), self._name)(request, **kwargs)

    def failed(self, error: BrokerError) -> str:
        """The stream opened at :attr:`address` broke with ``error``: where to reopen it."""
        return self.targets.router.failed(error, self.address)


__all__ = [
    "MIN_RESEND",
    "Routed",
    "Router",
    "StreamMethod",
    "Stubs",
    "Switch",
    "Targets",
    "addresses_of",
    "route",
]
