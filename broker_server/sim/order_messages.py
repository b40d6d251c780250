"""Builders for the order messages: openOrder, orderStatus, completedOrder, execDetails,
commissionReport.

Field orders follow ``Decoder.openOrder`` / ``Decoder.completedOrder`` / ``execDetails`` of
``ib_insync/decoder.py`` (identical in ib_async up to server version 176); the field names
beside each value document the decoder's unpacking order.
"""

from __future__ import annotations

from broker_server.sim import versions
from broker_server.sim.book import Execution, SimOrder
from broker_server.sim.codec import UNSET_DOUBLE, Field, encode_msg
from broker_server.sim.market import Instrument
from broker_server.sim.messages import (
    COMMISSION_REPORT,
    COMPLETED_ORDER,
    EXECUTION_DATA,
    OPEN_ORDER,
    ORDER_STATUS,
)
from broker_server.sim.versions import F


def price(value: float | None) -> Field:
    """An order price as TWS echoes it (0 when the order has none)."""
    return 0.0 if value is None else value


def order_status(version: int, o: SimOrder) -> bytes:
    """orderStatus: no version field, 12 fields."""
    return encode_msg(
        ORDER_STATUS,
        o.order_id,
        o.status,
        versions.size(version, o.filled),
        versions.size(version, o.remaining),
        o.avg_fill_price,
        o.perm_id,
        o.parent_id,
        o.last_fill_price,
        o.client_id,
        "",
        0.0,
    )


def _contract_with_exchange(ins: Instrument) -> list[Field]:
    # conId, symbol, secType, lastTradeDate, strike, right, multiplier, exchange, currency,
    # localSymbol, tradingClass: the shape openOrder/completedOrder/execDetails use.
    return list(ins.contract_fields())


def _values(named: list[tuple[str, Field]]) -> list[Field]:
    # The names document the decoder's unpacking order; only the values go on the wire.
    return [value for _, value in named]


def _order_common(o: SimOrder, v: int) -> list[tuple[str, Field]]:
    return [
        ("action", o.action),
        ("totalQuantity", versions.size(v, o.total_qty)),
        ("orderType", o.order_type),
        ("lmtPrice", price(o.lmt_price)),
        ("auxPrice", price(o.aux_price)),
        ("tif", o.tif),
        ("ocaGroup", o.oca_group),
        ("account", o.account),
        ("openClose", "O"),
        ("origin", 0),
        ("orderRef", o.order_ref),
    ]


