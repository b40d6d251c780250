"""The identity table: only HMACs on disk, mode 0600, expiry, deletion, garbled tokens."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from broker_server.config_values import Secret
from broker_server.services.tokens import TokenFile, TokenFileError, load_key


def table(tmp_path: Path) -> TokenFile:
    return TokenFile(
        tmp_path / "tokens.json", load_key(Secret(""), str(tmp_path / "k"), create=True)
    )


def test_the_file_keeps_only_an_hmac_and_is_private(tmp_path: Path) -> None:
    tokens = table(tmp_path)
    token = tokens.create("alice", frozenset({"read", "lease"}))
    assert token.startswith("ibb_") and len(token) == 47
    raw = (tmp_path / "tokens.json").read_text()
    assert token not in raw and token[4:] not in raw
    entry = json.loads(raw)["identities"]["alice"]
    assert entry["token_hmac_sha256"] == tokens.hash(token) and entry["scopes"] == ["lease", "read"]
    for path in (tmp_path / "tokens.json", tmp_path / "k"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    check = tokens.authenticate(token, now=0)
    assert check.identity is not None and check.identity.name == "alice"


def test_another_key_does_not_accept_the_token(tmp_path: Path) -> None:
    token = table(tmp_path).create("alice", frozenset({"read"}))
    other = TokenFile(tmp_path / "tokens.json", b"another key of at least 32 characters...")
    assert other.authenticate(token, now=0).failure == "invalid"


@pytest.mark.parametrize(
    "bad", ["", "ibb_", "x" * 47, "ibb_" + "!" * 43, "ibb_" + "a" * 43, "Bearer", "ibb_\x00" * 10]
)
def test_garbled_or_unknown_tokens_are_invalid(tmp_path: Path, bad: str) -> None:
    tokens = table(tmp_path)
    tokens.create("alice", frozenset({"read"}))
    assert tokens.authenticate(bad, now=0).failure == "invalid"


def test_an_expired_token_says_so(tmp_path: Path) -> None:
    tokens = table(tmp_path)
    token = tokens.create("alice", frozenset({"read"}), expires_in=10, now=1000)
    assert tokens.authenticate(token, now=1009.9).identity is not None
    assert tokens.authenticate(token, now=1010).failure == "expired"


def test_a_deleted_or_replaced_identity_loses_its_token(tmp_path: Path) -> None:
    tokens = table(tmp_path)
    first = tokens.create("alice", frozenset({"read"}))
    second = tokens.create("alice", frozenset({"read"}))
    assert tokens.authenticate(first, now=0).failure == "invalid"
    assert tokens.authenticate(second, now=0).identity is not None
    # Another process (the CLI) deletes it: the running table sees the change.
    reader = TokenFile(tmp_path / "tokens.json", load_key(Secret(""), str(tmp_path / "k")))
    assert reader.authenticate(second, now=0).identity is not None
    assert tokens.delete("alice") and not tokens.delete("alice")
    assert reader.authenticate(second, now=0).failure == "invalid"


def test_files_open_to_others_are_refused(tmp_path: Path) -> None:
    tokens = table(tmp_path)
    tokens.create("alice", frozenset({"read"}))
    (tmp_path / "tokens.json").chmod(0o644)
    with pytest.raises(TokenFileError, match="group or others"):
        TokenFile(tmp_path / "tokens.json", b"k" * 32).records()
    (tmp_path / "k").chmod(0o640)
    with pytest.raises(TokenFileError, match="chmod 600"):
        load_key(Secret(""), str(tmp_path / "k"))


@pytest.mark.parametrize(
    ("name", "scopes"),
    [("", {"read"}), ("a b", {"read"}), ("alice", set()), ("alice", {"root"})],
)
def test_bad_names_and_scopes_are_refused(tmp_path: Path, name: str, scopes: set[str]) -> None:
    with pytest.raises(ValueError):
        table(tmp_path).create(name, frozenset(scopes))


def test_a_key_from_a_secret_wins_over_the_file(tmp_path: Path) -> None:
    assert load_key(Secret("s" * 40), str(tmp_path / "absent")) == b"s" * 40
    with pytest.raises(TokenFileError, match="does not exist"):
        load_key(Secret(""), str(tmp_path / "absent"))
