"""Configuration: defaults, TOML, environment overrides and every validation error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from broker_server.config import (
    BrokerConfig,
    ConfigError,
    Secret,
    config_from_mapping,
    default_port,
    load_config,
)


def problems_of(data: dict, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data, env or {})
    return info.value.problems


def test_defaults_are_a_paper_gateway_on_4002() -> None:
    cfg = config_from_mapping({}, {})
    gw = cfg.default_gateway
    assert (gw.name, gw.host, gw.port, gw.paper_trading) == ("paper", "127.0.0.1", 4002, True)
    assert (gw.client_id_min, gw.client_id_max, gw.monitor_client_id) == (100, 130, 99)
    assert (gw.heartbeat_interval, gw.heartbeat_timeout, gw.retry_delay, gw.backoff_cap) == (
        1.0,
        2.0,
        0.5,
        30.0,
    )
    assert cfg.server.listen == "127.0.0.1:50051"
    assert cfg.leases.default_ttl == 30.0
    assert cfg == BrokerConfig()


@pytest.mark.parametrize(
    ("use_gateway", "paper", "port"),
    [(True, True, 4002), (True, False, 4001), (False, True, 7497), (False, False, 7496)],
)
def test_default_ports(use_gateway: bool, paper: bool, port: int) -> None:
    assert default_port(use_gateway=use_gateway, paper_trading=paper) == port
    table = {"use_gateway": use_gateway, "paper_trading": paper, "allow_live": True}
    cfg = config_from_mapping({"gateways": {"g": table}}, {})
    assert cfg.gateway("g").port == port


def test_toml_file_and_env_overrides(tmp_path: Path) -> None:
    path = tmp_path / "broker.toml"
    path.write_text(
        '[server]\nlisten = "127.0.0.1:6000"\n[gateways.main]\nhost = "10.0.0.1"\nport = 4002\n'
        "[gateways.other]\nport = 7497\nclient_id_min = 200\nclient_id_max = 210\nmonitor_client_id = 199\n"
    )
    env = {
        "IB_HOST": "127.0.0.5",
        "IB_PORT": "4102",
        "IB_CLIENT_ID": "42",
        "IBBROKER_LISTEN": "127.0.0.1:7000",
        "IBBROKER_STORE": str(tmp_path / "s.sqlite3"),
        "IBBROKER_LOG_LEVEL": "debug",
    }
    cfg = load_config(path, env)
    main = cfg.gateway("main")
    assert (main.host, main.port, main.monitor_client_id) == ("127.0.0.5", 4102, 42)
    assert cfg.gateway("other").port == 7497  # env touches only the default gateway
    assert cfg.server.listen == "127.0.0.1:7000"
    assert cfg.store.path == str(tmp_path / "s.sqlite3")
    assert cfg.default_gateway.name == "main"


def test_env_overrides_without_file() -> None:
    cfg = load_config(None, {"IB_PORT": "4012", "IB_PAPER_TRADING": "true"})
    assert cfg.default_gateway.port == 4012


@pytest.mark.parametrize(
    ("data", "env", "expected"),
    [
        ({"server": {"bogus": 1}}, {}, "server.bogus: unknown key"),
        ({"nonsense": {}}, {}, "nonsense: unknown key"),
        ({"gateways": {"paper": {"prot": 4002}}}, {}, "gateways.paper.prot: unknown key"),
        ({"server": {"listen": 5}}, {}, "server.listen: must be a string"),
        ({"server": {"listen": "nohost"}}, {}, "server.listen: must be HOST:PORT"),
        ({"gateways": {"paper": {"port": "x"}}}, {}, "gateways.paper.port: must be an integer"),
        ({"gateways": {"paper": {"port": 70000}}}, {}, "gateways.paper.port: must be 1-65535"),
        ({}, {"IB_PORT": "abc"}, "gateways.paper.port: must be an integer, got 'abc'"),
        (
            {"gateways": {"paper": {"paper_trading": "yes please"}}},
            {},
            "gateways.paper.paper_trading: must be a boolean",
        ),
        (
            {"gateways": {"paper": {"port": 7496}}},
            {},
            "gateways.paper.port: 7496 is a live-trading port but paper_trading = true",
        ),
        (
            {"gateways": {"paper": {"port": 4001}}},
            {},
            "gateways.paper.port: 4001 is a live-trading port",
        ),
        (
            {"gateways": {"live": {"paper_trading": False}}},
            {},
            "gateways.live.allow_live: live trading",
        ),
        (
            {"gateways": {"paper": {"monitor_client_id": 110}}},
            {},
            "gateways.paper.monitor_client_id: 110 overlaps",
        ),
        (
            {"gateways": {"paper": {"client_id_min": 0}}},
            {},
            "gateways.paper.client_id_min: must be >= 1",
        ),
        (
            {"gateways": {"paper": {"client_id_min": 140}}},
            {},
            "gateways.paper.client_id_min: must be >= 1 and <= client_id_max",
        ),
        (
            {"gateways": {"paper": {"heartbeat_timeout": 0}}},
            {},
            "gateways.paper.heartbeat_timeout: must be > 0",
        ),
        (
            {"gateways": {"paper": {"retry_delay": 60}}},
            {},
            "gateways.paper.retry_delay: must be <= backoff_cap",
        ),
        (
            {"gateways": {"paper": {"ib_library": "ibapi"}}},
            {},
            "gateways.paper.ib_library: must be one of",
        ),
        (
            {"gateways": {"paper": {"max_retries": -1}}},
            {},
            "gateways.paper.max_retries: must be >= 0",
        ),
        ({"leases": {"default_ttl": 1}}, {}, "leases.default_ttl: must lie within"),
        ({"server": {"log_level": "LOUD"}}, {}, "server.log_level: must be"),
        (
            {"server": {"default_gateway": "nope"}},
            {},
            "server.default_gateway: no gateway named 'nope'",
        ),
        ({"gateways": {}}, {}, "gateways: must be a table with at least one"),
        ({"sim": {"accounts": []}}, {}, "sim.accounts: must list at least one account"),
        ({"server": "x"}, {}, "server: must be a table"),
    ],
)
def test_each_validation_error_names_its_key(
    data: dict, env: dict[str, str], expected: str
) -> None:
    problems = problems_of(data, env)
    assert any(p.startswith(expected) for p in problems), problems


def test_overlapping_client_id_ranges_on_one_gateway_address() -> None:
    data = {
        "gateways": {
            "a": {"port": 4002},
            "b": {
                "port": 4002,
                "client_id_min": 120,
                "client_id_max": 140,
                "monitor_client_id": 98,
            },
        }
    }
    assert any(
        "gateways.b.client_id_min: client IDs overlap gateway 'a'" in p for p in problems_of(data)
    )


def test_all_problems_are_reported_at_once() -> None:
    problems = problems_of(
        {"server": {"listen": 5, "bogus": 1}, "gateways": {"paper": {"port": "x"}}}
    )
    assert len(problems) == 3


def test_secrets_never_show() -> None:
    cfg = config_from_mapping({}, {"IBBROKER_ADMIN_TOKEN": "hunter2"})
    assert cfg.server.admin_token.reveal() == "hunter2"
    assert "hunter2" not in repr(cfg) and "hunter2" not in str(cfg.server.admin_token)
    assert repr(Secret("")) == "Secret('')"


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.toml", {})
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, {})


def test_cli_exits_2_naming_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "broker.toml"
    path.write_text('[server]\nlisten = 5\nlistn = "x"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "broker_server", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "server.listen: must be a string" in proc.stderr
    assert "server.listn: unknown key" in proc.stderr


def test_readme_config_table_matches_dataclasses() -> None:
    proc = subprocess.run(
        [sys.executable, "tools/config_table.py", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
