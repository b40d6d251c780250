"""LeaseService through a real in-process gRPC server, a real SQLite file and a ManualClock."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2

from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_server.config import GatewayConfig
from broker_server.runtime.leases import LeaseEventKind
from tests.leases.conftest import Broker, make_config, rpc_error

MakeBroker = Callable[..., Awaitable[Broker]]


def acquire(owner: str = "alice", **kwargs: object) -> pb.AcquireLeaseRequest:
    return pb.AcquireLeaseRequest(owner=owner, **kwargs)  # type: ignore[arg-type]


async def test_acquire_until_exhausted_gives_distinct_ids_then_resource_exhausted(
    broker: Broker,
) -> None:
    leases = [(await broker.stub.AcquireLease(acquire(f"s{i}"))).lease for i in range(4)]
    assert sorted(lease.client_id for lease in leases) == [100, 101, 102, 103]
    assert all(lease.epoch == 1 and lease.state == lease_pb2.LEASE_STATE_ACTIVE for lease in leases)
    assert all(
        lease.mode == lease_pb2.LEASE_MODE_DIRECT and lease.gateway == "paper" for lease in leases
    )
    assert leases[0].expire_time.seconds - leases[0].acquire_time.seconds == 30
    broker.clock.advance(10)
    err = await rpc_error(broker.stub.AcquireLease(acquire("late")))
    assert err.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert err.reason == "CLIENT_ID_EXHAUSTED"
    # The earliest expiry is 20 s away, plus one sweep interval.
    assert err.retry_after == pytest.approx(20.1, abs=0.01)


@pytest.mark.parametrize(
    ("low", "high", "monitor", "expected"),
    [(98, 100, 99, [98, 100]), (0, 2, 99, [1, 2])],
)
async def test_monitor_id_and_zero_are_never_leased(
    make_broker: MakeBroker, tmp_path: Path, low: int, high: int, monitor: int, expected: list[int]
) -> None:
    # Config validation refuses such ranges; the allocator must refuse them on its own too.
    gateway = GatewayConfig(
        name="paper", client_id_min=low, client_id_max=high, monitor_client_id=monitor
    )
    broker = await make_broker(make_config(tmp_path / "odd.sqlite3", gateways=(gateway,)))
    ids = [(await broker.stub.AcquireLease(acquire(f"s{i}"))).lease.client_id for i in expected]
    assert ids == expected
    err = await rpc_error(broker.stub.AcquireLease(acquire("late")))
    assert err.reason == "CLIENT_ID_EXHAUSTED"


async def test_tws_client_limit_is_shared_by_gateways_on_one_address(
    make_broker: MakeBroker, tmp_path: Path
) -> None:
    # Two gateways on the same host:port are one TWS: 2 monitors + 30 leases = 32 clients.
    a = GatewayConfig(
        name="a", port=4002, client_id_min=100, client_id_max=120, monitor_client_id=99
    )
    b = GatewayConfig(
        name="b", port=4002, client_id_min=200, client_id_max=220, monitor_client_id=199
    )
    broker = await make_broker(make_config(tmp_path / "two.sqlite3", gateways=(a, b)))
    for i in range(21):
        await broker.stub.AcquireLease(acquire(f"a{i}", gateway="a"))
    for i in range(9):
        await broker.stub.AcquireLease(acquire(f"b{i}", gateway="b"))
    err = await rpc_error(broker.stub.AcquireLease(acquire("b-late", gateway="b")))
    assert (err.code, err.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "CLIENT_ID_EXHAUSTED")
    assert "32-client limit" in err.message
    assert broker.manager is not None and len(broker.manager.table.free_ids("b")) == 12


async def test_same_request_id_returns_the_same_lease(broker: Broker) -> None:
    first = (await broker.stub.AcquireLease(acquire(request_id="r-1"))).lease
    again = (await broker.stub.AcquireLease(acquire(request_id="r-1"))).lease
    assert again == first
    other = (await broker.stub.AcquireLease(acquire(request_id="r-2"))).lease
    assert other.client_id != first.client_id
    listed = (await broker.stub.ListLeases(pb.ListLeasesRequest(owner="alice"))).leases
    assert [lease.lease_id for lease in listed] == [first.lease_id, other.lease_id]


async def test_same_request_id_with_another_mode_is_a_conflict(broker: Broker) -> None:
    await broker.stub.AcquireLease(acquire(request_id="r-1"))
    err = await rpc_error(
        broker.stub.AcquireLease(acquire(request_id="r-1", mode=lease_pb2.LEASE_MODE_PROXIED))
    )
    assert (err.code, err.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "IDEMPOTENCY_CONFLICT")
    assert [f for f, _ in err.field_violations] == ["request_id"]


async def test_preferred_client_id_is_honoured_when_free(broker: Broker) -> None:
    lease = (await broker.stub.AcquireLease(acquire(client_id=102))).lease
    assert lease.client_id == 102
    fallback = (await broker.stub.AcquireLease(acquire("bob", client_id=102))).lease
    assert fallback.client_id == 100


async def test_renew_extends_and_checks_owner_and_epoch(broker: Broker) -> None:
    lease = (await broker.stub.AcquireLease(acquire(ttl=duration_pb2.Duration(seconds=10)))).lease
    broker.clock.advance(6)
    renewed = (
        await broker.stub.RenewLease(
            pb.RenewLeaseRequest(lease_id=lease.lease_id, epoch=1, owner="alice")
        )
    ).lease
    assert renewed.expire_time.seconds == lease.expire_time.seconds + 6
    assert (renewed.epoch, renewed.client_id) == (lease.epoch, lease.client_id)

    stale = await rpc_error(
        broker.stub.RenewLease(
            pb.RenewLeaseRequest(lease_id=lease.lease_id, epoch=2, owner="alice")
        )
    )
    assert (stale.code, stale.reason) == (grpc.StatusCode.ABORTED, "LEASE_STALE_EPOCH")
    stranger = await rpc_error(
        broker.stub.RenewLease(
            pb.RenewLeaseRequest(lease_id=lease.lease_id, epoch=1, owner="mallory")
        )
    )
    assert (stranger.code, stranger.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "LEASE_NOT_OWNER",
    )
    release = await rpc_error(
        broker.stub.ReleaseLease(
            pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=1, owner="mallory")
        )
    )
    assert release.code == grpc.StatusCode.PERMISSION_DENIED
    still = (await broker.stub.GetLease(pb.GetLeaseRequest(lease_id=lease.lease_id))).lease
    assert still.state == lease_pb2.LEASE_STATE_ACTIVE


async def test_stale_epoch_after_the_id_was_leased_again(make_broker: MakeBroker) -> None:
    broker = await make_broker(client_id_min=100, client_id_max=100, cooldown=1.0)
    first = (await broker.stub.AcquireLease(acquire())).lease
    await broker.stub.ReleaseLease(
        pb.ReleaseLeaseRequest(lease_id=first.lease_id, epoch=1, owner="alice")
    )
    broker.clock.advance(1)
    await broker.sweep()
    second = (await broker.stub.AcquireLease(acquire())).lease
    assert (second.client_id, second.epoch) == (100, 2)
    # A holder of the first tenure presenting its epoch to the new lease is fenced off.
    err = await rpc_error(
        broker.stub.RenewLease(
            pb.RenewLeaseRequest(lease_id=second.lease_id, epoch=1, owner="alice")
        )
    )
    assert err.code == grpc.StatusCode.ABORTED
    old = await rpc_error(
        broker.stub.RenewLease(
            pb.RenewLeaseRequest(lease_id=first.lease_id, epoch=1, owner="alice")
        )
    )
    assert (old.code, old.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "LEASE_RELEASED")


async def test_expired_lease_cannot_be_renewed_and_its_id_rests(broker: Broker) -> None:
    lease = (await broker.stub.AcquireLease(acquire(ttl=duration_pb2.Duration(seconds=5)))).lease
    broker.clock.advance(5)
    await broker.sweep()
    got = (await broker.stub.GetLease(pb.GetLeaseRequest(lease_id=lease.lease_id))).lease
    assert got.state == lease_pb2.LEASE_STATE_EXPIRED
    err = await rpc_error(
        broker.stub.RenewLease(
            pb.RenewLeaseRequest(lease_id=lease.lease_id, epoch=1, owner="alice")
        )
    )
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "LEASE_EXPIRED")
    kinds = [e.kind for e in broker.events]
    assert kinds == [LeaseEventKind.ACQUIRED, LeaseEventKind.EXPIRED, LeaseEventKind.QUARANTINED]


async def test_released_id_is_quarantined_then_handed_out_after_cooldown(
    make_broker: MakeBroker,
) -> None:
    broker = await make_broker(client_id_min=100, client_id_max=101, cooldown=5.0)
    a = (await broker.stub.AcquireLease(acquire("a"))).lease
    await broker.stub.ReleaseLease(pb.ReleaseLeaseRequest(lease_id=a.lease_id, epoch=1, owner="a"))
    # Retrying the release succeeds and changes nothing.
    await broker.stub.ReleaseLease(pb.ReleaseLeaseRequest(lease_id=a.lease_id, epoch=1, owner="a"))
    b = (await broker.stub.AcquireLease(acquire("b", client_id=100))).lease
    assert b.client_id == 101  # 100 rests, even when asked for
    err = await rpc_error(broker.stub.AcquireLease(acquire("c")))
    assert err.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert err.retry_after == pytest.approx(5.1, abs=0.01)  # the quarantine end, plus a sweep
    broker.clock.advance(4.9)
    await broker.sweep()
    assert (
        await rpc_error(broker.stub.AcquireLease(acquire("c")))
    ).code == grpc.StatusCode.RESOURCE_EXHAUSTED
    broker.clock.advance(0.1)
    await broker.sweep()
    c = (await broker.stub.AcquireLease(acquire("c"))).lease
    assert (c.client_id, c.epoch) == (100, 2)
    kinds = [e.kind.value for e in broker.events if e.client_id == 100]
    assert kinds == ["acquired", "released", "quarantined", "freed", "acquired"]


class Prober:
    """A ClientIdProber whose answers the test scripts."""

    def __init__(self, answers: list[bool]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    async def probe(self, gateway: str, client_id: int) -> bool:
        self.calls.append((gateway, client_id))
        return self.answers.pop(0)


async def test_quarantined_id_in_use_is_not_freed_until_a_probe_says_free(
    make_broker: MakeBroker,
) -> None:
    prober = Prober([False, True])
    broker = await make_broker(client_id_min=100, client_id_max=100, cooldown=2.0, prober=prober)
    a = (await broker.stub.AcquireLease(acquire())).lease
    await broker.stub.ReleaseLease(
        pb.ReleaseLeaseRequest(lease_id=a.lease_id, epoch=1, owner="alice")
    )
    broker.clock.advance(2)
    await broker.sweep()  # probe: 326, in use
    assert prober.calls == [("paper", 100)]
    assert (await rpc_error(broker.stub.AcquireLease(acquire()))).reason == "CLIENT_ID_EXHAUSTED"
    broker.clock.advance(1)
    await broker.sweep()  # a new cool-down has not passed: no probe
    assert len(prober.calls) == 1
    broker.clock.advance(1)
    await broker.sweep()
    assert len(prober.calls) == 2
    assert (await broker.stub.AcquireLease(acquire())).lease.epoch == 2


class Sessions:
    """A ProxiedSessionPool recording what it is asked; can be told to fail opens."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.open: set[tuple[str, int]] = set()
        self.log: list[str] = []

    async def open_session(self, gateway: str, client_id: int, lease_id: str) -> None:
        self.log.append(f"open {client_id}")
        if self.fail:
            raise ConnectionRefusedError("gateway refused")
        self.open.add((gateway, client_id))

    async def close_session(self, gateway: str, client_id: int) -> None:
        self.log.append(f"close {client_id}")
        self.open.discard((gateway, client_id))


