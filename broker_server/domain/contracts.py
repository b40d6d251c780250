"""Contract resolution, the pure part: what a contract query's matches mean for the caller.

IB answers a contract-details request with every match (reqContractDetails), or error 200 when
there is none. An order needs exactly one contract, and so does GetContractDetails unless the
caller asked for every match: :func:`resolve` turns the matches into that one contract or into a
clear error naming the candidates, and :func:`min_tick` reads the tick the order prices are
checked against (``orders.check_increments``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from broker_server.domain.errors import DomainError, ErrorKind, FieldViolation
from broker_server.domain.orders import ContractRef
from broker_server.domain.reasons import FailureReason

IB_NO_SECURITY_DEFINITION = 200
"""IB's "No security definition has been found for the request"."""
MAX_NAMED_CANDIDATES = 10
"""How many candidates an ambiguity error names (the metadata says how many there were)."""


@dataclass(frozen=True)
class ContractMatch:
    """One match of a contract query, reduced to what resolution and validation need."""

    contract: ContractRef
    """Fully specified (con_id set)."""
    min_tick: str
    """IB's minTick as text."""
    long_name: str = ""

    def label(self) -> str:
        """A short human-readable name: "AAPL STK NASDAQ USD (con_id 265598)"."""
        c = self.contract
        parts = [
            c.local_symbol or c.symbol,
            c.sec_type,
            c.primary_exchange or c.exchange,
            c.currency,
            c.last_trade_date_or_contract_month,
            f"{c.strike}{c.right}" if c.strike else "",
        ]
        return " ".join(p for p in parts if p) + f" (con_id {c.con_id})"


def describe(query: ContractRef) -> str:
    """The query as the caller gave it, for messages."""
    if query.con_id:
        return f"con_id {query.con_id}"
    fields = (query.symbol, query.sec_type, query.exchange, query.currency, query.local_symbol)
    return " ".join(f for f in fields if f) or "an empty query"


def resolve(
    query: ContractRef,
    matches: Sequence[ContractMatch],
    *,
    list_all: bool = False,
    field: str = "contract",
) -> tuple[ContractMatch, ...]:
    """The matches the caller gets: exactly one, or all of them with ``list_all``.

    No match -> NOT_FOUND (CONTRACT_NOT_FOUND, IB code 200). Several without ``list_all`` ->
    INVALID_ARGUMENT (CONTRACT_AMBIGUOUS) naming the candidates, so the caller can add the
    field that tells them apart (primary_exchange, currency, expiry) or use a con_id.
    """
    if not matches:
        raise DomainError(
            ErrorKind.NOT_FOUND,
            FailureReason.CONTRACT_NOT_FOUND,
            f"no contract matches {describe(query)}",
            ib_error_code=IB_NO_SECURITY_DEFINITION,
            violations=(FieldViolation(field, "resolves to no contract"),),
        )
    unique = {m.contract.con_id: m for m in matches}
    if len(unique) == 1 or list_all:
        return tuple(unique.values())
    ordered = sorted(unique.values(), key=lambda m: m.contract.con_id)
    named = [m.label() for m in ordered[:MAX_NAMED_CANDIDATES]]
    more = len(ordered) - len(named)
    text = "; ".join(named) + (f"; and {more} more" if more > 0 else "")
    raise DomainError(
        ErrorKind.INVALID_ARGUMENT,
        FailureReason.CONTRACT_AMBIGUOUS,
        f"{describe(query)} matches {len(ordered)} contracts: {text}",
        violations=(
            FieldViolation(
                field, f"ambiguous: {len(ordered)} contracts match; give con_id or more fields"
            ),
        ),
        metadata={
            "candidates": ",".join(str(m.contract.con_id) for m in ordered[:MAX_NAMED_CANDIDATES]),
            "candidate_count": str(len(ordered)),
        },
    )


def min_tick(match: ContractMatch) -> Decimal:
    """The contract's minimum tick as a Decimal (from IB's text, never via a float).

    IB sends minTick as a double; a zero or unreadable one is replaced by 0.0001 so that a
    price is still checked for absurd precision rather than not at all.
    """
    try:
        value = Decimal(match.min_tick.strip())
    except InvalidOperation:
        return Decimal("0.0001")
    if not value.is_finite() or value <= 0:
        return Decimal("0.0001")
    # IB's doubles print as 0.01 or 1.0E-4; round off binary noise such as 0.010000000000000002.
    return Decimal(format(value, ".10g")).normalize()
