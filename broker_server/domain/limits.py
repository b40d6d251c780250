"""IB's fixed numbers, in one place: the API client limit and the well-known API ports.

These are facts about TWS / IB Gateway, not settings, so the domain, the config and the pool
policy all read them from here. (The simulator keeps its own copy: it may not import the
domain, and it models TWS rather than the broker.)
"""

from __future__ import annotations

MAX_IB_CLIENTS = 32
"""TWS / IB Gateway accepts at most 32 API clients at once."""

TWS_LIVE_PORT = 7496
"""TWS's default API port for a live account."""
TWS_PAPER_PORT = 7497
"""TWS's default API port for a paper account."""
GATEWAY_LIVE_PORT = 4001
"""IB Gateway's default API port for a live account."""
GATEWAY_PAPER_PORT = 4002
"""IB Gateway's default API port for a paper account."""
LIVE_PORTS = frozenset({TWS_LIVE_PORT, GATEWAY_LIVE_PORT})
"""Ports that, by IB's convention, serve live accounts."""
PAPER_PORTS = frozenset({TWS_PAPER_PORT, GATEWAY_PAPER_PORT})
"""Ports that, by IB's convention, serve paper accounts."""

IB_CLIENT_LIBRARIES = ("ib_insync", "ib_async")
"""The TWS API client libraries the broker can drive (``GatewayConfig.ib_library``); both
expose the same ``IB`` class, so ``broker_server.ib`` is written once against either."""
