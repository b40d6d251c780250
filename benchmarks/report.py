"""The benchmark report: ``var/bench/report.md`` and its PNG plots, from the figures the
benchmarks left in ``var/bench/*.json`` (``benchmarks/figures.py``). ``make bench`` runs it last.

Plots (matplotlib, headless):

- ``detection.png``: every run's time from a dropped / stalled socket to RECONNECTING, against
  ib_insync's Watchdog default for a stall (20 s idle + 4 s probe) and the seed's 30 s target;
- ``fanout_cdf.png``: the latency CDF of one state event to 1,000 watchers (bench_connection),
  and of lease events to 1,000 WatchLeases streams, broker next to a bare grpc.aio server
  (bench_watchers);
- ``leases.png``: durable lease pairs/s next to the raw SQLite commit rate of the same disk;
- ``telemetry.png``: RPC throughput and the broker's CPU per call with telemetry off and on,
  round by round.

A benchmark that was not run is listed as missing; nothing is made up.

    python benchmarks/report.py [--folder var/bench]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter

from benchmarks.figures import FOLDER


def _load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


def detection(folder: Path, figures: dict[str, Any]) -> list[str]:
    drop, stall = figures["drop_s"], figures["stall_s"]
    watchdog, target = figures["watchdog_stall_s"], figures["seed_target_s"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter([1] * len(drop), drop, label="dropped socket", zorder=3)
    ax.scatter([2] * len(stall), stall, label="stalled socket", zorder=3)
    ax.axhline(watchdog, color="tab:red", linestyle="--", label=f"Watchdog stall {watchdog:.0f} s")
    ax.axhline(target, color="tab:gray", linestyle=":", label=f"seed target {target:.0f} s")
    ax.set_yscale("log")
    ax.set_xticks([1, 2], ["drop -> RECONNECTING", "stall -> RECONNECTING"])
    ax.set_ylabel("seconds (log)")
    ax.set_title("Detection time, every run (simulator on loopback)")
    ax.legend(loc="center right")
    fig.tight_layout()
    fig.savefig(folder / "detection.png", dpi=100)
    plt.close(fig)
    return [
        "## Detection time\n",
        "![detection](detection.png)\n",
        "| | runs | median | max | reference (same run) |",
        "|---|---|---|---|---|",
        f"| dropped socket -> RECONNECTING | {len(drop)} | {statistics.median(drop) * 1e3:.1f} ms "
        f"| {max(drop) * 1e3:.1f} ms | seed target {target:.0f} s |",
        f"| stalled socket -> RECONNECTING | {len(stall)} | {statistics.median(stall):.2f} s "
        f"| {max(stall):.2f} s | ib_insync Watchdog {watchdog:.0f} s |",
        "",
    ]


def _cdf(ax: Any, values_ms: list[float], label: str) -> None:
    ordered = sorted(values_ms)
    n = len(ordered)
    ax.plot(ordered, [(i + 1) / n for i in range(n)], label=f"{label} (n={n})")


def fanout(
    folder: Path, connection: dict[str, Any] | None, watchers: dict[str, Any] | None
) -> list[str]:
    fig, ax = plt.subplots(figsize=(7, 4))
    rows = ["| | n | p50 | p99 |", "|---|---|---|---|"]
    if connection is not None:
        values = [v * 1e3 for v in connection["fanout_latency_s"]]
        _cdf(ax, values, "state event -> 1,000 watchers (in-process)")
        rows.append(
            f"| state event -> 1,000 watchers | {len(values)} | {_quantile(values, 0.5):.1f} ms "
            f"| {_quantile(values, 0.99):.1f} ms |"
        )
    if watchers is not None:
        for key, label in (("broker_ms", "WatchLeases, broker"), ("bare_ms", "bare grpc.aio")):
            values = watchers[key]
            _cdf(ax, values, label)
            rows.append(
                f"| {label} ({watchers['watchers']} streams) | {len(values)} "
                f"| {_quantile(values, 0.5):.1f} ms | {_quantile(values, 0.99):.1f} ms |"
            )
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())  # decade labels only: minor ones overlap
    ax.set_xlabel("latency, ms (log)")
    ax.set_ylabel("fraction of deliveries")
    ax.set_title("Fan-out latency CDF")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    fig.savefig(folder / "fanout_cdf.png", dpi=100)
    plt.close(fig)
    return ["## Fan-out latency\n", "![fan-out CDF](fanout_cdf.png)\n", *rows, ""]


def leases(folder: Path, figures: dict[str, Any]) -> list[str]:
    raw = statistics.median(figures["raw_commits_per_s"])
    bars = {
        "raw SQLite\ncommits/s": raw,
        "store alone\npairs/s": figures["store_alone_pairs_per_s"],
        "served, 1 client\npairs/s": figures["pairs_per_s_1_client"],
        f"served, {figures['clients']} clients\npairs/s": figures["pairs_per_s"],
        "gRPC ceiling\n(round trips/2)": figures["grpc_round_trips_per_s"] / 2,
    }
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(list(bars), list(bars.values()), color=["tab:gray"] + ["tab:blue"] * 3 + ["tab:green"])
    ax.set_ylabel("per second")
    ax.set_title("Durable lease acquire+release pairs vs the disk's raw commit rate")
    fig.tight_layout()
    fig.savefig(folder / "leases.png", dpi=100)
    plt.close(fig)
    ratio = figures["pairs_per_s"] / raw
    goal = figures["goal_pairs_per_raw_commit"]
    return [
        "## Lease throughput\n",
        "![leases](leases.png)\n",
        f"Raw SQLite commits/s on the same disk (median of {len(figures['raw_commits_per_s'])} "
        f"slices): {raw:.0f}. Served pairs/s at {figures['clients']} clients: "
        f"{figures['pairs_per_s']:.0f}, that is {ratio:.2f} per raw commit/s (goal >= {goal}).",
        "",
    ]


def telemetry(folder: Path, figures: dict[str, Any]) -> list[str]:
    rates, p50s = figures["calls_per_s"], figures["p50_s"]
    labels = {
        "off": "telemetry off",
        "off2": "telemetry off, a second broker (noise floor)",
        "on": "metrics on (interceptor, scrapes)",
        "traced": "metrics + every call traced (OTLP)",
        "sampled": "metrics + traces at the default ratio (OTLP)",
        "before": "metrics on, the compared tree (before)",
    }
    cpus: dict[str, list[float]] = figures.get("cpu_per_call_s", {})
    fig, axes = plt.subplots(1, 2 if cpus else 1, figsize=(11 if cpus else 7, 4), squeeze=False)
    ax = axes[0][0]
    for name, label in labels.items():
        if name in rates:
            ax.plot(range(1, len(rates[name]) + 1), rates[name], marker="o", label=label)
    ax.set_xlabel("round (rotating order)")
    ax.set_ylabel("GetConnectionState calls/s")
    ax.set_ylim(bottom=0)
    ax.set_title(f"RPC throughput, {figures['clients']} clients, same run")
    ax.legend(loc="lower right", fontsize="small")
    if cpus:
        ax = axes[0][1]
        for name, label in labels.items():
            if name in cpus:
                ax.plot(range(1, len(cpus[name]) + 1), [c * 1e6 for c in cpus[name]], marker="o",
                        label=label)  # fmt: skip
        ax.set_xlabel("round (rotating order)")
        ax.set_ylabel("broker CPU per call (us)")
        ax.set_ylim(bottom=0)
        ax.set_title("Broker CPU per call, all at once at a fixed load")
    fig.tight_layout()
    fig.savefig(folder / "telemetry.png", dpi=100)
    plt.close(fig)
    off_rate, off_p50 = statistics.median(rates["off"]), statistics.median(p50s["off"]) * 1e3
    off_cpu = statistics.median(cpus["off"]) * 1e6 if "off" in cpus else None

    def cpu_cells(name: str) -> str:
        if off_cpu is None or name not in cpus:
            return "| | "
        cpu = statistics.median(cpus[name]) * 1e6
        prefix = "" if name == "on" else f"{name}_"
        paired = figures.get(f"{prefix}overhead_cpu")
        share = "" if name == "off" or paired is None else f"{paired * 100:.1f} %"
        return f"| {cpu:.0f} us | {share} "

    rows = [
        "## RPC overhead with telemetry on vs off\n",
        "![telemetry](telemetry.png)\n",
        "| | broker CPU per call | CPU overhead (paired median) | calls/s alone (median) "
        "| throughput overhead | p50, all at once | p50 overhead |",
        "|---|---|---|---|---|---|---|",
        f"| {labels['off']} {cpu_cells('off')}| {off_rate:.0f} | | {off_p50:.3f} ms | |",
    ]
    for name in ("off2", "on", "traced", "sampled", "before"):
        if name not in rates:
            continue
        rate, p50 = statistics.median(rates[name]), statistics.median(p50s[name]) * 1e3
        rows.append(
            f"| {labels[name]} {cpu_cells(name)}| {rate:.0f} | {(1 - rate / off_rate) * 100:.1f} % "
            f"| {p50:.3f} ms | {(p50 / off_p50 - 1) * 100:.1f} % |"
        )
    own: dict[str, float] = figures.get("interceptor_s", {})
    if own:
        rows += [
            "",
            "The RPC interceptor's own CPU per unary call, in process without a network: "
            + ", ".join(f"{what} {cost * 1e6:.1f} us" for what, cost in own.items())
            + ".",
        ]
    return [
        *rows,
        "",
        f"Goal: under {figures['goal'] * 100:.0f} % for telemetry on, read on the broker's CPU "
        "per call and the p50 with every broker measured at once at a fixed load (a broker's "
        "throughput alone moves with what else runs; the second 'off' broker shows that noise). "
        f"Spans the collector stub received: {figures['spans_received']}; /metrics scrapes: "
        f"{figures['scrapes']}.",
        "",
    ]


def build(folder: Path) -> Path:
    """Write ``report.md`` and the plots into ``folder``; returns the report's path."""
    connection = _load(folder, "connection")
    watchers = _load(folder, "watchers")
    lease_figures = _load(folder, "leases")
    telemetry_figures = _load(folder, "telemetry")
    lines = [
        "# ibbroker benchmark report\n",
        "Figures from the last `make bench` on this machine; each reference was measured in the "
        "same run. Raw samples: the JSON files beside this report.\n",
    ]
    missing = []
    if connection is not None:
        lines += detection(folder, connection)
    else:
        missing.append("bench_connection.py (detection times, state fan-out)")
    if connection is not None or watchers is not None:
        lines += fanout(folder, connection, watchers)
    if watchers is None:
        missing.append("bench_watchers.py (WatchLeases fan-out vs a bare server)")
    if lease_figures is not None:
        lines += leases(folder, lease_figures)
    else:
        missing.append("bench_leases.py (lease throughput vs raw commits)")
    if telemetry_figures is not None:
        lines += telemetry(folder, telemetry_figures)
    else:
        missing.append("bench_telemetry.py (telemetry on vs off)")
    if missing:
        lines += ["## Not run\n", *(f"- {m}" for m in missing), ""]
    report = folder / "report.md"
    report.write_text("\n".join(lines))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", default=str(FOLDER), help="where the JSON figures are")
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"report: {build(folder)}")


if __name__ == "__main__":
    main()
