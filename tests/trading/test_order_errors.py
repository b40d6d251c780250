"""order_errors.py: each IB order error code means one thing, in one table."""

from __future__ import annotations

import pytest

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.journal import check_order_lease
from broker_server.domain.order_errors import classify_order_error
from broker_server.domain.order_state import OrderState
from broker_server.domain.reasons import FailureReason

S = OrderState
R = FailureReason


@pytest.mark.parametrize(
    ("code", "state", "kind", "reason"),
    [
        (201, S.REJECTED, ErrorKind.FAILED_PRECONDITION, R.ORDER_REJECTED),
        (200, S.REJECTED, ErrorKind.NOT_FOUND, R.CONTRACT_NOT_FOUND),
        (202, S.CANCELLED, None, None),
        (104, None, ErrorKind.FAILED_PRECONDITION, R.ORDER_FINISHED),
        (10148, None, ErrorKind.FAILED_PRECONDITION, R.ORDER_FINISHED),
        (10147, None, ErrorKind.NOT_FOUND, R.ORDER_NOT_FOUND),
        (103, S.UNKNOWN, ErrorKind.UNAVAILABLE, R.OUTCOME_UNKNOWN),
        (100, S.UNKNOWN, ErrorKind.UNAVAILABLE, R.OUTCOME_UNKNOWN),
        (1100, S.UNKNOWN, ErrorKind.FAILED_PRECONDITION, R.IB_LINK_LOST),
        (399, None, None, None),
        (2109, None, None, None),
        (9999, None, ErrorKind.FAILED_PRECONDITION, R.ORDER_REJECTED),
    ],
)
def test_codes(
    code: int, state: OrderState | None, kind: ErrorKind | None, reason: R | None
) -> None:
    outcome = classify_order_error(code, "text from IB", "ibb1-x-n")
    assert outcome.state is state
    if kind is None:
        assert outcome.error is None
        return
    assert outcome.error is not None and not outcome.warning
    assert (outcome.error.kind, outcome.error.reason, outcome.error.ib_error_code) == (
        kind,
        reason,
        code,
    )
    assert outcome.error.metadata["order_ref"] == "ibb1-x-n"
    assert "text from IB" in outcome.error.message
    assert (outcome.error.retry_after is not None) == (kind is ErrorKind.UNAVAILABLE)


def test_orders_need_a_proxied_lease() -> None:
    check_order_lease("l1", proxied=True)
    with pytest.raises(DomainError) as caught:
        check_order_lease("l1", proxied=False)
    assert (caught.value.kind, caught.value.reason) == (
        ErrorKind.FAILED_PRECONDITION,
        FailureReason.LEASE_NOT_PROXIED,
    )
