"""The ``ibbroker`` command line: serve, sim, sim-ctl, health, status, top."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker_server import __version__
from broker_server.config import BrokerConfig, ConfigError, load_config
from broker_server.logs import configure_logging

EXIT_CONFIG = 2
"""Exit code for invalid configuration or usage (like argparse)."""
EXIT_START_FAILED = 1
"""Exit code when the broker cannot start (store unusable, address taken)."""


def _serve(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as err:
        for problem in err.problems:
            print(f"ibbroker: config: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    cfg = _apply_flags(cfg, args)
    from broker_server.services.transport import startup_problems

    if problems := startup_problems(cfg):  # key permissions, the identity table
        for problem in problems:
            print(f"ibbroker: config: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(
        cfg.server.log_level,
        burst=cfg.server.log_burst,
        burst_interval=cfg.server.log_burst_interval,
    )
    from broker_server.app import serve  # imported late: `ibbroker health` stays light
    from broker_server.store.base import StoreError

    try:
        return asyncio.run(serve(cfg, with_sim=args.sim))
    except StoreError as err:
        print(f"ibbroker: store: {err}", file=sys.stderr)
        return EXIT_START_FAILED
    except OSError as err:  # the listen address is taken or not ours
        print(f"ibbroker: cannot start: {err}", file=sys.stderr)
        return EXIT_START_FAILED


def _apply_flags(cfg: BrokerConfig, args: argparse.Namespace) -> BrokerConfig:
    if args.listen:
        cfg = dataclasses.replace(cfg, server=dataclasses.replace(cfg.server, listen=args.listen))
    if args.store:
        cfg = dataclasses.replace(cfg, store=dataclasses.replace(cfg.store, path=args.store))
    if args.sim_port is not None:
        cfg = dataclasses.replace(cfg, sim=dataclasses.replace(cfg.sim, port=args.sim_port))
    return cfg


def _port(text: str) -> int:
    """A TCP port (0: any free one), for argparse: a bad one is a usage error (exit 2)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {port}")
    return port


def _health(args: argparse.Namespace) -> int:
    """Exit 0 when the broker's health service answers SERVING (the Docker HEALTHCHECK)."""
    from broker_client.auth import TLSConfig
    from broker_client.channel import sync_channel

    tls = None
    if args.cacert or args.cert:  # a TLS listener (docs/security.md)
        try:
            tls = TLSConfig(
                server_root_ca_cert=_read(args.cacert),
                client_cert=_read(args.cert),
                client_private_key=_read(args.key),
                domain=args.domain or None,
            )
        except OSError as err:
            print(f"ibbroker health: {err}", file=sys.stderr)
            return EXIT_CONFIG
    try:
        with sync_channel(args.target, tls=tls, token=os.environ.get("IBBROKER_TOKEN")) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = stub.Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
    except grpc.RpcError as err:
        print(
            f"ibbroker health: {args.target}: {err.code().name}: {err.details()}", file=sys.stderr
        )
        return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{args.target} {args.service or '(process)'}: {status}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


def _status(args: argparse.Namespace) -> int:
    """Print gateways, sessions and leases once (a table, or JSON with --json)."""
    from broker_server.observability.status import run_status  # imported late: rich

    tls = _client_tls(args, "status")
    if tls is False:
        return EXIT_CONFIG
    return run_status(
        args.target, as_json=args.json, timeout=args.timeout, tls=tls, token=args.token or None
    )


def _top(args: argparse.Namespace) -> int:
    """A live view of gateways, sessions, RTT, breaker, leases and events until Ctrl-C."""
    from broker_server.observability.top import run_top  # imported late: rich

    tls = _client_tls(args, "top")
    if tls is False:
        return EXIT_CONFIG
    return run_top(args.target, tls=tls, token=args.token or None)


