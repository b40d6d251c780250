"""The import contracts of `.importlinter` hold, and each one can fail.

`make lint` runs ``lint-imports`` over the real tree. This test copies the tree, breaks one
contract at a time with a single import line, and checks that ``lint-imports`` then reports
exactly that contract as BROKEN: a contract that cannot fail would guard nothing.
"""

from __future__ import annotations

import configparser
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LINT_IMPORTS = pathlib.Path(sys.executable).with_name("lint-imports")

# contract id -> (module file of the copy that gets the import, the import line that breaks it)
VIOLATIONS = {
    "layers": ("broker_server/domain/clock.py", "import broker_server.runtime.events"),
    "domain-pure": ("broker_server/domain/clock.py", "import grpc"),
    "leaf-helpers": ("broker_server/logs.py", "import broker_server.runtime.events"),
    "client-standalone": ("broker_client/watch.py", "import broker_server.logs"),
    "sim-standalone": ("broker_server/sim/codec.py", "import broker_server.domain.clock"),
    "ib-library": ("broker_server/runtime/events.py", "import ib_insync"),
    "grpc-at-the-edge": ("broker_server/store/base.py", "import grpc"),
}


def contract_ids() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    prefix = "importlinter:contract:"
    return [s.removeprefix(prefix) for s in parser.sections() if s.startswith(prefix)]


def test_every_contract_has_a_violation_case() -> None:
    assert sorted(VIOLATIONS) == sorted(contract_ids())


def _lint(tree: pathlib.Path, contract: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", "--contract", contract],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    tree = tmp_path_factory.mktemp("tree")
    ignore = shutil.ignore_patterns("__pycache__")
    for package in ("broker_server", "broker_client"):
        shutil.copytree(ROOT / package, tree / package, ignore=ignore)
    shutil.copy(ROOT / ".importlinter", tree / ".importlinter")
    return tree


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_a_deliberate_violation_breaks_the_contract(
    pristine: pathlib.Path, tmp_path: pathlib.Path, contract: str
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(pristine, tree)
    module, line = VIOLATIONS[contract]
    target = tree / module
    target.write_text(target.read_text() + f"\n{line}  # deliberate violation\n")
    result = _lint(tree, contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert line.split()[-1] in result.stdout
