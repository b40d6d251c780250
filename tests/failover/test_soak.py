"""The must-show failover soak, bounded (``benchmarks/soak_failover.py`` in ``make bench`` runs
the same): 2 broker processes on one PostgreSQL and one simulator, 8 clients following the
leader with PROXIED leases and idempotent orders, the leader SIGKILLed 10 times."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.failover_soak import FailoverSoakResult, FailoverSoakSettings, soak


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_ten_sigkills_of_the_leader_lose_and_double_nothing(
    tmp_path: Path, pg_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="ibbroker.client")
    settings = FailoverSoakSettings(clients=8, kills=10, max_seconds=500)
    result = await soak(settings, pg_dsn, tmp_path)
    print(result.summary())
    assert len(result.follow_times) == 10
    assert result.overlaps == 0  # 0 client IDs held twice
    # 0 leases lost before their TTL. (A lease whose holder could not renew for longer than its
    # TTL is lost on the client's side first, by design: only when a takeover outlasts the
    # lease TTL, which the summary shows; make bench's run counts it as a failure.)
    assert result.lost_early == 0, result.summary()
    assert result.epoch_regressions == 0
    assert result.epochs_increasing and len(result.epochs) == 11, result.epochs
    # Every client on the new leader: within the goal (TTL + 2 s) at the median, and each one
    # within the goal of the new leader listening (the clients' part: they look every 250 ms, but
    # a loaded 2-core CI host delays them by seconds; how long the takeover itself takes is the
    # broker's, measured by make bench with the strict per-client goal).
    assert result.median_follow <= result.goal, result.summary()
    assert max(result.client_lags) < result.goal, result.summary()
    assert len(result.acked) > 8 * 5  # orders went through, across the failovers
    assert result.duplicates == [] and result.lost_orders == [] and result.strays == []


def test_the_checks_find_duplicates_lost_orders_and_late_clients() -> None:
    result = FailoverSoakResult(FailoverSoakSettings(kills=1))
    result.epochs = [1, 2]
    result.follow_times = [[0.5, 3.5]]
    result.acked = {"soak00/1": "ref-a", "soak00/2": "ref-b"}
    result.at_ib.update({"ref-a": 2, "ref-x": 1})
    assert result.duplicates == ["ref-a"]
    assert result.lost_orders == ["soak00/2"]
    assert result.strays == ["ref-x"]
    assert result.late_clients == 1 and result.slowest_follow == 3.5
    assert not result.ok
    result.epochs = [2, 2]
    assert not result.epochs_increasing
