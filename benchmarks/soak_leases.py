"""Lease soak (issue 9): 24 clients hold leases through TCP proxies while the broker (the real
CLI in a child process) is SIGKILLed and SIGSTOPped at random and the proxies stall and reset
the client-broker path. Prints, from the clients' own records, the intervals where two owners
believed they held one client ID and the acknowledged leases lost before their TTL (both must
be 0); exits 1 otherwise.

    python benchmarks/soak_leases.py [--clients 24] [--kills 50] [--stops 50] [--stalls 50]
                                     [--drops 10] [--ttl 1.0] [--seed 1] ...

``make bench`` runs it with the defaults (a few minutes); the fast suite runs a short version
(tests/client/test_soak.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.soak import main

if __name__ == "__main__":
    sys.exit(main())
