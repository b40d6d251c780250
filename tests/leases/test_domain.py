"""The pure lease table: no store, no loop, times passed in. Its repr is the oracle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from broker_server.config import BrokerConfig, GatewayConfig, LeaseConfig
from broker_server.domain.errors import DomainError
from broker_server.domain.lease_input import validate_acquire
from broker_server.domain.leases import (
    ClientIdRow,
    LeaseMode,
    LeaseState,
    LeaseTable,
    QuarantineReason,
)

CONFIG = BrokerConfig(
    leases=LeaseConfig(quarantine_cooldown=5.0, sweep_interval=0.5),
    gateways=(GatewayConfig(name="paper", client_id_min=100, client_id_max=102),),
)
POLICY = CONFIG.lease_policy()
T0 = 1_000.0


def ids() -> Callable[[], str]:
    counter = iter(range(1, 1000))
    return lambda: f"00000000-0000-4000-8000-{next(counter):012d}"


def test_repr_reads_like_the_state() -> None:
    table = LeaseTable(POLICY, new_id=ids())
    a = table.acquire(validate_acquire(POLICY, owner="a"), T0).lease
    table.acquire(validate_acquire(POLICY, owner="b", client_id=102), T0)
    assert repr(table) == "<LeaseTable paper: held=[100:e1:a 102:e1:b] quarantined=[] free=1>"
    assert repr(a) == ("<Lease paper/100 e1 'a' DIRECT ACTIVE ttl=30s expire=1030.000 id=00000000>")
    table.release(a.lease_id, "a", 1, T0 + 1)
    assert repr(table) == "<LeaseTable paper: held=[102:e1:b] quarantined=[100] free=1>"
    assert repr(table.quarantined()[0]) == "<Quarantine paper/100 until=1006.000 DIRECT released>"


def test_retry_after_is_the_earliest_expiry_or_quarantine_end_plus_a_sweep() -> None:
    table = LeaseTable(POLICY)
    leases = [table.acquire(validate_acquire(POLICY, owner=o, ttl=20), T0).lease for o in "abc"]
    table.release(leases[1].lease_id, "b", 1, T0 + 2)  # quarantine ends at T0 + 7
    with pytest.raises(DomainError) as info:
        table.acquire(validate_acquire(POLICY, owner="d"), T0 + 3)
    assert info.value.reason == "CLIENT_ID_EXHAUSTED"
    assert info.value.retry_after == pytest.approx(4.5)


def test_expiry_quarantine_and_free() -> None:
    table = LeaseTable(POLICY)
    lease = table.acquire(validate_acquire(POLICY, owner="a", ttl=5), T0).lease
    assert table.expire_due(T0 + 4.999) == []
    [(ended, quarantine)] = table.expire_due(T0 + 5)
    assert ended.state is LeaseState.EXPIRED and ended.end_time == T0 + 5
    assert quarantine.reason is QuarantineReason.EXPIRED and quarantine.until == T0 + 10
    assert table.due_quarantines(T0 + 9.9) == []
    assert table.due_quarantines(T0 + 10) == [quarantine]
    again = table.requarantine("paper", 100, T0 + 10, QuarantineReason.IN_USE)
    assert again.until == T0 + 15 and again.reason is QuarantineReason.IN_USE
    assert table.free("paper", 100) and not table.free("paper", 100)
    assert table.acquire(validate_acquire(POLICY, owner="b"), T0 + 16).lease.epoch == 2
    assert table.get(lease.lease_id).state is LeaseState.EXPIRED
    assert table.prune(T0 + 5 + 601) == 1
    with pytest.raises(DomainError):
        table.get(lease.lease_id)


def test_restore_gives_one_grace_keeps_epochs_and_skips_unknown_gateways() -> None:
    old = LeaseTable(POLICY)
    held = old.acquire(validate_acquire(POLICY, owner="a", ttl=9), T0).lease  # expires T0 + 9
    stranger = replace(held, lease_id="00000000-0000-4000-8000-000000000999", gateway="gone")
    rows = [ClientIdRow("paper", 100, 7), ClientIdRow("paper", 101, 3)]
    # Back long after expire_time + grace (3 s, a third of the TTL): restored dead.
    table = LeaseTable(POLICY)
    [late], skipped = table.restore([held, stranger], rows, T0 + 100)
    assert skipped == [stranger]
    assert (late.epoch, late.deadline, late.live(T0 + 100)) == (1, T0 + 12, False)
    # Back with more than a grace left: nothing changes.
    [early], _ = LeaseTable(POLICY).restore([held], [], T0 + 1)
    assert (early.expire_time, early.grace_until, early.deadline) == (T0 + 9, None, T0 + 9)
    # Back with less than a grace left, or just after expire_time: one grace, no more.
    [close], _ = LeaseTable(POLICY).restore([held], [], T0 + 8)
    assert (close.expire_time, close.deadline) == (T0 + 9, T0 + 11)
    [after], _ = LeaseTable(POLICY).restore([held], [], T0 + 10)
    assert (after.expire_time, after.deadline, after.live(T0 + 11.9)) == (T0 + 9, T0 + 12, True)
    assert table.high_water("paper", 101) == 3
    assert (
        table.acquire(validate_acquire(POLICY, owner="b", client_id=101), T0 + 100).lease.epoch == 4
    )


def test_restores_never_add_up_and_a_renew_clears_the_grace() -> None:
    held = LeaseTable(POLICY).acquire(validate_acquire(POLICY, owner="a", ttl=9), T0).lease
    # A crash loop: the store keeps the acquire's record, each start restores it again.
    for k in range(1, 40):
        now = T0 + k * 0.5
        [lease], _ = LeaseTable(POLICY).restore([held], [], now)
        assert lease.deadline <= held.expire_time + held.grace
        assert lease.live(now) == (now < T0 + 12)
    table = LeaseTable(POLICY)
    table.restore([held], [], T0 + 8)
    renewed = table.renew(held.lease_id, "a", 1, T0 + 10)
    assert (renewed.grace_until, renewed.deadline) == (None, T0 + 19)


def test_a_pause_grace_is_given_once_per_renewal() -> None:
    table = LeaseTable(POLICY)
    lease = table.acquire(validate_acquire(POLICY, owner="a", ttl=9), T0).lease
    other = table.acquire(validate_acquire(POLICY, owner="b", ttl=300), T0).lease
    # Paused for 60 s: the lease is past expire_time; it holds for one grace from the resume.
    assert [x.lease_id for x in table.grant_pause_grace(T0 + 60)] == [lease.lease_id]
    assert table.get(lease.lease_id).deadline == T0 + 63
    assert table.get(other.lease_id).grace_until is None  # 240 s left: needs no grace
    assert table.grant_pause_grace(T0 + 62) == []  # a second pause: no second grace
    assert table.expire_due(T0 + 63)[0][0].lease_id == lease.lease_id


def test_proxied_mode_travels_into_the_quarantine() -> None:
    table = LeaseTable(POLICY)
    lease = table.acquire(validate_acquire(POLICY, owner="a", mode=LeaseMode.PROXIED), T0).lease
    _, quarantine = table.release(lease.lease_id, "a", 1, T0)
    assert quarantine is not None and quarantine.mode is LeaseMode.PROXIED
