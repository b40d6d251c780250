"""Known secrets through every path that logs (auth on and off, good, wrong and expired
credentials, admin calls, DEBUG logs, the audit log): no output contains one of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from broker_server.config_values import Secret
from broker_server.services.tokens import TokenFile, load_key
from tests.server.helpers import broker_process

BIN = Path(sys.executable).parent
KEY = "k3y-" + "0123456789abcdef" * 3


def grpcurl(address: str, method: str, *headers: str, data: str = "{}") -> str:
    args = [str(BIN / "grpcurl"), "-plaintext", "-d", data]
    for header in headers:
        args += ["-H", header]
    done = subprocess.run([*args, address, method], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def test_no_secret_in_any_output(tmp_path: Path) -> None:
    table = TokenFile(tmp_path / "tokens.json", load_key(Secret(KEY), ""))
    admin = table.create("ops", frozenset({"read", "admin"}))
    old = table.create("old", frozenset({"read"}), expires_in=-1)
    near_miss = admin[:-1] + ("A" if admin[-1] != "A" else "B")
    config = tmp_path / "c.toml"
    config.write_text(
        f'[auth]\nenabled = true\ntokens_file = "{tmp_path / "tokens.json"}"\n'
        f'audit_file = "{tmp_path / "audit.log"}"\n'
    )
    env = {
        "IBBROKER_TOKEN_KEY": KEY,
        "IBBROKER_LOG_LEVEL": "DEBUG",
        "IBBROKER_STORE": str(tmp_path / "s.sqlite3"),
    }
    outputs = []
    args = ["serve", "--sim", "--listen", "127.0.0.1:0", "--config", str(config)]
    with broker_process(args, env) as (proc, address, tail):
        reconnect = "ibbroker.v1.ConnectionService/Reconnect"
        for token in (admin, near_miss, old, "garbage " + admin):
            outputs.append(grpcurl(address, reconnect, f"authorization: Bearer {token}"))
        assert '"sessions"' in outputs[0]
        assert "CREDENTIALS_INVALID" in outputs[1] and "CREDENTIALS_EXPIRED" in outputs[2]
        proc.terminate()
        proc.wait(20)
    audit = (tmp_path / "audit.log").read_text()
    assert '"reason":"CREDENTIALS_EXPIRED"' in audit and '"identity":"ops"' in audit
    everything = "".join(tail.lines) + "".join(outputs[1:]) + audit
    everything += (tmp_path / "tokens.json").read_text()
    for secret in (admin, near_miss, old, KEY, admin[4:20]):
        assert secret not in everything
    assert all(json.loads(line) for line in tail.lines if line.startswith("{"))


def test_no_admin_token_in_any_output_with_auth_off(tmp_path: Path) -> None:
    secret = "legacy-admin-" + "9" * 20
    env = {"IBBROKER_ADMIN_TOKEN": secret, "IBBROKER_LOG_LEVEL": "DEBUG"}
    env["IBBROKER_STORE"] = str(tmp_path / "s.sqlite3")
    args = ["serve", "--sim", "--listen", "127.0.0.1:0"]
    with broker_process(args, env) as (proc, address, tail):
        method = "ibbroker.v1.ConnectionService/Reconnect"
        wrong = grpcurl(address, method, f"authorization: Bearer {secret}x")
        right = grpcurl(address, method, f"authorization: Bearer {secret}")
        assert "ADMIN_TOKEN_REQUIRED" in wrong and '"sessions"' in right
        proc.terminate()
        proc.wait(20)
    assert secret not in "".join(tail.lines) + wrong
    [security] = [r for r in tail.records if r.get("event") == "security"]
    assert security["admin_token"] == "set"
