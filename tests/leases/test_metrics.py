"""Lease events are counted in OpenTelemetry metrics. Run in a child process: a MeterProvider
can be set only once per process, and the rest of the suite must not see this one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, json, sys
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

from broker_server.domain.clock import ManualClock
from broker_server.domain.lease_input import validate_acquire, validate_fenced
from broker_server.runtime.leases import LeaseManager
from broker_server.store.sqlite import SqliteStore
from tests.leases.conftest import make_config


async def main() -> None:
    config = make_config(__import__("pathlib").Path(sys.argv[1]), cooldown=1.0)
    clock = ManualClock()
    manager = LeaseManager(config, SqliteStore(config.store.path), clock)
    await manager.start(sweeper=False)
    a = await manager.acquire(validate_acquire(manager.policy, owner="a"))
    await manager.acquire(validate_acquire(manager.policy, owner="b", ttl=5))
    await manager.renew(validate_fenced(manager.policy, lease_id=a.lease_id, owner="a", epoch=1))
    await manager.release(validate_fenced(manager.policy, lease_id=a.lease_id, owner="a", epoch=1))
    clock.advance(5)
    await manager.sweep()
    await manager.stop()


asyncio.run(main())
out = {}
for rm in reader.get_metrics_data().resource_metrics:
    for sm in rm.scope_metrics:
        for metric in sm.metrics:
            for point in metric.data.data_points:
                key = metric.name + ":" + ",".join(f"{k}={v}" for k, v in sorted(point.attributes.items()))
                out[key] = point.value
print(json.dumps(out))
"""


def test_lease_events_and_active_leases_are_counted(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "m.sqlite3")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    points = json.loads(result.stdout.strip().splitlines()[-1])
    events = "ibbroker.lease.events:event={},gateway=paper"
    assert points[events.format("acquired")] == 2
    assert points[events.format("renewed")] == 1
    assert points[events.format("released")] == 1
    assert points[events.format("expired")] == 1
    assert points[events.format("quarantined")] == 2
    assert points[events.format("freed")] == 1  # the expired one still rests
    assert points["ibbroker.lease.active:gateway=paper"] == 0
