"""Command line: ``sim`` runs a simulated gateway, ``sim-ctl`` scripts a running one.

``add_parsers`` plugs both into any argparse subparsers object (the main ``ibbroker`` CLI
and ``python -m broker_server.sim`` use it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from typing import Any

from broker_server.logs import configure_logging
from broker_server.sim import versions
from broker_server.sim.control import ControlServer, send_command
from broker_server.sim.server import SimConfig, SimServer


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sim`` and ``sim-ctl`` subcommands (each sets ``func=callable(args)->int``)."""
    sim = subparsers.add_parser(
        "sim",
        help="run the IB Gateway simulator",
        description=(
            "Run a simulated IB Gateway speaking the TWS socket protocol, plus a loopback "
            "JSON control port for sim-ctl. Prints one JSON line with where it listens, "
            "then runs until SIGTERM or SIGINT."
        ),
    )
    sim.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    sim.add_argument("--port", type=int, default=4002, help="API port (0: any free port)")
    sim.add_argument("--seed", type=int, default=1, help="seed of the market random walk")
    sim.add_argument(
        "--control-port", type=int, default=0, help="control port on loopback (0: any free)"
    )
    sim.add_argument("--accounts", default="DU1234567", help="comma-separated managed accounts")
    sim.add_argument(
        "--max-server-version",
        type=int,
        default=versions.MAX_SERVER_VERSION,
        help=f"highest server version offered ({versions.MIN_SERVER_VERSION}.."
        f"{versions.MAX_SERVER_VERSION})",
    )
    sim.add_argument(
        "--tick-interval", type=float, default=0.25, help="seconds between market steps"
    )
    sim.add_argument(
        "--realtime-bar-interval",
        type=float,
        default=5.0,
        help="seconds of one real-time bar (IB: 5)",
    )
    sim.add_argument(
        "--current-time-interval",
        type=float,
        default=1.0,
        help="answer reqCurrentTime at most once per this many seconds (0: always)",
    )
    sim.add_argument("--max-msgs-per-sec", type=int, default=50, help="pacing limit (0: unlimited)")
    sim.add_argument(
        "--max-connections", type=int, default=64, help="open sockets before new ones are closed"
    )
    sim.add_argument(
        "--max-output-bytes",
        type=int,
        default=8 * 1024 * 1024,
        help="unsent bytes per client before it is disconnected (a client that does not read)",
    )
    sim.add_argument(
        "--max-frame-bytes", type=int, default=1024 * 1024, help="largest incoming message"
    )
    sim.add_argument("--log-level", default="WARNING", help="log level of the JSON logs")
    sim.set_defaults(func=run_sim)

    ctl = subparsers.add_parser(
        "sim-ctl",
        help="send a fault or query to a running simulator",
        description="Send one command to a simulator's control port and print the JSON reply.",
    )
    ctl.add_argument("--host", default="127.0.0.1", help="control host")
    ctl.add_argument("--port", type=int, required=True, help="control port")
    ctl.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a reply")
    cmds = ctl.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmds.add_parser("refuse", help="close the listener (clients get connection refused)")
    cmds.add_parser("accept", help="listen again")
    cbh = cmds.add_parser("close-before-handshake", help="accept, then close before handshake")
    cbh.add_argument("--off", action="store_true", help="turn the fault off")
    drop = cmds.add_parser("drop", help="close client sockets (all, or one client ID)")
    drop.add_argument("--client-id", type=int, default=None)
    drop.add_argument("--rst", action="store_true", help="reset (RST) instead of FIN")
    stall = cmds.add_parser("stall", help="keep sockets open but stop all traffic")
    stall.add_argument("--client-id", type=int, default=None)
    resume = cmds.add_parser("resume", help="end a stall")
    resume.add_argument("--client-id", type=int, default=None)
    delay = cmds.add_parser("delay", help="delay every incoming message")
    delay.add_argument("seconds", type=float)
    ignore = cmds.add_parser("ignore", help="never answer one incoming message id")
    ignore.add_argument("msg_id", type=int)
    unignore = cmds.add_parser("unignore", help="answer a message id again")
    unignore.add_argument("msg_id", type=int)
    err = cmds.add_parser("error", help="broadcast error CODE with reqId -1 (1100, 2104, ...)")
    err.add_argument("code", type=int)
    err.add_argument("--message", default=None)
    restart = cmds.add_parser("restart", help="drop all, refuse SECONDS, accept again")
    restart.add_argument("seconds", type=float)
    step = cmds.add_parser("step", help="advance the market random walk")
    step.add_argument("n", type=int, nargs="?", default=1)
    orders = cmds.add_parser("orders", help="count and list orders (by client ID / orderRef)")
    orders.add_argument("--client-id", type=int, default=None)
    orders.add_argument("--order-ref", default=None)
    chunk = cmds.add_parser("fill-chunk", help="fill at most QTY per execution (0: whole)")
    chunk.add_argument("qty", type=float)
    chunk.add_argument("--con-id", type=int, default=0, help="only this instrument")
    chunk.add_argument("--order-ref", default="", help="only orders with this orderRef")
    reject = cmds.add_parser("reject", help="reject matching new orders with error 201")
    reject.add_argument("reason")
    reject.add_argument("--con-id", type=int, default=0)
    reject.add_argument("--symbol", default="")
    reject.add_argument("--order-ref", default="")
    reject.add_argument("--client-id", type=int, default=None)
    reject.add_argument("--action", default="")
    reject.add_argument("--times", type=int, default=None, help="how many (default: all)")
    cmds.add_parser("clear-rules", help="whole fills, no rejections")
    dao = cmds.add_parser(
        "drop-after-order", help="accept the next new order(s), then reset the connection"
    )
    dao.add_argument("--times", type=int, default=1)
    dao.add_argument("--client-id", type=int, default=None)
    price = cmds.add_parser("price", help="move one instrument's price (fills what crosses)")
    price.add_argument("con_id", type=int)
    price.add_argument("price", type=float)
    rate = cmds.add_parser("tick-rate", help="tick one instrument RATE times a second (0: off)")
    rate.add_argument("con_id", type=int)
    rate.add_argument("rate", type=float)
    cmds.add_parser("lines", help="market-data lines per client ID")
    cmds.add_parser("clear", help="undo every fault")
    cmds.add_parser("status", help="print the simulator's state")
    ctl.set_defaults(func=run_ctl)


