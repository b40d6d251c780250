"""The identity table: names, scopes and bearer-token hashes in one JSON file (mode 0600).

A token is ``ibb_`` followed by 256 random bits (``secrets.token_urlsafe(32)``) and is shown
once, by ``ibbroker token create``. The file keeps only ``HMAC-SHA256(key, token)``: the key
lives elsewhere (``auth.token_key`` or ``auth.token_key_file``), so the file alone does not let
anyone check a guess offline. A slow KDF (scrypt, PBKDF2) protects low-entropy passwords; a
256-bit random token cannot be guessed whatever the hash, and the broker hashes the presented
token on every call, so a KDF would only make each call (and each attacker's attempt) cost the
broker milliseconds of CPU. Checks compare every stored hash with :func:`hmac.compare_digest`,
without stopping at the first match, so time does not tell which identity a guess was close to.

The broker re-reads the file when its modification time, size or inode change (checked on
each call with one ``stat``), so ``ibbroker token create/delete`` take effect without restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import metrics as otel

from broker_server.config_security import SCOPES
from broker_server.config_values import Secret
from broker_server.logs import log_event

log = logging.getLogger("ibbroker.auth")
_reloads = otel.get_meter("ibbroker").create_counter(
    "ibbroker.auth.table_loads", unit="{load}", description="Identity table (re)loads."
)

TOKEN_PREFIX = "ibb_"
_TOKEN_RE = re.compile(r"^ibb_[A-Za-z0-9_-]{43}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class TokenFileError(Exception):
    """The identity table or its key cannot be used (missing, unreadable, too open)."""


@dataclass(frozen=True)
class IdentityRecord:
    """One identity of the table."""

    name: str
    """The identity's name: the owner of its leases and orders."""
    scopes: frozenset[str]
    """What it may do (read, lease, trade, admin)."""
    token_hash: str
    """Hex HMAC-SHA256 of its bearer token; empty for a certificate-only identity."""
    created: float
    """Unix time the identity (or its current token) was created."""
    expires: float | None
    """Unix time its token stops working; None: never."""

    def to_json(self) -> dict[str, Any]:
        return {
            "scopes": sorted(self.scopes),
            "token_hmac_sha256": self.token_hash,
            "created": self.created,
            "expires": self.expires,
        }


@dataclass(frozen=True)
class TokenCheck:
    """The answer of :meth:`TokenFile.authenticate`: an identity, or why not."""

    identity: IdentityRecord | None
    failure: str = ""
    """``invalid`` (garbled, unknown or revoked) or ``expired``; empty on success."""


def check_private(path: Path, what: str) -> None:
    """Raise :class:`TokenFileError` when ``path`` is readable or writable by group or others."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TokenFileError(
            f"{what} {path} is accessible by group or others (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`"
        )


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically to ``path`` with mode 0600 (never briefly more open)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def load_key(key: Secret, key_file: str, *, create: bool = False) -> bytes:
    """The HMAC key: ``key`` when set, else the hex in ``key_file`` (created when ``create``)."""
    if key:
        return key.reveal().encode()
    path = Path(key_file)
    if not path.exists():
        if not create:
            raise TokenFileError(
                f"token key file {path} does not exist; `ibbroker token create` makes it"
            )
        _write_private(path, secrets.token_hex(32).encode() + b"\n")
    check_private(path, "token key file")
    text = path.read_text().strip()
    if len(text) < 32:
        raise TokenFileError(f"token key file {path} holds fewer than 32 characters")
    return text.encode()


def valid_name(name: str) -> bool:
    """Identity names: 1-64 of letters, digits, ``. _ @ -``, starting with a letter or digit."""
    return bool(_NAME_RE.match(name))


class TokenFile:
    """The identity table on disk, re-read when it changes."""

    def __init__(self, path: str | os.PathLike[str], key: bytes) -> None:
        self.path = Path(path)
        self._key = key
        self._records: dict[str, IdentityRecord] = {}
        self._signature: tuple[int, int, int] | None = None

    def hash(self, token: str) -> str:
        """Hex HMAC-SHA256 of ``token`` under the server key."""
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    def records(self) -> dict[str, IdentityRecord]:
        """Every identity by name, re-read when the file changed (empty when there is none)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._records, self._signature = {}, None
            return self._records
        signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        if signature != self._signature:
            check_private(self.path, "tokens file")
            self._records = self._parse(self.path.read_bytes())
            self._signature = signature
            _reloads.add(1)
            log_event(
                log,
                logging.INFO,
                "identities_loaded",
                path=str(self.path),
                identities=sorted(self._records),
            )
        return self._records

    def _parse(self, raw: bytes) -> dict[str, IdentityRecord]:
        try:
            data = json.loads(raw or b"{}")
            return {
                name: IdentityRecord(
                    name=name,
                    scopes=frozenset(entry["scopes"]) & frozenset(SCOPES),
                    token_hash=str(entry.get("token_hmac_sha256", "")),
                    created=float(entry.get("created", 0.0)),
                    expires=None if entry.get("expires") is None else float(entry["expires"]),
                )
                for name, entry in data.get("identities", {}).items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise TokenFileError(f"tokens file {self.path} is not valid: {err}") from None

    def _save(self, records: dict[str, IdentityRecord]) -> None:
        body = {"version": 1, "identities": {n: r.to_json() for n, r in sorted(records.items())}}
        _write_private(self.path, json.dumps(body, indent=2).encode() + b"\n")
        self._signature = None

    def create(
        self,
        name: str,
        scopes: frozenset[str],
        *,
        expires_in: float | None = None,
        with_token: bool = True,
        now: float | None = None,
    ) -> str:
        """Create (or replace) identity ``name``; return its new token (``""`` without one)."""
        if not valid_name(name):
            raise ValueError(f"identity name {name!r}: use 1-64 of letters, digits, . _ @ -")
        unknown = scopes - frozenset(SCOPES)
        if unknown or not scopes:
            raise ValueError(f"scopes must be some of {', '.join(SCOPES)}, got {sorted(scopes)}")
        now = time.time() if now is None else now
        token = TOKEN_PREFIX + secrets.token_urlsafe(32) if with_token else ""
        records = dict(self.records())
        records[name] = IdentityRecord(
            name=name,
            scopes=scopes,
            token_hash=self.hash(token) if token else "",
            created=now,
            expires=None if expires_in is None else now + expires_in,
        )
        self._save(records)
        return token

    def delete(self, name: str) -> bool:
        """Remove identity ``name`` (its token stops working at once); False when unknown."""
        records = dict(self.records())
        if records.pop(name, None) is None:
            return False
        self._save(records)
        return True

    def authenticate(self, token: str, now: float) -> TokenCheck:
        """The identity whose token this is, compared in constant time against every hash."""
        digest = self.hash(token)
        found: IdentityRecord | None = None
        for record in self.records().values():
            # No early exit: every stored hash is compared, matched or not.
            if hmac.compare_digest(digest, record.token_hash or "-") and record.token_hash:
                found = record
        if found is None or not _TOKEN_RE.match(token):
            return TokenCheck(None, "invalid")
        if found.expires is not None and now >= found.expires:
            return TokenCheck(None, "expired")
        return TokenCheck(found)

    def lookup(self, name: str) -> IdentityRecord | None:
        """The identity called ``name`` (a client certificate's), or None."""
        return self.records().get(name)
