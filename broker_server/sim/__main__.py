"""``python -m broker_server.sim {sim,sim-ctl} ...``: the simulator CLI without the main CLI."""

import sys

from broker_server.sim.cli import main

sys.exit(main())
