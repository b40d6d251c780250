"""A short run of the lease soak (the full one is ``benchmarks/soak_leases.py`` in make bench):
the real broker CLI killed and paused, the proxies stalling and resetting, and the clients'
records checked for double ownership and early losses."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.soak import Holding, SoakResult, SoakSettings, check, soak


async def test_short_soak_has_no_double_owner_and_no_early_loss(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="ibbroker.client.leases")
    settings = SoakSettings(
        clients=8, client_ids=4, kills=2, stops=2, stalls=2, drops=1, max_seconds=60, seed=7
    )
    result = await soak(settings, tmp_path)
    print(result.summary())
    assert result.faults == {"kill": 2, "stop": 2, "stall": 2, "drop": 1}
    assert len(result.holdings) > settings.client_ids  # the IDs really changed hands
    assert result.overlaps == []
    assert result.lost_early == []
    assert result.epoch_regressions == 0


def test_the_check_finds_overlaps_early_losses_and_epoch_regressions() -> None:
    result = SoakResult(SoakSettings())
    result.holdings = [
        Holding("a", 100, "L1", 1, start=0.0, end=1.0, deadline=1.0, why="expired locally: x"),
        Holding("b", 100, "L2", 2, start=0.9, end=2.0, deadline=2.5, why="released"),
        Holding("c", 100, "L3", 1, start=2.0, end=2.5, deadline=3.0, why="refused by the broker"),
        Holding("d", 101, "L4", 1, start=0.0, end=None, deadline=1.0, why="?"),
        Holding("e", 101, "L5", 2, start=5.0, end=6.0, deadline=6.0, why="expired locally: x"),
    ]
    check(result)
    assert [(a.lease_id, b.lease_id) for a, b in result.overlaps] == [("L1", "L2"), ("L4", "L5")]
    assert [h.lease_id for h in result.lost_early] == ["L3"]
    assert result.epoch_regressions == 1
