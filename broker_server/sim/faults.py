"""Fault injection: the state a test or the control interface scripts, and the actions.

Faults reproduce what a real gateway does to its clients: a closed listener (connection
refused), a socket closed before the handshake, FIN or RST drops, a stalled (open but mute)
socket, slow processing, a request type that is never answered, status error broadcasts and
a restart window. The server consults this state on every connection and message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal, Protocol

from broker_server.logs import log_event
from broker_server.sim import ib_codes
from broker_server.sim.ib_codes import STATUS_MESSAGES

logger = logging.getLogger("ibbroker.sim.faults")

DropMode = Literal["fin", "rst"]

DATA_STATUS_CODES = frozenset(
    {
        ib_codes.LINK_LOST,
        ib_codes.LINK_RESTORED_DATA_LOST,
        ib_codes.LINK_RESTORED_DATA_KEPT,
        ib_codes.MD_FARM_BROKEN,
        ib_codes.MD_FARM_OK,
        ib_codes.HMDS_FARM_BROKEN,
        ib_codes.HMDS_FARM_OK,
    }
)
"""Status codes that change what market data flows."""


class FaultTarget(Protocol):
    """What the faults act on (the server implements it)."""

    async def open_listener(self) -> None:
        """Listen (again) on the simulator's port."""
        ...

    async def close_listener(self) -> None:
        """Stop accepting connections; existing ones stay."""
        ...

    def drop_clients(self, client_id: int | None, rst: bool) -> int:
        """Abort every connection (or one client's); returns how many."""
        ...

    def apply_stall(self) -> None:
        """Stall or resume every connection as the fault state now says."""
        ...

    def broadcast_error(self, code: int, text: str) -> int:
        """Send ``error(-1, code, text)`` to every ready client; returns how many."""
        ...

    def lose_market_data(self) -> None:
        """1101: every client's market-data and live-bar subscriptions are gone."""
        ...

    def resume_market_data(self) -> None:
        """Data flows again: send every subscriber a fresh full quote."""
        ...


