"""One IB API connection with one client ID: the only module that drives ib_insync / ib_async.

:class:`IBSession` connects in three phases, each with its own ``timeout`` (TCP connect, API
handshake, start-up sync), and turns every failure into a :class:`ConnectFailure` with a precise
reason instead of the library's bare ``TimeoutError``:

- refused / unreachable            -> CONNECTION_REFUSED (about 1 ms, or the TCP timeout)
- 326 on ``errorEvent``, then close -> CLIENT_ID_IN_USE at the close (not after the timeout)
- peer silent in handshake          -> HANDSHAKE_TIMEOUT
- peer closed before its version    -> GATEWAY_UNTRUSTED at once (TWS's answer to an IP outside
                                       its Trusted IPs); closed later in the handshake ->
                                       HANDSHAKE_TIMEOUT at once
- version below the library's min   -> SERVER_VERSION_TOO_OLD
- a sync request unanswered         -> SYNC_TIMEOUT (ib_insync would only log it)
- accounts vs ``paper_trading``     -> ACCOUNT_MISMATCH (checked before the sync)

Every connect uses a fresh ``IB`` object. A replaced socket's late events (its
``connection_lost`` can arrive after the next connect began) then cannot touch the new
connection, and nothing of a dead session's library state leaks into the next one.

Message counters come from the library's public ``client.connectionStats()`` (messages
received and sent on the current socket), sampled by :meth:`IBSession.message_totals`; sampling
keeps the hot receive path untouched. The counts of a socket are folded into the totals when the
next socket is sampled, so only messages after the last sample of a dropped socket go uncounted.

Inside the broker's event loop only the ``*Async`` library methods are awaited (the blocking
ones call ``run_until_complete`` and fail inside a running loop); ``reqMktData`` and
``cancelMktData`` only write to the socket.

Length: a little over 500 lines, because the market-data lines a session re-issues after
every reconnect and 1101 belong with the socket they are held on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from broker_server.aio import within
from broker_server.config import GatewayConfig
from broker_server.domain.events import Restored
from broker_server.ib import library
from broker_server.ib.errors import ConnectFailure, ConnectFailureReason
from broker_server.logs import log_event

log = logging.getLogger("ibbroker.ib.session")

CLIENT_ID_IN_USE_CODE = 326
_TCP_POLL = 0.002
"""Seconds between looks at the TCP phase: the library offers no event for "TCP connected"."""


def is_paper_account(account: str) -> bool:
    """IB paper accounts start with ``D`` (``DU`` individual, ``DF`` advisor)."""
    return account.upper().startswith("D")


def check_accounts(config: GatewayConfig, accounts: list[str]) -> str | None:
    """Why ``accounts`` do not fit ``config`` (paper vs live, configured account), or None."""
    if not accounts:
        return "IB reported no managed accounts"
    live = [a for a in accounts if not is_paper_account(a)]
    paper = [a for a in accounts if is_paper_account(a)]
    if config.paper_trading and live:
        return (
            f"paper_trading = true but IB reports live account(s) {', '.join(live)}; "
            "refusing to connect a paper gateway config to a live account"
        )
    if not config.paper_trading and paper:
        return (
            f"paper_trading = false but IB reports paper account(s) {', '.join(paper)}; "
            "set paper_trading = true for this gateway"
        )
    if config.account and config.account not in accounts:
        return f"configured account {config.account} is not among {', '.join(accounts)}"
    return None


@dataclass(eq=False)
class MarketDataSubscription:
    """A market-data line held by a session; re-issued after every reconnect and after 1101."""

    key: int
    """Session-local handle number."""
    contract: Any
    """The library ``Contract``."""
    generic_ticks: str = ""
    """IB generic tick list."""
    ticker: Any = None
    """The library ``Ticker`` of the current socket (replaced when re-issued)."""
    issued: int = 0
    """How often the request was sent to IB."""
    on_issued: Callable[[MarketDataSubscription], None] | None = None
    """Called after each (re-)issue, with the new ``ticker`` set."""
    data_type: int = 1
    """IB market data type (1 live .. 4 delayed frozen) sent before each issue."""
    bars: tuple[str, bool] | None = None
    """(whatToShow, useRTH): a 5-second real-time bar line (reqRealTimeBars) instead of
    quotes; ``ticker`` is then the library's ``RealTimeBarList``."""


