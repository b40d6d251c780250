"""``python -m broker_server`` is the ``ibbroker`` command."""

import sys

from broker_server.cli import main

sys.exit(main())
