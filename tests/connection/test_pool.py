"""The pure pool policy (hypothesis) and the pool's I/O: PROXIED sessions and client-ID probes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ib_insync import IB

from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.errors import DomainError
from broker_server.domain.events import SessionRole
from broker_server.domain.pool import DesiredSession, HeldSession, plan
from broker_server.runtime.connections import ConnectionManager
from broker_server.sim.server import SimServer
from tests.connection.conftest import fast_config

S = ConnectionState

_sessions = st.dictionaries(
    st.tuples(st.sampled_from(["paper", "live"]), st.integers(1, 40)),
    st.tuples(st.sampled_from(list(SessionRole)), st.sampled_from(["", "a", "b"])),
    max_size=40,
)


@given(_sessions, _sessions, st.integers(1, 32))
def test_plan_reaches_the_desired_pool_within_capacity(
    want: dict[tuple[str, int], tuple[SessionRole, str]],
    have: dict[tuple[str, int], tuple[SessionRole, str]],
    capacity: int,
) -> None:
    desired = [DesiredSession(g, c, r, lease) for (g, c), (r, lease) in want.items()]
    held = [HeldSession(g, c, r, lease) for (g, c), (r, lease) in have.items()]
    decision = plan(desired, held, capacity)
    after = {h.key: (h.role, h.lease_id) for h in held}
    for h in decision.close:
        assert after.pop(h.key) == (h.role, h.lease_id)
    for d in decision.open:
        assert d.key not in after  # never two sessions on one client ID
        after[d.key] = (d.role, d.lease_id)
    rejected = {d.key for d in decision.rejected}
    # Everything wanted is held (or rejected for capacity); nothing unwanted survives.
    assert {k: v for k, v in after.items()} == {k: v for k, v in want.items() if k not in rejected}
    for gateway in ("paper", "live"):
        assert sum(1 for g, _ in after if g == gateway) <= max(
            capacity, sum(1 for h in held if h.gateway == gateway and h not in decision.close)
        )
    assert plan(
        [*desired],
        [HeldSession(d.gateway, d.client_id, d.role, d.lease_id) for d in desired],
        10**6,
    ).empty


def test_monitors_open_first() -> None:
    decision = plan(
        [
            DesiredSession("paper", 101, SessionRole.PROXIED, "l1"),
            DesiredSession("paper", 99, SessionRole.MONITOR),
        ],
        [],
        capacity=1,
    )
    assert [d.client_id for d in decision.open] == [99]
    assert [d.client_id for d in decision.rejected] == [101]


async def test_proxied_session_opens_lists_and_closes(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    await manager.connect(timeout=5)
    await manager.open_session("paper", 101, "lease-1")
    sessions = {s.session: s for s in manager.sessions("paper")}
    proxied = sessions["paper/proxied-101"]
    assert proxied.role is SessionRole.PROXIED and proxied.lease_id == "lease-1"
    assert proxied.state is S.CONNECTED
    assert sorted(sim.connected_client_ids()) == [99, 101]
    manager.check_usable("paper", 101)

    await manager.close_session("paper", 101)
    assert [s.client_id for s in manager.sessions("paper")] == [99]
    await manager.close_session("paper", 101)  # no-op


async def test_proxied_session_on_a_taken_id_raises_client_id_in_use(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    holder = IB()
    await holder.connectAsync("127.0.0.1", sim.port, clientId=102, timeout=2)
    try:
        manager = make_manager(fast_config(sim.port))
        await manager.connect(timeout=5)
        with pytest.raises(DomainError) as info:
            await manager.open_session("paper", 102, "lease-2")
        assert info.value.reason == "CLIENT_ID_IN_USE"
        assert [s.client_id for s in manager.sessions()] == [99]
        assert await manager.probe("paper", 102) is False
        assert await manager.probe("paper", 103) is True
        assert await manager.probe("paper", 99) is False  # the broker's own monitor
        # The probe disconnected before answering: the ID can be used at once.
        user = IB()
        await user.connectAsync("127.0.0.1", sim.port, clientId=103, timeout=2)
        user.disconnect()
    finally:
        holder.disconnect()


async def test_probe_raises_when_it_cannot_tell(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    await sim.faults.refuse()
    with pytest.raises(DomainError) as info:
        await manager.probe("paper", 104)
    assert info.value.reason == "CONNECTION_REFUSED"


async def test_proxied_session_fails_fast_while_the_gateway_is_down(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    await manager.connect(timeout=5)
    await sim.faults.refuse()
    await sim.faults.drop()
    await manager.supervisor().wait_for(S.RECONNECTING, timeout=2)
    with pytest.raises(DomainError) as info:
        await manager.open_session("paper", 105, "lease-5")
    assert info.value.reason in ("RECONNECTING", "BREAKER_OPEN")
    assert info.value.retry_after is not None
    assert [s.client_id for s in manager.sessions()] == [99]
