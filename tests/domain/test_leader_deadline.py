"""The leader's local deadline: timed from a renewal's send, never moved back, refusing IB
writes once passed, and stepping down once (listeners in order)."""

from __future__ import annotations

import pytest

from broker_server.config import config_from_mapping
from broker_server.config_values import ConfigError
from broker_server.domain.clock import ManualClock
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.leader_deadline import LOCAL_EXPIRY, NEWER_LEADER, LeaderDeadline
from broker_server.domain.reasons import FailureReason


def test_the_deadline_runs_from_the_send_of_the_last_successful_renewal() -> None:
    clock = ManualClock(monotonic=100.0)
    lead = LeaderDeadline(clock, ttl=10.0, margin=0.2)
    assert not lead.leading  # nothing taken yet
    lead.renewed(sent=100.0)
    assert lead.deadline == 108.0 and lead.leading
    clock.advance(3.0)
    lead.renewed(sent=101.0)  # a slow renewal answered late: counted from its send
    assert lead.deadline == 109.0
    lead.renewed(sent=99.0)  # an older one finishing last never moves it back
    assert lead.deadline == 109.0
    clock.advance(5.9)
    lead.check("PlaceOrder")  # 0.1 s left: allowed
    clock.advance(0.1)
    with pytest.raises(DomainError) as err:
        lead.check("PlaceOrder")
    assert err.value.kind is ErrorKind.UNAVAILABLE
    assert err.value.reason is FailureReason.NOT_LEADER
    assert err.value.retry_after == 1.0
    assert "nothing was sent to IB" in str(err.value)
    assert lead.cause == LOCAL_EXPIRY
    lead.renewed(sent=clock.monotonic())  # a late renewal cannot revive a stepped-down leader
    assert not lead.leading


def test_the_check_steps_down_once_with_the_listeners_in_order() -> None:
    clock = ManualClock()
    lead = LeaderDeadline(clock, ttl=1.0, margin=0.25)
    calls: list[tuple[str, str, str]] = []
    lead.on_step_down(lambda cause, address: calls.append(("sockets", cause, address)))
    lead.on_step_down(lambda cause, address: calls.append(("rest", cause, address)))
    lead.renewed(sent=0.0)
    clock.advance(0.75)
    for _ in range(3):
        with pytest.raises(DomainError):
            lead.check("CancelOrder")
    assert calls == [("sockets", LOCAL_EXPIRY, ""), ("rest", LOCAL_EXPIRY, "")]
    # Learning the new leader's address later: refusals name it; no second step-down.
    assert not lead.step_down(NEWER_LEADER, "10.0.0.2:50051")
    with pytest.raises(DomainError) as err:
        lead.check("ModifyOrder")
    assert err.value.metadata == {"leader_address": "10.0.0.2:50051"}
    assert len(calls) == 2


def test_a_newer_leader_found_by_the_store_refuses_at_once_with_its_address() -> None:
    clock = ManualClock()
    lead = LeaderDeadline(clock, ttl=10.0, margin=0.2)
    lead.renewed(sent=0.0)
    assert lead.step_down(NEWER_LEADER, "127.0.0.1:7002")
    with pytest.raises(DomainError) as err:
        lead.check("PlaceOrder")
    assert err.value.metadata == {"leader_address": "127.0.0.1:7002"}
    assert "another broker took the store over" in str(err.value)


def test_without_leadership_the_deadline_never_passes() -> None:
    clock = ManualClock()
    lead = LeaderDeadline.unbounded(clock)
    clock.advance(10**9)
    lead.check("PlaceOrder")
    assert lead.leading


def test_the_margin_is_checked() -> None:
    with pytest.raises(ValueError, match="margin"):
        LeaderDeadline(ManualClock(), ttl=1.0, margin=1.0)
    with pytest.raises(ConfigError) as err:
        config_from_mapping({"store": {"leadership_margin": 0.7}}, {})
    assert err.value.problems == ["store.leadership_margin: must lie in (0, 0.5], got 0.7"]
    assert (
        config_from_mapping({"store": {"leadership_margin": 0.1}}, {}).store.leadership_margin
        == 0.1
    )
