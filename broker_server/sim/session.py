"""One API client connection: handshake, framing, limits, stalls and delays.

A Session is an asyncio Protocol. Incoming frames are handled inline (the fast path) unless
a per-message delay is configured or earlier frames are still queued, in which case a worker
task drains them in order. While a session is stalled nothing is read or written: incoming
bytes and outgoing messages are held (and reading is paused so the kernel buffers fill, as
with a frozen gateway) until it resumes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import struct
import time
from collections import deque
from enum import Enum
from typing import Protocol

from broker_server.logs import log_event
from broker_server.sim import ib_codes
from broker_server.sim import messages as msg
from broker_server.sim.codec import (
    API_PREFIX,
    FrameDecoder,
    MalformedMessage,
    ProtocolError,
    parse_hello,
    split_fields,
)
from broker_server.sim.config import SimConfig
from broker_server.sim.subscriptions import Subscriptions
from broker_server.sim.versions import MIN_SERVER_VERSION

logger = logging.getLogger("ibbroker.sim.session")


class FaultView(Protocol):
    """The fault state a session consults on every connection and message."""

    @property
    def closing_before_handshake(self) -> bool:
        """Close accepted sockets before the handshake reply."""
        ...

    @property
    def delay(self) -> float:
        """Seconds every incoming message waits before it is processed."""
        ...

    @property
    def ignored(self) -> set[int]:
        """Incoming message ids dropped without an answer."""
        ...

    def is_stalled(self, client_id: int | None) -> bool:
        """Whether a client (None: not yet identified) is stalled now."""
        ...


class SessionHost(Protocol):
    """What a Session needs from the server that accepted it (the server implements it)."""

    @property
    def config(self) -> SimConfig:
        """The simulator's configuration."""
        ...

    @property
    def faults(self) -> FaultView:
        """The fault state."""
        ...

    def register(self, s: Session) -> bool:
        """A connection was made; False when the connection limit refuses it."""
        ...

    def count(self, event: str) -> None:
        """Count a limit being hit (shown by the control interface's status)."""
        ...

    def unregister(self, s: Session) -> None:
        """A connection is gone (idempotent)."""
        ...

    def start_api(self, s: Session, fields: list[str]) -> None:
        """Handle startApi (71) on a connection past the handshake."""
        ...

    def handle(self, s: Session, msg_id: int, fields: list[str]) -> None:
        """Handle one request of a ready client."""
        ...


class Phase(Enum):
    """Where a connection is in its life."""

    HELLO = "hello"
    AWAIT_START = "await_start"
    READY = "ready"
    CLOSED = "closed"


