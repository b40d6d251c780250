"""The lease plans of ``broker_client.fencing`` against scripted broker answers and a scripted
clock: when renewals go out, with which deadlines, when the lease is lost, which answers hold."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from broker_client.errors import BrokerError
from broker_client.fencing import (
    Call,
    Keeper,
    LeaseLostError,
    LeasePolicy,
    Plan,
    Sleep,
    acquire_plan,
    release_plan,
    renew_plan,
)
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as trading
from broker_client.leases import SyncLease

WALL0 = 1_800_000_000.0
"""The scripted wall clock at monotonic time 0."""
TTL = 3.0


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL0 + self.now


def granted(
    clock: Clock,
    *,
    state: lease_pb2.LeaseState.ValueType = lease_pb2.LEASE_STATE_ACTIVE,
    epoch: int = 1,
    lease_id: str = "L1",
    expires_in: float = TTL,
) -> Any:
    """A broker answer (Acquire/RenewLeaseResponse shape) granting the lease now."""
    lease = lease_pb2.Lease(
        lease_id=lease_id, client_id=100, epoch=epoch, owner="a", gateway="paper", state=state
    )
    lease.ttl.FromMilliseconds(int(TTL * 1000))
    lease.expire_time.FromNanoseconds(int((clock.wall() + expires_in) * 1e9))
    return pb.RenewLeaseResponse(lease=lease)


def error(code: grpc.StatusCode, reason: str = "", retry_after: float | None = None) -> BrokerError:
    return BrokerError(code, "scripted", reason, retry_after)


Answer = Callable[[Call, Clock], Any]


@dataclass
class Script:
    """Runs a plan: a Sleep advances the clock; a Call takes ``latency`` (capped at its deadline,
    after which it is DEADLINE_EXCEEDED) and gets the next scripted answer."""

    clock: Clock
    answers: list[Answer]
    latency: float = 0.01
    steps: list[tuple[float, Any]] = field(default_factory=list)

    def run(self, plan: Plan, max_steps: int = 100) -> Any:
        answer: Any = None
        try:
            step = next(plan)
            for _ in range(max_steps):
                self.steps.append((self.clock.now, step))
                if isinstance(step, Sleep):
                    self.clock.now += step.seconds
                    answer = None
                elif not self.answers:
                    return None  # the script ran out: the plan is still running
                else:
                    respond = self.answers.pop(0)
                    answer = respond(step, self.clock)
                    if answer is STALL:
                        self.clock.now += step.timeout
                        answer = error(grpc.StatusCode.DEADLINE_EXCEEDED)
                    else:
                        self.clock.now += self.latency
                step = plan.send(answer)
            raise AssertionError("the plan did not end")
        except StopIteration as done:
            return done.value

    def calls(self) -> list[tuple[float, Call]]:
        return [(t, s) for t, s in self.steps if isinstance(s, Call)]


STALL = object()


def ok(**kwargs: Any) -> Answer:
    return lambda _call, clock: granted(clock, **kwargs)


def fail(code: grpc.StatusCode, reason: str = "", retry_after: float | None = None) -> Answer:
    return lambda _call, _clock: error(code, reason, retry_after)


def stall() -> Answer:
    return lambda _call, _clock: STALL


def keeper_for(clock: Clock) -> Keeper:
    return Keeper(granted(clock).lease, clock(), clock=clock)


def test_renewals_go_out_at_a_third_of_the_ttl_with_a_third_of_the_ttl_as_deadline() -> None:
    clock = Clock()
    keeper = keeper_for(clock)
    script = Script(clock, [ok(), ok(), ok()])
    script.run(renew_plan(keeper, "a", LeasePolicy(), clock=clock, wall=clock.wall))
    calls = script.calls()  # the last one is left unanswered: the script ran out
    # Each renewal a third of the TTL after the previous one was sent (not answered).
    assert [round(t, 2) for t, _ in calls] == [1.0, 2.0, 3.0, 4.0]
    assert all(c.method == "RenewLease" and c.timeout == pytest.approx(1.0) for _, c in calls)
    assert calls[0][1].request.lease_id == "L1" and calls[0][1].request.epoch == 1
    # The deadline counts from when the last successful renew was sent.
    assert keeper.deadline == pytest.approx(3.0 + TTL)
    keeper.check()


def test_a_stalled_broker_loses_the_lease_exactly_at_last_renewal_sent_plus_ttl() -> None:
    clock = Clock()
    keeper = keeper_for(clock)
    script = Script(clock, [stall()] * 10)
    script.run(renew_plan(keeper, "a", LeasePolicy(), clock=clock, wall=clock.wall))
    assert keeper.error is not None and keeper.ended_at == pytest.approx(TTL)
    assert isinstance(keeper.error.cause, BrokerError)
    assert keeper.error.cause.code == grpc.StatusCode.DEADLINE_EXCEEDED
    # No call outlived the lease: each deadline stops at the local deadline.
    assert all(t + c.timeout <= TTL + 1e-9 for t, c in script.calls())
    with pytest.raises(LeaseLostError):
        keeper.check()


def test_unavailable_is_retried_with_backoff_until_a_renew_succeeds() -> None:
    clock = Clock()
    keeper = keeper_for(clock)
    unavailable = fail(grpc.StatusCode.UNAVAILABLE)
    script = Script(clock, [unavailable, unavailable, unavailable, ok()])
    script.run(renew_plan(keeper, "a", LeasePolicy(), clock=clock, wall=clock.wall))
    times = [t for t, _ in script.calls()]
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    # 10 ms latency + 50, 100, 200 ms backoff; then the next renewal a third of the TTL later.
    assert gaps == [0.06, 0.11, 0.21, 1.0]
    assert keeper.error is None and keeper.deadline == pytest.approx(times[-2] + TTL)


def test_retry_after_is_honoured_but_never_past_the_deadline() -> None:
    clock = Clock()
    keeper = keeper_for(clock)
    script = Script(clock, [fail(grpc.StatusCode.UNAVAILABLE, retry_after=60.0)])
    script.run(renew_plan(keeper, "a", LeasePolicy(), clock=clock, wall=clock.wall))
    assert keeper.error is not None and clock.now == pytest.approx(TTL)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (fail(grpc.StatusCode.FAILED_PRECONDITION, "LEASE_EXPIRED"), "refused"),
        (fail(grpc.StatusCode.ABORTED, "LEASE_STALE_EPOCH"), "refused"),
        (ok(state=lease_pb2.LEASE_STATE_EXPIRED), "LEASE_STATE_EXPIRED"),
        (ok(state=lease_pb2.LEASE_STATE_RELEASED), "LEASE_STATE_RELEASED"),
        (ok(expires_in=-0.5), "expire_time in the past"),
        (ok(epoch=2), "epoch 2"),
        (ok(lease_id="L2"), "lease L2"),
    ],
)
def test_an_answer_that_does_not_hold_loses_the_lease_at_once(answer: Answer, why: str) -> None:
    clock = Clock()
    keeper = keeper_for(clock)
    script = Script(clock, [answer])
    script.run(renew_plan(keeper, "a", LeasePolicy(), clock=clock, wall=clock.wall))
    assert keeper.error is not None and why in str(keeper.error)
    assert keeper.ended_at == pytest.approx(1.01)  # when the answer came, before the deadline
    with pytest.raises(LeaseLostError):
        keeper.check()


def test_check_enforces_the_deadline_without_the_renewer() -> None:
    clock = Clock()
    ended: list[bool] = []
    keeper = Keeper(granted(clock).lease, 0.0, clock=clock, on_end=lambda: ended.append(True))
    clock.now = TTL - 0.001
    keeper.check()
    clock.now = TTL + 5
    with pytest.raises(LeaseLostError) as info:
        keeper.check()
    assert "expired locally" in str(info.value) and ended == [True]
    assert keeper.ended_at == TTL  # the holding ended at the deadline, not when noticed
    # A late answer never revives it.
    assert keeper.granted(granted(clock).lease, clock(), clock.wall()) is not None
    with pytest.raises(LeaseLostError):
        keeper.check()


def test_acquire_retries_unavailable_with_the_same_request_id() -> None:
    clock = Clock()
    request = pb.AcquireLeaseRequest(owner="a", request_id="r")
    script = Script(clock, [fail(grpc.StatusCode.UNAVAILABLE), ok()])
    lease, sent = script.run(acquire_plan(request, LeasePolicy(), clock=clock, wall=clock.wall))
    calls = script.calls()
    assert [c.request.request_id for _, c in calls] == ["r", "r"]
    assert lease.lease_id == "L1" and sent == calls[1][0]


def test_acquire_never_takes_an_ended_lease_as_held() -> None:
    clock = Clock()
    request = pb.AcquireLeaseRequest(owner="a", request_id="r")
    script = Script(clock, [ok(state=lease_pb2.LEASE_STATE_EXPIRED)])
    with pytest.raises(BrokerError) as info:
        script.run(acquire_plan(request, LeasePolicy(), clock=clock, wall=clock.wall))
    assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.value.reason == "LEASE_EXPIRED"


@pytest.mark.parametrize(
    "ended",
    [
        ok(state=lease_pb2.LEASE_STATE_EXPIRED),
        fail(grpc.StatusCode.FAILED_PRECONDITION, "LEASE_EXPIRED"),
    ],
)
def test_a_retried_acquire_whose_lease_ended_acquires_anew(ended: Answer) -> None:
    clock = Clock()
    request = pb.AcquireLeaseRequest(owner="a", request_id="r")
    script = Script(clock, [fail(grpc.StatusCode.UNAVAILABLE), ended, ok(lease_id="L9")])
    lease, _ = script.run(acquire_plan(request, LeasePolicy(), clock=clock, wall=clock.wall))
    ids = [c.request.request_id for _, c in script.calls()]
    assert ids[:2] == ["r", "r"] and ids[2] != "r"
    assert lease.lease_id == "L9"


def test_acquire_deadline_is_capped_at_the_ttl_and_gives_up_after_its_attempts() -> None:
    clock = Clock()
    request = pb.AcquireLeaseRequest(owner="a", request_id="r")
    request.ttl.FromSeconds(2)
    script = Script(clock, [stall()] * 4)
    with pytest.raises(BrokerError) as info:
        script.run(acquire_plan(request, LeasePolicy(), clock=clock, wall=clock.wall))
    assert info.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert [c.timeout for _, c in script.calls()] == [2.0] * 4


def test_release_is_sent_only_for_a_held_lease_and_ends_the_holding_first() -> None:
    clock = Clock()
    keeper = keeper_for(clock)
    script = Script(clock, [fail(grpc.StatusCode.UNAVAILABLE)])
    script.run(release_plan(keeper, "a", LeasePolicy()))
    [(_, call)] = script.calls()
    assert call.method == "ReleaseLease" and call.request.epoch == 1
    assert keeper.error is not None and keeper.error.why == "released"
    again = Script(clock, [])
    again.run(release_plan(keeper, "a", LeasePolicy()))
    assert again.calls() == []


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        LeasePolicy(renew_fraction=1.5)
    with pytest.raises(ValueError):
        LeasePolicy(acquire_attempts=0)


def test_an_answer_after_the_deadline_does_not_revive_the_lease() -> None:
    clock = Clock()
    keeper = keeper_for(clock)
    clock.now = TTL + 0.01
    # Sent just before the deadline, answered just after it: the lease ended at the deadline.
    assert keeper.granted(granted(clock).lease, TTL - 0.1, clock.wall()) == "expired locally"
    assert keeper.ended_at == TTL
    with pytest.raises(LeaseLostError, match="expired locally"):
        keeper.check()


def test_an_answer_without_expire_time_does_not_hold() -> None:
    clock = Clock()
    keeper = keeper_for(clock)
    answer = granted(clock).lease
    answer.ClearField("expire_time")
    assert keeper.granted(answer, clock(), clock.wall()) == "answered without an expire_time"


def test_fence_stamps_a_held_lease_and_refuses_a_lost_one() -> None:
    clock = Clock()
    lease = granted(clock).lease
    keeper = Keeper(lease, clock(), clock=clock)
    held = SyncLease(keeper, threading.Event())
    request = held.fence(trading.PlaceOrderRequest(idempotency_key="k1"))
    assert (request.lease_id, request.epoch, request.owner) == ("L1", 1, "a")
    clock.now = TTL  # the local deadline
    with pytest.raises(LeaseLostError):
        held.fence(trading.CancelOrderRequest())


def test_a_renewal_cancelled_by_a_stopping_server_is_retried_not_taken_as_a_refusal() -> None:
    # A standby's stand-in stopping for the broker proper cancels the calls in flight.
    clock = Clock()
    keeper = keeper_for(clock)
    script = Script(clock, [fail(grpc.StatusCode.CANCELLED), ok()])
    script.run(renew_plan(keeper, "a", LeasePolicy(), clock=clock, wall=clock.wall))
    assert keeper.error is None
    assert [c.method for _, c in script.calls()] == ["RenewLease"] * 3


def test_a_safe_unary_call_is_repeated_after_cancelled_and_an_unsafe_one_is_not() -> None:
    from broker_client.plans import RetryPolicy, unary_plan

    clock = Clock()
    cancelled = fail(grpc.StatusCode.CANCELLED)
    script = Script(clock, [cancelled, lambda _c, _k: "answer"])
    plan = unary_plan("GetLease", None, timeout=1.0, retry=RetryPolicy(), safe_to_repeat=True)
    assert script.run(plan) == "answer"
    script = Script(clock, [cancelled])
    plan = unary_plan("Reconnect", None, timeout=1.0, retry=RetryPolicy(), safe_to_repeat=False)
    with pytest.raises(BrokerError):
        script.run(plan)
