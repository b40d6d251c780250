"""contracts.py: one contract or a clear error naming the candidates; the min tick."""

from __future__ import annotations

from decimal import Decimal

import pytest

from broker_server.domain.contracts import ContractMatch, min_tick, resolve
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.orders import ContractRef
from broker_server.domain.reasons import FailureReason

QUERY = ContractRef(symbol="ACME", sec_type="STK", exchange="SMART", currency="USD")


def match(con_id: int, primary: str) -> ContractMatch:
    contract = ContractRef(
        con_id=con_id,
        symbol="ACME",
        sec_type="STK",
        exchange="SMART",
        primary_exchange=primary,
        currency="USD",
    )
    return ContractMatch(contract, "0.01")


def test_one_match() -> None:
    (only,) = resolve(QUERY, [match(1, "NYSE"), match(1, "NYSE")])
    assert only.contract.con_id == 1


def test_no_match_is_not_found_with_ib_code_200() -> None:
    with pytest.raises(DomainError) as caught:
        resolve(QUERY, [], field="single.contract")
    err = caught.value
    assert (err.kind, err.reason, err.ib_error_code) == (
        ErrorKind.NOT_FOUND,
        FailureReason.CONTRACT_NOT_FOUND,
        200,
    )
    assert err.violations[0].field == "single.contract"
    assert "ACME STK SMART USD" in err.message


def test_ambiguous_names_the_candidates_unless_all_are_wanted() -> None:
    matches = [match(2, "ARCA"), match(1, "NYSE")]
    with pytest.raises(DomainError) as caught:
        resolve(QUERY, matches)
    err = caught.value
    assert (err.kind, err.reason) == (ErrorKind.INVALID_ARGUMENT, FailureReason.CONTRACT_AMBIGUOUS)
    assert "ACME STK NYSE USD (con_id 1); ACME STK ARCA USD (con_id 2)" in err.message
    assert err.metadata == {"candidates": "1,2", "candidate_count": "2"}
    assert len(resolve(QUERY, matches, list_all=True)) == 2


def test_many_candidates_are_capped() -> None:
    with pytest.raises(DomainError) as caught:
        resolve(QUERY, [match(i, "X") for i in range(1, 15)])
    assert "and 4 more" in caught.value.message
    assert caught.value.metadata["candidate_count"] == "14"


@pytest.mark.parametrize(
    ("text", "tick"),
    [
        ("0.01", "0.01"),
        ("1.0E-4", "0.0001"),
        ("0.010000000000000002", "0.01"),
        ("0.25", "0.25"),
        ("0", "0.0001"),
        ("junk", "0.0001"),
    ],
)
def test_min_tick(text: str, tick: str) -> None:
    assert min_tick(ContractMatch(ContractRef(con_id=1), text)) == Decimal(tick)
