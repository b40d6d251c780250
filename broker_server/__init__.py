"""ibbroker: a gRPC connection broker for Interactive Brokers."""

__version__ = "0.1.0"