def open_order(version: int, o: SimOrder) -> bytes:
    """openOrder (5): no version field; field order of ``Decoder.openOrder``."""
    v = version
    named: list[tuple[str, Field]] = [
        *_order_common(o, v),
        ("clientId", o.client_id),
        ("permId", o.perm_id),
        ("outsideRth", o.outside_rth),
        ("hidden", False),
        ("discretionaryAmt", 0.0),
        ("goodAfterTime", ""),
        ("sharesAllocation (deprecated)", ""),
        ("faGroup", ""),
        ("faMethod", ""),
        ("faPercentage", ""),
        ("faProfile", ""),
        ("modelCode", ""),
        ("goodTillDate", ""),
        ("rule80A", ""),
        ("percentOffset", ""),
        ("settlingFirm", ""),
        ("shortSaleSlot", 0),
        ("designatedLocation", ""),
        ("exemptCode", ""),
        ("auctionStrategy", 0),
        ("startingPrice", ""),
        ("stockRefPrice", ""),
        ("delta", ""),
        ("stockRangeLower", ""),
        ("stockRangeUpper", ""),
        ("displaySize", ""),
        ("blockOrder", False),
        ("sweepToFill", False),
        ("allOrNone", False),
        ("minQty", ""),
        ("ocaType", o.oca_type or 3),
        ("eTradeOnly", False),
        ("firmQuoteOnly", False),
        ("nbboPriceCap", ""),
        ("parentId", o.parent_id),
        ("triggerMethod", 0),
        ("volatility", ""),
        ("volatilityType", 0),
        ("deltaNeutralOrderType", ""),  # empty: no deltaNeutral block follows
        ("deltaNeutralAuxPrice", ""),
        ("continuousUpdate", False),
        ("referencePriceType", 0),
        ("trailStopPrice", ""),
        ("trailingPercent", ""),
        ("basisPoints", ""),
        ("basisPointsType", ""),
        ("comboLegsDescrip", ""),
        ("comboLegs count", 0),
        ("orderComboLegs count", 0),
        ("smartComboRoutingParams count", 0),
        ("scaleInitLevelSize", ""),
        ("scaleSubsLevelSize", ""),
        ("scalePriceIncrement", ""),  # unset: no scale block follows
        ("hedgeType", ""),  # empty: no hedgeParam
        ("optOutSmartRouting", False),
        ("clearingAccount", ""),
        ("clearingIntent", ""),
        ("notHeld", False),
        ("deltaNeutralContract present", False),
        ("algoStrategy", ""),  # empty: no algoParams
        ("solicited", False),
        ("whatIf", False),
        ("orderState.status", o.status),
        ("initMarginBefore", ""),
        ("maintMarginBefore", ""),
        ("equityWithLoanBefore", ""),
        ("initMarginChange", ""),
        ("maintMarginChange", ""),
        ("equityWithLoanChange", ""),
        ("initMarginAfter", ""),
        ("maintMarginAfter", ""),
        ("equityWithLoanAfter", ""),
        ("commission", UNSET_DOUBLE),
        ("minCommission", UNSET_DOUBLE),
        ("maxCommission", UNSET_DOUBLE),
        ("commissionCurrency", ""),
        ("warningText", ""),
        ("randomizeSize", False),
        ("randomizePrice", False),
        ("conditions count", 0),
        ("adjustedOrderType", ""),
        ("triggerPrice", ""),
        ("trailStopPrice", ""),
        ("lmtPriceOffset", ""),
        ("adjustedStopPrice", ""),
        ("adjustedStopLimitPrice", ""),
        ("adjustedTrailingAmount", ""),
        ("adjustableTrailingUnit", 0),
        ("softDollarTier.name", ""),
        ("softDollarTier.val", ""),
        ("softDollarTier.displayName", ""),
        ("cashQty", ""),
        ("dontUseAutoPriceForHedge", False),
        ("isOmsContainer", False),
        ("discretionaryUpToLimitPrice", False),
        ("usePriceMgmtAlgo", ""),
    ]
    if versions.has(v, F.OPEN_ORDER_DURATION):
        named.append(("duration", ""))
    if versions.has(v, F.OPEN_ORDER_POST_TO_ATS):
        named.append(("postToAts", ""))
    if versions.has(v, F.OPEN_ORDER_AUTO_CANCEL_PARENT):
        named.append(("autoCancelParent", False))
    if versions.has(v, F.ORDER_PEG_BEST_MID_FIELDS):
        named += _PEG_FIELDS
    contract = _contract_with_exchange(o.instrument)
    return encode_msg(OPEN_ORDER, o.order_id, *contract, *_values(named))


_PEG_FIELDS: list[tuple[str, Field]] = [
    ("minTradeQty", ""),
    ("minCompeteSize", ""),
    ("competeAgainstBestOffset", ""),
    ("midOffsetAtWhole", ""),
    ("midOffsetAtHalf", ""),
]


