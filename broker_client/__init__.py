"""ibbroker client: the generated ``ibbroker.v1`` stubs plus small async helpers.

Strategy repositories install only this package (grpcio, protobuf, grpcio-status and
googleapis-common-protos), never the server.
"""

from broker_client.client import BrokerClient
from broker_client.errors import BrokerError
from broker_client.fencing import LeasePolicy
from broker_client.leases import LeaseLostError, lease, lease_sync, watch_leases
from broker_client.watch import WatchOptions, watch_connection_state, watch_health

__all__ = [
    "BrokerClient",
    "BrokerError",
    "LeaseLostError",
    "LeasePolicy",
    "WatchOptions",
    "lease",
    "lease_sync",
    "watch_connection_state",
    "watch_health",
    "watch_leases",
]