def _client_tls(args: argparse.Namespace, command: str) -> Any:
    """The TLSConfig of --cacert/--cert/--key/--domain (None: plaintext; False: unreadable)."""
    from broker_client.auth import TLSConfig

    if not (args.cacert or args.cert):
        return None
    try:
        return TLSConfig(
            server_root_ca_cert=_read(args.cacert),
            client_cert=_read(args.cert),
            client_private_key=_read(args.key),
            domain=args.domain or None,
        )
    except OSError as err:
        print(f"ibbroker {command}: {err}", file=sys.stderr)
        return False


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def default_health_target(env: Mapping[str, str]) -> str:
    """Where `ibbroker health` looks by default: the address the broker was told to listen on."""
    listen = env.get("IBBROKER_LISTEN", "127.0.0.1:50051")
    host, _, port = listen.rpartition(":")
    if host in {"0.0.0.0", "[::]", "::", ""}:
        host = "127.0.0.1"
    return f"{host}:{port}"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command (one ``--help`` each)."""
    parser = argparse.ArgumentParser(
        prog="ibbroker",
        description="A gRPC connection broker for Interactive Brokers TWS / IB Gateway.",
    )
    parser.add_argument("--version", action="version", version=f"ibbroker {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the broker", description="Run the broker until SIGTERM/SIGINT."
    )
    serve.add_argument(
        "--config",
        metavar="FILE",
        help="TOML configuration file (default: none, built-in defaults)",
    )
    serve.add_argument(
        "--listen", metavar="HOST:PORT", help="gRPC listen address (overrides server.listen)"
    )
    serve.add_argument("--store", metavar="PATH", help="SQLite store file (overrides store.path)")
    serve.add_argument(
        "--sim",
        action="store_true",
        help="run the built-in IB Gateway simulator in-process and point the default gateway at it",
    )
    serve.add_argument(
        "--sim-port",
        type=_port,
        metavar="PORT",
        help="API port of the --sim simulator (overrides sim.port; 0: any free port)",
    )
    serve.set_defaults(func=_serve)

    health = commands.add_parser(
        "health", help="check a broker's health (exit 0 when SERVING)", description=_health.__doc__
    )
    health.add_argument(
        "--target",
        default=default_health_target(os.environ),
        metavar="HOST:PORT",
        help="broker address (default: IBBROKER_LISTEN with a wildcard host made 127.0.0.1, else 127.0.0.1:50051)",
    )
    health.add_argument(
        "--service", default="", help="service name to check (default: the whole process)"
    )
    health.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer")
    health.add_argument("--cacert", metavar="PEM", help="TLS: CA of the broker's certificate")
    health.add_argument("--cert", metavar="PEM", help="mTLS: client certificate")
    health.add_argument("--key", metavar="PEM", help="mTLS: client private key")
    health.add_argument("--domain", help="TLS: name to verify the broker's certificate against")
    health.set_defaults(func=_health)

    target_help = "broker address (default: as for `ibbroker health`)"
    status = commands.add_parser(
        "status",
        help="print the broker's gateways, sessions and leases once",
        description=_status.__doc__,
    )
    status.add_argument("--target", default=default_health_target(os.environ), help=target_help)
    status.add_argument("--json", action="store_true", help="print JSON instead of tables")
    status.add_argument("--timeout", type=float, default=5.0, help="seconds to wait per call")
    status.set_defaults(func=_status)
    top = commands.add_parser(
        "top", help="live terminal view of a broker (Ctrl-C exits)", description=_top.__doc__
    )
    top.add_argument("--target", default=default_health_target(os.environ), help=target_help)
    top.set_defaults(func=_top)
    for view in (status, top):
        view.add_argument(
            "--token",
            default=os.environ.get("IBBROKER_TOKEN", ""),
            help="bearer token for every call (default: IBBROKER_TOKEN)",
        )
        view.add_argument("--cacert", metavar="PEM", help="TLS: CA of the broker's certificate")
        view.add_argument("--cert", metavar="PEM", help="mTLS: client certificate")
        view.add_argument("--key", metavar="PEM", help="mTLS: client private key")
        view.add_argument("--domain", help="TLS: name to verify the broker's certificate against")

    from broker_server.cli_tokens import add_parsers as add_token_parsers
    from broker_server.sim.cli import add_parsers

    add_token_parsers(commands)
    add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ibbroker`` console script and ``python -m broker_server``."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
