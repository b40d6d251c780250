"""Configuration of one simulated gateway (``SimConfig``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from broker_server.sim import versions
from broker_server.sim.pacing import HistPacing

MAX_TICK_RATE = 1000.0
"""Highest per-instrument tick rate (ticks per second)."""


@dataclass(frozen=True)
class SimConfig:
    """Configuration of one simulated gateway."""

    host: str = "127.0.0.1"
    """Interface to listen on (loopback by default)."""
    port: int = 4002
    """TCP port; 0 picks a free one (read it back from ``SimServer.port``)."""
    seed: int = 1
    """Seed of the market's random walk: the same seed replays the same prices."""
    accounts: tuple[str, ...] = ("DU1234567",)
    """Managed accounts, sent in managedAccounts (15); the first is the default account."""
    max_server_version: int = versions.MAX_SERVER_VERSION
    """Highest server version offered (157..176); the reply is min(client max, this)."""
    current_time_min_interval: float = 1.0
    """reqCurrentTime is answered at most once per this many seconds per client (0: always)."""
    max_msgs_per_sec: int = 50
    """More incoming messages than this within one second: error 100, then disconnect
    (0 disables the limit)."""
    tick_interval: float = 0.25
    """Seconds between random-walk steps (0: the market only moves on ``market.step()``)."""
    max_clients: int = 32
    """Concurrent API clients; one more gets an error and is closed."""
    farm_status_on_connect: bool = True
    """Send the 2104/2106/2158 "farm connection is OK" notices after startApi, as TWS does."""
    fill_chunk: float = 0.0
    """Largest quantity one execution fills, for every order (0: the whole remainder at
    once). Per instrument or per orderRef: ``sim.rules.set_fill_chunk`` or the control
    command ``fill_chunk``. A partially filled order fills its next chunk on the next
    market step."""
    tick_rates: tuple[tuple[int, float], ...] = ()
    """(conId, ticks per second) pairs: these instruments move and tick on their own clock,
    independent of ``tick_interval`` (up to 1000/s; ``sim.set_tick_rate`` changes it live)."""
    max_mkt_data_lines: int = 100
    """Streaming lines (reqMktData and reqRealTimeBars) one client may hold; one more gets
    error 101."""
    realtime_bar_interval: float = 5.0
    """Seconds of one real-time bar (IB: 5). Tests shrink it so nothing waits 5 s; the bar's
    time field is whole epoch seconds, so below 1 s consecutive bars may share a time."""
    max_mkt_data_lines_total: int = 0
    """Streaming lines all clients together may hold (IB's allowance is per account);
    one more gets error 101. 0: no account-wide limit."""
    hist_pacing: HistPacing | None = field(default_factory=HistPacing)
    """Historical-data pacing rules per client (error 162 on a violation); None: off."""
    max_connections: int = 64
    """Open sockets, handshaking ones included; one more is closed at once (counted as
    ``connections_refused``)."""
    max_output_bytes: int = 8 * 1024 * 1024
    """Unsent bytes queued for one client (the transport's write buffer) beyond which the
    client is disconnected, as TWS drops an API client that does not read (counted as
    ``output_overflow``). Also caps what a stalled client holds (oldest dropped)."""
    max_frame_bytes: int = 1024 * 1024
    """Largest incoming message; a bigger length prefix gets error 320 and the connection is
    closed (counted as ``oversized_frames``). Bounds the inbound buffer per connection."""
    max_pending_requests: int = 1000
    """Requests queued behind a processing delay; beyond it the socket is not read until the
    queue drains to half (TCP back-pressure instead of memory)."""

    def __post_init__(self) -> None:
        if (
            not versions.MIN_SERVER_VERSION
            <= self.max_server_version
            <= versions.MAX_SERVER_VERSION
        ):
            raise ValueError(
                f"max_server_version must be within {versions.MIN_SERVER_VERSION}.."
                f"{versions.MAX_SERVER_VERSION}"
            )
        if not self.accounts:
            raise ValueError("at least one account is required")
        for _, rate in self.tick_rates:
            if not 0 < rate <= MAX_TICK_RATE:
                raise ValueError(f"tick rates must be within (0, {MAX_TICK_RATE}]")
        if self.max_mkt_data_lines_total < 0:
            raise ValueError("max_mkt_data_lines_total must be >= 0")
        if self.fill_chunk < 0:
            raise ValueError("fill_chunk must be >= 0")
        if self.realtime_bar_interval <= 0:
            raise ValueError("realtime_bar_interval must be > 0")
        if self.tick_interval < 0 or self.current_time_min_interval < 0:
            raise ValueError("intervals must be >= 0")
        for name in (
            "max_clients",
            "max_connections",
            "max_output_bytes",
            "max_frame_bytes",
            "max_pending_requests",
            "max_mkt_data_lines",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