async def test_proxied_lease_opens_and_closes_its_session(make_broker: MakeBroker) -> None:
    sessions = Sessions()
    broker = await make_broker(cooldown=1.0, sessions=sessions)
    lease = (await broker.stub.AcquireLease(acquire(mode=lease_pb2.LEASE_MODE_PROXIED))).lease
    assert lease.mode == lease_pb2.LEASE_MODE_PROXIED
    assert sessions.open == {("paper", lease.client_id)}
    await broker.stub.ReleaseLease(
        pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=1, owner="alice")
    )
    assert sessions.open == set()
    expiring = (
        await broker.stub.AcquireLease(
            acquire(mode=lease_pb2.LEASE_MODE_PROXIED, ttl=duration_pb2.Duration(seconds=5))
        )
    ).lease
    broker.clock.advance(5)
    await broker.sweep()
    assert sessions.log == [
        f"open {lease.client_id}",
        f"close {lease.client_id}",
        f"open {expiring.client_id}",
        f"close {expiring.client_id}",
    ]


async def test_proxied_acquire_whose_session_fails_is_unavailable_and_leaks_no_id(
    make_broker: MakeBroker,
) -> None:
    sessions = Sessions(fail=True)
    broker = await make_broker(
        client_id_min=100, client_id_max=100, cooldown=1.0, sessions=sessions
    )
    request = acquire(mode=lease_pb2.LEASE_MODE_PROXIED, request_id="r")
    err = await rpc_error(broker.stub.AcquireLease(request))
    assert err.code == grpc.StatusCode.UNAVAILABLE and err.retry_after is not None
    assert (await broker.stub.ListLeases(pb.ListLeasesRequest())).leases == []
    broker.clock.advance(1)
    await broker.sweep()
    sessions.fail = False
    # The retry with the same request_id gets a fresh attempt, and the ID came back.
    lease = (await broker.stub.AcquireLease(request)).lease
    assert (lease.client_id, lease.epoch) == (100, 2)


