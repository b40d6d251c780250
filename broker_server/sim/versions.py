"""Every server-version gate the simulator honours, in one table.

A field is present on the wire only when the negotiated server version is inside its gate.
Gates come from what ib_insync 0.9.86 and ib_async 2.1.0 parse (decoder.py) and send
(client.py); above 176 real gateways start to move messages to protobuf, so the simulator
stops there.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

MIN_SERVER_VERSION = 157
"""Oldest server version the simulator speaks (ib_insync's and ib_async's minimum)."""
MAX_SERVER_VERSION = 176
"""Newest server version the simulator speaks."""


@dataclass(frozen=True)
class Gate:
    """An inclusive range of server versions in which a field exists."""

    low: int
    high: int | None = None

    def open_at(self, version: int) -> bool:
        """Whether the field is on the wire at ``version``."""
        return version >= self.low and (self.high is None or version <= self.high)


class F(Enum):
    """Version-dependent fields (the value is the gate)."""

    # openOrder (5), server -> client
    OPEN_ORDER_DURATION = Gate(159)
    OPEN_ORDER_POST_TO_ATS = Gate(160)
    OPEN_ORDER_AUTO_CANCEL_PARENT = Gate(162)
    ORDER_PEG_BEST_MID_FIELDS = Gate(170)  # openOrder and completedOrder: minTradeQty..
    # contractDetails (10)
    CONTRACT_DETAILS_VERSION_FIELD = Gate(0, 163)  # "10,8,reqId" below 164
    CONTRACT_DETAILS_MD_SIZE_MULTIPLIER = Gate(0, 163)
    CONTRACT_DETAILS_SUGGESTED_SIZE_INCREMENT_ONLY = Gate(163, 163)
    CONTRACT_DETAILS_SIZE_RULES = Gate(164)  # minSize, sizeIncrement, suggestedSizeIncrement
    # error (4)
    ERROR_ADVANCED_ORDER_REJECT_JSON = Gate(166)
    # sizes are decimals from 163; below they are integers (ibapi int()s them)
    FRACTIONAL_SIZES = Gate(163)
    # placeOrder (3), client -> server: trailing fields we may skip over
    PLACE_ORDER_DURATION = Gate(158)
    PLACE_ORDER_POST_TO_ATS = Gate(160)
    PLACE_ORDER_AUTO_CANCEL_PARENT = Gate(162)
    PLACE_ORDER_ADVANCED_ERROR_OVERRIDE = Gate(166)
    PLACE_ORDER_MANUAL_ORDER_TIME = Gate(169)
    # cancelOrder (4), client -> server
    CANCEL_ORDER_MANUAL_TIME = Gate(169)
    # reqContractDetails (9), client -> server
    CONTRACT_DETAILS_ISSUER_ID = Gate(176)


def has(version: int, field: F) -> bool:
    """Whether ``field`` is on the wire at server ``version``."""
    gate: Gate = field.value
    return gate.open_at(version)


def size(version: int, qty: float | Decimal) -> str:
    """Format a quantity: an integer below 163, a plain decimal from 163."""
    if not has(version, F.FRACTIONAL_SIZES):
        return str(int(qty))
    d = Decimal(str(qty))
    text = format(d.normalize(), "f")
    return text
