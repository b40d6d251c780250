"""Every IB error code and message text the simulator sends, in one place.

Codes and wording follow what real TWS / IB Gateway send (see /work/shared/TWS_PROTOCOL.md);
texts that carry values are functions. This module imports nothing, so every other part of
the simulator may use it.
"""

from __future__ import annotations

# pacing and limits
ERR_RATE = 100
"""More than the allowed messages per second: sent, then the connection is closed."""
ERR_MAX_TICKERS = 101
"""Max number of tickers (market-data lines) reached."""
ERR_DUPLICATE_ORDER_ID = 103
ERR_CANT_MODIFY_FILLED = 104
ERR_PRICE_INCREMENT = 110
"""The price does not conform to the minimum price variation (a warning to ib_insync)."""
ERR_HMDS = 162
"""Historical Market Data Service error (pacing violations included)."""
ERR_NO_SECURITY = 200
ERR_ORDER_REJECTED = 201
ERR_ORDER_CANCELLED = 202
ERR_CANT_FIND_TICKER = 300
ERR_READING_REQUEST = 320
ERR_VALIDATING = 321
ERR_DUPLICATE_TICKER = 322
ERR_DUPLICATE_CLIENT_ID = 326
ERR_ORDER_TYPE = 387
ERR_RT_QUERY = 420
"""Invalid real-time query (reqRealTimeBars with a bar size other than 5 or an unknown
whatToShow)."""
ERR_ZERO_SIZE = 434
ERR_MAX_CLIENTS = 502
"""Real TWS refuses a 33rd client; the simulator reports it as 502 with reqId -1."""
ERR_UNKNOWN_ID = 505
ERR_CANCEL_NOT_FOUND = 10147
ERR_CANCEL_DONE = 10148

# connectivity and farm status (broadcast with reqId -1)
LINK_LOST = 1100
LINK_RESTORED_DATA_LOST = 1101
LINK_RESTORED_DATA_KEPT = 1102
MD_FARM_BROKEN = 2103
MD_FARM_OK = 2104
HMDS_FARM_BROKEN = 2105
HMDS_FARM_OK = 2106
SECDEF_FARM_BROKEN = 2157
SECDEF_FARM_OK = 2158

STATUS_MESSAGES: dict[int, str] = {
    LINK_LOST: "Connectivity between IB and Trader Workstation has been lost.",
    LINK_RESTORED_DATA_LOST: (
        "Connectivity between IB and Trader Workstation has been restored - data lost."
    ),
    LINK_RESTORED_DATA_KEPT: (
        "Connectivity between IB and Trader Workstation has been restored - data maintained."
    ),
    MD_FARM_BROKEN: "Market data farm connection is broken:usfarm",
    MD_FARM_OK: "Market data farm connection is OK:usfarm",
    HMDS_FARM_BROKEN: "HMDS data farm connection is broken:ushmds",
    HMDS_FARM_OK: "HMDS data farm connection is OK:ushmds",
    SECDEF_FARM_BROKEN: "Sec-def data farm connection is broken:secdefnj",
    SECDEF_FARM_OK: "Sec-def data farm connection is OK:secdefnj",
}
"""Default texts for the status codes a gateway broadcasts with reqId -1."""

FARM_OK_ON_CONNECT = (MD_FARM_OK, HMDS_FARM_OK, SECDEF_FARM_OK)
"""The notices TWS sends right after startApi."""

NO_SECURITY_TEXT = "No security definition has been found for the request"
DUPLICATE_TICKER_TEXT = "Error processing request.-'bW' : cause - Duplicate ticker id"
UNKNOWN_ID_TEXT = "Fatal Error: Unknown message id."
DUPLICATE_CLIENT_ID_TEXT = (
    "Unable to connect as the client id is already in use. Retry with a unique client id."
)
CANT_MODIFY_FILLED_TEXT = "Can't modify a filled order."
ORDER_CANCELLED_TEXT = "Order Canceled - reason:"
NOT_MASTER_TEXT = (
    "Error validating request.-'bx' : cause - The API client is not the master client "
    "(client id 0)."
)
PRICE_INCREMENT_TEXT = (
    "The price does not conform to the minimum price variation for this contract."
)
ZERO_SIZE_TEXT = "The order size cannot be zero."
LIMIT_MISSING_TEXT = "Error validating request.-'bO' : cause - Limit price is missing"
STOP_MISSING_TEXT = "Error validating request.-'bO' : cause - Stop price is missing"
END_DATE_WITH_UPDATES_TEXT = (
    "Error validating request.-'bX' : cause - End date not supported with live updates"
)
PACING_TEXT = (
    "Historical Market Data Service error message:Historical data request pacing violation"
)


def rate_text(limit: int, received: int) -> str:
    """Error 100's text."""
    return f"Max rate of messages per second has been exceeded:max={limit} rec={received} (1)"


def max_clients_text(limit: int) -> str:
    """The text of a refused client beyond the maximum."""
    return f"Couldn't connect to TWS: the maximum number of API clients ({limit}) is connected."


def max_tickers_text(limit: int) -> str:
    """Error 101's text."""
    return f"Max number of tickers has been reached (limit {limit})"


def reading_request_text(detail: str) -> str:
    """Error 320's text."""
    return f"Error reading request: {detail}"


def cant_find_ticker_text(req_id: int) -> str:
    """Error 300's text."""
    return f"Can't find EId with tickerId:{req_id}"


def hmds_text(detail: str) -> str:
    """Error 162's text."""
    return f"Historical Market Data Service error message:{detail}"


def rt_query_text(detail: str) -> str:
    """Error 420's text."""
    return f"Invalid Real-time Query:{detail}"


def pacing_text(rule: str) -> str:
    """Error 162 for a historical-data pacing violation (the rule in brackets)."""
    return hmds_text(f"Historical data request pacing violation ({rule})")


def invalid_account_text(code: str, account: str) -> str:
    """Error 321 for an unknown account (``code`` is TWS's two-letter request code)."""
    return f"Error validating request.-'{code}' : cause - Invalid account: {account}"


def invalid_action_text(action: str) -> str:
    """Error 321 for an action other than BUY/SELL."""
    return f"Error validating request.-'bO' : cause - Invalid action: {action}"


def invalid_tif_text(tif: str) -> str:
    """Error 321 for a time in force the simulator does not know."""
    return f"Error validating request.-'bO' : cause - Invalid time in force: {tif}"


def order_type_text(order_type: str) -> str:
    """Error 387's text."""
    return f"Unsupported order type for this exchange and security type: {order_type}"


def duplicate_order_id_text(order_id: int) -> str:
    """Error 103's text."""
    return f"Duplicate order id {order_id}"


def rejected_text(reason: str) -> str:
    """Error 201's text: TWS prefixes the reason."""
    return f"Order rejected - reason:{reason}"


def cancel_not_found_text(order_id: int) -> str:
    """Error 10147's text."""
    return f"OrderId {order_id} that needs to be cancelled is not found."


def cancel_done_text(order_id: int, status: str) -> str:
    """Error 10148's text."""
    return f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {status}."
