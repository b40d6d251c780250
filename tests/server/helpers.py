"""Helpers for tests that run the broker: fast test configuration, a subprocess broker."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from broker_server.config import BrokerConfig, config_from_mapping


def fast_config(store: Path, **gateway: object) -> BrokerConfig:
    """A broker config on 127.0.0.1:0 with timings scaled down for tests."""
    table: dict[str, object] = {
        "heartbeat_interval": 0.3,
        "heartbeat_timeout": 0.6,
        "retry_delay": 0.05,
        "backoff_cap": 0.5,
        "timeout": 3.0,
        "breaker_open": 0.5,
        "breaker_open_max": 1.0,
    }
    table.update(gateway)
    cfg = config_from_mapping(
        {
            "server": {"listen": "127.0.0.1:0", "grace_period": 2.0, "metrics_log_interval": 0},
            "store": {"path": str(store)},
            "leases": {"quarantine_cooldown": 0.2, "sweep_interval": 0.05},
            "gateways": {"paper": table},
        },
        {},
    )
    return dataclasses.replace(cfg)


class LogTail:
    """Reads a process's JSON log lines on a thread, so the pipe never fills up."""

    def __init__(self, stream: IO[str]) -> None:
        self.records: list[dict[str, object]] = []
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line)
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if isinstance(record, dict):
                    self.records.append(record)
                self._cond.notify_all()

    def wait_for(self, event: str, timeout: float, **fields: object) -> dict[str, object]:
        """The first record with ``"event": event`` (and the given fields), waiting up to ``timeout``."""

        def find() -> dict[str, object] | None:
            for r in self.records:
                if r.get("event") == event and all(r.get(k) == v for k, v in fields.items()):
                    return r
            return None

        with self._cond:
            found = self._cond.wait_for(find, timeout)
        if not found:
            raise AssertionError(
                f"no {event!r} log line within {timeout} s; got:\n" + "".join(self.lines[-20:])
            )
        return found


@contextmanager
def broker_process(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 30.0
) -> Iterator[tuple[subprocess.Popen[str], str, LogTail]]:
    """Run ``python -m broker_server ARGS``; yield it, its gRPC address and its log tail."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "broker_server", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=full_env,
    )
    try:
        assert proc.stderr is not None
        tail = LogTail(proc.stderr)
        record = tail.wait_for("grpc_listening", timeout)
        yield proc, str(record["address"]), tail
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
