"""Structured JSON logging to stderr.

Every module logs through the standard :mod:`logging` package; structured fields travel in
``extra={"fields": {...}}`` (or through :func:`log_event`) and are rendered as one JSON object
per line by :class:`JsonFormatter`.

A line logged inside an OpenTelemetry span (an RPC while tracing is on) carries ``trace_id`` and
``span_id``, so a log search finds the trace and a trace finds its lines.

Repeated lines are rate-limited by :class:`RepeatLimiter` on the handler: a flood of identical
lines (a client sending garbage, a gateway refusing connects) cannot fill the disk, while every
distinct state change (its own lease ID, its own session) still gets its line.
"""

from __future__ import annotations

import json
import logging
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


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line: ts, level, logger, event, then the structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            payload.update(fields)
        # Inside a span (an RPC, an IB request made for it): the IDs that find its trace.
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            payload.setdefault("trace_id", trace.format_trace_id(span.trace_id))
            payload.setdefault("span_id", trace.format_span_id(span.span_id))
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key != "fields" and not key.startswith("_"):
                payload.setdefault(key, value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, separators=(",", ":"))


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """Log ``event`` with structured ``fields`` (rendered as JSON keys)."""
    logger.log(level, event, extra={"fields": fields})


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


def configure_logging(
    level: str = "INFO", stream: Any = None, *, burst: int = 20, burst_interval: float = 10.0
) -> None:
    """Send every log record to ``stream`` (stderr by default) as JSON lines, identical lines
    at most ``burst`` per ``burst_interval`` seconds."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RepeatLimiter(burst, burst_interval))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