async def test_unknown_lease_is_not_found(broker: Broker) -> None:
    unknown = str(uuid.uuid4())
    for call in (
        broker.stub.GetLease(pb.GetLeaseRequest(lease_id=unknown)),
        broker.stub.RenewLease(pb.RenewLeaseRequest(lease_id=unknown, epoch=1, owner="a")),
        broker.stub.ReleaseLease(pb.ReleaseLeaseRequest(lease_id=unknown, epoch=1, owner="a")),
    ):
        err = await rpc_error(call)
        assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "LEASE_NOT_FOUND")


def _seconds(s: int, nanos: int = 0) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=s, nanos=nanos)


BAD_ACQUIRES = [
    (pb.AcquireLeaseRequest(owner=""), ["owner"]),
    (pb.AcquireLeaseRequest(owner="   "), ["owner"]),
    (pb.AcquireLeaseRequest(owner="a" * 257), ["owner"]),
    (pb.AcquireLeaseRequest(owner="a", ttl=_seconds(4)), ["ttl"]),
    (pb.AcquireLeaseRequest(owner="a", ttl=_seconds(301)), ["ttl"]),
    (pb.AcquireLeaseRequest(owner="a", ttl=_seconds(-5)), ["ttl"]),
    (pb.AcquireLeaseRequest(owner="a", ttl=_seconds(10, -5)), ["ttl"]),
    (pb.AcquireLeaseRequest(owner="a", gateway="nope"), ["gateway"]),
    (pb.AcquireLeaseRequest(owner="a", client_id=99), ["client_id"]),
    (pb.AcquireLeaseRequest(owner="a", client_id=0), ["client_id"]),
    (pb.AcquireLeaseRequest(owner="a", client_id=-1), ["client_id"]),
    (pb.AcquireLeaseRequest(owner="a", client_id=104), ["client_id"]),
    (pb.AcquireLeaseRequest(owner="a", mode=lease_pb2.LeaseMode.ValueType(7)), ["mode"]),
    (pb.AcquireLeaseRequest(owner="a", request_id="r" * 257), ["request_id"]),
    (
        pb.AcquireLeaseRequest(
            owner="", gateway="nope", ttl=_seconds(1), mode=lease_pb2.LeaseMode.ValueType(9)
        ),
        ["mode", "owner", "ttl", "gateway"],
    ),
]


