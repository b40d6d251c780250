"""Structured JSON logging to stderr.

Every module logs through the standard :mod:`logging` package; structured fields travel in
``extra={"fields": {...}}`` (or through :func:`log_event`) and are rendered as one JSON object
per line by :class:`JsonFormatter`.

A line logged inside an OpenTelemetry span (an RPC while tracing is on) carries ``trace_id`` and
``span_id``, so a log search finds the trace and a trace finds its lines.

Repeated lines are rate-limited by :class:`RepeatLimiter` on the handler: a flood of identical
lines (a client sending garbage, a gateway refusing connects) cannot fill the disk, while every
distinct state change (its own lease ID, its own session) still gets its line.

``configure_logging`` (the CLI's) writes through :class:`BackgroundWriter`: the thread that logs
(the event loop, mostly) only builds the record and queues it; rate limiting, JSON formatting
and the write to stderr happen on a writer thread that writes every line queued meanwhile in one
``write``. A busy broker logs several lines per lease pair, and the write syscalls alone were a
tenth of its loop time. Nothing is lost on a clean exit (``logging.shutdown`` drains the queue);
``kill -9`` loses at most the lines of the last moment, which the old synchronous write could
lose too while they sat in the pipe.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics as otel
from opentelemetry import trace

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}

_suppressed = otel.get_meter("ibbroker").create_counter(
    "ibbroker.log.suppressed",
    unit="{line}",
    description="Log lines not written because identical ones exceeded server.log_burst.",
)


TRACE_IDS = "_ibbroker_trace_ids"
"""Record attribute holding (trace_id, span_id) captured where the record was made (a writer
thread formats it outside the span)."""


def trace_ids() -> tuple[str, str] | None:
    """The current span's (trace_id, span_id) as hex, or None outside a span."""
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return None
    return trace.format_trace_id(span.trace_id), trace.format_span_id(span.span_id)


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line: ts, level, logger, event, then the structured fields."""

    _second = -1
    _stamp = ""

    def _ts(self, record: logging.LogRecord) -> str:
        # One strftime per second, not per line.
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self._ts(record),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            payload.update(fields)
        # Inside a span (an RPC, an IB request made for it): the IDs that find its trace.
        ids = getattr(record, TRACE_IDS, None) or trace_ids()
        if ids is not None:
            payload.setdefault("trace_id", ids[0])
            payload.setdefault("span_id", ids[1])
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key != "fields" and not key.startswith("_"):
                payload.setdefault(key, value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, separators=(",", ":"))


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """Log ``event`` with structured ``fields`` (rendered as JSON keys). Values are rendered
    later, on the writer thread: pass values, not objects the caller mutates afterwards."""
    if not logger.isEnabledFor(level):
        return
    # makeRecord + handle is what Logger.log does, without the caller lookup (a stack walk per
    # line for pathname/lineno, which the JSON line never shows).
    logger.handle(
        logger.makeRecord(logger.name, level, "", 0, event, (), None, extra={"fields": fields})
    )


@dataclass
class _Window:
    start: float
    written: int = 1
    suppressed: int = 0


class RepeatLimiter(logging.Filter):
    """Writes the same line (logger, level, event and fields) at most ``burst`` times per
    ``interval`` seconds. The rest are dropped and counted (``ibbroker.log.suppressed``); the
    first line of that key in a later window carries ``"suppressed": K``."""

    MAX_KEYS = 10_000
    """Keys remembered at most; older windows are forgotten first (their counts still metered)."""

    def __init__(
        self, burst: int, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.interval = interval
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        # Handlers filter outside their lock, and the store's writer thread logs too.
        self._lock = threading.Lock()

    @staticmethod
    def _key(record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        exc = record.exc_info[1] if record.exc_info else None
        body = json.dumps(fields, sort_keys=True, default=str) if fields else ""
        return f"{record.name}|{record.levelno}|{record.getMessage()}|{body}|{exc!r}"

    def filter(self, record: logging.LogRecord) -> bool:
        key = self._key(record)
        with self._lock:
            return self._admit(key, record)

    def _admit(self, key: str, record: logging.LogRecord) -> bool:
        now = self._clock()
        window = self._windows.get(key)
        if window is not None and now - window.start < self.interval:
            if window.written < self.burst:
                window.written += 1
                return True
            window.suppressed += 1
            _suppressed.add(1, {"event": record.getMessage()[:64]})
            return False
        if window is not None and window.suppressed:
            fields = getattr(record, "fields", None)
            record.fields = {
                **(fields if isinstance(fields, dict) else {}),
                "suppressed": window.suppressed,
            }
        self._windows.pop(key, None)
        self._windows[key] = _Window(now)
        if len(self._windows) > self.MAX_KEYS:
            del self._windows[next(iter(self._windows))]
        return True


_STOP = logging.makeLogRecord({"msg": "stop"})


class BackgroundWriter(logging.Handler):
    """Queues records and writes them as JSON lines on its own thread (see the module doc).

    The logging thread captures what only it knows (the span's trace IDs, the message with its
    arguments); the writer thread applies ``limiter``, formats and writes every record queued
    meanwhile with one ``write`` and one ``flush``. Line order is the order of :meth:`emit`.
    At most :attr:`MAX_QUEUED` records wait: beyond that the logging thread waits for the
    writer, as it waited for the stream before. :meth:`flush` and :meth:`close` return once
    everything queued before them is written.
    """

    MAX_QUEUED = 65_536
    MAX_BATCH = 1024
    LINGER = 0.002
    """Seconds the writer waits after the first line of a batch (lines are that much later)."""

    def __init__(self, stream: Any, limiter: logging.Filter | None = None) -> None:
        super().__init__()
        self.stream = stream
        self.setFormatter(JsonFormatter())
        self._limiter = limiter
        self._queue: queue.SimpleQueue[logging.LogRecord | threading.Event] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def handle(self, record: logging.LogRecord) -> bool:
        # No handler lock: the queue is thread-safe and the writer thread alone writes.
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if self._closed:  # after close (interpreter exit): write in the caller, never drop
            self._write([record])
            return
        ids = trace_ids()
        if ids is not None:
            setattr(record, TRACE_IDS, ids)
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        while self._queue.qsize() > self.MAX_QUEUED and self._thread.is_alive():
            time.sleep(0.001)  # back-pressure: the stream is slower than the lines
        self._queue.put(record)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            # Let the lines of the next moment queue up: one wake-up and one write for many
            # lines, instead of a thread switch per line while the loop is busiest.
            time.sleep(self.LINGER)
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records = [r for r in batch if isinstance(r, logging.LogRecord)]
            stop = any(r is _STOP for r in records)
            self._write([r for r in records if r is not _STOP])
            for marker in batch:
                if isinstance(marker, threading.Event):
                    marker.set()
            if stop:
                return

    def _write(self, records: list[logging.LogRecord]) -> None:
        lines = []
        for record in records:
            try:
                if self._limiter is None or self._limiter.filter(record):
                    lines.append(self.format(record))
            except Exception:
                self.handleError(record)
        if not lines:
            return
        try:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
        except Exception:
            self.handleError(records[-1])

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every record queued before this call is written (bounded)."""
        if self._closed or not self._thread.is_alive():
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self) -> None:
        """Write what is queued and stop the thread (``logging.shutdown`` calls this); lines
        logged from then on are written by the caller."""
        if not self._closed:
            self._closed = True
            if self._thread.is_alive():
                self._queue.put(_STOP)
                self._thread.join(10.0)
        super().close()


def configure_logging(
    level: str = "INFO", stream: Any = None, *, burst: int = 20, burst_interval: float = 10.0
) -> None:
    """Send every log record to ``stream`` (stderr by default) as JSON lines, identical lines
    at most ``burst`` per ``burst_interval`` seconds, written by a :class:`BackgroundWriter`."""
    handler = BackgroundWriter(stream or sys.stderr, RepeatLimiter(burst, burst_interval))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
