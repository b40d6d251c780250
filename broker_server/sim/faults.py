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
from broker_server.sim.ib_codes import STATUS_MESSAGES

logger = logging.getLogger("ibbroker.sim.faults")

DropMode = Literal["fin", "rst"]


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

    async def broadcast_error(self, code: int, message: str | None = None) -> int:
        """Send ``error(-1, code, message)`` to every connected client; returns how many."""
        text = message if message is not None else STATUS_MESSAGES.get(code, f"Error {code}")
        n = self._target.broadcast_error(code, text)
        log_event(logger, logging.INFO, "sim_fault_broadcast_error", code=code, n=n)
        await asyncio.sleep(0)
        return n

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
        }
