"""A leader broker on PostgreSQL that SIGKILLs itself right after its first durable order intent.

``python -m tests.store.pg_crash_broker DSN SIM_PORT TTL`` starts the real broker (gRPC on
127.0.0.1:0, the PostgreSQL store at DSN with leadership TTL seconds, the simulator at
SIM_PORT), prints ``{"address": ...}`` and serves until the order manager's fault point
(``after_journal``) kills the process: the intent is committed in PostgreSQL, nothing was
written to IB's socket.
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
from tests.trading.served import fast_trading_config


def _die(entries: Sequence[JournalEntry]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(dsn: str, port: int, ttl: float) -> None:
    alive = Path(tempfile.mkdtemp(prefix="ibcrash-")) / "alive.sqlite3"  # the alive mark only
    cfg = fast_trading_config(alive, port)
    store = dataclasses.replace(cfg.store, backend="postgres", dsn=Secret(dsn), leadership_ttl=ttl)
    broker = await start_broker(dataclasses.replace(cfg, store=store))
    await broker.connections.connect(timeout=10)
    broker.orders.after_journal = _die
    print(json.dumps({"address": broker.address}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
