"""IB's order status text as the broker's order state (the live path; reconciliation has its
own reading of IB's lists in ``reconcile.py``).

IB reports PendingSubmit, PreSubmitted, Submitted, PendingCancel, Filled, Cancelled,
ApiCancelled and Inactive. The client library also marks an order Cancelled by itself on any
IB error about it (a refused modify included), so a "Cancelled" that carries an error code is
read through :func:`~broker_server.domain.order_errors.classify_order_error` instead.
"""

from __future__ import annotations

from decimal import Decimal

from broker_server.domain.journal import JournalEntry
from broker_server.domain.order_errors import classify_order_error
from broker_server.domain.order_state import OrderState

S = OrderState


def status_state(status: str, error_code: int, entry: JournalEntry, filled: Decimal) -> S | None:
    """IB's order status text as the entry's next state (None: no change)."""
    word = status.replace(" ", "").lower()
    if word in ("presubmitted", "submitted"):
        if entry.state is S.PENDING_CANCEL:
            return None  # a late working status; a refused cancel arrives as an error
        return S.PARTIALLY_FILLED if 0 < filled < entry.spec.quantity else S.ACKNOWLEDGED
    if word == "pendingcancel":
        return S.PENDING_CANCEL
    if word == "filled":
        return S.FILLED
    if word in ("cancelled", "apicancelled"):
        if error_code:  # the library marks an order Cancelled on any IB error about it
            return classify_order_error(error_code, "").state
        return S.CANCELLED
    if word == "inactive":
        return S.REJECTED
    return None
