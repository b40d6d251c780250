"""Configuration values and raw-input handling: the error type, secrets, coercion of TOML and
environment values to field types, and the environment overrides. Kept apart from the sections
(:mod:`broker_server.config`) so each file has one concern."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ConfigError(Exception):
    """Invalid configuration; ``problems`` holds one line per problem, each naming the key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Secret:
    """A string that never shows itself in ``repr``, ``str`` or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value; call only where it is used, never to log it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


def type_name(tp: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        tp, str(tp)
    )


def coerce(key: str, raw: Any, tp: Any, problems: list[str]) -> Any:
    """Check ``raw`` against the field type ``tp``; TOML gives native types, env gives strings."""
    if tp is Secret:
        if not isinstance(raw, str):
            problems.append(f"{key}: must be a string, got {type(raw).__name__}")
            return Secret("")
        return Secret(raw)
    if tp == tuple[int, ...]:
        if isinstance(raw, str):
            raw = [part.strip() for part in raw.split(",") if part.strip()]
        try:
            return tuple(int(x) for x in raw if not isinstance(x, bool))
        except (TypeError, ValueError):
            problems.append(f"{key}: must be a list of integers")
            return ()
    if tp == tuple[str, ...]:
        if isinstance(raw, str):
            raw = [part.strip() for part in raw.split(",") if part.strip()]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            problems.append(f"{key}: must be a list of strings")
            return ()
        return tuple(raw)
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in {"1", "true", "yes", "0", "false", "no"}:
            return raw.lower() in {"1", "true", "yes"}
    elif tp is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            try:
                return int(raw)
            except ValueError:
                pass
    elif tp is float:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        if isinstance(raw, str):
            try:
                return float(raw)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(raw, str):
            return raw
    shown = raw if isinstance(raw, str | int | float | bool) else type(raw).__name__
    problems.append(f"{key}: must be {type_name(tp)}, got {shown!r}")
    return None


def apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    """Fold environment overrides into the raw TOML data (strings are coerced later)."""
    simple = {
        "IBBROKER_LISTEN": ("server", "listen"),
        "IBBROKER_STORE": ("store", "path"),
        "IBBROKER_STORE_DSN": ("store", "dsn"),
        "IBBROKER_LOG_LEVEL": ("server", "log_level"),
        "IBBROKER_ADMIN_TOKEN": ("server", "admin_token"),
        "IBBROKER_METRICS_LISTEN": ("telemetry", "metrics_listen"),
        "IBBROKER_OTLP_ENDPOINT": ("telemetry", "otlp_endpoint"),
        "IBBROKER_AUTH": ("auth", "enabled"),
        "IBBROKER_TOKEN_KEY": ("auth", "token_key"),
        "IBBROKER_ALLOW_INSECURE_LISTEN": ("tls", "allow_insecure_listen"),
    }
    for var, (section, key) in simple.items():
        if var in env:
            data.setdefault(section, {})[key] = env[var]
    gateway_vars = {
        "IB_HOST": "host",
        "IB_PORT": "port",
        "IB_CLIENT_ID": "monitor_client_id",
        "IB_PAPER_TRADING": "paper_trading",
        "IB_ALLOW_LIVE": "allow_live",
    }
    if any(var in env for var in gateway_vars):
        gateways = data.setdefault("gateways", {})
        if not isinstance(gateways, dict):
            return
        name = data.get("server", {}).get("default_gateway") or next(iter(gateways), "paper")
        target = gateways.setdefault(name, {})
        if isinstance(target, dict):
            for var, key in gateway_vars.items():
                if var in env:
                    target[key] = env[var]
