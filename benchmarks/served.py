"""The broker exactly as ``ibbroker serve`` runs it, in a child process, for the benchmarks.

``ServedBroker`` starts ``python -m broker_server serve --sim --listen 127.0.0.1:0 --store FILE
[--config FILE]`` (the real CLI, the real app, the real store configuration), reads its JSON log
on a thread and takes the listening address from the ``grpc_listening`` line. With
``gateway=(host, port)`` it serves without ``--sim``, its default gateway at ``host:port``
(``IB_HOST`` / ``IB_PORT``), as in production, where the gateway is a process of its own:
:class:`SimProcess` runs ``ibbroker sim`` as that gateway. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class ServedBroker:
    """``ibbroker serve`` in a child process; ``records`` holds its parsed JSON log lines."""

    def __init__(
        self,
        store: Path,
        config: Path | None = None,
        root: Path = ROOT,
        *,
        gateway: tuple[str, int] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.root = root
        self.gateway = gateway
        self.address = ""
        self.records: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60.0) -> None:
        argv = [sys.executable, "-m", "broker_server", "serve"]
        argv += ["--sim"] if self.gateway is None else []
        argv += ["--listen", "127.0.0.1:0", "--store", str(self.store)]
        if self.config is not None:
            argv += ["--config", str(self.config)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name in ("IBBROKER_STORE", "IBBROKER_LISTEN", "IB_HOST", "IB_PORT", "IB_CLIENT_ID"):
            env.pop(name, None)
        if self.gateway is not None:
            env["IB_HOST"], env["IB_PORT"] = self.gateway[0], str(self.gateway[1])
        self.proc = subprocess.Popen(
            argv, cwd=self.root, env=env, text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        listening = self.wait_for("grpc_listening", timeout)
        self.address = str(listening["address"])

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            # Every lease event is a log line: parse only what the benchmarks read, so the
            # reader thread takes little CPU from the clients measured in this process.
            if (
                '"grpc_listening"' not in line
                and '"metrics"' not in line
                and '"level":"ERROR' not in line
            ):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = {"event": "text", "line": line.rstrip()}
            with self._cond:
                self.records.append(record)
                self._cond.notify_all()
        with self._cond:
            self.records.append({"event": "exited"})
            self._cond.notify_all()

    def wait_for(self, event: str, timeout: float, after: int = 0) -> dict[str, Any]:
        """The first log record ``event`` at index >= ``after``, waiting up to ``timeout``."""

        def find() -> dict[str, Any] | None:
            for record in self.records[after:]:
                if record.get("event") in (event, "exited"):
                    return record
            return None

        with self._cond:
            found = self._cond.wait_for(find, timeout)
        if not found or found.get("event") != event:
            tail = "\n".join(json.dumps(r) for r in self.records[-15:])
            raise RuntimeError(f"broker: no {event!r} within {timeout} s:\n{tail}")
        return found

    def metric(self, name: str, timeout: float = 5.0, **attributes: Any) -> float:
        """The sum of metric ``name``'s points with ``attributes`` in the next ``metrics`` log
        line (set ``server.metrics_log_interval`` short in the config)."""
        record = self.wait_for("metrics", timeout, after=len(self.records))
        total = 0.0
        for attrs, value in record["metrics"].get(name, []):
            if all(attrs.get(k) == v for k, v in attributes.items()):
                total += value
        return total

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)

    def __enter__(self) -> ServedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SimProcess:
    """``ibbroker sim --port 0`` in a child process: the gateway of a broker served without
    ``--sim``; ``port`` from its ``sim_listening`` line, ``pid`` for its CPU time."""

    def __init__(self, root: Path = ROOT, timeout: float = 60.0) -> None:
        self.root = root
        self.timeout = timeout
        self.host = "127.0.0.1"
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> SimProcess:
        argv = [sys.executable, "-m", "broker_server", "sim", "--host", self.host, "--port", "0"]
        self.proc = subprocess.Popen(
            argv, cwd=self.root, text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        stdout = self.proc.stdout
        assert stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.timeout)
        record = json.loads(lines[0]) if lines and lines[0].strip() else {}
        if record.get("event") != "sim_listening":
            self.__exit__()
            raise RuntimeError(f"simulator: no sim_listening line within {self.timeout} s")
        self.port = int(record["port"])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)


def write_config(path: Path, text: str) -> Path:
    """Write a TOML config for ``--config``; returns ``path``."""
    path.write_text(text)
    return path
