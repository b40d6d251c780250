"""benchmarks/report.py turns the figures the benchmarks leave into report.md and PNG plots,
and lists the benchmarks that did not run instead of inventing their numbers."""

from __future__ import annotations

import json
import random
from pathlib import Path

from benchmarks.report import build


def _write(folder: Path, name: str, **figures: object) -> None:
    (folder / f"{name}.json").write_text(json.dumps(figures))


def test_report_plots_every_figure_it_has(tmp_path: Path) -> None:
    rng = random.Random(7)
    drop = [rng.uniform(0.001, 0.01) for _ in range(5)]
    stall = [rng.uniform(2.0, 3.0) for _ in range(5)]
    fanout = [rng.uniform(0.001, 0.05) for _ in range(1000)]
    _write(
        tmp_path,
        "connection",
        drop_s=drop,
        stall_s=stall,
        back_s=[1.0],
        fanout_latency_s=fanout,
        watchdog_stall_s=24.0,
        seed_target_s=30.0,
    )
    _write(
        tmp_path,
        "telemetry",
        clients=8,
        rounds=2,
        calls_per_s={"off": [2000.0, 2100.0], "on": [1900.0, 2000.0]},
        p50_s={"off": [0.0007, 0.0007], "on": [0.0008, 0.0008]},
        cpu_per_call_s={"off": [0.0004, 0.0004], "on": [0.00042, 0.00042]},
        overhead_cpu=0.05,
        overhead_throughput=1 - 1950.0 / 2050.0,
        overhead_p50=0.8 / 0.7 - 1,
        spans_received=100,
        scrapes=3,
        goal=0.1,
    )
    report = build(tmp_path)
    text = report.read_text()
    for png in ("detection.png", "fanout_cdf.png", "telemetry.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"({png})" in text
    assert not (tmp_path / "leases.png").exists()
    assert f"{max(stall):.2f} s" in text and "Watchdog 24 s" in text
    assert "4.9 %" in text  # 1 - 1950/2050, the median throughputs
    assert "| 400 us |" in text and "| 420 us | 5.0 % |" in text  # CPU per call, paired
    assert "bench_leases.py" in text.split("## Not run")[1]
    assert "bench_watchers.py" in text.split("## Not run")[1]
