"""Generate what is derived from protos/ besides the Python code: proto copies and docs/api.md.

* ``protos/third_party/google/rpc/{status,error_details}.proto``: the ``google.rpc`` protos that
  describe the broker's error details, shipped for users of other languages (taken from the
  installed googleapis-common-protos; outside the buf module's lint, see protos/buf.yaml).
* ``clients/node/protos/``: everything the Node package loads at run time, so an installed
  package works without this repository: ``ibbroker/v1/*.proto``, the ``google.rpc`` protos and
  the ``google/protobuf`` protos they import (from grpc_tools' bundled copies).
* ``docs/api.md``: the API reference, built from a descriptor set with SourceCodeInfo (the proto
  comments), so it says exactly what the protos say.

``python tools/gen_proto_assets.py`` writes them, then regenerates the Node package's TypeScript
types (``npm run gen-types`` in clients/node) when node and its node_modules are there;
``--check`` exits 1 when a checked-in file differs (run by tests/tools/test_proto_assets.py in
``make test``; the Node tests check the types).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import google.rpc
import grpc_tools
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
THIRD_PARTY = PROTO_ROOT / "third_party"
NODE_PROTOS = ROOT / "clients" / "node" / "protos"
API_DOC = ROOT / "docs" / "api.md"
WELL_KNOWN = Path(grpc_tools.__file__).parent / "_proto"
GOOGLE_RPC = Path(next(iter(google.rpc.__path__)))
RPC_PROTOS = ("google/rpc/status.proto", "google/rpc/error_details.proto")
_IMPORT = re.compile(r'^import\s+(?:public\s+|weak\s+)?"([^"]+)";', re.MULTILINE)

# FileDescriptorProto / DescriptorProto field numbers used in SourceCodeInfo paths.
_MESSAGE, _ENUM, _SERVICE = 4, 5, 6
_FIELD, _NESTED, _NESTED_ENUM, _VALUE, _METHOD = 2, 3, 4, 2, 2


def _own_protos() -> list[str]:
    return sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.glob("ibbroker/v1/*.proto"))


def _source(name: str) -> Path:
    """Where a proto's text comes from: this repository, googleapis-common-protos or grpc_tools."""
    if name.startswith("ibbroker/"):
        return PROTO_ROOT / name
    if name.startswith("google/rpc/"):
        return GOOGLE_RPC / Path(name).name
    if name.startswith("google/protobuf/"):
        return WELL_KNOWN / name
    raise SystemExit(f"don't know where {name} comes from")


