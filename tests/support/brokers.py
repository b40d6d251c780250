"""Brokers on one PostgreSQL as real ``python -m broker_server serve`` processes, for the
failover tests, the soak and the benchmark: each on its own fixed port (a standby listens there
with its stand-in until it takes over, then as the broker proper), all with ``standby = true``
so whichever finds the store free leads and the others wait."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port
from tests.server.helpers import LogTail

ROOT = Path(__file__).resolve().parents[2]


def write_config(
    path: Path,
    *,
    ttl: float,
    ib_port: int | None = None,
    extra: str = "",
) -> Path:
    """A broker config on PostgreSQL with leadership TTL ``ttl``; ``ib_port``: a separate
    simulator's API port both brokers connect to (else each runs ``--sim``)."""
    text = (
        "[server]\ngrace_period = 0.5\nmetrics_log_interval = 0\n"
        f'[store]\nbackend = "postgres"\nleadership_ttl = {ttl}\nstandby = true\n'
        "[leases]\nquarantine_cooldown = 0.2\nsweep_interval = 0.05\n"
    )
    if ib_port is not None:
        text += f'[gateways.paper]\nhost = "127.0.0.1"\nport = {ib_port}\n'
    path.write_text(text + extra)
    return path


class BrokerProc:
    """One broker process on a fixed loopback port."""

    def __init__(
        self,
        name: str,
        folder: Path,
        dsn: str,
        config: Path,
        *,
        sim: bool = True,
        port: int | None = None,
    ) -> None:
        """``port``: a fixed port (a killed broker restarted on its address); else a free one."""
        self.name = name
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "broker_server", "serve", "--config", str(config)]
        args += ["--listen", self.address, "--store", str(folder / f"{name}.sqlite3")]
        if sim:
            args.append("--sim")
        env = {**os.environ, "IBBROKER_STORE_DSN": dsn, "PYTHONUNBUFFERED": "1"}
        for unwanted in ("IBBROKER_STORE", "IBBROKER_LISTEN"):
            env.pop(unwanted, None)
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, text=True, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        assert self.proc.stderr is not None
        self.tail = LogTail(self.proc.stderr)

    def serving(self, timeout: float) -> None:
        """Wait until it listens as the broker proper (it leads)."""
        self.tail.wait_for("grpc_listening", timeout)

    def waiting(self, timeout: float) -> None:
        """Wait until it waits as a standby with its stand-in listening."""
        self.tail.wait_for("standby_listening", timeout)

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self) -> None:
        """SIGKILL (after a SIGCONT) and reap."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
        self.proc.wait(10)
