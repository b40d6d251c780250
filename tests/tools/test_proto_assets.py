"""The proto copies (protos/third_party, clients/node/protos) and docs/api.md match the protos."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from broker_client.ibbroker.v1 import (
    connection_service_pb2,
    errors_pb2,
    lease_service_pb2,
)

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_proto_assets", ROOT / "tools" / "gen_proto_assets.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_checked_in_assets_match_the_protos(capsys: pytest.CaptureFixture[str]) -> None:
    assert _tool().main(["--check"]) == 0, capsys.readouterr().out


def test_check_reports_an_edited_copy_and_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    third_party, node, doc = tmp_path / "third_party", tmp_path / "node", tmp_path / "api.md"
    monkeypatch.setattr(tool, "THIRD_PARTY", third_party)
    monkeypatch.setattr(tool, "NODE_PROTOS", node)
    monkeypatch.setattr(tool, "API_DOC", doc)
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    assert tool.main(["--check"]) == 1  # nothing written yet
    assert tool.main([]) == 0
    assert tool.main(["--check"]) == 0

    copy = node / "ibbroker" / "v1" / "lease.proto"
    copy.write_text(copy.read_text() + "// edited\n")
    stale = third_party / "google" / "rpc" / "old.proto"
    stale.write_text('syntax = "proto3";\n')
    capsys.readouterr()
    assert tool.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "node/ibbroker/v1/lease.proto" in out
    assert "third_party/google/rpc/old.proto" in out

    assert tool.main([]) == 0  # regenerating removes the stale file and restores the copy
    assert not stale.exists()
    assert tool.main(["--check"]) == 0


def test_api_reference_documents_every_method_and_error_reason() -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    for module, service in (
        (lease_service_pb2, "LeaseService"),
        (connection_service_pb2, "ConnectionService"),
    ):
        descriptor = module.DESCRIPTOR.services_by_name[service]
        assert f"### ibbroker.v1.{service}" in text
        for method in descriptor.methods:
            assert f"| `{method.name}` |" in text
    for name in errors_pb2.ErrorReason.keys():
        assert f"| `{name}` |" in text
    # Comments come through: the proto's own words for a field.
    assert "Idempotency key: a repeated request_id returns the same lease." in text
