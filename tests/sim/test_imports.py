"""The simulator's module graph: one-way imports, no private reach-through, no app layers.

Every module of ``broker_server/sim`` is parsed with ``ast``; every ``import`` (also inside
functions and ``if TYPE_CHECKING:`` blocks) of another sim module is an edge. The graph must
be acyclic, no module may use another object's private (``_x``) attributes, and the
simulator must not import the broker's domain, runtime or ib layers.
"""

from __future__ import annotations

import ast
import importlib
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import broker_server.sim

SIM_DIR = Path(broker_server.sim.__file__).parent
PACKAGE = "broker_server.sim"
FORBIDDEN = ("broker_server.domain", "broker_server.runtime", "broker_server.ib")
MAX_LINES = 500
PRIVATE_ALLOWED = {"_SubParsersAction"}
"""argparse exposes no public name for the subparsers type."""


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(SIM_DIR.glob("*.py")):
        name = PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"
        out[name] = ast.parse(path.read_text(), str(path))
    return out


def _imports(tree: ast.Module, known: set[str] | None = None) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                # ``from broker_server.sim import messages`` imports a module, not a name.
                sub = f"{node.module}.{alias.name}"
                found.add(sub if known is not None and sub in known else node.module)
    return found


def sim_graph() -> dict[str, set[str]]:
    """Module -> the sim modules it imports."""
    modules = _modules()
    return {
        name: {dep for dep in _imports(tree, set(modules)) if dep in modules and dep != name}
        for name, tree in modules.items()
    }


def test_every_module_imports() -> None:
    for name in _modules():
        if not name.endswith("__main__"):  # running it is the CLI
            importlib.import_module(name)


def test_import_graph_is_acyclic() -> None:
    graph = sim_graph()
    assert len(graph) >= 20
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"import cycle in the simulator: {exc.args[1]}")
    assert set(order) == set(graph)


def test_cycle_detection_catches_a_loop() -> None:
    graph = sim_graph()
    # A handler importing the server would close the old loop: the check must see it.
    graph[f"{PACKAGE}.handlers"].add(f"{PACKAGE}.server")
    with pytest.raises(CycleError):
        list(TopologicalSorter(graph).static_order())


def test_leaf_modules_import_nothing_of_the_sim() -> None:
    graph = sim_graph()
    for leaf in ("ib_codes", "versions", "codec", "market", "pacing"):
        assert graph[f"{PACKAGE}.{leaf}"] == set(), leaf


def test_no_app_layers() -> None:
    for name, tree in _modules().items():
        bad = [m for m in _imports(tree) if m.startswith(FORBIDDEN)]
        assert bad == [], f"{name} imports {bad}"


def test_no_private_access_across_objects() -> None:
    problems = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                problems += [
                    f"{name}: from {node.module} import {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and node.module and node.module.startswith(PACKAGE)
                ]
            if not isinstance(node, ast.Attribute):
                continue
            attr = node.attr
            if not attr.startswith("_") or attr.startswith("__") or attr in PRIVATE_ALLOWED:
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            problems.append(f"{name}:{node.lineno}: .{attr}")
    assert problems == []


def test_no_long_module_without_a_reason() -> None:
    for path in sorted(SIM_DIR.glob("*.py")):
        text = path.read_text()
        if text.count("\n") > MAX_LINES:
            doc = ast.get_docstring(ast.parse(text)) or ""
            assert "Why this file is long" in doc, f"{path.name} is over {MAX_LINES} lines"
