"""A client given several broker addresses follows the leader.

The rule itself (:class:`broker_client.failover.Router`, :func:`route`) runs on a scripted clock
and scripted answers; the clients run against real in-process servers on 127.0.0.1: a broker
with its simulator (the leader), the standby's own stand-in server (``StandbyGate``, answering
NOT_LEADER with the leader's address) and a port nobody listens on (a dead broker)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from broker_client import (
    BrokerClient,
    BrokerClientSync,
    ConnectionConfig,
    IBKRConnectionManager,
    RetryPolicy,
    lease,
)
from broker_client.errors import (
    BrokerUnavailableError,
    DeadlineExceededError,
    LeaseNotFoundError,
    NotLeaderError,
    ShuttingDownError,
    StoreUnavailableError,
)
from broker_client.failover import MIN_RESEND, Router, addresses_of, route
from broker_client.fencing import LeasePolicy
from broker_client.ibbroker.v1 import lease_pb2
from broker_server.app import SERVICE_NAMES, running_broker
from broker_server.server_standby import StandbyGate
from tests.server.helpers import fast_config

U = grpc.StatusCode.UNAVAILABLE
A, B, C = "127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003"


def not_leader(leader: str) -> NotLeaderError:
    return NotLeaderError(U, "standby", "NOT_LEADER", 1.0, (), {"leader_address": leader})


def unavailable() -> BrokerUnavailableError:
    return BrokerUnavailableError(U, "connection refused")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- the rule ------------------------------------------------------------------------------------


def test_addresses_take_a_list_a_comma_string_or_one_address() -> None:
    assert addresses_of("127.0.0.1:1") == ("127.0.0.1:1",)
    assert addresses_of(" a:1, b:2 ,a:1") == ("a:1", "b:2")
    assert addresses_of(["a:1", "b:2"]) == ("a:1", "b:2")
    with pytest.raises(ValueError, match="at least one"):
        addresses_of(" , ")
    with pytest.raises(TypeError, match="host:port"):
        addresses_of([1])  # type: ignore[list-item]


def test_not_leader_moves_to_the_named_leader_when_it_is_listed() -> None:
    router = Router([A, B, C])
    seen: list[tuple[str, str]] = []
    router.listeners.append(lambda switch: seen.append((switch.why, router.current)))
    assert router.failed(not_leader(C), A) == C
    assert router.current == C
    assert [(s.old, s.new) for s in router.switches] == [(A, C)]
    assert seen == [(f"{A} is not the leader; it names {C}", C)]


def test_an_unlisted_leader_is_followed_only_when_allowed() -> None:
    router = Router([A, B])
    assert router.failed(not_leader("127.0.0.1:9"), A) == B  # not followed: the next one
    allowed = Router([A, B], follow_unlisted=True)
    assert allowed.failed(not_leader("127.0.0.1:9"), A) == "127.0.0.1:9"
    assert allowed.addresses == (A, B, "127.0.0.1:9")


def test_no_answer_moves_to_the_next_address_in_order_and_round() -> None:
    clock = Clock()
    router = Router([A, B, C], clock=clock, down_for=2.0)
    assert router.failed(unavailable(), A) == B
    assert router.failed(DeadlineExceededError(grpc.StatusCode.DEADLINE_EXCEEDED, "x"), B) == C
    assert router.failed(ShuttingDownError(U, "bye", "SHUTTING_DOWN"), C) == A  # all failed: on
    clock.now += 3  # A failed 3 s ago: usable again
    assert router.failed(unavailable(), A) == B


def test_a_standby_naming_a_dead_leader_is_stayed_on() -> None:
    clock = Clock()
    router = Router([A, B], clock=clock, down_for=2.0)
    assert router.failed(unavailable(), A) == B  # the leader A died
    # B (a standby) still names A until it takes over; A did not answer a moment ago.
    assert router.failed(not_leader(A), B) == B
    clock.now += 2.5  # long enough: A's hint is believed again
    assert router.failed(not_leader(A), B) == A


def test_errors_that_say_nothing_about_the_leader_move_nothing() -> None:
    router = Router([A, B])
    for error in (
        StoreUnavailableError(U, "store", "STORE_UNAVAILABLE", 0.5),
        LeaseNotFoundError(grpc.StatusCode.NOT_FOUND, "gone", "LEASE_NOT_FOUND"),
    ):
        assert router.failed(error, A) == A
    assert router.switches == []


def test_a_failure_at_an_address_another_call_already_left_goes_where_it_went() -> None:
    router = Router([A, B, C])
    router.failed(unavailable(), A)  # one call moved to B
    assert router.failed(unavailable(), A) == B  # a second call's late failure at A
    assert router.current == B and len(router.switches) == 1


def _drive(
    router: Router, answers: dict[str, list[object]], timeout: float, repeatable: bool, clock: Clock
) -> tuple[object, list[tuple[str, float]]]:
    sent: list[tuple[str, float]] = []
    steps = route(router, timeout, repeatable, clock)
    try:
        attempt = next(steps)
        while True:
            sent.append(attempt)
            clock.now += 0.01
            attempt = steps.send(answers[attempt[0]].pop(0))
    except StopIteration as done:
        return done.value, sent


def test_a_repeatable_call_is_re_sent_at_once_within_its_deadline() -> None:
    clock = Clock()
    router = Router([A, B], clock=clock)
    answer, sent = _drive(router, {A: [unavailable()], B: ["ok"]}, 1.0, True, clock)
    assert answer == "ok" and [a for a, _ in sent] == [A, B]
    assert sent[1][1] == pytest.approx(0.99)  # what is left of the step's 1 s
    assert router.current == B


def test_a_standby_hint_is_followed_at_once_and_each_address_tried_once_per_step() -> None:
    clock = Clock()
    router = Router([B, A], clock=clock)  # the standby B first
    answer, sent = _drive(router, {B: [not_leader(A)], A: ["ok"]}, 1.0, True, clock)
    assert answer == "ok" and [a for a, _ in sent] == [B, A]
    # Both refuse (failover in progress): the step ends after trying each once.
    router = Router([A, B], clock=clock)
    answer, sent = _drive(router, {A: [unavailable()], B: [not_leader(A)]}, 1.0, True, clock)
    assert isinstance(answer, NotLeaderError) and [a for a, _ in sent] == [A, B]


def test_a_call_that_is_not_safe_to_repeat_is_sent_once_but_the_router_moves() -> None:
    clock = Clock()
    router = Router([B, A], clock=clock)
    answer, sent = _drive(router, {B: [not_leader(A)]}, 1.0, False, clock)
    assert isinstance(answer, NotLeaderError) and [a for a, _ in sent] == [B]
    assert router.current == A  # the caller's next call goes to the leader


def test_no_re_send_once_the_step_deadline_is_nearly_spent() -> None:
    clock = Clock()
    router = Router([A, B], clock=clock)
    steps = route(router, 1.0, True, clock)
    assert next(steps)[0] == A
    clock.now += 1.0 - MIN_RESEND / 2
    with pytest.raises(StopIteration) as done:
        steps.send(unavailable())
    assert isinstance(done.value.value, BrokerUnavailableError)
    assert router.current == B


# --- real servers --------------------------------------------------------------------------------


def dead_address() -> str:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@contextlib.asynccontextmanager
async def standby_for(leader: str, retry_after: float = 1.0) -> AsyncIterator[str]:
    gate = StandbyGate(SERVICE_NAMES, lambda: leader, retry_after=retry_after)
    address = await gate.start("127.0.0.1:0")
    try:
        yield address
    finally:
        await gate.stop()


@pytest.fixture
async def leader(tmp_path: Path) -> AsyncIterator[str]:
    async with running_broker(fast_config(tmp_path / "store.sqlite3"), with_sim=True) as broker:
        yield broker.address


async def test_async_client_finds_the_leader_behind_a_standby_and_a_dead_address(
    leader: str,
) -> None:
    dead = dead_address()
    async with standby_for(leader) as standby:
        async with BrokerClient([standby, dead, leader], retry=RetryPolicy(attempts=1)) as client:
            [gateway] = await client.get_connection_state()
            assert gateway.gateway == "paper"
            assert client.target == leader
            assert [(s.old, s.new) for s in client.router.switches] == [(standby, leader)]
        async with BrokerClient(f"{dead},{leader}", retry=RetryPolicy(attempts=1)) as client:
            assert await client.list_leases() == []
            assert client.target == leader


async def test_a_write_that_is_not_safe_to_repeat_raises_but_the_next_call_goes_to_the_leader(
    leader: str,
) -> None:
    async with standby_for(leader, retry_after=0.25) as standby:
        async with BrokerClient([standby, leader]) as client:
            with pytest.raises(NotLeaderError) as caught:
                await client.reconnect("paper")  # never repeated by the client
            assert caught.value.leader_address == leader
            assert caught.value.retry_after == 0.25
            assert client.target == leader
            await client.reconnect("paper")


async def test_leases_and_watches_follow_the_leader(leader: str) -> None:
    async with standby_for(leader) as standby:
        async with BrokerClient([standby, leader]) as client:
            events = client.watch_leases(owner="w")
            first = await asyncio.wait_for(anext(events), 10)
            assert first.kind == lease_pb2.LEASE_EVENT_KIND_SNAPSHOT_END
            async with client.lease(owner="w", ttl=5, policy=LeasePolicy()) as held:
                assert held.lease.state == lease_pb2.LEASE_STATE_ACTIVE
                acquired = await asyncio.wait_for(anext(events), 10)
                assert acquired.lease.lease_id == held.lease_id
            await events.aclose()
        # The lease helper alone, given the addresses.
        async with lease([dead_address(), leader], owner="x", ttl=5) as held:
            assert held.lease.owner == "x"


async def test_the_blocking_client_its_watches_and_the_seed_api_follow_the_leader(
    leader: str,
) -> None:
    async with standby_for(leader) as standby:

        def blocking() -> None:
            with BrokerClientSync([standby, leader]) as client:
                assert [g.gateway for g in client.get_connection_state()] == ["paper"]
                assert client.target == leader
                with client.lease(owner="s", ttl=5) as held:
                    assert held.client_id >= 100
                with client.watch_leases(owner="s") as events:
                    assert next(iter(events)).kind == lease_pb2.LEASE_EVENT_KIND_SNAPSHOT_END
            # A fresh client whose watch thread meets the standby first.
            with BrokerClientSync([standby, leader]) as client:
                with client.watch_connection_state("paper") as events:
                    assert next(iter(events)).gateway == "paper"
                assert client.target == leader
            config = ConnectionConfig(
                broker=f"{standby},{leader}", timeout=10, max_retries=1, client_id=101
            )
            with IBKRConnectionManager(config) as manager:
                assert manager.is_healthy()
                with manager.lease(owner="compat", ttl=5) as held:
                    assert held.client_id >= 100

        await asyncio.to_thread(blocking)
