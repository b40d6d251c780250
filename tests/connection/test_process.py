"""The issue's "must show", against a separate simulator process with default heartbeats.

Killed -> RECONNECTING within 0.5 s, CONNECTED again within the backoff cap after it returns;
frozen (SIGSTOP: socket open, no answers) -> detected within 4 s, recovered after SIGCONT.
The simulator answers reqCurrentTime at most once a second, like real TWS.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.events import EventKind
from broker_server.runtime.connections import ConnectionManager
from tests.conftest import ROOT, free_port
from tests.connection.conftest import Recorder, fast_config

S = ConnectionState


def _start_sim(port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "broker_server.sim",
            "sim",
            "--port",
            str(port),
            "--control-port",
            "0",
            "--current-time-interval",
            "1",
            "--log-level",
            "ERROR",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed once listening
    assert json.loads(line)["port"] == port
    return proc


@pytest.fixture
def sim_process() -> Iterator[tuple[int, list[subprocess.Popen[str]]]]:
    port = free_port()
    procs = [_start_sim(port)]
    yield port, procs
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.terminate()
            proc.wait(5)


@pytest.mark.slow
async def test_killed_and_frozen_gateway_process(
    sim_process: tuple[int, list[subprocess.Popen[str]]],
    make_manager: Callable[..., ConnectionManager],
) -> None:
    port, procs = sim_process
    cfg = fast_config(
        port,
        heartbeat_interval=1.0,
        heartbeat_timeout=2.0,
        timeout=2.0,
        retry_delay=0.5,
        backoff_cap=2.0,
        breaker_failures=20,
    )
    manager = make_manager(cfg)
    events = Recorder(manager)
    await manager.connect(timeout=10)

    mark = events.mark()
    killed_at = time.monotonic()
    procs[0].kill()
    await events.state(S.RECONNECTING, after=mark, within=2)
    assert time.monotonic() - killed_at < 0.5
    await asyncio.to_thread(procs[0].wait, 5)

    procs.append(await asyncio.to_thread(_start_sim, port))
    back_at = time.monotonic()
    await events.kind(EventKind.RESTORED, after=mark, within=10)
    # The backoff ceiling is at most the cap; one connect takes milliseconds.
    assert time.monotonic() - back_at < cfg.backoff_cap + 1.0

    mark = events.mark()
    frozen_at = time.monotonic()
    os.kill(procs[1].pid, signal.SIGSTOP)
    stale = await events.state(S.RECONNECTING, after=mark, within=6)
    assert stale.reason.startswith("HEARTBEAT_TIMEOUT")
    assert time.monotonic() - frozen_at < 4.0
    os.kill(procs[1].pid, signal.SIGCONT)
    await events.kind(EventKind.RESTORED, after=mark, within=cfg.timeout + cfg.backoff_cap + 5)
    assert manager.is_healthy()
