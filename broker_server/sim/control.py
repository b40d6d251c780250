"""Control interface: line-delimited JSON over loopback TCP, for scripting a separate process.

Each request is one JSON object per line, ``{"cmd": "drop", "client_id": 3, "rst": true}``;
each reply is one JSON object per line, ``{"ok": true, ...}`` or ``{"ok": false, "error":
"..."}``. Commands mirror ``SimServer.faults``: refuse, accept, close_before_handshake, drop,
stall, resume, delay, ignore, unignore, error, restart, clear, step, status; orders (count and
list by client_id / order_ref), fill_chunk, reject, clear_rules and price script orders
(see docs/simulator.md); tick_rate and lines for market data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from broker_server.aio import within
from broker_server.logs import log_event
from broker_server.sim.rules import RejectRule
from broker_server.sim.server import SimServer

logger = logging.getLogger("ibbroker.sim.control")

MAX_LINE = 64 * 1024

Command = Callable[[SimServer, dict[str, Any]], Awaitable[dict[str, Any]]]


def _opt_int(req: dict[str, Any], key: str) -> int | None:
    value = req.get(key)
    return None if value is None else int(value)


async def _refuse(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    await sim.faults.refuse()
    return {}


async def _accept(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    await sim.faults.accept()
    return {}


async def _close_before_handshake(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.faults.close_before_handshake(bool(req.get("enabled", True)))
    return {}


async def _drop(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    n = await sim.faults.drop(_opt_int(req, "client_id"), mode="rst" if req.get("rst") else "fin")
    return {"dropped": n}


async def _stall(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.faults.stall(_opt_int(req, "client_id"))
    return {}


async def _resume(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.faults.resume(_opt_int(req, "client_id"))
    return {}


async def _delay(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.faults.set_delay(float(req["seconds"]))
    return {}


async def _ignore(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.faults.ignore(int(req["msg_id"]))
    return {}


async def _unignore(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.faults.unignore(int(req["msg_id"]))
    return {}


async def _error(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    n = await sim.faults.broadcast_error(int(req["code"]), req.get("message"))
    return {"sent": n}


async def _restart(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    await sim.faults.restart(float(req["seconds"]))
    return {}


async def _clear(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.faults.clear()
    await sim.faults.wait_accepting()
    return {}


async def _step(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.market.step(int(req.get("n", 1)))
    return {"market_steps": sim.market.steps}


async def _status(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    return sim.status()


async def _orders(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    client_id = _opt_int(req, "client_id")
    order_ref = req.get("order_ref")
    ref = None if order_ref is None else str(order_ref)
    orders = sim.book.find_orders(client_id, ref)
    return {
        "count": len(orders),
        "orders": [sim.order_info(o) for o in orders],
        "rejected": [
            {"client_id": c, "order_id": i, "order_ref": r, "reason": why}
            for c, i, r, why in sim.book.rejected
            if (client_id is None or c == client_id) and (ref is None or r == ref)
        ],
    }


async def _fill_chunk(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.rules.set_fill_chunk(
        float(req["qty"]), con_id=int(req.get("con_id", 0)), order_ref=str(req.get("order_ref", ""))
    )
    return {"rules": sim.rules.status()}


async def _reject(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    times = _opt_int(req, "times")
    sim.rules.add_reject(
        RejectRule(
            reason=str(req["reason"]),
            con_id=int(req.get("con_id", 0)),
            symbol=str(req.get("symbol", "")),
            order_ref=str(req.get("order_ref", "")),
            client_id=_opt_int(req, "client_id"),
            action=str(req.get("action", "")),
            times=times,
        )
    )
    return {"rules": sim.rules.status()}


async def _drop_after_order(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.faults.drop_after_order(int(req.get("times", 1)), _opt_int(req, "client_id"))
    return {}


async def _tick_rate(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.set_tick_rate(int(req["con_id"]), float(req["rate"]))
    return {"tick_rates": {str(k): v for k, v in sim.tick_rates.items()}}


async def _lines(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    lines = sim.market_data_lines()
    return {"lines": {str(k): v for k, v in lines.items()}, "total": sum(lines.values())}


async def _clear_rules(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.rules.clear()
    return {}


async def _price(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    sim.market.set_price(int(req["con_id"]), float(req["price"]))
    return {}


COMMANDS: dict[str, Command] = {
    "refuse": _refuse,
    "accept": _accept,
    "close_before_handshake": _close_before_handshake,
    "drop": _drop,
    "stall": _stall,
    "resume": _resume,
    "delay": _delay,
    "ignore": _ignore,
    "unignore": _unignore,
    "error": _error,
    "restart": _restart,
    "clear": _clear,
    "step": _step,
    "status": _status,
    "orders": _orders,
    "fill_chunk": _fill_chunk,
    "reject": _reject,
    "clear_rules": _clear_rules,
    "drop_after_order": _drop_after_order,
    "tick_rate": _tick_rate,
    "lines": _lines,
    "price": _price,
}


async def execute(sim: SimServer, req: dict[str, Any]) -> dict[str, Any]:
    """Run one control request and build its reply (never raises for bad input)."""
    cmd = req.get("cmd")
    command = COMMANDS.get(cmd) if isinstance(cmd, str) else None
    if command is None:
        return {"ok": False, "error": f"unknown command {cmd!r}", "commands": sorted(COMMANDS)}
    try:
        result = await command(sim, req)
    except (KeyError, TypeError, ValueError) as exc:
        return {"ok": False, "error": f"bad arguments for {cmd}: {exc!r}"}
    log_event(logger, logging.INFO, "sim_control", cmd=cmd)
    return {"ok": True, **result}


class ControlServer:
    """Serves the control protocol for one SimServer (loopback only by default)."""

    def __init__(self, sim: SimServer, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.host = host
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        """Listen for control connections."""
        self._server = await asyncio.start_server(
            self._serve, self.host, self._requested_port, limit=MAX_LINE
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, ConnectionError):
                    break
                if not line:
                    break
                try:
                    req = json.loads(line)
                    if not isinstance(req, dict):
                        raise ValueError("request must be a JSON object")
                except ValueError as exc:
                    reply: dict[str, Any] = {"ok": False, "error": f"bad JSON: {exc}"}
                else:
                    reply = await execute(self.sim, req)
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def send_command(
    host: str, port: int, req: dict[str, Any], wait_s: float = 10.0
) -> dict[str, Any]:
    """Send one control request and return the reply (TimeoutError after ``wait_s``)."""

    async def _roundtrip() -> dict[str, Any]:
        reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE)
        try:
            writer.write(json.dumps(req).encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        if not line:
            raise ConnectionError("control server closed the connection without a reply")
        reply = json.loads(line)
        if not isinstance(reply, dict):
            raise ValueError("control reply is not a JSON object")
        return reply

    return await within(_roundtrip(), wait_s)