@pytest.mark.parametrize(("request_", "fields"), BAD_ACQUIRES)
async def test_bad_acquire_is_invalid_argument_with_field_violations(
    broker: Broker, request_: pb.AcquireLeaseRequest, fields: list[str]
) -> None:
    err = await rpc_error(broker.stub.AcquireLease(request_))
    assert (err.code, err.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert sorted(f for f, _ in err.field_violations) == sorted(fields)
    assert all(description for _, description in err.field_violations)
    assert (await broker.stub.ListLeases(pb.ListLeasesRequest())).leases == []


GOOD_ID = str(uuid.uuid4())
BAD_FENCED = [
    (dict(lease_id="", epoch=1, owner="a"), ["lease_id"]),
    (dict(lease_id="not-a-uuid", epoch=1, owner="a"), ["lease_id"]),
    (dict(lease_id=GOOD_ID, epoch=0, owner="a"), ["epoch"]),
    (dict(lease_id=GOOD_ID, epoch=1, owner=""), ["owner"]),
    (dict(lease_id="x", epoch=0, owner=""), ["lease_id", "epoch", "owner"]),
]


@pytest.mark.parametrize(("fields_", "expected"), BAD_FENCED)
async def test_bad_renew_and_release_are_invalid_argument(
    broker: Broker, fields_: dict[str, object], expected: list[str]
) -> None:
    for call in (
        broker.stub.RenewLease(pb.RenewLeaseRequest(**fields_)),  # type: ignore[arg-type]
        broker.stub.ReleaseLease(pb.ReleaseLeaseRequest(**fields_)),  # type: ignore[arg-type]
    ):
        err = await rpc_error(call)
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT
        assert sorted(f for f, _ in err.field_violations) == sorted(expected)


async def test_bad_renew_ttl_and_bad_get_and_list(broker: Broker) -> None:
    lease = (await broker.stub.AcquireLease(acquire())).lease
    err = await rpc_error(
        broker.stub.RenewLease(
            pb.RenewLeaseRequest(
                lease_id=lease.lease_id, epoch=1, owner="alice", ttl=_seconds(1000)
            )
        )
    )
    assert [f for f, _ in err.field_violations] == ["ttl"]
    err = await rpc_error(broker.stub.GetLease(pb.GetLeaseRequest(lease_id="nope")))
    assert [f for f, _ in err.field_violations] == ["lease_id"]
    err = await rpc_error(broker.stub.ListLeases(pb.ListLeasesRequest(gateway="nope")))
    assert [f for f, _ in err.field_violations] == ["gateway"]


async def test_lease_id_is_accepted_in_any_uuid_spelling(broker: Broker) -> None:
    lease = (await broker.stub.AcquireLease(acquire())).lease
    upper = lease.lease_id.upper()
    got = (await broker.stub.GetLease(pb.GetLeaseRequest(lease_id=upper))).lease
    assert got.lease_id == lease.lease_id


async def test_proxied_sessions_are_reopened_after_a_restart(make_broker: MakeBroker) -> None:
    sessions = Sessions()
    broker = await make_broker(sessions=sessions)
    lease = (await broker.stub.AcquireLease(acquire(mode=lease_pb2.LEASE_MODE_PROXIED))).lease
    await broker.restart()
    assert sessions.log == [f"open {lease.client_id}", f"open {lease.client_id}"]
    await broker.stub.ReleaseLease(
        pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=1, owner="alice")
    )
    assert sessions.log[-1] == f"close {lease.client_id}"
    assert [e.kind for e in broker.events] == [
        LeaseEventKind.ACQUIRED,
        LeaseEventKind.RESTORED,
        LeaseEventKind.RELEASED,
        LeaseEventKind.QUARANTINED,
    ]


