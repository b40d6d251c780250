"""Every fenced block of README.md and docs/*.md tagged ``runnable`` runs against a real broker.

Mark a block by its info string: ```` ```python runnable ```` or ```` ```sh runnable ````.
Blocks with placeholders (a lease ID from an earlier answer, an undefined ``channel``) stay
unmarked. The test starts one broker with its simulator and an admin token, and runs each block
the way a reader pastes it, with two substitutions: the broker's address ``127.0.0.1:50051``
and the gateway port ``4002`` (what ``make run`` uses) become the test broker's.

- ``python``: the block runs in a fresh interpreter; top-level ``await`` / ``async with`` are
  allowed, as in an asyncio REPL (``python -m asyncio``) or a notebook. It must exit 0 within
  :data:`TIMEOUT`.
- ``sh``: each command (a line and its ``\\`` continuations; in a block with ``$`` prompts only
  the prompted lines, the rest is output) runs in bash from the repository root with ``.venv/bin``
  first on PATH, ``IBBROKER_ADMIN_TOKEN`` set to the broker's token and ``IBBROKER_ADDRESS``
  to its address (python blocks get the same environment). It must exit 0. A
  ``Watch*`` call never ends by itself: it runs for :data:`WATCH_FOR` seconds and must have
  printed an event by then.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.threaded_broker import ThreadedBroker, threaded_broker

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOKEN = "snippet-test-token"
TIMEOUT = 60.0
WATCH_FOR = 3.0
FENCE = re.compile(r"^```(\w+)[ \t]+runnable[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)

RUNNER = """\
import ast, asyncio, sys
path = sys.argv[1]
code = compile(open(path).read(), path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
result = eval(code, {"__name__": "__main__"})
if asyncio.iscoroutine(result):
    asyncio.run(result)
"""


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int
    language: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def snippets() -> list[Snippet]:
    found = []
    for path in DOCS:
        text = path.read_text()
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Snippet(path, line, match.group(1), match.group(2)))
    return found


def commands(block: str) -> list[str]:
    """The commands of a shell block: logical lines (joined continuations), comments dropped."""
    lines = block.splitlines()
    prompted = any(line.startswith("$ ") for line in lines)
    result: list[str] = []
    current: list[str] | None = None
    for line in lines:
        if current is not None:
            current.append(line)
        elif prompted and line.startswith("$ "):
            current = [line[2:]]
        elif not prompted and line.strip() and not line.lstrip().startswith("#"):
            current = [line]
        else:
            continue
        if not line.rstrip().endswith("\\"):
            result.append("\n".join(current))
            current = None
    return result


def localise(text: str, broker: ThreadedBroker) -> str:
    return text.replace("127.0.0.1:50051", broker.address).replace("4002", str(broker.sim_port))


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedBroker]:
    store = tmp_path_factory.mktemp("snippets") / "store.sqlite3"
    with threaded_broker(store, admin_token=TOKEN) as running:
        yield running


def test_the_docs_have_runnable_snippets_of_both_kinds() -> None:
    kinds = {s.language for s in snippets()}
    assert {"python", "sh"} <= kinds, kinds
    # Every runnable sh block has at least one command, so none passes by running nothing.
    for snippet in snippets():
        if snippet.language == "sh":
            assert commands(snippet.text), snippet.id


def test_shell_commands_are_split_as_a_reader_pastes_them() -> None:
    block = "$ a \\\n  --b\n{\n  out\n}\n$ c\n"
    assert commands(block) == ["a \\\n  --b", "c"]
    assert commands("# note\nx \\\n y\n\nz\n") == ["x \\\n y", "z"]


@pytest.mark.parametrize("snippet", snippets(), ids=lambda s: s.id)
def test_snippet_runs(snippet: Snippet, broker: ThreadedBroker, tmp_path: Path) -> None:
    text = localise(snippet.text, broker)
    if snippet.language == "python":
        script = tmp_path / "snippet.py"
        script.write_text(text)
        done = subprocess.run(
            [sys.executable, "-c", RUNNER, str(script)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd=tmp_path,
            env=environment(broker),
        )
        assert done.returncode == 0, f"{snippet.id}:\n{text}\n{done.stdout}\n{done.stderr}"
    elif snippet.language == "sh":
        for command in commands(text):
            run_shell(snippet, command, broker)
    else:
        pytest.fail(f"{snippet.id}: no runner for {snippet.language!r} snippets")


def environment(broker: ThreadedBroker) -> dict[str, str]:
    """What a reader of the docs has: .venv/bin on PATH, the admin token, the broker's address
    in ``IBBROKER_ADDRESS`` (read by the clients that default to 127.0.0.1:50051)."""
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "IBBROKER_ADMIN_TOKEN": TOKEN,
        "IBBROKER_ADDRESS": broker.address,
    }


def run_shell(snippet: Snippet, command: str, broker: ThreadedBroker) -> None:
    env = environment(broker)
    proc = subprocess.Popen(
        ["bash", "-c", command], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    if "/Watch" in command:
        try:
            out, err = proc.communicate(timeout=WATCH_FOR)
            raise AssertionError(f"{snippet.id}: watch ended: {command}\n{out!r}\n{err!r}")
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=10)
        assert b'"event"' in out, f"{snippet.id}: no event from {command}\n{err.decode()}"
        return
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, f"{snippet.id}: {command}\n{out.decode()}\n{err.decode()}"


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_point_inside_the_repository(path: Path) -> None:
    """A relative link resolves to a file of this repository; no absolute paths of a machine."""
    text = path.read_text()
    assert "/work/" not in text, f"{path.name} names a path outside the repository"
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a URL or an anchor
        resolved = (path.parent / target.split("#")[0]).resolve()
        assert resolved.is_relative_to(ROOT), f"{path.name}: {target} leaves the repository"
        assert resolved.exists(), f"{path.name}: {target} does not exist"


def test_the_readme_states_the_versions_the_project_requires() -> None:
    readme = (ROOT / "README.md").read_text()
    python = re.search(r'requires-python = ">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text())
    node = re.search(r'"node": ">=(\d+)"', (ROOT / "clients/node/package.json").read_text())
    assert python and node
    assert f"`python3` {python.group(1)}+" in readme
    assert f"`node` {node.group(1)}+" in readme
    assert "`npm` " in readme and "`make` " in readme
