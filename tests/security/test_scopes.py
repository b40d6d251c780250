"""The scope table covers every RPC of the protos, and nothing else."""

from __future__ import annotations

import importlib
import pkgutil

from google.protobuf.descriptor import FileDescriptor

import broker_client.ibbroker.v1 as generated
from broker_server.config_security import SCOPES
from broker_server.services.scopes import RULES


def proto_methods() -> list[str]:
    """Every RPC of every ``*_service_pb2`` module, as ``/package.Service/Method``."""
    methods = []
    for info in pkgutil.iter_modules(generated.__path__):
        if not info.name.endswith("_pb2") or info.name.endswith("_grpc"):
            continue
        descriptor: FileDescriptor = importlib.import_module(
            f"{generated.__name__}.{info.name}"
        ).DESCRIPTOR
        for service in descriptor.services_by_name.values():
            methods += [f"/{service.full_name}/{m.name}" for m in service.methods]
    return sorted(methods)


def test_every_rpc_of_the_protos_has_a_scope() -> None:
    methods = proto_methods()
    assert len(methods) >= 20  # the walk found the services
    missing = [m for m in methods if m not in RULES]
    assert not missing, f"RPCs without a scope in services/scopes.py RULES: {missing}"


def test_the_table_names_only_real_rpcs_and_scopes() -> None:
    assert set(RULES) == set(proto_methods())
    assert {rule.scope for rule in RULES.values()} <= set(SCOPES)


def test_writes_need_more_than_read() -> None:
    for method, rule in RULES.items():
        name = method.rpartition("/")[2]
        if name.startswith(
            ("Acquire", "Renew", "Release", "Place", "Modify", "Cancel", "Reconnect")
        ):
            assert rule.scope != "read", method
