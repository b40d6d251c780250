"""The client tests run against the real in-process lease broker of ``tests/leases``."""

from tests.leases.conftest import broker, make_broker

__all__ = ["broker", "make_broker"]
