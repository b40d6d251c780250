"""The issue's "must show": the seed's API works against ``make run``, started as the README says
(with its documented options, so it cannot collide with another broker), in code written the
way the seed's users wrote theirs."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

from broker_client import (
    ConnectionConfig,
    ConnectionHealthMonitor,
    ConnectionState,
    IBKRConnectionManager,
)
from tests.conftest import free_port
from tests.server.helpers import LogTail

ROOT = Path(__file__).resolve().parents[2]


def test_the_seed_api_against_make_run(tmp_path: Path) -> None:
    listen, sim_port = f"127.0.0.1:{free_port()}", free_port()
    store = tmp_path / "make-run.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    proc = subprocess.Popen(
        ["make", "-s", "run", f"LISTEN={listen}", f"SIM_PORT={sim_port}", f"STORE={store}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # make and the broker in one group, ended together below
    )
    try:
        assert proc.stderr is not None
        tail = LogTail(proc.stderr)
        tail.wait_for("grpc_listening", 120, address=listen)

        seen: list[ConnectionState] = []
        connected_again = threading.Event()

        def on_state(old: ConnectionState, new: ConnectionState) -> None:
            seen.append(new)
            if new is ConnectionState.CONNECTED and len(seen) > 1:
                connected_again.set()

        config = ConnectionConfig(host="127.0.0.1", port=sim_port, client_id=7, broker=listen)
        manager = IBKRConnectionManager(config)
        manager.register_state_callback(on_state)
        assert manager.connect()
        assert manager.is_healthy()
        assert manager.get_connection_state() is ConnectionState.CONNECTED
        metrics = ConnectionHealthMonitor(manager).get_metrics()
        assert metrics["health"] == "HEALTHY" and metrics["client_id"] == 99  # the monitor

        assert manager.reconnect()  # make run's broker has no admin token
        assert connected_again.wait(15), seen
        assert seen[1] is not ConnectionState.CONNECTED  # it went through a reconnect
        manager.disconnect()
        assert store.exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
