"""The JSON control interface in-process, and the CLI in a separate process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import pytest

from broker_server.sim.control import ControlServer, send_command
from broker_server.sim.server import SimServer
from tests.sim.conftest import ClientErrorGuard, Connect, make_config, wait_for


@pytest.fixture
async def controlled() -> AsyncIterator[tuple[SimServer, ControlServer]]:
    async with SimServer(make_config()) as sim:
        control = ControlServer(sim)
        await control.start()
        yield sim, control
        await control.stop()


async def ctl(control: ControlServer, **req: Any) -> dict[str, Any]:
    return await send_command("127.0.0.1", control.port, req, wait_s=2)


async def test_every_command(controlled: tuple[SimServer, ControlServer]) -> None:
    sim, control = controlled
    assert (await ctl(control, cmd="refuse"))["ok"]
    assert sim.faults.refusing
    assert (await ctl(control, cmd="accept"))["ok"]
    assert not sim.faults.refusing
    await ctl(control, cmd="close_before_handshake", enabled=True)
    assert sim.faults.closing_before_handshake
    assert (await ctl(control, cmd="drop", client_id=3, rst=True)) == {"ok": True, "dropped": 0}
    await ctl(control, cmd="stall", client_id=4)
    assert sim.faults.stalled_ids == {4}
    await ctl(control, cmd="resume")
    assert not sim.faults.stalled_ids
    await ctl(control, cmd="delay", seconds=0.5)
    assert sim.faults.delay == 0.5
    await ctl(control, cmd="ignore", msg_id=49)
    assert sim.faults.ignored == {49}
    await ctl(control, cmd="unignore", msg_id=49)
    assert (await ctl(control, cmd="error", code=1100)) == {"ok": True, "sent": 0}
    assert (await ctl(control, cmd="step", n=3))["market_steps"] == 3
    assert (await ctl(control, cmd="restart", seconds=0.05))["ok"]
    await ctl(control, cmd="clear")
    status = await ctl(control, cmd="status")
    assert status["listening"] and status["faults"]["delay"] == 0.0
    assert status["faults"]["ignored_msg_ids"] == []


async def test_bad_requests_get_error_replies(
    controlled: tuple[SimServer, ControlServer],
) -> None:
    _, control = controlled
    assert not (await ctl(control, cmd="nope"))["ok"]
    assert not (await ctl(control, cmd="delay"))["ok"]
    assert not (await ctl(control, cmd="delay", seconds=-1))["ok"]
    reader, writer = await asyncio.open_connection("127.0.0.1", control.port)
    writer.write(b"{not json\n[1]\n")
    first, second = await reader.readline(), await reader.readline()
    assert not json.loads(first)["ok"] and not json.loads(second)["ok"]
    writer.close()


async def test_drop_through_control_disconnects_a_client(
    controlled: tuple[SimServer, ControlServer],
    connect: Connect,
    client_errors: ClientErrorGuard,
) -> None:
    client_errors.allow(r"Peer closed connection")
    sim, control = controlled
    ib = await connect(sim, client_id=8)
    reply = await ctl(control, cmd="drop", client_id=8)
    assert reply == {"ok": True, "dropped": 1}
    await wait_for(lambda: not ib.isConnected(), 1)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker_server.sim", *args],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def test_cli_sim_and_sim_ctl_in_separate_processes() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "broker_server.sim",
            "sim",
            "--port",
            "0",
            "--seed",
            "3",
            "--accounts",
            "DU1,DU2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        assert line["event"] == "sim_listening" and line["port"] > 0
        assert line["accounts"] == ["DU1", "DU2"]
        cport = str(line["control_port"])
        status = _run("sim-ctl", "--port", cport, "status")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["port"] == line["port"]
        dropped = _run("sim-ctl", "--port", cport, "drop", "--client-id", "3", "--rst")
        assert json.loads(dropped.stdout) == {"ok": True, "dropped": 0}
        assert _run("sim-ctl", "--port", cport, "delay", "0.1").returncode == 0
        assert _run("sim-ctl", "--port", cport, "error", "1100").returncode == 0
        reject = ("reject", "no margin", "--symbol", "AAPL", "--times", "2")
        assert _run("sim-ctl", "--port", cport, *reject).returncode == 0
        assert (
            _run("sim-ctl", "--port", cport, "fill-chunk", "5", "--con-id", "265598").returncode
            == 0
        )
        rules = json.loads(_run("sim-ctl", "--port", cport, "status").stdout)["rules"]
        assert rules["rejects"][0]["times"] == 2
        assert rules["fill_chunks_by_con_id"] == {"265598": 5.0}
        orders = _run("sim-ctl", "--port", cport, "orders", "--order-ref", "x")
        assert json.loads(orders.stdout)["count"] == 0
        assert _run("sim-ctl", "--port", cport, "price", "265598", "150").returncode == 0
        assert _run("sim-ctl", "--port", cport, "clear-rules").returncode == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()


def test_cli_help_and_unreachable_control() -> None:
    assert "sim-ctl" in _run("--help").stdout
    assert "--control-port" in _run("sim", "--help").stdout
    unreachable = _run("sim-ctl", "--port", "1", "status")
    assert unreachable.returncode == 1 and not json.loads(unreachable.stdout)["ok"]


async def test_order_commands(
    controlled: tuple[SimServer, ControlServer],
    connect: Connect,
    lib: ModuleType,
    client_errors: ClientErrorGuard,
) -> None:
    client_errors.allow(r"Error 201")
    sim, control = controlled
    aapl = lib.Stock("AAPL", "SMART", "USD", conId=265598)
    assert (await ctl(control, cmd="reject", reason="No trading permissions", times=1))["ok"]
    assert (await ctl(control, cmd="fill_chunk", qty=2, order_ref="k1"))["ok"]
    ib = await connect(sim, client_id=12)
    rejected = ib.placeOrder(aapl, lib.LimitOrder("BUY", 3, 100.0, orderRef="k1"))
    await wait_for(lambda: rejected.orderStatus.status == "Cancelled")
    last = sim.market.quotes[265598].last
    trade = ib.placeOrder(aapl, lib.LimitOrder("BUY", 3, last - 1, orderRef="k1"))
    await wait_for(lambda: trade.orderStatus.status == "Submitted")
    reply = await ctl(control, cmd="orders", client_id=12, order_ref="k1")
    assert reply["count"] == 1 and reply["orders"][0]["status"] == "Submitted"
    assert reply["rejected"][0]["reason"] == "No trading permissions"
    assert (await ctl(control, cmd="price", con_id=265598, price=last - 2))["ok"]
    await wait_for(lambda: trade.orderStatus.filled == 2)
    await ctl(control, cmd="step")
    await wait_for(lambda: trade.orderStatus.status == "Filled")
    assert [f.execution.shares for f in trade.fills] == [2, 1]
    assert (await ctl(control, cmd="orders", order_ref="nope"))["count"] == 0
    assert (await ctl(control, cmd="clear_rules"))["ok"]
    assert (await ctl(control, cmd="status"))["rules"]["rejects"] == []
    assert not (await ctl(control, cmd="price", con_id=1, price=1.0))["ok"]
    assert not (await ctl(control, cmd="reject", reason=""))["ok"]
    assert (await ctl(control, cmd="drop_after_order", times=2, client_id=12))["ok"]
    assert (sim.faults.drop_after_order_times, sim.faults.drop_after_order_client) == (2, 12)
    assert (await ctl(control, cmd="status"))["faults"]["drop_after_order"] == 2
    assert not (await ctl(control, cmd="drop_after_order", times=-1))["ok"]
    ticker = ib.reqMktData(aapl)
    await wait_for(lambda: (sim.market_data_lines()) == {12: 1})
    assert (await ctl(control, cmd="lines")) == {"ok": True, "lines": {"12": 1}, "total": 1}
    before = sim.market.quotes[265598].last
    await wait_for(lambda: ticker.last == before)
    reply = await ctl(control, cmd="tick_rate", con_id=265598, rate=50)
    assert reply["tick_rates"] == {"265598": 50.0}
    await wait_for(lambda: ticker.last != before)
    assert (await ctl(control, cmd="tick_rate", con_id=265598, rate=0))["tick_rates"] == {}
    assert not (await ctl(control, cmd="tick_rate", con_id=1, rate=5))["ok"]
