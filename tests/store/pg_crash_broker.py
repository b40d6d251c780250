"""A leader broker on PostgreSQL with a fault right after its first durable order intent.

``python -m tests.store.pg_crash_broker DSN SIM_PORT TTL`` starts the real broker (gRPC on
127.0.0.1:0, the PostgreSQL store at DSN with leadership TTL seconds, the simulator at
SIM_PORT), prints ``{"address": ...}`` and serves until the order manager's fault point
(``after_journal``) fires: the intent is committed in PostgreSQL, nothing was written to IB's
socket. What the fault is comes from ``IBBROKER_TEST_FAULT``:

- ``kill`` (the default): the process SIGKILLs itself;
- ``stop``: it prints ``{"stopped": ORDER_REF}`` and SIGSTOPs itself, right there, between the
  journal write and the send; after a SIGCONT it goes on with the send (a leader paused past a
  takeover, waking up). Its JSON log lines go to stderr.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from broker_server.app import start_broker
from broker_server.config import Secret
from broker_server.domain.journal import JournalEntry
from broker_server.logs import configure_logging
from tests.trading.served import fast_trading_config


def _die(entries: Sequence[JournalEntry]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _pause(entries: Sequence[JournalEntry]) -> None:
    print(json.dumps({"stopped": entries[0].order_ref}), flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)  # returns after the SIGCONT, straight into the send


async def main(dsn: str, port: int, ttl: float) -> None:
    fault = os.environ.get("IBBROKER_TEST_FAULT", "kill")
    configure_logging("INFO")
    alive = Path(tempfile.mkdtemp(prefix="ibcrash-")) / "alive.sqlite3"  # the alive mark only
    cfg = fast_trading_config(alive, port)
    store = dataclasses.replace(cfg.store, backend="postgres", dsn=Secret(dsn), leadership_ttl=ttl)
    broker = await start_broker(dataclasses.replace(cfg, store=store))
    await broker.connections.connect(timeout=10)
    broker.orders.after_journal = _pause if fault == "stop" else _die
    print(json.dumps({"address": broker.address}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
