"""The /metrics listener's own allow-list: a peer outside it gets 403 before anything is read."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from broker_server.config import ConfigError, config_from_mapping
from broker_server.observability.metrics_http import start_metrics_server


def _get(url: str) -> tuple[int, str, str]:
    """Status, content type and body of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def test_a_peer_outside_the_allow_list_is_refused() -> None:
    server = start_metrics_server("127.0.0.1:0", ("10.0.0.0/8",))
    try:
        code, kind, body = _get(server.url)
        assert (code, kind) == (403, "text/plain")
        assert "metrics_allow_cidrs" in body
    finally:
        server.close()


def test_a_peer_inside_the_allow_list_scrapes() -> None:
    server = start_metrics_server("127.0.0.1:0", ("10.0.0.0/8", "127.0.0.0/8"))
    try:
        code, kind, _ = _get(server.url)
        assert code == 200
        assert kind.startswith("text/plain; version=0.0.4")  # the Prometheus exposition format
    finally:
        server.close()


def test_a_bad_network_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        config_from_mapping({"telemetry": {"metrics_allow_cidrs": ["not-a-network"]}}, env={})
    assert "telemetry.metrics_allow_cidrs" in str(err.value)
