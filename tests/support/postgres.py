"""A real PostgreSQL for the tests, started once per session in a temporary folder.

The server is the ``pgserver`` wheel's PostgreSQL (a dev dependency, so ``make install`` on a fresh
machine brings it; it runs as root too, under a user of its own). ``IBBROKER_TEST_PG_DSN`` points
the tests at a server you run yourself instead. Each test gets a database of its own
(:func:`fresh_database`), so tests never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ENV_DSN = "IBBROKER_TEST_PG_DSN"


def start_server() -> Iterator[str]:
    """Yield the DSN of a running server's ``postgres`` database; stop and delete it after."""
    given = os.environ.get(ENV_DSN)
    if given:
        yield given
        return
    # A short path: the server's Unix socket lives in it (sun_path is 107 bytes).
    folder = Path(tempfile.mkdtemp(prefix="ibpg-"))
    folder.chmod(0o755)  # under root, pgserver runs PostgreSQL as a user of its own
    with warnings.catch_warnings():  # "XDG_RUNTIME_DIR is not set": pgserver falls back to /tmp
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(folder / "data", cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def database_dsn(server_dsn: str, name: str) -> str:
    """``server_dsn`` with its database replaced by ``name``."""
    parts = urlsplit(server_dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def fresh_database(server_dsn: str) -> str:
    """Create an empty database and return its DSN."""
    import asyncpg

    name = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database_dsn(server_dsn, name)


class PrivateServer:
    """A PostgreSQL server of one test's own, which the test may restart (a fault)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ibpgp-"))
        self.folder.chmod(0o755)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

            self._server = pgserver.get_server(self.folder / "data", cleanup_mode=None)
        self.dsn = str(self._server.get_uri())

    def _pg_ctl(self, *args: str) -> None:
        from pgserver import _commands

        pg_ctl = _commands.__dict__["pg_ctl"]  # made at import time, one per binary
        pg_ctl(list(args), pgdata=self._server.pgdata, user=self._server.system_user, timeout=60)

    def restart(self) -> None:
        """Stop the server (fast: open connections are cut) and start it again; blocks."""
        self._pg_ctl("-w", "-m", "fast", "restart")

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self._pg_ctl("-w", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
