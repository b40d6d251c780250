"""What read-only trading calls return, as plain values (the ib layer fills them, the gRPC edge
converts them): executions with their commission, positions, account values.

Decimals are kept as :class:`~decimal.Decimal` built from IB's printed doubles (``str(float)``,
the shortest text that round-trips), never by arithmetic on floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from broker_server.domain.orders import ContractRef, Side
from broker_server.domain.reconcile import IbExecution


@dataclass(frozen=True)
class ExecutionView:
    """One fill (execDetails) with its commission report when known."""

    execution: IbExecution
    account: str
    contract: ContractRef
    side: Side
    exchange: str = ""
    cumulative_quantity: Decimal = Decimal(0)
    average_price: Decimal = Decimal(0)
    commission: Decimal | None = None
    commission_currency: str = ""
    realized_pnl: Decimal | None = None


@dataclass(frozen=True)
class PositionView:
    """One position of one account."""

    account: str
    contract: ContractRef
    quantity: Decimal
    average_cost: Decimal


@dataclass(frozen=True)
class AccountValueView:
    """One account-summary tag."""

    account: str
    tag: str
    value: str
    currency: str


def ib_decimal(value: float | int | str | None) -> Decimal:
    """IB's double as a Decimal via its shortest repr (0 for unset/absurd values)."""
    if value is None:
        return Decimal(0)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return Decimal(0)
    if number != number or abs(number) >= 1e300:  # NaN or IB's UNSET_DOUBLE
        return Decimal(0)
    return Decimal(repr(number)).normalize() if number else Decimal(0)


@dataclass(frozen=True)
class ContractDetailsView:
    """One contract-details answer (what GetContractDetails returns per match)."""

    contract: ContractRef
    min_tick: str
    long_name: str = ""
    market_name: str = ""
    order_types: tuple[str, ...] = ()
    valid_exchanges: tuple[str, ...] = ()
    time_zone_id: str = ""
    trading_hours: str = ""
    liquid_hours: str = ""
    industry: str = ""
    category: str = ""
    min_size: str = ""
    size_increment: str = ""
