"""The connected API clients of one simulator: every connection, and those past startApi.

Actions that address many sessions at once (drop, stall, broadcast) live here so that
neither the faults nor the feeds reach into the server.
"""

from __future__ import annotations

from collections.abc import Callable

from broker_server.sim.session import Phase, Session


class Clients:
    """Connections of one SimServer."""

    def __init__(self) -> None:
        self.connections: set[Session] = set()
        """Every open connection, also before the handshake."""
        self.by_id: dict[int, Session] = {}
        """Sessions past startApi, by client ID."""

    def register(self, s: Session) -> None:
        """A connection was made."""
        self.connections.add(s)

    def unregister(self, s: Session) -> None:
        """A connection is gone (idempotent)."""
        self.connections.discard(s)
        if s.client_id is not None and self.by_id.get(s.client_id) is s:
            del self.by_id[s.client_id]

    def admit(self, s: Session, client_id: int) -> None:
        """``s`` is now the session of ``client_id``."""
        self.by_id[client_id] = s

    def get(self, client_id: int) -> Session | None:
        """The ready session of ``client_id``, if connected."""
        return self.by_id.get(client_id)

    def ready(self) -> list[Session]:
        """Sessions past startApi (a copy: sending may close one)."""
        return [s for s in self.by_id.values() if s.phase is Phase.READY]

    def client_ids(self) -> list[int]:
        """Client IDs past startApi, sorted."""
        return sorted(self.by_id)

    def drop(self, client_id: int | None, rst: bool) -> int:
        """Abort every connection (or one client's); returns how many."""
        targets = [
            s for s in list(self.connections) if client_id is None or s.client_id == client_id
        ]
        for s in targets:
            s.abort(rst)
            # Forget it now, so a reconnect with the same ID is not refused with 326
            # before connection_lost runs.
            self.unregister(s)
        return len(targets)

    def apply_stall(self, is_stalled: Callable[[int | None], bool]) -> None:
        """Stall or resume every connection as ``is_stalled(client_id)`` says."""
        for s in list(self.connections):
            s.set_stalled(is_stalled(s.client_id))

    def market_data_lines(self) -> dict[int, int]:
        """Streaming market-data lines per client ID (reqMktData and reqRealTimeBars; clients
        holding none omitted)."""
        return {cid: s.subs.lines for cid, s in self.by_id.items() if s.subs.lines}

    def drop_market_data(self) -> int:
        """End every market-data and live-bar subscription; returns how many lines ended."""
        n = 0
        for s in self.by_id.values():
            n += s.subs.lines
            s.subs.mkt_data.clear()
            s.subs.rt_bars.clear()
            s.subs.hist.clear()
        return n

    def broadcast_error(self, code: int, text: str) -> int:
        """``error(-1, code, text)`` to every ready client; returns how many."""
        ready = self.ready()
        for s in ready:
            s.send_error(-1, code, text)
        return len(ready)
