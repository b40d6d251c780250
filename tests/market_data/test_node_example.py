"""The Node example subscribes: clients/node/examples/market_data.mjs against a real broker."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ROOT

NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
async def test_node_example_gets_snapshot_then_updates(make_broker: Callable[..., Any]) -> None:
    broker = await make_broker()
    assert NODE is not None
    proc = await asyncio.create_subprocess_exec(
        NODE,
        "examples/market_data.mjs",
        cwd=ROOT / "clients" / "node",
        env={"IBBROKER_ADDRESS": f"127.0.0.1:{broker.port}", "MD_EVENTS": "3", "PATH": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert [line["event"] for line in lines] == ["snapshot", "update", "update"]
    assert lines[0]["bid"] and int(lines[0]["sequence"]) < int(lines[2]["sequence"])