async def test_a_system_clock_step_neither_expires_nor_extends_leases(broker: Broker) -> None:
    lease = (await broker.stub.AcquireLease(acquire(ttl=duration_pb2.Duration(seconds=10)))).lease
    broker.clock.set(wall=broker.clock.wall() + 3600)  # NTP steps the wall clock an hour ahead
    await broker.sweep()
    got = (await broker.stub.GetLease(pb.GetLeaseRequest(lease_id=lease.lease_id))).lease
    assert got.state == lease_pb2.LEASE_STATE_ACTIVE
    broker.clock.set(wall=broker.clock.wall() - 7200)  # and then back
    broker.clock.advance(10)  # the TTL passes on the monotonic clock
    await broker.sweep()
    got = (await broker.stub.GetLease(pb.GetLeaseRequest(lease_id=lease.lease_id))).lease
    assert got.state == lease_pb2.LEASE_STATE_EXPIRED


@pytest.mark.parametrize("ending", ["expire", "release"])
async def test_retrying_an_acquire_whose_lease_ended_is_failed_precondition(
    broker: Broker, ending: str
) -> None:
    # issue 9 finding 2: the retry answered OK with the ended lease, which a client takes as held.
    first = (await broker.stub.AcquireLease(acquire(request_id="k-1", ttl=_secs(5)))).lease
    if ending == "expire":
        broker.clock.advance(6)
        await broker.sweep()
    else:
        await broker.stub.ReleaseLease(
            pb.ReleaseLeaseRequest(lease_id=first.lease_id, epoch=first.epoch, owner="alice")
        )
    err = await rpc_error(broker.stub.AcquireLease(acquire(request_id="k-1", ttl=_secs(5))))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == ("LEASE_EXPIRED" if ending == "expire" else "LEASE_RELEASED")
    assert first.lease_id in err.message
    # A new request_id acquires anew, never on the ended lease's epoch.
    again = (await broker.stub.AcquireLease(acquire(request_id="k-2"))).lease
    assert again.lease_id != first.lease_id