def _request(args: argparse.Namespace) -> dict[str, Any]:
    cmd = args.command.replace("-", "_")
    req: dict[str, Any] = {"cmd": cmd}
    if cmd == "close_before_handshake":
        req["enabled"] = not args.off
    keys = (
        *("client_id", "seconds", "msg_id", "code", "message", "n", "qty", "con_id"),
        *("order_ref", "reason", "symbol", "action", "times", "price", "rate"),
    )
    for key in keys:
        if hasattr(args, key):
            req[key] = getattr(args, key)
    if hasattr(args, "rst"):
        req["rst"] = args.rst
    return req


def run_ctl(args: argparse.Namespace) -> int:
    """``sim-ctl``: print the reply; exit 1 when the simulator says no or is unreachable."""
    try:
        reply = asyncio.run(send_command(args.host, args.port, _request(args), args.timeout))
    except (OSError, TimeoutError, ValueError) as exc:
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(reply))
    return 0 if reply.get("ok") else 1


def run_sim(args: argparse.Namespace) -> int:
    """``sim``: serve until SIGTERM/SIGINT, then exit 0."""
    configure_logging(args.log_level)
    accounts = tuple(a.strip() for a in args.accounts.split(",") if a.strip())
    try:
        config = SimConfig(
            host=args.host,
            port=args.port,
            seed=args.seed,
            accounts=accounts,
            max_server_version=args.max_server_version,
            tick_interval=args.tick_interval,
            realtime_bar_interval=args.realtime_bar_interval,
            current_time_min_interval=args.current_time_interval,
            max_msgs_per_sec=args.max_msgs_per_sec,
            max_connections=args.max_connections,
            max_output_bytes=args.max_output_bytes,
            max_frame_bytes=args.max_frame_bytes,
        )
    except ValueError as exc:
        print(f"sim: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(config, args.control_port))


async def _serve(config: SimConfig, control_port: int) -> int:
    sim = SimServer(config)
    control = ControlServer(sim, "127.0.0.1", control_port)
    try:
        await sim.start()
        await control.start()
    except OSError as exc:
        print(f"sim: cannot listen: {exc}", file=sys.stderr)
        await sim.stop()
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(
        json.dumps(
            {
                "event": "sim_listening",
                "host": config.host,
                "port": sim.port,
                "control_port": control.port,
                "accounts": list(config.accounts),
                "max_server_version": config.max_server_version,
            }
        ),
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await control.stop()
        await sim.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m broker_server.sim``)."""
    parser = argparse.ArgumentParser(prog="python -m broker_server.sim")
    sub = parser.add_subparsers(dest="subcommand", required=True)
    add_parsers(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
