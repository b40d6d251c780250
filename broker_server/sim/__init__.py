"""IB Gateway simulator speaking the real TWS socket protocol (see DESIGN.md, "The simulator").

``SimServer(SimConfig(...))`` is the in-process entry point; ``python -m broker_server.sim``
(or ``ibbroker sim`` / ``ibbroker sim-ctl``) runs and scripts it from the command line.

Modules, each importing only those listed before it (tests/sim/test_imports.py checks it):
``ib_codes`` (every error code and text), ``versions``, ``codec``, ``market``, ``book``,
``rules`` (fill sizes, rejections), ``pacing`` (historical-data pacing), ``config``, ``messages`` / ``order_messages`` (wire builders), ``subscriptions``, ``faults``
(scripted faults, acting through the ``FaultTarget`` protocol), ``session`` (one connection;
talks to its server through ``SessionHost``), ``clients`` (the set of connections),
``feeds`` (everything pushed: ticks, fills, account updates), ``host`` (``HandlerHost``, what
handlers may use), ``parsing``, ``order_handlers`` / ``handlers`` (one method per request),
``server`` (wires them together), ``control`` and ``cli``.
"""

from broker_server.sim.config import SimConfig
from broker_server.sim.server import SimServer

__all__ = ["SimConfig", "SimServer"]