def _secs(seconds: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=seconds)


class Accounts:
    """A GatewayAccounts the test flips: None while the accounts fit, else the mismatch."""

    def __init__(self) -> None:
        self.problem: str | None = None

    def account_mismatch(self, gateway: str) -> str | None:
        return self.problem


async def test_direct_leases_and_probes_stop_while_the_accounts_do_not_fit(
    make_broker: MakeBroker,
) -> None:
    # issue 9 finding 5: a paper-configured broker pointed at a live account handed out DIRECT
    # leases for it, and its quarantine probe logged in to the live account.
    accounts, prober = Accounts(), Prober([True])
    broker = await make_broker(cooldown=2.0, prober=prober, accounts=accounts)
    a = (await broker.stub.AcquireLease(acquire())).lease
    await broker.stub.ReleaseLease(
        pb.ReleaseLeaseRequest(lease_id=a.lease_id, epoch=1, owner="alice")
    )
    accounts.problem = "ACCOUNT_MISMATCH: paper_trading = true but IB reports live account U1"
    err = await rpc_error(broker.stub.AcquireLease(acquire("bob")))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "LEASE_ACCOUNT_MISMATCH")
    assert "live account U1" in err.message and err.retry_after is None
    broker.clock.advance(2)
    await broker.sweep()
    assert prober.calls == []  # never logged in to the live account, not even to probe
    assert broker.manager is not None
    assert [q.client_id for q in broker.manager.table.quarantined()] == [a.client_id]
    accounts.problem = None  # the operator fixed the gateway: leases and probes resume
    broker.clock.advance(2)
    await broker.sweep()
    assert prober.calls == [("paper", a.client_id)]
    assert (await broker.stub.AcquireLease(acquire("bob"))).lease.state == (
        lease_pb2.LEASE_STATE_ACTIVE
    )


async def test_a_proxied_session_that_failed_to_reopen_is_retried_with_backoff(
    make_broker: MakeBroker,
) -> None:
    sessions = Sessions()
    broker = await make_broker(sessions=sessions)
    lease = (await broker.stub.AcquireLease(acquire(mode=lease_pb2.LEASE_MODE_PROXIED))).lease
    sessions.fail = True  # the gateway is down while the broker restarts
    await broker.restart()
    sessions.open.clear()  # the broker's sessions died with it
    assert sessions.log == [f"open {lease.client_id}"] * 2
    assert broker.manager is not None
    await broker.sweep()  # the gateway's backoff (retry_delay 0.5 s) has not passed: no attempt
    assert len(sessions.log) == 2
    broker.clock.advance(0.5)
    await broker.sweep()  # attempt 2 fails too: the next waits 1 s
    assert len(sessions.log) == 3
    sessions.fail = False  # the gateway is back
    broker.clock.advance(0.5)
    await broker.sweep()
    assert len(sessions.log) == 3
    broker.clock.advance(0.5)
    await broker.sweep()
    assert sessions.open == {("paper", lease.client_id)}
    assert broker.manager._reopener.waiting == []
    # Its release closes the reopened session, as for any PROXIED lease.
    await broker.stub.ReleaseLease(
        pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=1, owner="alice")
    )
    assert sessions.log[-1] == f"close {lease.client_id}" and not sessions.open


async def test_a_failed_reopen_is_forgotten_when_its_lease_ends(make_broker: MakeBroker) -> None:
    sessions = Sessions()
    broker = await make_broker(sessions=sessions)
    lease = (
        await broker.stub.AcquireLease(
            acquire(mode=lease_pb2.LEASE_MODE_PROXIED, ttl=duration_pb2.Duration(seconds=5))
        )
    ).lease
    sessions.fail = True
    await broker.restart()
    broker.clock.advance(30)  # expired long ago; the gateway never came back
    await broker.sweep()
    assert broker.manager is not None and broker.manager._reopener.waiting == []
    assert sessions.log == [f"open {lease.client_id}"] * 2
