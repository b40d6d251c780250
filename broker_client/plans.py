"""Client logic written once for async and blocking code: *plans* and their two drivers.

A plan is a generator that yields :class:`Call` and :class:`Sleep` steps and receives each
call's answer: the response, or the typed :class:`~broker_client.errors.BrokerError` of the
failure. It decides what to call, how long to wait and when to retry, and does no I/O itself.
:func:`run_async` runs a plan with ``await`` on a ``grpc.aio`` stub and ``asyncio.sleep``;
:func:`run_sync` on a blocking stub with ``threading.Event.wait``. Tests run plans with a
scripted clock, or drive :func:`run_sync` through ``grpc_testing``.

:func:`unary_plan` is the retry of one unary call; the lease holder's plans are in
:mod:`broker_client.fencing`.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from broker_client.errors import BrokerError
from broker_client.failover import Routed, route


@dataclass(frozen=True)
class Call:
    """Step of a plan: call ``method`` of the broker's stub with ``request``."""

    method: str
    """A method name of the generated stubs (unique across the broker's services)."""
    request: Any
    timeout: float
    """The call's deadline in seconds (with several broker addresses: for the whole step,
    re-sends to another address included)."""
    metadata: tuple[tuple[str, str], ...] = ()
    repeatable: bool = False
    """Safe to send again (a read, or a write with an idempotency key): with several broker
    addresses it is re-sent at once to the one a failure points at (:mod:`broker_client.failover`)."""


@dataclass(frozen=True)
class Sleep:
    """Step of a plan: wait ``seconds`` (a holder being closed may end the plan instead)."""

    seconds: float


Step = Call | Sleep
Plan = Generator[Step, Any, Any]
"""A plan yields steps; a Call step is answered with the response or a :class:`BrokerError`."""


RETRY_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})
"""Codes after which a call that is safe to repeat is repeated. CANCELLED from the other side: a
server that stops cancels the calls in flight (a plan's own calls end by task cancellation)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How calls that are safe to repeat are retried on UNAVAILABLE."""

    attempts: int = 4
    """Calls at most, the first included (1: never retry)."""
    initial_backoff: float = 0.1
    """Ceiling of the first delay in seconds (full jitter); doubles per retry."""
    max_backoff: float = 2.0
    """Largest delay in seconds, also for a longer ``retry_delay`` from the broker."""
    rng: random.Random = field(default_factory=random.Random, compare=False)
    """The jitter's random source."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")


def unary_plan(
    method: str,
    request: Any,
    *,
    timeout: float,
    retry: RetryPolicy,
    safe_to_repeat: bool,
    metadata: Sequence[tuple[str, str]] = (),
) -> Plan:
    """One unary call with a deadline; repeated on UNAVAILABLE or CANCELLED (waiting the broker's
    ``retry_delay``, else a jittered backoff) only when ``safe_to_repeat``: a read, or a write
    carrying an idempotency key. Returns the response; raises the last error."""
    attempts = retry.attempts if safe_to_repeat else 1
    ceiling = retry.initial_backoff
    for attempt in range(1, attempts + 1):
        answer = yield Call(method, request, timeout, tuple(metadata), safe_to_repeat)
        if not isinstance(answer, BrokerError):
            return answer
        if answer.code not in RETRY_CODES or attempt == attempts:
            raise answer
        delay = answer.retry_delay
        if delay is None:
            delay = retry.rng.uniform(0, ceiling)
        yield Sleep(min(delay, retry.max_backoff))
        ceiling = min(ceiling * 2, retry.max_backoff)
    raise AssertionError("unreachable")  # pragma: no cover


async def _send_async(stub: Any, step: Call, deadline: float) -> Any:
    """``deadline``: the call's gRPC deadline in seconds from now."""
    try:
        return await getattr(stub, step.method)(
            step.request, timeout=deadline, metadata=step.metadata
        )
    except grpc.RpcError as err:
        return BrokerError.from_rpc_error(err)


def _send_sync(stub: Any, step: Call, timeout: float) -> Any:
    try:
        return getattr(stub, step.method)(step.request, timeout=timeout, metadata=step.metadata)
    except grpc.RpcError as err:
        return BrokerError.from_rpc_error(err)


async def call_async(stub: Any, step: Call) -> Any:
    """One Call step on an async stub, or over a :class:`~broker_client.failover.Routed`
    (following the leader among several addresses); the response or a :class:`BrokerError`."""
    if not isinstance(stub, Routed):
        return await _send_async(stub, step, step.timeout)
    attempts = route(stub.router, step.timeout, step.repeatable)
    try:
        address, timeout = next(attempts)
        while True:
            answer = await _send_async(stub.at(address), step, timeout)
            address, timeout = attempts.send(answer)
    except StopIteration as done:
        return done.value


def call_sync(stub: Any, step: Call) -> Any:
    """The blocking :func:`call_async`."""
    if not isinstance(stub, Routed):
        return _send_sync(stub, step, step.timeout)
    attempts = route(stub.router, step.timeout, step.repeatable)
    try:
        address, timeout = next(attempts)
        while True:
            answer = _send_sync(stub.at(address), step, timeout)
            address, timeout = attempts.send(answer)
    except StopIteration as done:
        return done.value


async def run_async(plan: Plan, stub: Any) -> Any:
    """Run a plan on an async stub (or a :class:`~broker_client.failover.Routed`); returns the
    plan's result."""
    try:
        step = next(plan)
        while True:
            answer: Any = None
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            else:
                answer = await call_async(stub, step)
            step = plan.send(answer)
    except StopIteration as done:
        return done.value
    finally:
        plan.close()


def run_sync(plan: Plan, stub: Any, stop: threading.Event | None = None) -> Any:
    """Run a plan on a blocking stub (or a :class:`~broker_client.failover.Routed`); ``stop``
    set during a Sleep step ends it (returns None)."""
    try:
        step = next(plan)
        while True:
            answer: Any = None
            if isinstance(step, Sleep):
                if stop is not None and stop.wait(step.seconds):
                    return None
                if stop is None:
                    time.sleep(step.seconds)
            else:
                answer = call_sync(stub, step)
            step = plan.send(answer)
    except StopIteration as done:
        return done.value
    finally:
        plan.close()


__all__ = [
    "Call",
    "Plan",
    "RetryPolicy",
    "Sleep",
    "Step",
    "call_async",
    "call_sync",
    "run_async",
    "run_sync",
    "unary_plan",
]