def _closure(names: Iterable[str]) -> list[str]:
    """``names`` plus every proto they import, transitively."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_IMPORT.findall(_source(name).read_text()))
    return sorted(seen)


def proto_copies() -> dict[Path, str]:
    """``{destination: text}`` of every copied proto."""
    out = {THIRD_PARTY / name: _source(name).read_text() for name in RPC_PROTOS}
    for name in _closure([*_own_protos(), *RPC_PROTOS]):
        out[NODE_PROTOS / name] = _source(name).read_text()
    return out


def _descriptors() -> descriptor_pb2.FileDescriptorSet:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.binpb"
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{WELL_KNOWN}",
            f"--descriptor_set_out={out}",
            "--include_source_info",
            *_own_protos(),
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _cell(text: str) -> str:
    """A comment as one Markdown table cell."""
    return " ".join(line.strip() for line in text.strip().splitlines()).replace("|", "\\|")


def _paragraph(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines())


_SCALARS = {
    getattr(descriptor_pb2.FieldDescriptorProto, name): name.removeprefix("TYPE_").lower()
    for name in descriptor_pb2.FieldDescriptorProto.Type.keys()
}


def _type_ref(type_name: str, own: set[str]) -> str:
    name = type_name.lstrip(".")
    return f"[{name}](#{name})" if name in own else f"`{name}`"


def _field_type(field: descriptor_pb2.FieldDescriptorProto, own: set[str]) -> str:
    if field.type_name:
        kind = _type_ref(field.type_name, own)
    else:
        kind = f"`{_SCALARS[field.type]}`"
    if field.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED:
        return f"repeated {kind}"
    if field.proto3_optional:
        return f"optional {kind}"
    return kind


def api_markdown() -> str:
    """docs/api.md: services, messages and enums of ibbroker.v1 with their proto comments."""
    files = list(_descriptors().file)
    own: set[str] = set()
    for f in files:
        own.update(f"{f.package}.{m.name}" for m in f.message_type)
        own.update(f"{f.package}.{e.name}" for e in f.enum_type)
        for m in f.message_type:
            own.update(f"{f.package}.{m.name}.{n.name}" for n in m.nested_type)
            own.update(f"{f.package}.{m.name}.{e.name}" for e in m.enum_type)
    lines = [
        "# API reference",
        "",
        "<!-- generated by `python tools/gen_proto_assets.py` from protos/ibbroker/v1; do not edit -->",
        "",
        "The broker's gRPC contract, from the comments in `protos/ibbroker/v1/*.proto`. Errors",
        "carry a `google.rpc.Status` in the `grpc-status-details-bin` trailer with `ErrorInfo`",
        "(domain `ibbroker.v1`, reason from [ErrorReason](#ibbroker.v1.ErrorReason) without its",
        "`ERROR_REASON_` prefix), `RetryInfo` when a retry helps and `BadRequest` for bad input;",
        "the `google.rpc` protos are in `protos/third_party/google/rpc/`.",
        "",
    ]
    services, messages, enums = [], [], []
    for f in files:
        comments = {
            tuple(loc.path): loc.leading_comments
            for loc in f.source_code_info.location
            if loc.leading_comments
        }
        for s_index, service in enumerate(f.service):
            services.append(_service(f, service, (_SERVICE, s_index), comments, own))
        for m_index, message in enumerate(f.message_type):
            messages.extend(
                _message(f.package, f.name, message, (_MESSAGE, m_index), comments, own)
            )
        for e_index, enum in enumerate(f.enum_type):
            enums.append(_enum(f.package, f.name, enum, (_ENUM, e_index), comments))
    for title, sections in (("Services", services), ("Messages", messages), ("Enums", enums)):
        lines += [f"## {title}", ""]
        for section in sections:
            lines += [*section, ""]
    return "\n".join(lines).rstrip() + "\n"


def _anchor(full: str, file: str) -> list[str]:
    return [f'<a id="{full}"></a>', "", f"### {full}", "", f"`{file}`", ""]


def _service(
    f: descriptor_pb2.FileDescriptorProto,
    service: descriptor_pb2.ServiceDescriptorProto,
    path: tuple[int, ...],
    comments: dict[tuple[int, ...], str],
    own: set[str],
) -> list[str]:
    out = _anchor(f"{f.package}.{service.name}", f.name)
    if path in comments:
        out += [_paragraph(comments[path]), ""]
    out += ["| method | request | response | description |", "|---|---|---|---|"]
    for index, method in enumerate(service.method):
        stream = "stream " if method.server_streaming else ""
        out.append(
            f"| `{method.name}` | {_type_ref(method.input_type, own)} "
            f"| {stream}{_type_ref(method.output_type, own)} "
            f"| {_cell(comments.get((*path, _METHOD, index), ''))} |"
        )
    return out


def _message(
    package: str,
    file: str,
    message: descriptor_pb2.DescriptorProto,
    path: tuple[int, ...],
    comments: dict[tuple[int, ...], str],
    own: set[str],
) -> list[list[str]]:
    full = f"{package}.{message.name}"
    out = _anchor(full, file)
    if path in comments:
        out += [_paragraph(comments[path]), ""]
    if message.field:
        out += ["| field | number | type | description |", "|---|---|---|---|"]
        for index, field in enumerate(message.field):
            out.append(
                f"| `{field.name}` | {field.number} | {_field_type(field, own)} "
                f"| {_cell(comments.get((*path, _FIELD, index), ''))} |"
            )
    else:
        out.append("No fields.")
    sections = [out]
    for index, nested in enumerate(message.nested_type):
        sections += _message(full, file, nested, (*path, _NESTED, index), comments, own)
    for index, enum in enumerate(message.enum_type):
        sections.append(_enum(full, file, enum, (*path, _NESTED_ENUM, index), comments))
    return sections


def _enum(
    package: str,
    file: str,
    enum: descriptor_pb2.EnumDescriptorProto,
    path: tuple[int, ...],
    comments: dict[tuple[int, ...], str],
) -> list[str]:
    out = _anchor(f"{package}.{enum.name}", file)
    if path in comments:
        out += [_paragraph(comments[path]), ""]
    out += ["| name | number | description |", "|---|---|---|"]
    for index, value in enumerate(enum.value):
        out.append(
            f"| `{value.name}` | {value.number} "
            f"| {_cell(comments.get((*path, _VALUE, index), ''))} |"
        )
    return out


def wanted() -> dict[Path, str]:
    """Every generated file with its expected text."""
    return {**proto_copies(), API_DOC: api_markdown()}


def _managed_dirs() -> list[Path]:
    return [THIRD_PARTY, NODE_PROTOS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when checked-in files drift")
    args = parser.parse_args(argv)
    files = wanted()
    stale = [p for d in _managed_dirs() for p in d.rglob("*.proto") if p not in files]
    if args.check:
        drift = sorted(
            [p for p, text in files.items() if not p.is_file() or p.read_text() != text] + stale
        )
        for path in drift:
            print(f"proto asset drift: {path.relative_to(ROOT)} is not what the protos generate")
        if drift:
            print("run `python tools/gen_proto_assets.py` and commit the result")
            return 1
        print(f"proto assets: {len(files)} generated files match the protos")
        return 0
    for path in stale:
        path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
    print(f"wrote {len(files)} files (proto copies and {API_DOC.relative_to(ROOT)})")
    return _node_types()


def _node_types() -> int:
    """Regenerate clients/node/types/generated from the fresh copies, when Node is set up."""
    node, package = shutil.which("node"), NODE_PROTOS.parent
    if node is None or not (package / "node_modules").is_dir():
        print("clients/node: run `npm ci && npm run gen-types` there to update its types")
        return 0
    return subprocess.run([node, "scripts/gen-types.mjs"], cwd=package, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
