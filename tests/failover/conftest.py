"""The failover tests' PostgreSQL: the store tests' server, a fresh database per test."""

from tests.store.conftest import pg_dsn, pg_server

__all__ = ["pg_dsn", "pg_server"]