class Session(asyncio.Protocol):
    """The server side of one API client connection."""

    def __init__(self, host: SessionHost) -> None:
        self.host = host
        self.transport: asyncio.Transport | None = None
        self.phase = Phase.HELLO
        self.version = 0
        self.client_id: int | None = None
        self.peer = ""
        self.subs = Subscriptions()
        self.market_data_type = 1
        self._decoder = FrameDecoder(host.config.max_frame_bytes)
        self._prefix_seen = False
        self._queue: deque[list[str]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._stalled = False
        self._running = asyncio.Event()
        self._running.set()
        self._held_in = bytearray()
        self._held_out: deque[bytes] = deque()
        self._held_out_bytes = 0
        self._backpressure = False
        self._msg_times: deque[float] = deque()
        self._last_current_time = -1e18

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register the connection; honour close-before-handshake."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if not self.host.register(self):
            log_event(logger, logging.WARNING, "sim_too_many_connections", peer=self.peer)
            self.host.count("connections_refused")
            self.phase = Phase.CLOSED
            transport.abort()
            return
        if self.host.faults.closing_before_handshake:
            log_event(logger, logging.INFO, "sim_close_before_handshake", peer=self.peer)
            self.close()
            return
        self.set_stalled(self.host.faults.is_stalled(None))

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection."""
        self.phase = Phase.CLOSED
        if self._worker is not None:
            self._worker.cancel()
        self.host.unregister(self)
        if self.client_id is not None:
            log_event(
                logger,
                logging.INFO,
                "sim_client_disconnected",
                client_id=self.client_id,
                peer=self.peer,
                error=str(exc) if exc else None,
            )

    def data_received(self, data: bytes) -> None:
        """Split frames and handle them (or hold them while stalled)."""
        if self.phase is Phase.CLOSED:
            return
        if self._stalled:
            self._held_in += data
            return
        self._consume(data)

    # I/O helpers

    def send(self, data: bytes) -> None:
        """Write one framed message (held while stalled)."""
        if self.transport is None or self.phase is Phase.CLOSED:
            return
        if self._stalled:
            self._hold(data)
            return
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > self.host.config.max_output_bytes:
            self._overflow()

    def _hold(self, data: bytes) -> None:
        # A stalled gateway keeps what it would have sent, up to the output bound.
        self._held_out.append(data)
        self._held_out_bytes += len(data)
        limit = self.host.config.max_output_bytes
        while self._held_out_bytes > limit and self._held_out:
            self._held_out_bytes -= len(self._held_out.popleft())
            self.host.count("held_output_dropped")

    def _overflow(self) -> None:
        # TWS drops an API client whose unsent output keeps growing: it does not read.
        assert self.transport is not None
        log_event(
            logger,
            logging.WARNING,
            "sim_output_overflow",
            client_id=self.client_id,
            peer=self.peer,
            unsent=self.transport.get_write_buffer_size(),
            limit=self.host.config.max_output_bytes,
        )
        self.host.count("output_overflow")
        self.abort(rst=True)

    def send_error(self, req_id: int, code: int, text: str) -> None:
        """Send an error message in this session's protocol version."""
        self.send(msg.error(self.version, req_id, code, text))

    def close(self) -> None:
        """Close with FIN after flushing what is already written."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        self.phase = Phase.CLOSED
        self.host.unregister(self)

    def abort(self, rst: bool) -> None:
        """Close now: RST (SO_LINGER 0) or FIN without flushing held data."""
        if self.transport is None:
            return
        if rst:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            self.transport.abort()
        else:
            self._held_out.clear()
            self._held_out_bytes = 0
            self.transport.close()
        self.phase = Phase.CLOSED
        self.host.unregister(self)

    def set_stalled(self, stalled: bool) -> None:
        """Stall or resume this session."""
        if stalled == self._stalled or self.transport is None or self.phase is Phase.CLOSED:
            return
        self._stalled = stalled
        if stalled:
            self._running.clear()
            self.transport.pause_reading()
            return
        self._running.set()
        if not self._backpressure:
            self.transport.resume_reading()
        out, self._held_out = self._held_out, deque()
        self._held_out_bytes = 0
        for data in out:
            self.send(data)
            if self.phase is Phase.CLOSED:
                return
        if self._held_in:
            held, self._held_in = bytes(self._held_in), bytearray()
            self._consume(held)

    @property
    def held_output_bytes(self) -> int:
        """Bytes held for this client while it is stalled."""
        return self._held_out_bytes

    @property
    def stalled(self) -> bool:
        """Whether the session is stalled now."""
        return self._stalled

    # incoming

    def _consume(self, data: bytes) -> None:
        try:
            if not self._prefix_seen:
                frames = self._read_prefix(data)
                if frames is None:
                    return
            else:
                frames = self._decoder.feed(data)
        except ProtocolError as exc:
            log_event(logger, logging.WARNING, "sim_protocol_error", peer=self.peer, error=str(exc))
            self.host.count("oversized_frames")
            self.send_error(
                -1, ib_codes.ERR_READING_REQUEST, ib_codes.reading_request_text(str(exc))
            )
            self.close()
            return
        for body in frames:
            if self.phase is Phase.CLOSED:
                return
            self._on_frame(body)

    def _read_prefix(self, data: bytes) -> list[bytes] | None:
        # The handshake starts with raw "API\0"; everything after it is framed.
        self._decoder.push(data)
        raw = self._decoder.take_raw(len(API_PREFIX))
        if raw is None:
            return None
        if raw != API_PREFIX:
            log_event(logger, logging.WARNING, "sim_bad_handshake", peer=self.peer, got=repr(raw))
            self.close()
            return None
        self._prefix_seen = True
        return self._decoder.feed(b"")

    def _on_frame(self, body: bytes) -> None:
        if self.phase is Phase.HELLO:
            self._on_hello(body)
            return
        fields = split_fields(body)
        if self.phase is Phase.READY and self._rate_exceeded():
            return
        if self._queue or self._worker is not None or self.host.faults.delay > 0:
            self._queue.append(fields)
            if len(self._queue) >= self.host.config.max_pending_requests:
                self._set_backpressure(True)
            if self._worker is None:
                self._worker = asyncio.get_running_loop().create_task(self._drain())
            return
        self._dispatch(fields)

    async def _drain(self) -> None:
        try:
            while self._queue and self.phase is not Phase.CLOSED:
                delay = self.host.faults.delay
                if delay > 0:
                    await asyncio.sleep(delay)
                # A stall freezes processing too: wait for the resume.
                await self._running.wait()
                if self.phase is Phase.CLOSED:
                    return
                self._dispatch(self._queue.popleft())
                if (
                    self._backpressure
                    and len(self._queue) <= self.host.config.max_pending_requests // 2
                ):
                    self._set_backpressure(False)
        finally:
            self._worker = None

    def _set_backpressure(self, on: bool) -> None:
        if self.transport is None or on == self._backpressure:
            return
        self._backpressure = on
        if on:
            self.host.count("backpressure_pauses")
            self.transport.pause_reading()
        elif not self._stalled:
            self.transport.resume_reading()

    def _on_hello(self, body: bytes) -> None:
        try:
            lo, hi, options = parse_hello(body)
        except MalformedMessage as exc:
            log_event(logger, logging.WARNING, "sim_bad_handshake", peer=self.peer, error=str(exc))
            self.close()
            return
        version = min(hi, self.host.config.max_server_version)
        if version < lo or version < MIN_SERVER_VERSION:
            log_event(
                logger,
                logging.INFO,
                "sim_version_mismatch",
                peer=self.peer,
                client_min=lo,
                client_max=hi,
                server_max=self.host.config.max_server_version,
            )
            self.close()
            return
        self.version = version
        self.phase = Phase.AWAIT_START
        log_event(
            logger,
            logging.DEBUG,
            "sim_handshake",
            peer=self.peer,
            version=version,
            options=options,
        )
        self.send(msg.handshake_reply(version, dt.datetime.now(dt.UTC)))

    def _rate_exceeded(self) -> bool:
        limit = self.host.config.max_msgs_per_sec
        if limit <= 0:
            return False
        now = time.monotonic()
        times = self._msg_times
        times.append(now)
        while times and now - times[0] > 1.0:
            times.popleft()
        if len(times) <= limit:
            return False
        log_event(
            logger,
            logging.WARNING,
            "sim_rate_exceeded",
            client_id=self.client_id,
            received=len(times),
            limit=limit,
        )
        self.host.count("rate_disconnects")
        self.send_error(
            -1,
            ib_codes.ERR_RATE,
            ib_codes.rate_text(limit, len(times)),
        )
        self.close()
        return True

    def _dispatch(self, fields: list[str]) -> None:
        if not fields:
            self.send_error(
                -1, ib_codes.ERR_READING_REQUEST, ib_codes.reading_request_text("empty message")
            )
            return
        try:
            msg_id = int(fields[0])
        except ValueError:
            self.send_error(-1, ib_codes.ERR_UNKNOWN_ID, ib_codes.UNKNOWN_ID_TEXT)
            return
        if self.phase is Phase.AWAIT_START:
            if msg_id != 71:
                log_event(
                    logger,
                    logging.WARNING,
                    "sim_request_before_start_api",
                    peer=self.peer,
                    msg_id=msg_id,
                )
                return
            self.host.start_api(self, fields)
            return
        if msg_id in self.host.faults.ignored:
            log_event(logger, logging.DEBUG, "sim_ignored", client_id=self.client_id, msg_id=msg_id)
            return
        self.host.handle(self, msg_id, fields)

    # startApi outcome

    def become_ready(self, client_id: int) -> None:
        """startApi accepted for ``client_id``."""
        self.client_id = client_id
        self.phase = Phase.READY
        self._msg_times.clear()
        self.set_stalled(self.host.faults.is_stalled(client_id))

    def current_time_allowed(self) -> bool:
        """Whether reqCurrentTime may be answered now (TWS answers about once a second)."""
        interval = self.host.config.current_time_min_interval
        now = time.monotonic()
        if interval > 0 and now - self._last_current_time < interval:
            return False
        self._last_current_time = now
        return True
