"""``ibbroker status`` and ``ibbroker top`` against a real broker on the simulator.

``top`` runs in a real terminal: tmux, read with capture-pane, while the simulator drops the
socket, then while the broker is gone, then Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration

from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import lease_service_pb2 as lsvc
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_server.app import Broker, running_broker, start_broker, stop_broker
from broker_server.domain.connection_state import ConnectionState as S
from tests.observability.helpers import Events, observed_config, wait_connected

IBBROKER = Path(sys.executable).with_name("ibbroker")
OWNER = "strategy-top"
CAPTURE = Path(os.environ.get("IBBROKER_TOP_CAPTURE", "var/top-capture.txt"))
"""Where the test leaves the screen it saw during the drop (docs/observability.md shows one)."""


async def acquire(broker: Broker) -> int:
    async with aio_channel(broker.address) as channel:
        reply = await lease_grpc.LeaseServiceStub(channel).AcquireLease(
            lsvc.AcquireLeaseRequest(owner=OWNER, ttl=Duration(seconds=120), request_id="top-1"),
            timeout=10,
        )
    return int(reply.lease.client_id)


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    async with running_broker(observed_config(tmp_path / "store.sqlite3"), with_sim=True) as b:
        await wait_connected(b)
        yield b


async def test_status_json_against_a_real_broker(broker: Broker) -> None:
    client_id = await acquire(broker)
    proc = await asyncio.create_subprocess_exec(
        str(IBBROKER),
        "status",
        "--json",
        "--target",
        broker.address,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err
    status = json.loads(out)
    assert status["connected"] is True
    [gateway] = status["gateways"]
    assert (gateway["gateway"], gateway["state"], gateway["breaker"]) == (
        "paper",
        "CONNECTED",
        "CLOSED",
    ), gateway
    [monitor] = gateway["sessions"]
    assert monitor["role"] == "MONITOR" and monitor["health"] == "HEALTHY"
    [lease] = status["leases"]
    assert (lease["owner"], lease["client_id"]) == (OWNER, client_id)
    assert 0 < lease["ttl_left_s"] <= 120


async def test_status_of_an_absent_broker_is_a_clear_error() -> None:
    from tests.conftest import free_port

    proc = await asyncio.create_subprocess_exec(
        str(IBBROKER),
        "status",
        "--target",
        f"127.0.0.1:{free_port()}",
        "--timeout",
        "1",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert b"UNAVAILABLE" in err or b"DEADLINE_EXCEEDED" in err
    assert b"Traceback" not in err + out


MONITOR_UP = re.compile(r"MONITOR\s+│\s+CONNECTED")


def whole(screen: str) -> bool:
    """A complete frame (the last pane's bottom border drawn), not one caught mid-redraw."""
    return "recent events" in screen and "╰" in screen.split("recent events")[1]


def tables(screen: str) -> str:
    """The screen above the recent-events pane."""
    return screen.split("recent events")[0]


class Tmux:
    """One detached tmux server (its own socket) running one command in a 120x50 pane."""

    def __init__(self, command: str) -> None:
        self.socket = f"ibbroker-top-{uuid.uuid4().hex[:8]}"
        # The pane's own size, not a COLUMNS/LINES inherited from whoever runs the tests.
        command = f"env -u COLUMNS -u LINES {command}"
        self._tmux("new-session", "-d", "-s", "top", "-x", "120", "-y", "50", command)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "top")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "top", *keys)

    async def wait_for(self, test: Callable[[str], bool], seconds: float = 20.0) -> str:
        """The screen once ``test`` passes (read every 0.1 s, at most ``seconds``)."""
        deadline = time.monotonic() + seconds
        while True:
            screen = await asyncio.to_thread(self.screen)
            if test(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"screen never matched {test.__doc__ or ''}:\n{screen}", pytrace=False)
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="tmux is not installed (apt-get install tmux; .ci/run installs it): top needs a terminal",
)
async def test_top_in_a_real_terminal_through_a_drop_a_lost_broker_and_ctrl_c(
    tmp_path: Path,
) -> None:
    cfg = observed_config(tmp_path / "store.sqlite3")
    broker = await start_broker(cfg, with_sim=True)
    stopped = False
    done = tmp_path / "exit-code"
    tmux = Tmux(
        f"{IBBROKER} top --target {broker.address} 2>{tmp_path / 'stderr'}; "
        f"echo $? > {done}; sleep 30"
    )
    try:
        assert broker.sim is not None
        await wait_connected(broker)
        events = Events(broker)
        client_id = await acquire(broker)
        screen = await tmux.wait_for(lambda s: "connected" in s and "CONNECTED" in s and OWNER in s)
        assert f"{client_id}" in screen and "paper/monitor" in screen

        # A simulator drop: the session goes RECONNECTING and comes back, live on screen.
        mark = events.mark()
        await broker.sim.faults.restart(3.0)
        during = await tmux.wait_for(lambda s: "RECONNECTING" in tables(s) and whole(s))
        await asyncio.to_thread(CAPTURE.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(CAPTURE.write_text, during)
        await events.wait(lambda e: e.state is S.CONNECTED, mark, seconds=30)
        after = await tmux.wait_for(
            lambda s: MONITOR_UP.search(s) is not None and "RECONNECTING" not in tables(s)
        )
        assert "Traceback" not in after

        # The broker goes away: the view says so and keeps retrying, no traceback.
        await stop_broker(broker)
        stopped = True
        gone = await tmux.wait_for(lambda s: "disconnected, retrying" in s)
        assert "Traceback" not in gone

        # Ctrl-C ends it cleanly with exit code 0.
        tmux.keys("C-c")
        deadline = time.monotonic() + 20
        while not done.exists():
            assert time.monotonic() < deadline, tmux.screen()
            await asyncio.sleep(0.1)
        assert done.read_text().strip() == "0"
        assert "Traceback" not in (tmp_path / "stderr").read_text()
    finally:
        tmux.kill()
        if not stopped:
            await stop_broker(broker)


async def test_status_with_auth_on_needs_the_token(tmp_path: Path) -> None:
    from tests.security.helpers import make_identities, secure_config

    cfg = secure_config(tmp_path)
    tokens = make_identities(cfg)
    async with running_broker(cfg, with_sim=True) as secured:
        await wait_connected(secured)

        async def status(*extra: str) -> tuple[int, bytes, bytes]:
            proc = await asyncio.create_subprocess_exec(
                str(IBBROKER), "status", "--json", "--target", secured.address, *extra,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env={k: v for k, v in os.environ.items() if k != "IBBROKER_TOKEN"},
            )  # fmt: skip
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode is not None
            return proc.returncode, out, err

        code, out, err = await status()
        assert code == 1 and b"UNAUTHENTICATED" in err and b"Traceback" not in err
        code, out, err = await status("--token", tokens["reader"])
        assert code == 0, err
        assert json.loads(out)["gateways"][0]["state"] == "CONNECTED"