def completed_order(version: int, o: SimOrder) -> bytes:
    """completedOrder (101): no version field, no orderId; order of ``Decoder.completedOrder``."""
    v = version
    named: list[tuple[str, Field]] = [
        *_order_common(o, v),
        ("permId", o.perm_id),
        ("outsideRth", o.outside_rth),
        ("hidden", False),
        ("discretionaryAmt", 0.0),
        ("goodAfterTime", ""),
        ("faGroup", ""),
        ("faMethod", ""),
        ("faPercentage", ""),
        ("faProfile", ""),
        ("modelCode", ""),
        ("goodTillDate", ""),
        ("rule80A", ""),
        ("percentOffset", ""),
        ("settlingFirm", ""),
        ("shortSaleSlot", 0),
        ("designatedLocation", ""),
        ("exemptCode", ""),
        ("startingPrice", ""),
        ("stockRefPrice", ""),
        ("delta", ""),
        ("stockRangeLower", ""),
        ("stockRangeUpper", ""),
        ("displaySize", ""),
        ("sweepToFill", False),
        ("allOrNone", False),
        ("minQty", ""),
        ("ocaType", o.oca_type or 3),
        ("triggerMethod", 0),
        ("volatility", ""),
        ("volatilityType", 0),
        ("deltaNeutralOrderType", ""),
        ("deltaNeutralAuxPrice", ""),
        ("continuousUpdate", False),
        ("referencePriceType", 0),
        ("trailStopPrice", ""),
        ("trailingPercent", ""),
        ("comboLegsDescrip", ""),
        ("comboLegs count", 0),
        ("orderComboLegs count", 0),
        ("smartComboRoutingParams count", 0),
        ("scaleInitLevelSize", ""),
        ("scaleSubsLevelSize", ""),
        ("scalePriceIncrement", ""),
        ("hedgeType", ""),
        ("clearingAccount", ""),
        ("clearingIntent", ""),
        ("notHeld", False),
        ("deltaNeutralContract present", False),
        ("algoStrategy", ""),
        ("solicited", False),
        ("orderState.status", o.status),
        ("randomizeSize", False),
        ("randomizePrice", False),
        ("conditions count", 0),
        ("trailStopPrice", ""),
        ("lmtPriceOffset", ""),
        ("cashQty", ""),
        ("dontUseAutoPriceForHedge", False),
        ("isOmsContainer", False),
        ("autoCancelDate", ""),
        ("filledQuantity", versions.size(v, o.filled)),
        ("refFuturesConId", 0),
        ("autoCancelParent", False),
        ("shareholder", ""),
        ("imbalanceOnly", False),
        ("routeMarketableToBbo", False),
        ("parentPermId", 0),
        ("completedTime", o.completed_time),
        ("completedStatus", o.completed_status),
    ]
    if versions.has(v, F.ORDER_PEG_BEST_MID_FIELDS):
        named += _PEG_FIELDS
    contract = _contract_with_exchange(o.instrument)
    return encode_msg(COMPLETED_ORDER, *contract, *_values(named))


def exec_details(version: int, req_id: int, ex: Execution) -> bytes:
    """execDetails (11): no version field, exactly 31 fields."""
    o = ex.order
    return encode_msg(
        EXECUTION_DATA,
        req_id,
        o.order_id,
        *_contract_with_exchange(o.instrument),
        ex.exec_id,
        ex.time.strftime("%Y%m%d  %H:%M:%S"),
        o.account,
        o.instrument.exchange if o.instrument.exchange != "SMART" else "ISLAND",
        ex.side,
        versions.size(version, ex.shares),
        ex.price,
        o.perm_id,
        o.client_id,
        0,
        versions.size(version, ex.cum_qty),
        ex.avg_price,
        o.order_ref,
        "",
        "",
        "",
        1,
    )


def commission_report(ex: Execution) -> bytes:
    """``59,1,execId,commission,currency,realizedPNL,yield,yieldRedemptionDate``."""
    realized = UNSET_DOUBLE if ex.realized_pnl is None else round(ex.realized_pnl, 2)
    return encode_msg(
        COMMISSION_REPORT,
        1,
        ex.exec_id,
        ex.commission,
        ex.order.instrument.currency,
        realized,
        UNSET_DOUBLE,
        0,
    )
