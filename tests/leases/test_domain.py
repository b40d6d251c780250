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


def test_restore_extends_by_one_ttl_keeps_epochs_and_skips_unknown_gateways() -> None:
    old = LeaseTable(POLICY)
    held = old.acquire(validate_acquire(POLICY, owner="a", ttl=10), T0).lease
    stranger = replace(held, lease_id="00000000-0000-4000-8000-000000000999", gateway="gone")
    rows = [ClientIdRow("paper", 100, 7), ClientIdRow("paper", 101, 3)]
    table = LeaseTable(POLICY)
    extended, skipped = table.restore([held, stranger], rows, T0 + 100)
    assert [(x.lease_id, x.epoch, x.expire_time) for x in extended] == [
        (held.lease_id, 1, T0 + 110)
    ]
    assert skipped == [stranger]
    # An active lease still within its TTL is extended from its own expiry.
    early = LeaseTable(POLICY)
    [kept], _ = early.restore([held], [], T0 + 1)
    assert kept.expire_time == T0 + 20
    assert table.high_water("paper", 101) == 3
    assert (
        table.acquire(validate_acquire(POLICY, owner="b", client_id=101), T0 + 100).lease.epoch == 4
    )


def test_proxied_mode_travels_into_the_quarantine() -> None:
    table = LeaseTable(POLICY)
    lease = table.acquire(validate_acquire(POLICY, owner="a", mode=LeaseMode.PROXIED), T0).lease
    _, quarantine = table.release(lease.lease_id, "a", 1, T0)
    assert quarantine is not None and quarantine.mode is LeaseMode.PROXIED
