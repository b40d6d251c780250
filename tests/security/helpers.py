"""Helpers of the security tests: a broker config with auth/TLS, identities, test certificates."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from broker_client import BrokerError
from broker_server.config import AuthConfig, BrokerConfig, TlsConfig
from broker_server.services.tokens import TokenFile, load_key
from tests.server.helpers import fast_config

IDENTITIES = {
    "alice": frozenset({"read", "lease"}),
    "bob": frozenset({"read", "lease"}),
    "reader": frozenset({"read"}),
    "leaser": frozenset({"lease"}),
    "ops": frozenset({"read", "lease", "trade", "admin"}),
}
"""The identities every secured test broker knows, by name, with their scopes."""


def secure_config(tmp: Path, **auth: object) -> BrokerConfig:
    """A fast test config with auth on, its table and key under ``tmp``."""
    base = fast_config(tmp / "store.sqlite3")
    fields: dict[str, object] = {
        "enabled": True,
        "tokens_file": str(tmp / "tokens.json"),
        "token_key_file": str(tmp / "token-key"),
        "audit_file": str(tmp / "audit.log"),
    }
    fields.update(auth)
    return dataclasses.replace(base, auth=AuthConfig(**fields))  # type: ignore[arg-type]


def make_identities(cfg: BrokerConfig) -> dict[str, str]:
    """Create :data:`IDENTITIES` in ``cfg``'s table; returns each one's token."""
    table = TokenFile(
        cfg.auth.tokens_file, load_key(cfg.auth.token_key, cfg.auth.token_key_file, create=True)
    )
    return {name: table.create(name, scopes) for name, scopes in IDENTITIES.items()}


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


@dataclass(frozen=True)
class Pki:
    """PEM files of a test CA, a server certificate for 127.0.0.1/localhost and client certs."""

    ca: Path
    server_cert: Path
    server_key: Path

    def tls(self, *, mtls: bool = True) -> TlsConfig:
        return TlsConfig(
            cert_file=str(self.server_cert),
            key_file=str(self.server_key),
            client_ca_file=str(self.ca) if mtls else "",
        )


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Ca:
    """A throw-away certificate authority writing PEM files into a folder."""

    def __init__(self, folder: Path, name: str = "ibbroker test CA") -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.key = _key()
        self.cert = _cert(name, self.key, None, self.key, ca=True)
        self.path = folder / "ca.pem"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(
        self, name: str, *, server: bool = False, san: str | None = None
    ) -> tuple[Path, Path]:
        """(cert, key) PEM files for ``name``; the key file has mode 0600."""
        key = _key()
        sans: list[x509.GeneralName] = []
        if server:
            sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        if san:
            sans.append(x509.DNSName(san))
        cert = _cert(name, key, self.cert.subject, self.key, sans=sans or None)
        cert_path, key_path = self.folder / f"{name}.pem", self.folder / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(_pem_key(key))
        key_path.chmod(0o600)
        return cert_path, key_path

    def pki(self) -> Pki:
        cert, key = self.issue("server", server=True)
        return Pki(self.path, cert, key)


async def call_code(
    channel: grpc.aio.Channel,
    method: str,
    request: Any,
    *,
    metadata: tuple[tuple[str, str], ...] = (),
    streaming: bool = False,
    timeout: float = 3.0,  # noqa: ASYNC109 - the gRPC deadline of the call
) -> tuple[grpc.StatusCode, str]:
    """Call ``method`` with ``request``; (status code, ErrorInfo reason). A stream that yields
    a first message counts as OK (it is cancelled then)."""
    serialize, parse = type(request).SerializeToString, (lambda raw: raw)
    try:
        if streaming:
            call = channel.unary_stream(method, serialize, parse)(
                request, metadata=metadata, timeout=timeout
            )
            async for _ in call:
                call.cancel()
                break
            else:
                await call
        else:
            await channel.unary_unary(method, serialize, parse)(
                request, metadata=metadata, timeout=timeout
            )
    except grpc.aio.AioRpcError as err:
        return err.code(), BrokerError.from_rpc_error(err).reason
    return grpc.StatusCode.OK, ""
