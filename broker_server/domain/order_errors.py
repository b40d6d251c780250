"""What an IB error about an order means: the order's new state, and the caller's error.

IB reports order problems as ``error(reqId=orderId, code, text)``; some end the order (201
rejected, 202 cancelled), some refuse only the last request (104: a modify of a filled order,
10147/10148: a cancel of an unknown or finished order), some mean the outcome is unknown (103:
the ID was used already, so IB saw something with it; 100: pacing, IB may have dropped the
message), and many are warnings while the order keeps working (399, 2100-2199). One table here,
so the runtime never has to interpret a code itself. Facts: TWS_PROTOCOL.md, "Orders".
"""

from __future__ import annotations

from dataclasses import dataclass

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.journal import OUTCOME_RETRY_AFTER
from broker_server.domain.order_state import OrderState
from broker_server.domain.reasons import FailureReason


@dataclass(frozen=True)
class OrderErrorOutcome:
    """The meaning of one IB error for the order it names."""

    state: OrderState | None
    """The order's new state; None when the error leaves the state to orderStatus. A proposal:
    apply it only where ``order_state.can_transition`` allows (a late 201 for an order that is
    already cancelled changes nothing)."""
    error: DomainError | None
    """What the call that caused it returns; None for a warning."""

    @property
    def warning(self) -> bool:
        """The order keeps working; the text is only shown (Order.message, a log line)."""
        return self.error is None


# Codes that are warnings for an order: it keeps working.
_WARNINGS = frozenset({399, 404, 2109, 2137, 2148})
# Refused order parameters: the order does not work (IB follows with a status, Inactive or
# Cancelled; the broker does not wait for it to say so).
_REJECTING = frozenset({110, 200, 201, 203, 321, 382, 383, 387, 434, 435, 436, 10268})
# The request (a modify or cancel) is refused because the order is finished.
_FINISHED = frozenset({104, 161, 10148})
# The request names an order IB does not know.
_NOT_FOUND = frozenset({135, 10147})
# IB may or may not have acted on the message: reconcile, never resend blindly.
_OUTCOME_UNKNOWN = frozenset({100, 103})


def _detail(code: int, text: str, order_ref: str) -> dict[str, str]:
    return {"ib_error_code": str(code), "ib_message": text[:500], "order_ref": order_ref}


def classify_order_error(code: int, text: str, order_ref: str = "") -> OrderErrorOutcome:
    """Map IB error ``code`` (with IB's ``text``) about an order to its outcome."""
    meta = _detail(code, text, order_ref)
    if code in _WARNINGS or 2100 <= code <= 2199:
        return OrderErrorOutcome(None, None)
    if code == 202:  # "Order Canceled - reason:": the end of a working order, not a failure
        return OrderErrorOutcome(OrderState.CANCELLED, None)
    if code in _REJECTING:
        reason = FailureReason.CONTRACT_NOT_FOUND if code == 200 else FailureReason.ORDER_REJECTED
        kind = ErrorKind.NOT_FOUND if code == 200 else ErrorKind.FAILED_PRECONDITION
        return OrderErrorOutcome(
            OrderState.REJECTED,
            DomainError(
                kind, reason, f"IB rejected the order: {text}", ib_error_code=code, metadata=meta
            ),
        )
    if code in _FINISHED:
        return OrderErrorOutcome(
            None,
            DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.ORDER_FINISHED,
                f"IB refused: the order is finished ({text})",
                ib_error_code=code,
                metadata=meta,
            ),
        )
    if code in _NOT_FOUND:
        return OrderErrorOutcome(
            None,
            DomainError(
                ErrorKind.NOT_FOUND,
                FailureReason.ORDER_NOT_FOUND,
                f"IB does not know the order ({text})",
                ib_error_code=code,
                metadata=meta,
            ),
        )
    if code == 1100:
        # As ConnectionManager refuses orders while 1100 is active: FAILED_PRECONDITION. What
        # was in flight is reconciled once the link is back.
        return OrderErrorOutcome(
            OrderState.UNKNOWN,
            DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.IB_LINK_LOST,
                f"TWS lost its link to IB ({text}); the order is reconciled when it is back",
                ib_error_code=code,
                metadata=meta,
            ),
        )
    if code in _OUTCOME_UNKNOWN:
        return OrderErrorOutcome(
            OrderState.UNKNOWN,
            DomainError(
                ErrorKind.UNAVAILABLE,
                FailureReason.OUTCOME_UNKNOWN,
                f"IB may not have acted on the order ({code}: {text}); it is being reconciled, "
                "retry with the same idempotency key",
                retry_after=OUTCOME_RETRY_AFTER,
                ib_error_code=code,
                metadata=meta,
            ),
        )
    # Unlisted: IB refused the request; the order's state is what its next status says.
    return OrderErrorOutcome(
        None,
        DomainError(
            ErrorKind.FAILED_PRECONDITION,
            FailureReason.ORDER_REJECTED,
            f"IB refused the request: {text}",
            ib_error_code=code,
            metadata=meta,
        ),
    )
