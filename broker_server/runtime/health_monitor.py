"""Heartbeat health monitoring of one IB session (the seed's ``ConnectionHealthMonitor``).

No TWS client library notices a mute peer: the socket stays open and nothing arrives. So the
monitor asks ``reqCurrentTime`` every ``heartbeat_interval`` and declares the session stale when
no answer comes within ``heartbeat_timeout``; the supervisor then replaces the socket. Detection
takes at most interval + timeout (3 s with the defaults).

Real TWS answers reqCurrentTime at most once a second and drops extra requests silently. A
heartbeat that is not answered after :data:`RESEND_AFTER` seconds is therefore sent once more
(by then TWS answers again) before the timeout runs out, so a dropped request alone never makes
a healthy session look stale.

The monitor also owns the session's health view (folded by :mod:`broker_server.domain.health`)
and its metrics: heartbeat RTT last/p50/p99, messages in/out per second, reconnects, uptime and
the last error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from opentelemetry import metrics as otel

from broker_server.config import GatewayConfig
from broker_server.domain.clock import Clock
from broker_server.domain.events import MetricsSnapshot
from broker_server.domain.health import Folded, HealthPolicy, HealthTracker, HealthView
from broker_server.domain.metrics import RateCounter, RttWindow
from broker_server.ib.session import IBSession
from broker_server.logs import log_event

log = logging.getLogger("ibbroker.health")

RESEND_AFTER = 1.05
"""Seconds after which an unanswered heartbeat is sent again (TWS drops a second request
within one second)."""

_meter = otel.get_meter("ibbroker")
_rtt_histogram = _meter.create_histogram(
    "ibbroker.heartbeat.rtt", unit="s", description="Heartbeat (reqCurrentTime) round trip"
)


class ConnectionHealthMonitor:
    """Heartbeats, health view and metrics of one session."""

    def __init__(
        self,
        session: IBSession,
        config: GatewayConfig,
        clock: Clock,
        *,
        name: str,
        on_health: Callable[[Folded], None],
        on_stale: Callable[[float], None],
    ) -> None:
        self._session = session
        self._config = config
        self._clock = clock
        self._name = name
        self._on_health = on_health
        self._on_stale = on_stale
        self._tracker = HealthTracker(HealthPolicy(heartbeat_warn=config.heartbeat_warn))
        self._rtt = RttWindow()
        self._in = RateCounter(clock)
        self._out = RateCounter(clock)
        self._seen_in = 0
        self._seen_out = 0
        self._task: asyncio.Task[None] | None = None
        self.reconnect_count = 0
        """Reconnects since the broker started."""
        self.connected_since: float | None = None
        """Monotonic time the session last became CONNECTED, None while it is not."""
        self.last_error = ""
        """The last error seen."""
        self.last_error_time: float | None = None
        """Wall time of the last error."""
        self.heartbeats = 0
        """Heartbeats answered."""
        self.clock_offset: float | None = None
        """TWS's clock minus the broker's at the last heartbeat answer, in seconds (TWS answers
        in whole seconds: within +-0.5 s). Read by the clock-skew gauge (observability)."""

    # --- the seed's interface ----------------------------------------------------------------

    def start_monitoring(self) -> None:
        """Start the heartbeat loop (idempotent); beats only while the session is connected."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name=f"heartbeat {self._name}"
            )

    async def stop_monitoring(self) -> None:
        """Stop the heartbeat loop."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def check_health(self) -> HealthView:
        """The current health view (status, reasons, orders_blocked)."""
        return self._tracker.view

    def get_metrics(self) -> MetricsSnapshot:
        """The session's figures now."""
        self._sample_messages()
        since = self.connected_since
        return MetricsSnapshot(
            rtt_last=self._rtt.last,
            rtt_p50=self._rtt.p50,
            rtt_p99=self._rtt.p99,
            messages_in_per_second=self._in.rate(),
            messages_out_per_second=self._out.rate(),
            reconnect_count=self.reconnect_count,
            uptime=0.0 if since is None else max(0.0, self._clock.monotonic() - since),
            last_error=self.last_error,
            last_error_time=self.last_error_time,
        )

    # --- observations fed by the supervisor -------------------------------------------------

    def observe(self, folded: Folded) -> Folded:
        """Publish a fold if it changed anything."""
        if folded.changed:
            self._on_health(folded)
        return folded

    def socket_up(self) -> Folded:
        """A new socket is connected."""
        self._rtt.clear()
        self.connected_since = self._clock.monotonic()
        return self.observe(self._tracker.socket_up())

    def socket_down(self, message: str) -> Folded:
        """The socket is gone."""
        self.connected_since = None
        return self.observe(self._tracker.socket_down(message))

    def id_clash(self, message: str | None) -> Folded:
        """The session runs on a fallback client ID (``message`` says why), or not (None)."""
        return self.observe(self._tracker.id_clash(message))

    def ib_error(self, code: int, message: str) -> Folded:
        """An IB error or status code arrived."""
        if code >= 1000 and code not in (2104, 2106, 2107, 2108, 2158, 1102):
            self.note_error(f"IB {code}: {message}")
        return self.observe(self._tracker.ib_error(code, message))

    def note_error(self, text: str) -> None:
        """Remember ``text`` as the last error."""
        self.last_error = text
        self.last_error_time = self._clock.wall()

    # --- the heartbeat ----------------------------------------------------------------------

    async def _loop(self) -> None:
        interval = self._config.heartbeat_interval
        while True:
            started = self._clock.monotonic()
            self._sample_messages()
            if self._session.connected:
                await self.beat()
            spent = self._clock.monotonic() - started
            await asyncio.sleep(max(0.0, interval - spent))

    async def beat(self) -> float | None:
        """One heartbeat; returns the RTT, or None when unanswered or the socket closed."""
        timeout = self._config.heartbeat_timeout
        first = sent = self._clock.monotonic()
        deadline = first + timeout
        while True:
            now = self._clock.monotonic()
            wait = deadline - now
            if deadline - sent > RESEND_AFTER:
                wait = min(wait, sent + RESEND_AFTER - now)
            try:
                tws_time = await self._session.current_time(max(wait, 0.0))
            except TimeoutError:
                now = self._clock.monotonic()
                if now < deadline - 1e-3:
                    sent = now  # TWS may have dropped it (one per second): ask again
                    continue
                if not self._session.connected:
                    return None
                self._stale(now - first)
                return None
            except ConnectionError:
                return None  # the drop is reported by the disconnect callback
            rtt = self._clock.monotonic() - sent
            # TWS truncates to whole seconds: + 0.5 centres the error within +-0.5 s.
            self.clock_offset = tws_time + 0.5 - (self._clock.wall() - rtt / 2)
            self._record(rtt)
            return rtt

    def _record(self, rtt: float) -> None:
        self.heartbeats += 1
        self._rtt.add(rtt)
        _rtt_histogram.record(rtt, {"gateway": self._config.name})
        folded = self.observe(self._tracker.heartbeat(rtt))
        if folded.view.slow is not None and folded.previous.slow is None:
            log_event(
                log,
                logging.WARNING,
                "heartbeat_slow",
                gateway=self._config.name,
                session=self._name,
                client_id=self._session.client_id,
                rtt_ms=round(rtt * 1000, 1),
                warn_ms=round(self._config.heartbeat_warn * 1000, 1),
            )

    def _stale(self, waited: float) -> None:
        self.note_error(f"HEARTBEAT_TIMEOUT: no answer for {waited:.2f} s")
        log_event(
            log,
            logging.WARNING,
            "heartbeat_timeout",
            gateway=self._config.name,
            session=self._name,
            client_id=self._session.client_id,
            waited_s=round(waited, 3),
        )
        self.observe(self._tracker.heartbeat_timeout(waited))
        self._on_stale(waited)

    def _sample_messages(self) -> None:
        total_in, total_out = self._session.message_totals()
        self._in.mark(max(0, total_in - self._seen_in))
        self._out.mark(max(0, total_out - self._seen_out))
        self._seen_in, self._seen_out = total_in, total_out

    def __repr__(self) -> str:
        return f"<ConnectionHealthMonitor [{self._name} {self._tracker!r} rtt={self._rtt.last}]>"
