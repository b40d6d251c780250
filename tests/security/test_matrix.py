"""Every RPC of the protos x {no credentials, wrong token, token without the scope, right
token, mTLS identity} -> the expected code, against a real broker. The RPC list comes from the
service descriptors, so a new RPC is in the matrix (and needs a scope) the day it is added."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc
from google.protobuf import descriptor_pool, message_factory

from broker_client.auth import TLSConfig
from broker_client.channel import aio_channel
from broker_server.app import running_broker
from broker_server.config_security import SCOPES
from broker_server.services.scopes import RULES
from broker_server.services.tokens import TokenFile, load_key
from tests.security.helpers import (
    IDENTITIES,
    Ca,
    bearer,
    call_code,
    make_identities,
    secure_config,
)
from tests.security.test_scopes import proto_methods

DENIED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


def _shape(method: str) -> tuple[object, bool]:
    """An empty request of ``method`` and whether it answers with a stream."""
    service, _, name = method.lstrip("/").partition("/")
    desc = descriptor_pool.Default().FindServiceByName(service).FindMethodByName(name)
    return message_factory.GetMessageClass(desc.input_type)(), desc.server_streaming


def _holder(scope: str, *, has: bool) -> str:
    """An identity of IDENTITIES that has (or lacks) ``scope``."""
    return next(n for n, s in sorted(IDENTITIES.items()) if (scope in s) == has)


async def test_every_rpc_by_credentials_over_plaintext_loopback(tmp_path: Path) -> None:
    cfg = secure_config(tmp_path, failure_burst=10_000)
    tokens = make_identities(cfg)
    wrong = "ibb_" + "A" * 43
    mismatches = []
    async with running_broker(cfg, with_sim=True) as broker, aio_channel(broker.address) as ch:
        for method in proto_methods():
            request, streaming = _shape(method)
            scope = RULES[method].scope
            cases = {
                "none": ((), {grpc.StatusCode.UNAUTHENTICATED}, "CREDENTIALS_MISSING"),
                "wrong": (bearer(wrong), {grpc.StatusCode.UNAUTHENTICATED}, "CREDENTIALS_INVALID"),
                "no scope": (
                    bearer(tokens[_holder(scope, has=False)]),
                    {grpc.StatusCode.PERMISSION_DENIED},
                    "SCOPE_DENIED",
                ),
                "right": (bearer(tokens[_holder(scope, has=True)]), None, ""),
            }
            for case, (metadata, codes, reason) in cases.items():
                code, got = await call_code(
                    ch, method, request, metadata=metadata, streaming=streaming, timeout=2
                )
                ok = code not in DENIED if codes is None else (code in codes and got == reason)
                if not ok:
                    mismatches.append((method, case, code.name, got))
        assert broker.grpc.security is not None
        assert broker.grpc.security.auth.failures == 2 * len(proto_methods())
    assert not mismatches


async def test_every_rpc_by_client_certificate_over_mtls(tmp_path: Path) -> None:
    ca = Ca(tmp_path / "pki")
    pki = ca.pki()
    cfg = dataclasses.replace(secure_config(tmp_path, failure_burst=10_000), tls=pki.tls(mtls=True))
    table = TokenFile(
        cfg.auth.tokens_file, load_key(cfg.auth.token_key, cfg.auth.token_key_file, create=True)
    )
    table.create("robot", frozenset(SCOPES), with_token=False)
    table.create("viewer", frozenset({"read"}), with_token=False)
    certs = {name: ca.issue(name) for name in ("robot", "viewer", "stranger")}

    def tls(name: str) -> TLSConfig:
        cert, key = certs[name]
        return TLSConfig(ca.path.read_bytes(), None, cert.read_bytes(), key.read_bytes())

    mismatches = []
    async with running_broker(cfg, with_sim=True) as broker:
        target = f"localhost:{broker.address.rpartition(':')[2]}"
        async with (
            aio_channel(target, tls=tls("robot")) as robot,
            aio_channel(target, tls=tls("viewer")) as viewer,
            aio_channel(target, tls=tls("stranger")) as stranger,
        ):
            for method in proto_methods():
                request, streaming = _shape(method)
                scope = RULES[method].scope
                code, _ = await call_code(robot, method, request, streaming=streaming, timeout=2)
                if code in DENIED:
                    mismatches.append((method, "robot", code.name))
                code, reason = await call_code(viewer, method, request, streaming=streaming)
                want = ("OK?", "") if scope == "read" else ("PERMISSION_DENIED", "SCOPE_DENIED")
                if (scope == "read" and code in DENIED) or (
                    scope != "read" and (code.name, reason) != want
                ):
                    mismatches.append((method, "viewer", code.name))
                code, reason = await call_code(stranger, method, request, streaming=streaming)
                if (code, reason) != (grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_INVALID"):
                    mismatches.append((method, "stranger", code.name))
    assert not mismatches
