"""The listener's security, assembled from the config: TLS credentials that reload themselves,
the two interceptors of :mod:`broker_server.services.auth`, and the start-up checks of the
files they read (key permissions, the identity table). See docs/security.md.

Certificates are reloaded without a restart: gRPC calls :meth:`CertificateReloader.fetch`
before every TLS handshake, and it re-reads the files when their modification time changed or
after SIGHUP (:meth:`EdgeSecurity.reload`). A reload that fails (a half-written file, a key
file made readable to others) is logged and the previous certificate stays in use.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from broker_server.config import BrokerConfig
from broker_server.config_security import TlsConfig, validate_security
from broker_server.logs import log_event
from broker_server.services.audit import configure_audit
from broker_server.services.auth import AuthInterceptor, OwnerInterceptor
from broker_server.services.identity_limits import IdentityLimits
from broker_server.services.tokens import TokenFile, TokenFileError, check_private, load_key

log = logging.getLogger("ibbroker.security")


def _read_pair(tls: TlsConfig) -> tuple[bytes, bytes, bytes | None]:
    key_path = Path(tls.key_file)
    check_private(key_path, "tls.key_file")
    key = key_path.read_bytes()
    cert = Path(tls.cert_file).read_bytes()
    ca = Path(tls.client_ca_file).read_bytes() if tls.client_ca_file else None
    for name, data in (("tls.cert_file", cert), ("tls.client_ca_file", ca)):
        if data is not None and b"-----BEGIN CERTIFICATE-----" not in data:
            raise TokenFileError(f"{name}: no PEM certificate in the file")
    if b"PRIVATE KEY-----" not in key:
        raise TokenFileError("tls.key_file: no PEM private key in the file")
    return key, cert, ca


class CertificateReloader:
    """Hands gRPC a new certificate configuration when the files changed (or on request)."""

    def __init__(self, tls: TlsConfig) -> None:
        self.tls = tls
        self._lock = threading.Lock()
        self._force = False
        self._stamp = self._stamps()
        self.reloads = 0
        """Certificate configurations handed to gRPC after the first."""

    def _stamps(self) -> tuple[int, ...]:
        paths = [self.tls.cert_file, self.tls.key_file, self.tls.client_ca_file]
        return tuple(os.stat(p).st_mtime_ns if p else 0 for p in paths)

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        """The certificate configuration of the files as they are now."""
        key, cert, ca = _read_pair(self.tls)
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def request(self) -> None:
        """Reload before the next handshake (SIGHUP)."""
        with self._lock:
            self._force = True

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by gRPC before every handshake (on its own thread): None keeps the current."""
        with self._lock:
            try:
                stamp = self._stamps()
            except OSError as err:
                log_event(log, logging.ERROR, "tls_reload_failed", error=str(err))
                return None
            if stamp == self._stamp and not self._force:
                return None
            self._force = False
            try:
                config = self.configuration()
            except (OSError, TokenFileError) as err:
                log_event(log, logging.ERROR, "tls_reload_failed", error=str(err))
                return None
            self._stamp = stamp
            self.reloads += 1
            log_event(log, logging.INFO, "tls_reloaded", cert_file=self.tls.cert_file)
            return config


@dataclass
class EdgeSecurity:
    """What the gRPC server needs from the security settings."""

    auth: AuthInterceptor
    """Runs first on every call."""
    owner: OwnerInterceptor = field(default_factory=OwnerInterceptor)
    """Runs after the request was parsed."""
    limits: IdentityLimits | None = None
    """Runs last: the per-identity limits."""
    reloader: CertificateReloader | None = None
    """Set when the listener speaks TLS."""

    def credentials(self) -> grpc.ServerCredentials | None:
        """TLS credentials of the listener (None: plaintext)."""
        if self.reloader is None:
            return None
        return grpc.dynamic_ssl_server_credentials(
            self.reloader.configuration(),
            self.reloader.fetch,
            require_client_authentication=bool(self.reloader.tls.client_ca_file),
        )

    def reload(self) -> None:
        """Re-read certificates before the next handshake (the SIGHUP handler)."""
        if self.reloader is not None:
            self.reloader.request()
        log_event(log, logging.INFO, "tls_reload_requested")


def startup_problems(cfg: BrokerConfig) -> list[str]:
    """What keeps the broker from starting securely, one line each (the CLI exits 2).

    The config checks run again because command-line flags (``--listen``) change the config
    after it was loaded."""
    problems: list[str] = []
    validate_security(cfg, problems)
    if cfg.tls.enabled:
        try:
            _read_pair(cfg.tls)
        except (OSError, TokenFileError) as err:
            problems.append(f"tls: {err}")
    if cfg.auth.enabled:
        try:
            key = load_key(cfg.auth.token_key, cfg.auth.token_key_file)
            TokenFile(cfg.auth.tokens_file, key).records()
            if not Path(cfg.auth.tokens_file).exists():
                problems.append(
                    f"auth.tokens_file: {cfg.auth.tokens_file} does not exist; create an "
                    "identity with `ibbroker token create NAME --scopes read,lease`"
                )
        except (OSError, TokenFileError) as err:
            problems.append(f"auth: {err}")
    return problems


def build_security(cfg: BrokerConfig) -> EdgeSecurity:
    """The listener's security from ``cfg`` (raises TokenFileError / OSError on bad files)."""
    tokens = None
    if cfg.auth.enabled:
        tokens = TokenFile(
            cfg.auth.tokens_file, load_key(cfg.auth.token_key, cfg.auth.token_key_file)
        )
        tokens.records()
    configure_audit(cfg.auth.audit_file)
    security = EdgeSecurity(
        auth=AuthInterceptor(cfg.auth, tokens, admin_token=cfg.server.admin_token),
        limits=IdentityLimits(cfg.auth),
        reloader=CertificateReloader(cfg.tls) if cfg.tls.enabled else None,
    )
    log_event(
        log,
        logging.WARNING if not cfg.auth.enabled else logging.INFO,
        "security",
        auth="on" if cfg.auth.enabled else "off: every caller may do anything",
        tls="on" if cfg.tls.enabled else "off",
        mtls="on" if cfg.tls.client_ca_file else "off",
        allow_cidrs=list(cfg.auth.allow_cidrs) or "any",
        admin_token="set" if cfg.server.admin_token else "none",
    )
    return security
