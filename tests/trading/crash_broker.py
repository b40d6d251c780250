"""A broker process that SIGKILLs itself right after its first durable order intent.

``python -m tests.trading.crash_broker STORE SIM_PORT`` starts the real broker (gRPC on
127.0.0.1:0, the store file, the simulator at SIM_PORT), prints ``{"address": ...}`` and serves
until the order manager's fault point (``after_journal``) kills the process with SIGKILL: the
intent is committed, nothing was written to IB's socket.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from broker_server.app import start_broker
from broker_server.domain.journal import JournalEntry
from tests.trading.served import fast_trading_config


def _die(entries: Sequence[JournalEntry]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(store: Path, port: int) -> None:
    broker = await start_broker(fast_trading_config(store, port))
    await broker.connections.connect(timeout=10)
    broker.orders.after_journal = _die
    print(json.dumps({"address": broker.address}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
