"""IB Gateway simulator speaking the real TWS socket protocol (see DESIGN.md, "The simulator").

``SimServer(SimConfig(...))`` is the in-process entry point; ``python -m broker_server.sim``
(or ``ibbroker sim`` / ``ibbroker sim-ctl``) runs and scripts it from the command line.
"""

from broker_server.sim.server import SimConfig, SimServer

__all__ = ["SimConfig", "SimServer"]
