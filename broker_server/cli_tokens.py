"""``ibbroker token create|list|delete``: the identity table from the command line.

``create`` prints the new token once, on stdout and alone on its line (so
``TOKEN=$(ibbroker token create ...)`` works); the table keeps only its HMAC. Identities made
with ``--no-token`` are for client certificates (their CN or SAN is the name).
"""

from __future__ import annotations

import argparse
import sys
import time

from broker_server.config import ConfigError, load_config
from broker_server.config_security import SCOPES
from broker_server.services.tokens import TokenFile, TokenFileError, load_key

EXIT_CONFIG = 2


def _table(args: argparse.Namespace, *, create_key: bool) -> TokenFile:
    cfg = load_config(args.config)
    key = load_key(cfg.auth.token_key, cfg.auth.token_key_file, create=create_key)
    return TokenFile(cfg.auth.tokens_file, key)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.token_command == "create":
            return _create(args)
        table = _table(args, create_key=False)
        if args.token_command == "list":
            now = time.time()
            print(f"{'NAME':24} {'SCOPES':24} {'TOKEN':8} EXPIRES")
            for rec in sorted(table.records().values(), key=lambda r: r.name):
                if rec.expires is None:
                    expires = "never"
                elif rec.expires <= now:
                    expires = "expired"
                else:
                    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(rec.expires))
                token = "yes" if rec.token_hash else "cert"
                print(f"{rec.name:24} {','.join(sorted(rec.scopes)):24} {token:8} {expires}")
            return 0
        if not table.delete(args.name):
            print(f"ibbroker token: no identity named {args.name!r}", file=sys.stderr)
            return 1
        print(f"deleted {args.name}", file=sys.stderr)
        return 0
    except ConfigError as err:
        for problem in err.problems:
            print(f"ibbroker: config: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except (TokenFileError, ValueError, OSError) as err:
        print(f"ibbroker token: {err}", file=sys.stderr)
        return EXIT_CONFIG


def _create(args: argparse.Namespace) -> int:
    scopes = frozenset(s.strip() for s in args.scopes.split(",") if s.strip())
    table = _table(args, create_key=True)
    token = table.create(
        args.name, scopes, expires_in=args.expires_in, with_token=not args.no_token
    )
    print(f"identity {args.name} scopes {','.join(sorted(scopes))}", file=sys.stderr)
    if token:
        print(token)
        print("the token is shown once: store it now (only its hash is kept)", file=sys.stderr)
    return 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``token`` and its sub-commands on the ``ibbroker`` parser."""
    token = commands.add_parser(
        "token", help="manage identities and bearer tokens", description=__doc__
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="FILE", help="TOML configuration file (auth.tokens_file, key)"
    )
    sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = sub.add_parser(
        "create", parents=[common], help="create or replace an identity; prints its token once"
    )
    create.add_argument("name", help="identity name (owner of its leases and orders)")
    create.add_argument(
        "--scopes", required=True, help=f"comma-separated, some of: {','.join(SCOPES)}"
    )
    create.add_argument(
        "--expires-in", type=float, metavar="SECONDS", help="the token stops working after this"
    )
    create.add_argument(
        "--no-token", action="store_true", help="no token: a client-certificate identity"
    )
    sub.add_parser("list", parents=[common], help="list identities (never tokens)")
    delete = sub.add_parser(
        "delete", parents=[common], help="delete an identity; its token stops working at once"
    )
    delete.add_argument("name")
    token.set_defaults(func=_run)
