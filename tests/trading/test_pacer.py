"""runtime/pacing.py: awaiting admission on the event loop, with an injected clock."""

from __future__ import annotations

import asyncio

import pytest

from broker_server.domain.clock import ManualClock, SystemClock
from broker_server.domain.errors import DomainError
from broker_server.domain.pacing import Lane, PacingGovernor
from broker_server.domain.reasons import FailureReason
from broker_server.runtime.pacing import SessionPacer


async def settle() -> None:
    """Let the pump and the waiters run (a bounded number of loop turns)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_waiters_go_when_the_clock_says_so() -> None:
    clock = ManualClock(monotonic=0.0)
    pacer = SessionPacer(PacingGovernor(limit=2, window=1.0), clock, name="paper/101")
    await pacer.acquire(Lane.READ, 5.0)
    await pacer.acquire(Lane.READ, 5.0)
    order = asyncio.create_task(pacer.acquire(Lane.ORDER, 5.0))
    cancel = asyncio.create_task(pacer.acquire(Lane.CANCEL, 5.0))
    await settle()
    assert not order.done() and not cancel.done()
    clock.advance(1.0)
    pacer.wake()
    await settle()
    assert order.done() and cancel.done()  # two tokens came back
    assert pacer.admitted == 4
    await pacer.close()


async def test_priority_on_the_loop() -> None:
    clock = ManualClock(monotonic=0.0)
    pacer = SessionPacer(PacingGovernor(limit=1, window=1.0), clock)
    await pacer.acquire(Lane.READ, 5.0)
    done: list[str] = []

    async def go(lane: Lane, label: str) -> None:
        await pacer.acquire(lane, 5.0)
        done.append(label)

    tasks = [
        asyncio.create_task(go(Lane.READ, "read")),
        asyncio.create_task(go(Lane.CANCEL, "cancel")),
    ]
    await settle()
    for _ in range(2):
        clock.advance(1.0)
        pacer.wake()
        await settle()
    await asyncio.gather(*tasks)
    assert done == ["cancel", "read"]
    await pacer.close()


async def test_refused_and_expired_are_pacing_errors(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(monotonic=0.0)
    pacer = SessionPacer(PacingGovernor(limit=1, window=1.0), clock)
    await pacer.acquire(Lane.READ, 5.0)
    with pytest.raises(DomainError) as refused:
        await pacer.acquire(Lane.READ, 0.5)
    assert refused.value.reason is FailureReason.PACING
    assert refused.value.retry_after == pytest.approx(1.0)
    read = asyncio.create_task(pacer.acquire(Lane.READ, 1.5))
    await settle()
    cancel = asyncio.create_task(pacer.acquire(Lane.CANCEL, 5.0))
    await settle()
    clock.advance(1.0)
    pacer.wake()
    await settle()
    assert cancel.done() and not read.done()
    clock.advance(0.5)
    pacer.wake()
    await settle()
    with pytest.raises(DomainError) as expired:
        await read
    assert expired.value.reason is FailureReason.PACING
    assert pacer.refused == 2
    logged = [r for r in caplog.records if r.getMessage() == "pacing_refused"]
    assert [r.fields["how"] for r in logged] == ["refused", "expired"]  # type: ignore[attr-defined]
    await pacer.close()


async def test_a_cancelled_caller_leaves_the_queue_and_close_fails_waiters() -> None:
    clock = ManualClock(monotonic=0.0)
    pacer = SessionPacer(PacingGovernor(limit=1, window=1.0), clock)
    await pacer.acquire(Lane.READ, 5.0)
    gone = asyncio.create_task(pacer.acquire(Lane.READ, 5.0))
    stays = asyncio.create_task(pacer.acquire(Lane.READ, 5.0))
    await settle()
    gone.cancel()
    await settle()
    assert pacer.governor.waiting() == 1
    await pacer.close()
    with pytest.raises(DomainError) as caught:
        await stays
    assert caught.value.reason is FailureReason.SHUTTING_DOWN
    with pytest.raises(DomainError):
        await pacer.acquire(Lane.READ, 1.0)


async def test_real_clock() -> None:
    """With the system clock (a short window so the test is fast) nine requests at a limit of
    three per window all go, and not before two windows have passed: the pump wakes itself."""
    clock = SystemClock()
    window = 0.05
    pacer = SessionPacer(PacingGovernor(limit=3, window=window), clock)
    start = clock.monotonic()
    async with asyncio.timeout(5.0):
        await asyncio.gather(*(pacer.acquire(Lane.READ, 2.0) for _ in range(9)))
    assert clock.monotonic() - start >= 2 * window
    assert pacer.admitted == 9
    await pacer.close()
