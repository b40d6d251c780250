"""Cheap looks at a gateway without a client library: is its port open, is a client ID free.

:func:`port_accepts` is a bare TCP connect (no API handshake): the supervisor uses it while it
backs off after refused connects, to start the real connect as soon as the gateway listens
again instead of waiting out the backoff.

:func:`probe_client_id` speaks just the API handshake that proves a client ID free (hello,
startApi, then nextValidId + managedAccounts, or error 326) over a raw asyncio stream: no
``IB()`` object, no sync requests, no decoder. It checks the managed accounts the moment they
arrive and closes at once when the configuration does not allow them.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from dataclasses import dataclass

from broker_server.aio import within
from broker_server.ib.errors import ConnectFailure, ConnectFailureReason


async def port_accepts(host: str, port: int, timeout: float) -> bool:  # noqa: ASYNC109
    """True when a TCP connect to ``host:port`` succeeds within ``timeout``; closed at once."""
    try:
        _, writer = await within(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


CLIENT_ID_IN_USE = 326
_HELLO = b"v157..176"
"""The version range the probe offers (ib_insync's); the reply is not used beyond its arrival."""
_MAX_FRAME = 1 << 20


@dataclass(frozen=True)
class ProbeResult:
    """What a client-ID probe learnt."""

    free: bool
    """True when IB accepted the client ID (nextValidId and managedAccounts arrived)."""
    accounts: tuple[str, ...] = ()
    """The managed accounts IB reported (empty when the ID was in use)."""


def _frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def _fields(*values: object) -> bytes:
    return b"".join(str(v).encode() + b"\0" for v in values)


async def _read_frame(reader: asyncio.StreamReader) -> list[str]:
    size = struct.unpack(">I", await reader.readexactly(4))[0]
    if size > _MAX_FRAME:
        raise ConnectionError(f"frame of {size} bytes from the gateway")
    body = await reader.readexactly(size)
    # Every field ends in NUL, the last one too: drop the empty tail.
    return body.decode(errors="replace").split("\0")[:-1]


async def probe_client_id(
    host: str,
    port: int,
    client_id: int,
    timeout: float,  # noqa: ASYNC109
    check_accounts: Callable[[list[str]], str | None] | None = None,
) -> ProbeResult:
    """Speak only the API handshake needed to learn whether ``client_id`` is free, then close.

    Hello, startApi, then wait for nextValidId + managedAccounts (free) or error 326 (in use).
    No client library object is built. ``check_accounts(accounts)`` returns why the reported
    accounts are not allowed (or None): then the probe closes at once and raises
    ACCOUNT_MISMATCH, before sending anything else. Raises :class:`ConnectFailure` with
    CONNECTION_REFUSED or HANDSHAKE_TIMEOUT when it cannot tell.
    """
    try:
        reader, writer = await within(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as err:
        raise ConnectFailure(
            ConnectFailureReason.CONNECTION_REFUSED, f"{host}:{port}: {err!r}"
        ) from None
    try:
        async with asyncio.timeout(timeout):
            writer.write(b"API\0" + _frame(_HELLO))
            await _read_frame(reader)  # server version and connection time
            writer.write(_frame(_fields(71, 2, client_id, "")))
            return await _await_verdict(reader, client_id, check_accounts)
    except TimeoutError:
        raise ConnectFailure(
            ConnectFailureReason.HANDSHAKE_TIMEOUT,
            f"no answer to the handshake of client ID {client_id} within {timeout:g} s",
        ) from None
    except (asyncio.IncompleteReadError, ConnectionError) as err:
        raise ConnectFailure(
            ConnectFailureReason.HANDSHAKE_TIMEOUT,
            f"the gateway closed the probe of client ID {client_id}: {err!r}",
        ) from None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _await_verdict(
    reader: asyncio.StreamReader,
    client_id: int,
    check_accounts: Callable[[list[str]], str | None] | None,
) -> ProbeResult:
    accounts: list[str] | None = None
    ready = False
    while True:
        try:
            fields = await _read_frame(reader)
        except asyncio.IncompleteReadError:
            # TWS closes the socket right after a 326; a close without one says nothing.
            raise ConnectionError("closed before nextValidId / managedAccounts") from None
        if not fields:
            continue
        msg = fields[0]
        if msg == "4" and len(fields) >= 4 and fields[3] == str(CLIENT_ID_IN_USE):
            return ProbeResult(free=False)
        if msg == "15" and len(fields) >= 3:
            accounts = [a for a in fields[2].split(",") if a]
            problem = check_accounts(accounts) if check_accounts is not None else None
            if problem is not None:
                raise ConnectFailure(ConnectFailureReason.ACCOUNT_MISMATCH, problem)
        elif msg == "9":
            ready = True
        if ready and accounts is not None:
            return ProbeResult(free=True, accounts=tuple(accounts))
