"""A short run of the lease soak (the full one is ``benchmarks/soak_leases.py`` in make bench):
the real broker CLI killed and paused, the proxies stalling and resetting, and the clients'
records checked for double ownership and early losses."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.soak import SoakSettings, soak


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
