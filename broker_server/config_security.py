"""The security sections of the configuration (``[auth]``, ``[tls]``) and their checks.

Kept apart from :mod:`broker_server.config` so the security settings live in one file; the
loader in ``config.py`` registers the two sections and calls :func:`validate_security`.
Checks that read files (key permissions, the tokens file) run at start-up instead
(:func:`broker_server.services.transport.startup_problems`), so ``ibbroker token create`` works
before the files it creates exist. See docs/security.md.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from broker_server.config_values import Secret

if TYPE_CHECKING:
    from broker_server.config import BrokerConfig

SCOPES = ("read", "lease", "trade", "admin")
"""Every scope an identity can hold (docs/security.md has what each one allows)."""

CERT_IDENTITY_SOURCES = ("cn", "san")


@dataclass(frozen=True)
class AuthConfig:
    """Who may call: identities (bearer tokens, client certificates), scopes, allow-list, audit."""

    enabled: bool = False
    """Require credentials (bearer token or client certificate) on every RPC; off lets anyone who reaches the port do anything (the `make run` default)."""
    tokens_file: str = "var/ibbroker.tokens.json"
    """JSON file of identities, scopes and token hashes (mode 0600; written by `ibbroker token`)."""
    token_key: Secret = field(default_factory=lambda: Secret(""))
    """HMAC key the token hashes are made with; empty means read token_key_file."""
    token_key_file: str = "var/ibbroker.token-key"
    """File holding the HMAC key (mode 0600; created by the first `ibbroker token create`)."""
    open_health: bool = True
    """Leave grpc.health.v1 open without credentials (probes, `ibbroker health`)."""
    open_reflection: bool = True
    """Leave server reflection open without credentials (grpcurl list/describe)."""
    cert_identity: str = "cn"
    """Where a client certificate's identity comes from: cn (subject common name) or san (first subject alternative name)."""
    allow_cidrs: tuple[str, ...] = ()
    """Client networks allowed to call (e.g. ["127.0.0.0/8", "10.1.0.0/16"]); empty allows every address."""
    audit_file: str = ""
    """File the audit log (JSON lines) is appended to; empty writes it to stderr (logger ibbroker.audit)."""
    failure_burst: int = 20
    """Failed authentications one client address may make at once before it is rate-limited."""
    failure_rate: float = 5.0
    """Failed authentications per second one client address regains; beyond, RESOURCE_EXHAUSTED AUTH_RATE_LIMITED."""
    max_request_rate: float = 0.0
    """Calls per second one identity may make on average (bursts up to request_burst); 0 is no limit."""
    request_burst: int = 100
    """Calls one identity may make at once before max_request_rate applies."""
    max_streams_per_identity: int = 0
    """Streaming calls (watches) one identity may have open at once; 0 is no limit."""
    max_leases_per_identity: int = 0
    """Active leases one identity (with its labels) may hold; 0 is no limit."""


@dataclass(frozen=True)
class TlsConfig:
    """Transport security of the gRPC listener."""

    cert_file: str = ""
    """PEM certificate chain of the server; with key_file, the listener speaks TLS only."""
    key_file: str = ""
    """PEM private key of cert_file; refused when readable by group or others."""
    client_ca_file: str = ""
    """PEM CA bundle for mTLS: every client must then present a certificate from it (grpc's Python server cannot make one optional); empty means no client certificates."""
    allow_insecure_listen: bool = False
    """Must be true to listen on a non-loopback address without TLS."""

    @property
    def enabled(self) -> bool:
        """True when the listener speaks TLS."""
        return bool(self.cert_file and self.key_file)


def is_loopback_host(host: str) -> bool:
    """True for a loopback listen or gateway host (127.0.0.0/8, ::1, localhost)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_security(cfg: BrokerConfig, problems: list[str]) -> None:
    """Append one line per problem of the ``[auth]`` / ``[tls]`` / gateway transport settings."""
    auth, tls = cfg.auth, cfg.tls
    if auth.cert_identity not in CERT_IDENTITY_SOURCES:
        problems.append(f"auth.cert_identity: must be cn or san, got {auth.cert_identity!r}")
    for cidr in auth.allow_cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            problems.append(f"auth.allow_cidrs: {cidr!r} is not a network (e.g. 10.0.0.0/8)")
    if auth.failure_burst < 1:
        problems.append("auth.failure_burst: must be >= 1")
    if auth.failure_rate <= 0:
        problems.append("auth.failure_rate: must be > 0")
    for name in ("max_request_rate", "max_streams_per_identity", "max_leases_per_identity"):
        if getattr(auth, name) < 0:
            problems.append(f"auth.{name}: must be >= 0 (0 = no limit)")
    if auth.request_burst < 1:
        problems.append("auth.request_burst: must be >= 1")
    if auth.enabled and cfg.server.admin_token:
        problems.append(
            "server.admin_token: not used with auth.enabled; create an admin identity with "
            "`ibbroker token create NAME --scopes admin`"
        )
    if auth.enabled and not auth.tokens_file:
        problems.append("auth.tokens_file: must not be empty with auth.enabled")
    if bool(tls.cert_file) != bool(tls.key_file):
        problems.append("tls.cert_file: cert_file and key_file go together (set both or neither)")
    if tls.client_ca_file and not tls.enabled:
        problems.append("tls.client_ca_file: needs tls.cert_file and tls.key_file")
    host = cfg.server.listen.rpartition(":")[0]
    if host and not is_loopback_host(host) and not tls.enabled and not tls.allow_insecure_listen:
        problems.append(
            f"server.listen: refusing to listen on non-loopback {cfg.server.listen} without TLS; "
            "set tls.cert_file and tls.key_file, or tls.allow_insecure_listen = true"
        )
    for gw in cfg.gateways:
        key = f"gateways.{gw.name}"
        if gw.transport not in ("direct", "tunnel"):
            problems.append(f"{key}.transport: must be direct or tunnel, got {gw.transport!r}")
        elif (
            gw.transport == "direct"
            and not is_loopback_host(gw.host)
            and not gw.allow_plaintext_remote_gateway
        ):
            problems.append(
                f"{key}.host: the TWS API is plaintext; refusing non-loopback gateway {gw.host} "
                'unless transport = "tunnel" (SSH/stunnel) or allow_plaintext_remote_gateway = true'
            )
