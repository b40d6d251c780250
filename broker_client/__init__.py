"""ibbroker client: the generated ``ibbroker.v1`` stubs plus small async helpers.

Strategy repositories install only this package (grpcio, protobuf, grpcio-status and
googleapis-common-protos), never the server.
"""

from broker_client.client import BrokerClient, BrokerClientSync
from broker_client.errors import (
    AccountMismatchError,
    AdminTokenRequiredError,
    BreakerOpenError,
    BrokerError,
    BrokerUnavailableError,
    ClientIdExhaustedError,
    ClientIdInUseError,
    DeadlineExceededError,
    GatewayConnectError,
    GatewayError,
    GatewayUnknownError,
    IbLinkLostError,
    IdempotencyConflictError,
    InvalidArgumentError,
    LeaseError,
    LeaseExpiredError,
    LeaseNotFoundError,
    LeaseNotOwnerError,
    LeaseReleasedError,
    LeaseStaleEpochError,
    NotConnectedError,
    PacingError,
    ReconnectingError,
    ShuttingDownError,
    StoreUnavailableError,
)
from broker_client.fencing import LeasePolicy
from broker_client.leases import LeaseLostError, lease, lease_sync, watch_leases
from broker_client.plans import RetryPolicy
from broker_client.watch import WatchOptions, watch_connection_state, watch_health

__all__ = [
    "AccountMismatchError",
    "AdminTokenRequiredError",
    "BreakerOpenError",
    "BrokerClient",
    "BrokerClientSync",
    "BrokerError",
    "BrokerUnavailableError",
    "ClientIdExhaustedError",
    "ClientIdInUseError",
    "DeadlineExceededError",
    "GatewayConnectError",
    "GatewayError",
    "GatewayUnknownError",
    "IbLinkLostError",
    "IdempotencyConflictError",
    "InvalidArgumentError",
    "LeaseError",
    "LeaseExpiredError",
    "LeaseLostError",
    "LeaseNotFoundError",
    "LeaseNotOwnerError",
    "LeasePolicy",
    "LeaseReleasedError",
    "LeaseStaleEpochError",
    "NotConnectedError",
    "PacingError",
    "ReconnectingError",
    "RetryPolicy",
    "ShuttingDownError",
    "StoreUnavailableError",
    "WatchOptions",
    "lease",
    "lease_sync",
    "watch_connection_state",
    "watch_health",
    "watch_leases",
]
