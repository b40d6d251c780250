import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker_server.domain.health import (
    IB_CODE_EFFECTS,
    HealthPolicy,
    HealthReason,
    HealthStatus,
    HealthTracker,
    HealthView,
    HeartbeatAnswered,
    HeartbeatTimedOut,
    IbCodeEffect,
    IbError,
    Observation,
    SocketDown,
    SocketUp,
    classify_ib_code,
    farm_name,
    fold,
)

H = HealthStatus
E = IbCodeEffect


def connected() -> HealthTracker:
    tracker = HealthTracker()
    tracker.socket_up()
    return tracker


def test_starts_unhealthy_until_the_socket_is_up() -> None:
    tracker = HealthTracker()
    assert tracker.status is H.UNHEALTHY
    assert [r.code for r in tracker.reasons] == ["SOCKET_DOWN"]
    result = tracker.socket_up()
    assert result.changed
    assert tracker.status is H.HEALTHY
    assert tracker.reasons == ()
    assert repr(tracker) == "<HealthTracker [HEALTHY]>"


def test_socket_down_is_unhealthy() -> None:
    tracker = connected()
    result = tracker.socket_down("socket closed by peer")
    assert result.previous.status is H.HEALTHY
    assert tracker.status is H.UNHEALTHY
    assert tracker.reasons == (HealthReason("socket", "SOCKET_DOWN", "socket closed by peer"),)


def test_ib_link_lost_degrades_and_blocks_orders() -> None:
    tracker = connected()
    result = tracker.ib_error(1100, "Connectivity between IB and TWS has been lost.")
    assert result.effect is E.IB_LINK_LOST
    assert tracker.status is H.DEGRADED
    assert tracker.orders_blocked
    assert tracker.reasons == (
        HealthReason(
            "ib_link", "IB_LINK_LOST", "Connectivity between IB and TWS has been lost.", 1100
        ),
    )
    assert repr(tracker) == "<HealthTracker [DEGRADED: IB_LINK_LOST, orders blocked]>"


def test_1102_restores_with_data_kept() -> None:
    tracker = connected()
    tracker.ib_error(1100)
    result = tracker.ib_error(1102, "Connectivity restored - data maintained.")
    assert result.effect is E.IB_LINK_RESTORED
    assert tracker.status is H.HEALTHY
    assert not tracker.orders_blocked


def test_1101_restores_and_asks_for_resubscription() -> None:
    tracker = connected()
    tracker.ib_error(1100)
    result = tracker.ib_error(1101, "Connectivity restored - data lost.")
    assert result.effect is E.RESUBSCRIBE
    assert result.changed
    assert tracker.status is H.HEALTHY
    assert not tracker.orders_blocked


def test_farm_broken_then_ok_for_the_same_farm() -> None:
    tracker = connected()
    result = tracker.ib_error(2103, "Market data farm connection is broken:usfarm")
    assert result.effect is E.FARM_BROKEN
    assert tracker.status is H.DEGRADED
    assert not tracker.orders_blocked
    assert tracker.reasons == (
        HealthReason(
            "data_farm", "FARM_BROKEN", "Market data farm connection is broken:usfarm", 2103
        ),
    )
    result = tracker.ib_error(2104, "Market data farm connection is OK:usfarm")
    assert result.effect is E.FARM_OK
    assert tracker.status is H.HEALTHY


def test_farms_are_tracked_separately() -> None:
    tracker = connected()
    tracker.ib_error(2103, "Market data farm connection is broken:usfarm")
    tracker.ib_error(2105, "HMDS data farm connection is broken:ushmds")
    tracker.ib_error(2104, "Market data farm connection is OK:usfarm")
    assert tracker.status is H.DEGRADED
    assert [r.ib_error_code for r in tracker.reasons] == [2105]
    tracker.ib_error(2106, "HMDS data farm connection is OK:ushmds")
    assert tracker.status is H.HEALTHY


def test_repeated_broken_farm_does_not_duplicate() -> None:
    tracker = connected()
    tracker.ib_error(2157, "Sec-def data farm connection is broken:secdefnj")
    result = tracker.ib_error(2157, "Sec-def data farm connection is broken:secdefnj")
    assert not result.changed
    assert len(tracker.reasons) == 1


def test_heartbeat_slow_then_fast_then_stale() -> None:
    tracker = HealthTracker(HealthPolicy(heartbeat_warn=0.5))
    tracker.socket_up()
    tracker.heartbeat(0.7)
    assert tracker.status is H.DEGRADED
    assert [r.code for r in tracker.reasons] == ["HEARTBEAT_SLOW"]
    assert tracker.view.last_rtt == 0.7
    tracker.heartbeat(0.01)
    assert tracker.status is H.HEALTHY
    tracker.heartbeat_timeout(2.0)
    assert tracker.status is H.UNHEALTHY
    assert [r.code for r in tracker.reasons] == ["HEARTBEAT_TIMEOUT"]
    tracker.heartbeat(0.01)
    assert tracker.status is H.HEALTHY