class IBSession:
    """One IB connection with one client ID (see the module docstring)."""

    def __init__(
        self,
        config: GatewayConfig,
        client_id: int,
        *,
        on_disconnected: Callable[[str], None] | None = None,
        on_ib_error: Callable[[int, int, str], None] | None = None,
    ) -> None:
        self._config = config
        self._client_id = client_id
        self._lib = library.load(config.ib_library)
        self._on_disconnected = on_disconnected
        self._on_ib_error = on_ib_error
        self._ib: Any = None
        self._connecting: Any = None
        self._server_version = 0
        self._accounts: tuple[str, ...] = ()
        self._last_api_error = ""
        self._subs: dict[int, MarketDataSubscription] = {}
        self._error_listeners: list[Callable[[int, int, str], None]] = []
        self._data_type = 0
        self._sub_keys = itertools.count(1)
        self._base_in = 0
        self._base_out = 0
        self._last_in = 0
        self._last_out = 0
        self._counted: Any = None

    # --- reading ------------------------------------------------------------------------

    @property
    def client_id(self) -> int:
        """The IB client ID."""
        return self._client_id

    @property
    def config(self) -> GatewayConfig:
        """The gateway configuration."""
        return self._config

    @property
    def ib(self) -> Any:
        """The library ``IB`` object of the current connection (None when disconnected)."""
        return self._ib

    @property
    def connected(self) -> bool:
        """True while the API connection is up."""
        return self._ib is not None and bool(self._ib.isConnected())

    @property
    def server_version(self) -> int:
        """Negotiated server version, 0 when disconnected."""
        return self._server_version if self.connected else 0

    @property
    def accounts(self) -> tuple[str, ...]:
        """Managed accounts reported by IB at the last connect."""
        return self._accounts

    @property
    def subscriptions(self) -> tuple[MarketDataSubscription, ...]:
        """Market-data lines held by this session."""
        return tuple(self._subs.values())

    def message_totals(self) -> tuple[int, int]:
        """Messages received and sent over every socket of this session so far (sampled)."""
        ib = self._ib
        if ib is not self._counted:
            # A new socket: what the old one counted at its last sample becomes history.
            self._base_in += self._last_in
            self._base_out += self._last_out
            self._last_in = self._last_out = 0
            self._counted = ib
        if ib is not None:
            with contextlib.suppress(ConnectionError):
                stats = ib.client.connectionStats()
                self._last_in, self._last_out = int(stats.numMsgRecv), int(stats.numMsgSent)
        return self._base_in + self._last_in, self._base_out + self._last_out

    def use_client_id(self, client_id: int) -> None:
        """Connect with ``client_id`` from the next connect on (only while disconnected)."""
        if self.connected or self._connecting is not None:
            raise RuntimeError("the client ID of a connected session cannot change")
        self._client_id = client_id

    # --- connecting ---------------------------------------------------------------------

    async def connect(self, *, sync: bool = True) -> None:
        """Connect (no-op when connected); raises :class:`ConnectFailure`.

        ``sync=False`` stops after the handshake (a probe that only proves the ID is free).
        """
        if self.connected:
            return
        cfg = self._config
        ib = self._lib.IB()
        # IB.connectAsync sets this; the wrapper keys this client's orders by it.
        ib.wrapper.clientId = self._client_id
        self._last_api_error = ""
        seen_codes: list[int] = []
        loop = asyncio.get_running_loop()
        closed: asyncio.Future[str] = loop.create_future()

        def on_error(req_id: int, code: int, message: str, *_: Any) -> None:
            seen_codes.append(code)
            self._forward_error(ib, req_id, code, message)

        def on_api_error(message: str) -> None:
            self._last_api_error = str(message)

        def on_socket_closed(message: str) -> None:
            if not closed.done():
                closed.set_result(str(message) or "peer closed the connection")

        self._connecting = ib
        ib.errorEvent += on_error
        ib.client.apiError += on_api_error
        ib.client.conn.disconnected += on_socket_closed
        task = asyncio.ensure_future(ib.client.connectAsync(cfg.host, cfg.port, self._client_id, 0))
        try:
            await self._tcp_phase(ib, task, closed)
            await self._handshake_phase(task, closed, seen_codes)
            accounts = [str(a) for a in ib.client.getAccounts()]
            problem = check_accounts(cfg, accounts)
            if problem is not None:
                raise ConnectFailure(ConnectFailureReason.ACCOUNT_MISMATCH, problem)
            if sync:
                await self._sync_phase(ib, accounts, closed)
        except BaseException:
            self._connecting = None
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            ib.disconnect()
            raise
        ib.disconnectedEvent += lambda: self._on_ib_disconnected(ib)
        self._ib = ib
        self._connecting = None
        self._data_type = 0  # a new socket starts with IB's default type
        self._server_version = int(ib.client.serverVersion())
        self._accounts = tuple(accounts)
        log_event(
            log,
            logging.DEBUG,
            "ib_session_connected",
            gateway=cfg.name,
            client_id=self._client_id,
            server_version=self._server_version,
        )

    async def _tcp_phase(
        self, ib: Any, task: asyncio.Future[Any], closed: asyncio.Future[str]
    ) -> None:
        cfg = self._config
        deadline = time.monotonic() + cfg.timeout
        # A close can only follow a connect, so it also proves the TCP phase is over (a fast
        # peer may accept, answer and close between two looks).
        while not (ib.client.conn.isConnected() or closed.done() or task.done()):
            if time.monotonic() >= deadline:
                raise ConnectFailure(
                    ConnectFailureReason.CONNECTION_REFUSED,
                    f"TCP connect to {cfg.address} timed out after {cfg.timeout:g} s "
                    "(host unreachable or filtered?)",
                )
            await asyncio.wait({task}, timeout=_TCP_POLL)
        if task.done() and task.exception() is not None:
            err = task.exception()
            if isinstance(err, OSError | ConnectionError):
                raise ConnectFailure(
                    ConnectFailureReason.CONNECTION_REFUSED,
                    f"nothing accepts API connections at {cfg.address} ({err!r}); "
                    "is TWS / IB Gateway running with the API port open?",
                )
            raise ConnectFailure(
                ConnectFailureReason.HANDSHAKE_TIMEOUT, f"API connect failed: {err!r}"
            )

    async def _handshake_phase(
        self, task: asyncio.Future[Any], closed: asyncio.Future[str], seen_codes: list[int]
    ) -> None:
        cfg = self._config
        done, _ = await asyncio.wait(
            {task, closed}, timeout=cfg.timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done and task.exception() is None:
            return
        if CLIENT_ID_IN_USE_CODE in seen_codes:
            raise ConnectFailure(
                ConnectFailureReason.CLIENT_ID_IN_USE,
                f"client ID {self._client_id} is already in use at {cfg.address} (IB error 326)",
                ib_error_code=CLIENT_ID_IN_USE_CODE,
            )
        if "version" in self._last_api_error.lower():
            raise ConnectFailure(
                ConnectFailureReason.SERVER_VERSION_TOO_OLD,
                f"{cfg.address}: {self._last_api_error}",
            )
        if not done:
            raise ConnectFailure(
                ConnectFailureReason.HANDSHAKE_TIMEOUT,
                f"API handshake with {cfg.address} not finished after {cfg.timeout:g} s "
                "(gateway starting, the API not enabled, or TWS asking whether to accept this "
                "IP: add it to Trusted IPs?)",
            )
        if closed.done() and not self._last_api_error:
            # The libraries report a close as an API error only once the server version has
            # arrived: a silent close came before it, which is how TWS refuses an untrusted IP.
            raise ConnectFailure(
                ConnectFailureReason.GATEWAY_UNTRUSTED,
                f"{cfg.address} closed the socket before answering the API handshake: is this "
                "host's IP in TWS / IB Gateway's Trusted IPs (Configure > API > Settings)?",
            )
        why = closed.result() if closed.done() else repr(task.exception())
        raise ConnectFailure(
            ConnectFailureReason.HANDSHAKE_TIMEOUT,
            f"{cfg.address} closed the socket during the API handshake ({why})",
        )

    async def _sync_phase(self, ib: Any, accounts: list[str], closed: asyncio.Future[str]) -> None:
        """What ``IB.connectAsync`` syncs, but every unanswered request fails the connect."""
        cfg = self._config
        account = cfg.account or (accounts[0] if len(accounts) == 1 else "")
        reqs: dict[str, Awaitable[Any]] = {"positions": ib.reqPositionsAsync()}
        if not cfg.readonly:
            reqs["open orders"] = ib.reqOpenOrdersAsync()
            reqs["completed orders"] = ib.reqCompletedOrdersAsync(False)
        if account:
            reqs["account updates"] = ib.reqAccountUpdatesAsync(account)
        await self._await_sync(reqs, closed)
        await self._await_sync({"executions": ib.reqExecutionsAsync()}, closed)
        if not ib.client.isReady():
            raise ConnectFailure(
                ConnectFailureReason.SYNC_TIMEOUT, "socket closed during the start-up sync"
            )

    async def _await_sync(
        self, reqs: dict[str, Awaitable[Any]], closed: asyncio.Future[str]
    ) -> None:
        timeout = self._config.timeout
        results = await asyncio.gather(
            *(within(r, timeout) for r in reqs.values()), return_exceptions=True
        )
        late = [name for name, r in zip(reqs, results, strict=True) if isinstance(r, TimeoutError)]
        broken = [
            r for r in results if isinstance(r, BaseException) and not isinstance(r, TimeoutError)
        ]
        if late:
            raise ConnectFailure(
                ConnectFailureReason.SYNC_TIMEOUT,
                f"start-up sync: {', '.join(late)} not answered within {timeout:g} s",
            )
        if broken or closed.done():
            raise ConnectFailure(
                ConnectFailureReason.SYNC_TIMEOUT,
                f"socket closed during the start-up sync ({broken[0]!r})"
                if broken
                else "socket closed during the start-up sync",
            )

    def abort(self) -> bool:
        """Drop the socket now, synchronously, and discard every byte not yet written: the
        library's throttle queue and the transport's buffer (``abort``, not ``close``, which would
        still flush them). For a leader that stepped down: nothing it queued may reach IB later.
        True when a socket was dropped; the disconnect callback follows as for any drop."""
        dropped = False
        for ib in (self._ib, self._connecting):
            client = getattr(ib, "client", None)
            if client is None:
                continue
            queued = getattr(client, "_msgQ", None)  # the library's private throttle queue
            if queued is not None:
                queued.clear()
            transport = getattr(client.conn, "transport", None)
            if transport is not None:
                transport.abort()
                dropped = True
        return dropped

    async def disconnect(self) -> None:
        """Close the socket (no callback fires for a close asked for here)."""
        ib, self._ib = self._ib, None
        self._server_version = 0
        if ib is None:
            return
        self.message_totals()
        conn = ib.client.conn
        if not conn.isConnected():
            ib.disconnect()
            return
        closed = asyncio.get_running_loop().create_future()

        def on_closed(*_: Any) -> None:
            if not closed.done():
                closed.set_result(None)

        conn.disconnected += on_closed
        ib.disconnect()
        # Return once the socket is really closed, so a probe's client ID is free when we
        # say so. A peer that never acknowledges cannot hold us longer than a moment.
        with contextlib.suppress(TimeoutError):
            await within(closed, 0.5)
        conn.disconnected -= on_closed

    # --- heartbeat ----------------------------------------------------------------------

    async def current_time(self, timeout: float) -> float:  # noqa: ASYNC109
        """IB's clock (epoch seconds) via ``reqCurrentTime``; TimeoutError when unanswered.

        The library keeps one future for every reqCurrentTime, so a newer call takes over an
        unanswered older one; the future is shielded so a timeout here does not cancel it.
        """
        ib = self._require()
        future = ib.reqCurrentTimeAsync()
        answer = await within(asyncio.shield(future), timeout)
        return float(answer.timestamp())

    # --- market data --------------------------------------------------------------------

    async def subscribe_market_data(
        self,
        contract: Any,
        generic_ticks: str = "",
        *,
        on_issued: Callable[[MarketDataSubscription], None] | None = None,
        data_type: int = 1,
        bars: tuple[str, bool] | None = None,
    ) -> MarketDataSubscription:
        """Hold a streaming market-data line for ``contract``; re-issued after reconnects.

        A contract without ``conId`` is qualified first (ib_async cannot key a ticker by it).
        ``on_issued`` is called after every issue (this one included) with the new ticker.
        ``bars`` = (whatToShow, useRTH) holds 5-second real-time bars instead of quotes.
        """
        if not getattr(contract, "conId", 0):
            qualified = await within(
                self._require().qualifyContractsAsync(contract), self._config.timeout
            )
            if not qualified:
                raise ValueError(f"IB does not know the contract {contract}")
        sub = MarketDataSubscription(
            next(self._sub_keys),
            contract,
            generic_ticks,
            on_issued=on_issued,
            data_type=data_type,
            bars=bars,
        )
        self._subs[sub.key] = sub
        if self.connected:
            self._issue(sub)
        return sub

    def cancel_market_data(self, sub: MarketDataSubscription) -> None:
        """Stop holding ``sub``."""
        if self._subs.pop(sub.key, None) is not None and self.connected and sub.ticker is not None:
            self._cancel(sub)
        sub.ticker = None

    def _cancel(self, sub: MarketDataSubscription) -> None:
        if sub.bars is not None:
            self._ib.cancelRealTimeBars(sub.ticker)
        else:
            self._ib.cancelMktData(sub.contract)

    def resubscribe(self) -> int:
        """Issue every held line again on the current socket (after 1101 or a reconnect)."""
        if not self.connected:
            return 0
        tickers, bars = self._ib.tickers(), self._ib.realtimeBars()
        for sub in self._subs.values():
            if sub.ticker is not None and sub.ticker in (bars if sub.bars else tickers):
                # Same socket (1101): the library still maps the old request; drop it first.
                self._cancel(sub)
            self._issue(sub)
        return len(self._subs)

    def _issue(self, sub: MarketDataSubscription) -> None:
        if sub.bars is not None:
            what, rth = sub.bars
            sub.ticker = self._ib.reqRealTimeBars(sub.contract, 5, what, rth, [])
            sub.issued += 1
            if sub.on_issued is not None:
                sub.on_issued(sub)
            return
        # reqMarketDataType applies to the client's later requests: send it when it changes.
        if sub.data_type != self._data_type:
            self._ib.reqMarketDataType(sub.data_type)
            self._data_type = sub.data_type
        sub.ticker = self._ib.reqMktData(sub.contract, sub.generic_ticks, False, False)
        sub.issued += 1
        if sub.on_issued is not None:
            sub.on_issued(sub)

    def add_error_listener(self, listener: Callable[[int, int, str], None]) -> None:
        """Also call ``listener(req_id, code, message)`` for every IB error and status message
        of this session's current socket (before the supervisor sees it)."""
        self._error_listeners.append(listener)

    @property
    def lib(self) -> Any:
        """The library module (``Contract``, ``Stock``, ...)."""
        return self._lib

    # --- restoration --------------------------------------------------------------------

    async def restore(self, since_wall: float | None) -> Restored:
        """Re-read positions, open orders and executions since ``since_wall``; re-issue data."""
        ib = self._require()
        timeout = self._config.timeout
        positions = await within(ib.reqPositionsAsync(), timeout)
        # All clients' orders: the monitor watches the account, not only its own orders.
        orders = await within(ib.reqAllOpenOrdersAsync(), timeout)
        exec_filter = self._lib.ExecutionFilter()
        if since_wall is not None:
            since = dt.datetime.fromtimestamp(since_wall, dt.UTC)
            exec_filter.time = since.strftime("%Y%m%d-%H:%M:%S")
        fills = await within(ib.reqExecutionsAsync(exec_filter), timeout)
        lines = self.resubscribe()
        return Restored(
            positions=len(positions),
            open_orders=len(orders),
            executions=len(fills),
            market_data_subscriptions=lines,
        )

    # --- library helpers ----------------------------------------------------------------

    def stock(self, symbol: str, exchange: str = "SMART", currency: str = "USD") -> Any:
        """A library ``Stock`` contract (callers outside ib/ never import the library)."""
        return self._lib.Stock(symbol, exchange, currency)

    # --- internals ----------------------------------------------------------------------

    def _require(self) -> Any:
        if not self.connected:
            raise ConnectionError(f"client {self._client_id} is not connected")
        return self._ib

    def _forward_error(self, ib: Any, req_id: int, code: int, message: str) -> None:
        if ib is self._ib:
            for listener in tuple(self._error_listeners):
                listener(int(req_id), int(code), str(message))
        if self._on_ib_error is not None and ib in (self._ib, self._connecting):
            self._on_ib_error(int(req_id), int(code), str(message))

    def _on_ib_disconnected(self, ib: Any) -> None:
        if ib is not self._ib:
            return  # a socket we replaced or closed ourselves
        self.message_totals()
        self._ib = None
        self._server_version = 0
        for sub in self._subs.values():
            sub.ticker = None
        if self._on_disconnected is not None:
            self._on_disconnected(self._last_api_error or "socket closed by peer")

    def __repr__(self) -> str:
        state = f"connected v{self._server_version}" if self.connected else "disconnected"
        return f"<IBSession [{self._config.name}/{self._client_id} {state}]>"
