"""Generate the Python code for protos/ibbroker/v1 into broker_client/ibbroker/v1.

``python tools/gen_protos.py`` regenerates (``make proto``); ``--check`` exits 1 when the
checked-in code differs from what the protos generate (``make proto-check``).

Generated imports ``from ibbroker.v1 import x_pb2`` are rewritten to
``from broker_client.ibbroker.v1 import x_pb2`` so the code lives inside the client package.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT_DIR = ROOT / "broker_client" / "ibbroker" / "v1"
_IMPORT = re.compile(r"^(\s*)from ibbroker\.v1 import ", re.MULTILINE)
_IMPORT_MODULE = re.compile(r"^(\s*)import ibbroker\.v1\.", re.MULTILINE)
_QUALIFIED = re.compile(r"(?<![\w.])ibbroker\.v1\.(\w+_pb2)")
_GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def _rewrite(text: str) -> str:
    text = _IMPORT.sub(r"\1from broker_client.ibbroker.v1 import ", text)
    text = _IMPORT_MODULE.sub(r"\1import broker_client.ibbroker.v1.", text)
    return _QUALIFIED.sub(r"broker_client.ibbroker.v1.\1", text)


def generate() -> dict[str, str]:
    """Run protoc (with the mypy plugins) and return ``{file name: rewritten text}``."""
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.glob("ibbroker/v1/*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    # The mypy plugins are console scripts next to this interpreter, not necessarily on PATH.
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--plugin=protoc-gen-mypy={bindir / 'protoc-gen-mypy'}",
            f"--plugin=protoc-gen-mypy_grpc={bindir / 'protoc-gen-mypy_grpc'}",
            f"--python_out={tmp}",
            f"--grpc_python_out={tmp}",
            f"--mypy_out={tmp}",
            f"--mypy_grpc_out={tmp}",
            *protos,
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        out = Path(tmp) / "ibbroker" / "v1"
        return {p.name: _rewrite(p.read_text()) for p in sorted(out.iterdir()) if p.is_file()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when checked-in code drifts")
    args = parser.parse_args()
    wanted = generate()
    existing = {
        p.name: p.read_text() for p in OUT_DIR.glob("*") if p.name.endswith(_GENERATED_SUFFIXES)
    }
    if args.check:
        drift = sorted(
            name for name in set(wanted) | set(existing) if wanted.get(name) != existing.get(name)
        )
        for name in drift:
            print(f"proto drift: broker_client/ibbroker/v1/{name} is not what protoc generates")
        if drift:
            print("run `make proto` and commit the result")
            return 1
        print(f"proto check: {len(wanted)} generated files match the protos")
        return 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in set(existing) - set(wanted):
        (OUT_DIR / name).unlink()
    for name, text in wanted.items():
        (OUT_DIR / name).write_text(text)
    print(f"generated {len(wanted)} files into {OUT_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
