"""Failover soak (issue 15's must-show): 2 broker processes (``ibbroker serve``) on one
PostgreSQL and one simulator, 8 clients that follow the leader holding PROXIED leases and placing
idempotent orders, the leader SIGKILLed 10 times. Prints, from the clients' own records and the
simulator's order book: client IDs held twice, leases lost before their TTL, duplicate and lost
acknowledged orders, the leadership epochs, and per failover the time until every client was
served by the new leader next to the goal (leadership TTL + 2 s). Exits 1 when a check fails.

    python benchmarks/soak_failover.py [--kills 10] [--clients 8] [--ttl 1.0] [--orders true]
                                       [--dsn URI] ...

The fast suite does not run it; ``tests/failover/test_soak.py`` (marked slow) runs the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.failover_soak import main

if __name__ == "__main__":
    sys.exit(main())
