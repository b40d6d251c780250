"""ibbroker client: the generated ``ibbroker.v1`` stubs plus small async helpers.

Strategy repositories install only this package (grpcio, protobuf, grpcio-status,
googleapis-common-protos), never the server.
"""

from broker_client.errors import BrokerError

__all__ = ["BrokerError"]