class SimFaults:
    """Scriptable faults of one SimServer (``sim.faults``)."""

    def __init__(self, target: FaultTarget) -> None:
        self._target = target
        self.refusing = False
        """The listener is closed: new connections get ConnectionRefusedError."""
        self.closing_before_handshake = False
        """Accepted sockets are closed before the handshake reply."""
        self.stall_all = False
        """Every client, present and future, is stalled."""
        self.stalled_ids: set[int] = set()
        """Client IDs stalled individually."""
        self.delay = 0.0
        """Seconds every incoming message waits before it is processed."""
        self.ignored: set[int] = set()
        """Incoming message ids that are dropped without an answer."""
        self.drop_after_order_times = 0
        """How many more accepted new orders drop their client's connection before the
        gateway answers (the order exists, its client never hears of it)."""
        self.drop_after_order_client: int | None = None
        """Only orders of this client ID (None: any)."""
        self.link_lost = False
        """1100 is active: no market data flows until 1101/1102."""
        self.md_farm_down = False
        """2103 is active: no ticks until 2104."""
        self.hmds_down = False
        """2105 is active: no historical data or live bars until 2106."""
        self._restart_task: asyncio.Task[None] | None = None

    async def refuse(self) -> None:
        """Close the listener: new connections are refused; existing ones stay."""
        self.refusing = True
        await self._target.close_listener()
        log_event(logger, logging.INFO, "sim_fault_refuse")

    async def accept(self) -> None:
        """Listen again on the same port."""
        self.refusing = False
        await self._target.open_listener()
        log_event(logger, logging.INFO, "sim_fault_accept")

    def close_before_handshake(self, enabled: bool = True) -> None:
        """Accept new sockets, then close them before answering the handshake."""
        self.closing_before_handshake = enabled
        log_event(logger, logging.INFO, "sim_fault_close_before_handshake", enabled=enabled)

    async def drop(self, client_id: int | None = None, mode: DropMode = "fin") -> int:
        """Close every client's socket (or one client's) with FIN or RST; returns how many."""
        if mode not in ("fin", "rst"):
            raise ValueError(f"mode must be 'fin' or 'rst', not {mode!r}")
        n = self._target.drop_clients(client_id, rst=mode == "rst")
        log_event(logger, logging.INFO, "sim_fault_drop", client_id=client_id, mode=mode, n=n)
        # One loop turn lets the transports actually close before the caller looks.
        await asyncio.sleep(0)
        return n

    def stall(self, client_id: int | None = None) -> None:
        """Stop reading from and writing to every client (or one): the socket stays open."""
        if client_id is None:
            self.stall_all = True
        else:
            self.stalled_ids.add(client_id)
        self._target.apply_stall()
        log_event(logger, logging.INFO, "sim_fault_stall", client_id=client_id)

    def resume(self, client_id: int | None = None) -> None:
        """End a stall (of everyone when ``client_id`` is None); held bytes flow again."""
        if client_id is None:
            self.stall_all = False
            self.stalled_ids.clear()
        else:
            self.stalled_ids.discard(client_id)
        self._target.apply_stall()
        log_event(logger, logging.INFO, "sim_fault_resume", client_id=client_id)

    def drop_after_order(self, times: int = 1, client_id: int | None = None) -> None:
        """The next ``times`` new orders (of ``client_id``, or of anyone) are accepted and
        then their connection is reset before any answer: an order whose outcome the client
        cannot know. 0 turns it off."""
        if times < 0:
            raise ValueError("times must be >= 0")
        self.drop_after_order_times = times
        self.drop_after_order_client = client_id
        log_event(
            logger, logging.INFO, "sim_fault_drop_after_order", times=times, client_id=client_id
        )

    def take_drop_after_order(self, client_id: int) -> bool:
        """Whether a new order of ``client_id`` must drop its connection (uses one)."""
        if self.drop_after_order_times <= 0:
            return False
        if self.drop_after_order_client not in (None, client_id):
            return False
        self.drop_after_order_times -= 1
        return True

    def is_stalled(self, client_id: int | None) -> bool:
        """Whether a client (None: not yet identified) is stalled now."""
        return self.stall_all or (client_id is not None and client_id in self.stalled_ids)

    def set_delay(self, seconds: float) -> None:
        """Delay the processing of every incoming message by ``seconds`` (0 turns it off)."""
        if seconds < 0:
            raise ValueError("delay must be >= 0")
        self.delay = float(seconds)
        log_event(logger, logging.INFO, "sim_fault_delay", seconds=seconds)

    def ignore(self, msg_id: int) -> None:
        """Never answer incoming messages with this id (as if the gateway lost them)."""
        self.ignored.add(int(msg_id))
        log_event(logger, logging.INFO, "sim_fault_ignore", msg_id=msg_id)

    def unignore(self, msg_id: int) -> None:
        """Answer messages with this id again."""
        self.ignored.discard(int(msg_id))
        log_event(logger, logging.INFO, "sim_fault_unignore", msg_id=msg_id)

    @property
    def ticks_paused(self) -> bool:
        """No ticks flow now (1100 or 2103 active)."""
        return self.link_lost or self.md_farm_down

    @property
    def bars_paused(self) -> bool:
        """No historical data flows now (1100 or 2105 active)."""
        return self.link_lost or self.hmds_down

    async def broadcast_error(self, code: int, message: str | None = None) -> int:
        """Send ``error(-1, code, message)`` to every connected client; returns how many.

        Status codes change the data flow as the real gateway does: 1100 and 2103 stop
        ticks (2105 historical data); 1102, 2104 and 2106 resume them with a fresh quote;
        1101 ends every market-data subscription (clients must resubscribe).
        """
        text = message if message is not None else STATUS_MESSAGES.get(code, f"Error {code}")
        resumed = self._apply_status(code)
        n = self._target.broadcast_error(code, text)
        if code == ib_codes.LINK_RESTORED_DATA_LOST:
            self._target.lose_market_data()
        elif resumed:
            self._target.resume_market_data()
        log_event(logger, logging.INFO, "sim_fault_broadcast_error", code=code, n=n)
        await asyncio.sleep(0)
        return n

    def _apply_status(self, code: int) -> bool:
        # Returns whether ticks flow again because of this code.
        was_paused = self.ticks_paused
        if code == ib_codes.LINK_LOST:
            self.link_lost = True
        elif code in (ib_codes.LINK_RESTORED_DATA_LOST, ib_codes.LINK_RESTORED_DATA_KEPT):
            self.link_lost = False
        elif code == ib_codes.MD_FARM_BROKEN:
            self.md_farm_down = True
        elif code == ib_codes.MD_FARM_OK:
            self.md_farm_down = False
        elif code == ib_codes.HMDS_FARM_BROKEN:
            self.hmds_down = True
        elif code == ib_codes.HMDS_FARM_OK:
            self.hmds_down = False
        if code in DATA_STATUS_CODES:
            log_event(
                logger,
                logging.INFO,
                "sim_data_state",
                code=code,
                link_lost=self.link_lost,
                md_farm_down=self.md_farm_down,
                hmds_down=self.hmds_down,
            )
        return was_paused and not self.ticks_paused and code != ib_codes.LINK_RESTORED_DATA_LOST

    async def restart(self, refuse_seconds: float) -> None:
        """Gateway restart: drop everyone, refuse for ``refuse_seconds``, then accept again.

        Returns once clients are dropped and the listener is closed; the reopening happens
        in the background (await :meth:`wait_accepting` for it). The book is kept.
        """
        await self.cancel_restart()
        self.refusing = True
        await self._target.close_listener()
        self._target.drop_clients(None, rst=False)
        log_event(logger, logging.INFO, "sim_fault_restart", refuse_seconds=refuse_seconds)
        self._restart_task = asyncio.create_task(self._reopen_after(refuse_seconds))
        await asyncio.sleep(0)

    async def _reopen_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.accept()

    async def wait_accepting(self) -> None:
        """Wait until a pending restart has reopened the listener."""
        task = self._restart_task
        if task is not None:
            await asyncio.shield(task)

    async def cancel_restart(self) -> None:
        """Cancel a pending restart's reopening (the server's stop uses it)."""
        task, self._restart_task = self._restart_task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    def clear(self) -> None:
        """Undo every fault: resume, no delay, nothing ignored, handshakes answered.

        A refused listener is reopened in the background (await :meth:`accept` to be sure).
        """
        self.closing_before_handshake = False
        self.drop_after_order_times = 0
        self.drop_after_order_client = None
        resume = self.ticks_paused
        self.link_lost = self.md_farm_down = self.hmds_down = False
        if resume:
            self._target.resume_market_data()
        self.delay = 0.0
        self.ignored.clear()
        self.resume(None)
        if self.refusing or self._restart_task is not None:
            task, self._restart_task = self._restart_task, None
            if task is not None and not task.done():
                task.cancel()
            self._restart_task = asyncio.get_running_loop().create_task(self.accept())
        log_event(logger, logging.INFO, "sim_fault_clear")

    def status(self) -> dict[str, Any]:
        """The fault state as plain data (for the control interface)."""
        return {
            "refusing": self.refusing,
            "close_before_handshake": self.closing_before_handshake,
            "stall_all": self.stall_all,
            "stalled_client_ids": sorted(self.stalled_ids),
            "delay": self.delay,
            "ignored_msg_ids": sorted(self.ignored),
            "drop_after_order": self.drop_after_order_times,
            "link_lost": self.link_lost,
            "md_farm_down": self.md_farm_down,
            "hmds_down": self.hmds_down,
        }
