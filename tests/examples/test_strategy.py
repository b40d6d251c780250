"""examples/python/strategy.py runs as a user runs it, against a real broker and its simulator:
it leases, decides, pauses on a gateway drop (RECONNECTING), resumes on RESTORED with its own
socket back, and stops cleanly, releasing its lease."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from broker_client import BrokerClientSync
from tests.support.threaded_broker import threaded_broker

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "python" / "strategy.py"


class Lines:
    """The example's JSON lines, read on a thread; waits are bounded."""

    def __init__(self, stream: IO[str]) -> None:
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self.raw.append(line)
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    pass
                self._cond.notify_all()

    def wait_for(self, name: str, after: int = 0, within: float = 20.0) -> int:
        """Index of the first ``name`` event at or after ``after``."""

        def find() -> int | None:
            for i, e in enumerate(self.events[after:], after):
                if e.get("event") == name:
                    return i
            return None

        with self._cond:
            found = self._cond.wait_for(lambda: find() is not None, within)
            assert found, f"no {name!r} within {within} s:\n{''.join(self.raw[-20:])}"
            index = find()
            assert index is not None
            return index


def test_example_strategy_pauses_on_a_drop_and_resumes_on_restored(tmp_path: Path) -> None:
    with threaded_broker(tmp_path / "store.sqlite3") as broker:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--broker", broker.address, "--duration", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        try:
            assert proc.stdout is not None
            lines = Lines(proc.stdout)
            leased = lines.events[lines.wait_for("leased")]
            first = lines.wait_for("decision")
            assert leased["gateway"] == "paper" and leased["client_id"] >= 100

            assert broker.call(lambda: broker.broker.sim.drop_clients(None, rst=False)) >= 2  # type: ignore[union-attr]
            paused = lines.wait_for("paused", after=first)
            resumed = lines.wait_for("resumed", after=paused)
            lines.wait_for("decision", after=resumed)
            assert lines.events[paused]["why"] == "RECONNECTING"
            # No decision while paused.
            between = [e["event"] for e in lines.events[paused:resumed]]
            assert "decision" not in between

            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
            lines.wait_for("stopped", after=resumed)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        with BrokerClientSync(broker.address) as client:
            assert client.list_leases(owner="example-strategy") == []  # released on exit
