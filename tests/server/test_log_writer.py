"""The CLI's log handler (:class:`BackgroundWriter`) writes on its own thread exactly the lines
the synchronous JSON handler writes, in order, with the trace IDs of the span the line was
logged in, rate-limited, and loses nothing queued when flushed or closed."""

from __future__ import annotations

import io
import json
import logging
import threading

from opentelemetry.sdk.trace import TracerProvider

from broker_server.logs import BackgroundWriter, JsonFormatter, RepeatLimiter, log_event


def _logger(name: str, *handlers: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.propagate = False
    for old in list(logger.handlers):
        logger.removeHandler(old)
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger


def test_lines_are_identical_to_the_synchronous_handler_and_in_order() -> None:
    sync_out, async_out = io.StringIO(), io.StringIO()
    sync = logging.StreamHandler(sync_out)
    sync.setFormatter(JsonFormatter())
    writer = BackgroundWriter(async_out)
    logger = _logger("ibbroker.test.writer", sync, writer)
    tracer = TracerProvider().get_tracer("test")
    try:
        for n in range(300):
            log_event(logger, logging.INFO, "lease_acquired", client_id=n, owner=f"o{n}")
        with tracer.start_as_current_span("rpc") as span:
            log_event(logger, logging.WARNING, "in_span", n=1)
            logger.info("plain %s", "args")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
        writer.flush()
        lines = async_out.getvalue().splitlines()
        assert lines == sync_out.getvalue().splitlines()
        assert [json.loads(line)["client_id"] for line in lines[:300]] == list(range(300))
        in_span = json.loads(lines[300])
        assert in_span["trace_id"] == format(span.get_span_context().trace_id, "032x")
        assert in_span["span_id"] == format(span.get_span_context().span_id, "016x")
        assert json.loads(lines[301])["event"] == "plain args"
        assert "ValueError: boom" in json.loads(lines[302])["exc"]
    finally:
        writer.close()


def test_close_writes_everything_queued_from_every_thread() -> None:
    out = io.StringIO()
    writer = BackgroundWriter(out)
    logger = _logger("ibbroker.test.writer.close", writer)

    def burst(t: int) -> None:
        for n in range(500):
            log_event(logger, logging.INFO, "line", thread=t, n=n)

    threads = [threading.Thread(target=burst, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    writer.close()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(records) == 2000
    for t in range(4):  # each thread's lines in its own order
        assert [r["n"] for r in records if r["thread"] == t] == list(range(500))
    log_event(logger, logging.INFO, "after_close")  # written at once, never dropped
    assert json.loads(out.getvalue().splitlines()[-1])["event"] == "after_close"


def test_identical_lines_are_rate_limited_on_the_writer() -> None:
    out = io.StringIO()
    writer = BackgroundWriter(out, RepeatLimiter(burst=3, interval=60.0))
    logger = _logger("ibbroker.test.writer.flood", writer)
    try:
        for _ in range(50):
            log_event(logger, logging.WARNING, "rpc_error", peer="ipv4:127.0.0.1:1")
        log_event(logger, logging.WARNING, "rpc_error", peer="ipv4:127.0.0.1:2")
        writer.flush()
        peers = [json.loads(line)["peer"] for line in out.getvalue().splitlines()]
        assert peers == ["ipv4:127.0.0.1:1"] * 3 + ["ipv4:127.0.0.1:2"]
    finally:
        writer.close()
