"""The client package stands alone: it builds into its own wheel and imports no server code."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("broker_server", "ib_insync", "ib_async", "eventkit", "opentelemetry")


def test_importing_the_client_pulls_in_no_server_dependency() -> None:
    modules = sorted(
        f"broker_client.{p.stem}"
        for p in (ROOT / "broker_client").glob("*.py")
        if p.stem != "__init__"
    ) + sorted(
        f"broker_client.ibbroker.v1.{p.stem}"
        for p in (ROOT / "broker_client/ibbroker/v1").glob("*_pb2*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(modules) > 10


def test_client_wheel_holds_the_generated_code_and_declares_only_grpc_deps(tmp_path: Path) -> None:
    # Build from a copy: setuptools leaves build/ and egg-info folders beside the sources.
    source = tmp_path / "src"
    shutil.copytree(ROOT / "broker_client", source, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    [wheel] = tmp_path.glob("ibbroker_client-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = next(zf.read(n).decode() for n in names if n.endswith("METADATA"))
    assert "broker_client/ibbroker/v1/lease_service_pb2_grpc.py" in names
    assert "broker_client/ibbroker/v1/connection_service_pb2.pyi" in names
    assert not any(n.startswith("broker_server") for n in names)
    requires = sorted(
        line.split(":", 1)[1].strip().split("=")[0]
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    )
    assert requires == ["googleapis-common-protos", "grpcio", "grpcio-status", "protobuf"]
