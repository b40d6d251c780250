"""benchmarks/progress.py: a bar on stderr only when wanted, redrawn on a terminal, one line per
tenth in a file, and nothing on stdout (the benchmarks' figures stay as they were)."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys

import pytest

from benchmarks.progress import ENV, Progress, timed, wanted
from tests.conftest import ROOT


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_hidden_unless_a_terminal_or_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert not wanted(io.StringIO()) and wanted(Terminal())
    monkeypatch.setenv(ENV, "1")
    assert wanted(io.StringIO())
    monkeypatch.setenv(ENV, "0")
    assert not wanted(Terminal())
    out = Terminal()
    with Progress("quiet", 5, stream=out) as bar:
        for _ in range(5):
            bar.advance()
    assert out.getvalue() == ""


def test_a_terminal_gets_one_line_redrawn() -> None:
    out = Terminal()
    with Progress("drops", 4, stream=out, show=True) as bar:
        for _ in range(4):
            bar.advance()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    frames = text.rstrip("\n").split("\r")[1:]
    assert [f.split("] ")[1].split()[0] for f in frames] == ["0/4", "1/4", "2/4", "3/4", "4/4"]
    assert frames[-1].startswith("drops [" + "#" * 24 + "]")


def test_a_file_gets_a_line_per_tenth() -> None:
    out = io.StringIO()
    with Progress("trials", 1000, stream=out, show=True) as bar:
        for _ in range(1000):
            bar.advance()
    lines = out.getvalue().splitlines()  # the first step, then each tenth
    assert len(lines) == 11 and lines[-1].startswith("trials [") and "1000/1000" in lines[-1]


async def test_a_timed_bar_fills_when_the_wait_ends() -> None:
    async with timed("outage", 30) as bar:
        await asyncio.sleep(0)
    assert bar.done == bar.total == 30


def test_make_bench_output_keeps_stdout_clean() -> None:
    code = (
        "from benchmarks.progress import track\n"
        "for _ in track(range(3), 'steps', 3):\n"
        "    pass\n"
        "print('figure 42')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"IBBROKER_BENCH_PROGRESS": "1", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "figure 42\n"
    assert "steps [" in done.stderr and "3/3" in done.stderr