def test_unhealthy_wins_over_degraded() -> None:
    tracker = connected()
    tracker.ib_error(1100)
    tracker.heartbeat_timeout(2.5)
    assert tracker.status is H.UNHEALTHY
    assert [r.code for r in tracker.reasons] == ["HEARTBEAT_TIMEOUT", "IB_LINK_LOST"]


def test_a_new_socket_starts_fresh() -> None:
    tracker = connected()
    tracker.ib_error(1100)
    tracker.ib_error(2103, "Market data farm connection is broken:usfarm")
    tracker.heartbeat_timeout(2.0)
    tracker.socket_down("stale")
    # The old socket's heartbeat findings go with it; IB-side reasons stay visible meanwhile.
    assert [r.code for r in tracker.reasons] == ["SOCKET_DOWN", "IB_LINK_LOST", "FARM_BROKEN"]
    tracker.socket_up()
    assert tracker.status is H.HEALTHY
    assert not tracker.orders_blocked


def test_other_codes_change_nothing() -> None:
    tracker = connected()
    result = tracker.ib_error(200, "No security definition has been found")
    assert result.effect is E.NONE
    assert not result.changed


@pytest.mark.parametrize(
    ("code", "effect"),
    [
        (326, E.CLIENT_ID_IN_USE),
        (1100, E.IB_LINK_LOST),
        (1101, E.RESUBSCRIBE),
        (1102, E.IB_LINK_RESTORED),
        (1300, E.RECONNECT),
        (2103, E.FARM_BROKEN),
        (2105, E.FARM_BROKEN),
        (2157, E.FARM_BROKEN),
        (2104, E.FARM_OK),
        (2106, E.FARM_OK),
        (2158, E.FARM_OK),
        (0, E.NONE),
        (2100, E.NONE),
    ],
)
def test_classify_ib_code(code: int, effect: IbCodeEffect) -> None:
    assert classify_ib_code(code) is effect


def test_farm_name_parsing() -> None:
    assert farm_name(2103, "Market data farm connection is broken:usfarm") == "usfarm"
    assert farm_name(2104, "Market data farm connection is OK:usfarm.nj ") == "usfarm.nj"
    assert farm_name(2105, "") == "hmds"
    assert farm_name(2157, "broken:") == "sec-def"


observations = st.one_of(
    st.just(SocketUp()),
    st.builds(SocketDown, st.sampled_from(["closed", "reset"])),
    st.builds(HeartbeatAnswered, st.floats(0.0, 2.0)),
    st.builds(HeartbeatTimedOut, st.floats(2.0, 5.0)),
    st.builds(
        IbError,
        st.sampled_from([*IB_CODE_EFFECTS, 200, 2100]),
        st.sampled_from(["", "x is broken:usfarm", "x is OK:usfarm", "y is broken:ushmds"]),
    ),
)


@settings(deadline=None, max_examples=200)
@given(st.lists(observations, max_size=30))
def test_status_is_derived_from_the_reasons(seen: list[Observation]) -> None:
    view = HealthView()
    policy = HealthPolicy()
    for observation in seen:
        result = fold(view, observation, policy)
        assert result.previous is view
        view = result.view
        codes = {r.code for r in view.reasons}
        if codes & {"SOCKET_DOWN", "HEARTBEAT_TIMEOUT"}:
            assert view.status is H.UNHEALTHY
        elif codes:
            assert view.status is H.DEGRADED
        else:
            assert view.status is H.HEALTHY
        assert view.orders_blocked == ("IB_LINK_LOST" in codes)
        assert len(view.reasons) == len(set(view.reasons))
    # Folding is pure: the same inputs give the same view.
    again = HealthView()
    for observation in seen:
        again = fold(again, observation, policy).view
    assert again == view


def test_a_client_id_clash_degrades_and_outlives_a_new_socket() -> None:
    from broker_server.domain.health import HealthTracker

    tracker = HealthTracker()
    tracker.socket_up()
    folded = tracker.id_clash("client ID 99 is in use; the monitor uses 98")
    assert folded.changed and tracker.status is HealthStatus.DEGRADED
    assert [r.code for r in tracker.reasons] == ["CLIENT_ID_CLASH"]
    tracker.socket_down("drop")
    tracker.socket_up()
    assert [r.code for r in tracker.reasons] == ["CLIENT_ID_CLASH"]
    tracker.id_clash(None)
    assert tracker.status is HealthStatus.HEALTHY
