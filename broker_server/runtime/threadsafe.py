"""The thread-safe facade of the connection manager.

Everything in the manager mutates on its event loop. Other threads read the immutable snapshot
directly and call the coroutines through :class:`ThreadSafeManager`, which marshals them onto
the loop with ``asyncio.run_coroutine_threadsafe``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from broker_server.domain.events import SessionSnapshot
from broker_server.runtime.publisher import StateCallback
from broker_server.runtime.snapshots import ManagerSnapshot

if TYPE_CHECKING:  # the manager imports this module; only its type is needed here
    from broker_server.runtime.connections import ConnectionManager


class ThreadSafeManager:
    """Call the manager from any thread: coroutines are marshalled onto its event loop.

    Reads (:meth:`get_connection_state`, :meth:`is_healthy`) return the immutable snapshot
    without touching the loop. Never call the blocking methods on the loop's own thread.
    """

    def __init__(self, manager: ConnectionManager, loop: asyncio.AbstractEventLoop) -> None:
        self._manager = manager
        self._loop = loop

    def _call(self, make: Callable[[], Any], timeout: float | None) -> Any:
        if self._loop.is_running() and _on_loop_thread(self._loop):
            raise RuntimeError("ThreadSafeManager blocks: call the manager directly on its loop")
        future = asyncio.run_coroutine_threadsafe(make(), self._loop)
        return future.result(timeout)

    def connect(self, gateway: str | None = None, timeout: float | None = 30.0) -> None:
        """Blocking :meth:`ConnectionManager.connect`."""
        self._call(lambda: self._manager.connect(gateway, timeout), None)

    def disconnect(self, gateway: str | None = None, timeout: float | None = 30.0) -> None:
        """Blocking :meth:`ConnectionManager.disconnect`."""
        self._call(lambda: self._manager.disconnect(gateway), timeout)

    def reconnect(
        self,
        gateway: str = "",
        session: str = "",
        reason: str = "reconnect requested",
        timeout: float | None = 30.0,
    ) -> tuple[list[str], float]:
        """Blocking :meth:`ConnectionManager.reconnect`."""
        result: tuple[list[str], float] = self._call(
            lambda: self._manager.reconnect(gateway, session, reason), timeout
        )
        return result

    def sessions(self, gateway: str = "", timeout: float | None = 30.0) -> list[SessionSnapshot]:
        """Fresh session snapshots, computed on the loop."""

        async def read() -> list[SessionSnapshot]:
            return self._manager.sessions(gateway)

        result: list[SessionSnapshot] = self._call(read, timeout)
        return result

    def register_state_callback(self, callback: StateCallback) -> Callable[[], None]:
        """Register ``callback`` (it runs on the loop thread); returns a thread-safe unregister."""
        done = threading.Event()
        holder: list[Callable[[], None]] = []

        def register() -> None:
            holder.append(self._manager.register_state_callback(callback))
            done.set()

        self._loop.call_soon_threadsafe(register)
        done.wait(5.0)

        def unregister() -> None:
            if holder:
                self._loop.call_soon_threadsafe(holder[0])

        return unregister

    def get_connection_state(self) -> ManagerSnapshot:
        """The latest immutable snapshot."""
        return self._manager.get_connection_state()

    def is_healthy(self, gateway: str | None = None) -> bool:
        """See :meth:`ConnectionManager.is_healthy`."""
        return self._manager.is_healthy(gateway)


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
