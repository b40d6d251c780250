"""The store tests' PostgreSQL: one real server per session, a fresh database per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import fresh_database, start_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The DSN of the session's PostgreSQL server (its ``postgres`` database)."""
    yield from start_server()


@pytest.fixture
async def pg_dsn(pg_server: str) -> str:
    """The DSN of an empty database of this test's own."""
    return await fresh_database(pg_server)
