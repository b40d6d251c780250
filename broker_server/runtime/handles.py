"""Session handles fenced by generation (asyncpg's pool ``_generation`` + detach is the model).

A :class:`SessionHandle` is bound to one socket of one pooled session: the supervisor's
``generation`` at the moment the handle was taken (it is bumped on every successful
(re)connect). Using the handle (its ``ib``, its ``session`` or any call through it) checks that
the session is still CONNECTED on that same generation; otherwise it raises
:class:`StaleSessionError` instead of silently switching to the new socket. An order planned on
one socket therefore never lands on another: the caller takes a new handle and decides again.

``async with manager.session() as handle`` detaches the handle when the block ends, so a handle
kept past its block fails the same way.

:class:`StaleSessionError` is a :class:`DomainError` with kind ``UNAVAILABLE`` and reason
``RECONNECTING`` (retry with a new handle after ``retry_after``); ``metadata`` names the
session, the handle's generation and the session's current one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.ib.session import IBSession, MarketDataSubscription
from broker_server.runtime.supervisor import SessionSupervisor


class StaleSessionError(DomainError):
    """A handle was used after its socket was replaced, lost, or the handle was detached."""

    def __init__(
        self, session: str, taken: int, current: int, why: str, retry_after: float
    ) -> None:
        super().__init__(
            ErrorKind.UNAVAILABLE,
            FailureReason.RECONNECTING,
            f"handle of session {session} (generation {taken}) is stale: {why}; take a new handle",
            retry_after=retry_after,
            metadata={
                "session": session,
                "handle_generation": str(taken),
                "session_generation": str(current),
            },
        )
        self.taken_generation = taken
        """The generation the handle was bound to."""
        self.current_generation = current
        """The session's generation when the handle was used."""


class SessionHandle:
    """One session's current socket, fenced by generation (see the module docstring)."""

    __slots__ = ("_detached", "_for_orders", "_generation", "_retry_after", "_sup")

    def __init__(
        self,
        sup: SessionSupervisor,
        generation: int,
        retry_after: Callable[[], float],
        *,
        for_orders: bool = False,
    ) -> None:
        self._sup = sup
        self._generation = generation
        self._retry_after = retry_after
        self._for_orders = for_orders
        self._detached = False

    @property
    def generation(self) -> int:
        """The session generation this handle is bound to."""
        return self._generation

    @property
    def name(self) -> str:
        """The session's name, for example ``paper/monitor``."""
        return self._sup.name

    @property
    def client_id(self) -> int:
        """The IB client ID of the session."""
        return self._sup.client_id

    @property
    def gateway(self) -> str:
        """The gateway's name."""
        return self._sup.gateway

    @property
    def valid(self) -> bool:
        """True while the handle may be used (same generation, CONNECTED, not detached)."""
        return self._stale_why() is None

    def check(self) -> None:
        """Raise :class:`StaleSessionError` unless the handle is still :attr:`valid`.

        An order handle (``for_orders``) also raises FAILED_PRECONDITION / IB_LINK_LOST while
        TWS has lost its link to IB (between 1100 and 1101/1102; the socket is unchanged).
        """
        why = self._stale_why()
        if why is not None:
            raise StaleSessionError(
                self._sup.name, self._generation, self._sup.generation, why, self._retry_after()
            )
        if self._for_orders and self._sup.orders_blocked:
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.IB_LINK_LOST,
                f"TWS lost its link to IB (1100): orders through {self._sup.name} are held",
                ib_error_code=1100,
                metadata={"gateway": self._sup.gateway, "session": self._sup.name},
            )

    def detach(self) -> None:
        """End the handle: every later use raises (idempotent)."""
        self._detached = True

    @property
    def session(self) -> IBSession:
        """The underlying :class:`IBSession` (checked)."""
        self.check()
        return self._sup.session

    @property
    def ib(self) -> Any:
        """The library ``IB`` object of the handle's socket (checked)."""
        self.check()
        return self._sup.session.ib

    async def current_time(self, timeout: float) -> float:  # noqa: ASYNC109
        """IB's clock via ``reqCurrentTime`` (checked; see :meth:`IBSession.current_time`)."""
        return await self.session.current_time(timeout)

    async def subscribe_market_data(
        self,
        contract: Any,
        generic_ticks: str = "",
        *,
        on_issued: Callable[[MarketDataSubscription], None] | None = None,
        data_type: int = 1,
        bars: tuple[str, bool] | None = None,
    ) -> MarketDataSubscription:
        """Hold a market-data line on the session (checked; re-issued after reconnects; see
        :meth:`IBSession.subscribe_market_data`)."""
        return await self.session.subscribe_market_data(
            contract, generic_ticks, on_issued=on_issued, data_type=data_type, bars=bars
        )

    def cancel_market_data(self, sub: MarketDataSubscription) -> None:
        """Stop holding ``sub`` (checked)."""
        self.session.cancel_market_data(sub)

    def stock(self, symbol: str, exchange: str = "SMART", currency: str = "USD") -> Any:
        """A library ``Stock`` contract (builds a value; touches no socket)."""
        return self._sup.session.stock(symbol, exchange, currency)

    def _stale_why(self) -> str | None:
        sup = self._sup
        if self._detached:
            return "the handle was detached"
        if sup.generation != self._generation:
            return f"the session reconnected (now generation {sup.generation})"
        if sup.state is not ConnectionState.CONNECTED:
            return f"the session is {sup.state.value}"
        return None

    def __repr__(self) -> str:
        status = "valid" if self.valid else "stale"
        return f"<SessionHandle [{self._sup.name} gen={self._generation} {status}]>"
