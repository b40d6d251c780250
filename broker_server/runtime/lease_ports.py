"""What the lease runtime needs from the connection layer, as small Protocols.

The lease manager never imports the connection manager: the composition root hands it objects
that fit these (the connection manager implements all of them).
"""

from __future__ import annotations

from typing import Protocol


class ClientIdProber(Protocol):
    """Proves a client ID free: implemented by the connection layer."""

    async def probe(self, gateway: str, client_id: int) -> bool:
        """Connect to ``gateway`` with ``client_id`` and disconnect; True when the ID is free (the
        connect did not get IB error 326), False when something else uses it. Raising means the
        probe could not tell (the ID stays quarantined for another cool-down)."""
        ...


class ProxiedSessionPool(Protocol):
    """Opens and closes the broker's sessions for PROXIED leases: implemented by the connection
    layer."""

    async def open_session(self, gateway: str, client_id: int, lease_id: str) -> None:
        """Open a session on ``gateway`` with ``client_id`` for lease ``lease_id``; raise when it
        cannot be opened (a :class:`DomainError` keeps its reason and retry_after)."""
        ...

    async def close_session(self, gateway: str, client_id: int) -> None:
        """Close the session on ``gateway`` with ``client_id`` (no-op when there is none)."""
        ...


class GatewayAccounts(Protocol):
    """Tells whether a gateway's managed accounts fit its configuration: implemented by the
    connection layer from what its monitor session saw (paper vs live, the configured account)."""

    def account_mismatch(self, gateway: str) -> str | None:
        """Why ``gateway``'s managed accounts do not fit its configuration, or None when they fit
        or are not known yet (the monitor has not connected)."""
        ...


class OrderClientIds(Protocol):
    """Which client IDs hold an owner's working orders: implemented by the order runtime.

    TWS lets only the client ID that placed an order modify or cancel it, so a PROXIED acquire
    that names no client ID is offered one of these first."""

    def working_client_ids(self, gateway: str, owner: str) -> list[int]:
        """Client IDs of ``gateway`` on which ``owner`` has orders that are not finished, the
        most recently placed first."""
        ...
