"""A progress bar for the long benchmarks, on stderr, so the figures on stdout stay as they are.

Shown when stderr is a terminal, or when ``IBBROKER_BENCH_PROGRESS=1`` (``make bench`` sets
it); ``IBBROKER_BENCH_PROGRESS=0`` hides it. On a terminal the bar is redrawn in place
(``\\r``); elsewhere (a log file) one line is written per tenth of the work, so a log is not
flooded.

    with Progress("drops", total=20) as bar:
        for _ in range(20):
            ...
            bar.advance()
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TextIO, TypeVar

ENV = "IBBROKER_BENCH_PROGRESS"
WIDTH = 24
"""Characters of the bar itself."""

T = TypeVar("T")


def wanted(stream: TextIO) -> bool:
    """Whether to show progress on ``stream`` (see the module docstring)."""
    flag = os.environ.get(ENV, "")
    if flag in ("0", "1"):
        return flag == "1"
    return stream.isatty()


class Progress:
    """``done`` of ``total`` steps, elapsed time and an estimate of what is left."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: TextIO | None = None,
        show: bool | None = None,
    ) -> None:
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.show = wanted(self.stream) if show is None else show
        self.live = self.show and self.stream.isatty()
        self._started = time.monotonic()
        self._tenths = -1
        self._width = 0

    def line(self, note: str = "") -> str:
        """The bar as text: ``label [####----] 3/20 12s left 40s note``."""
        filled = WIDTH * self.done // self.total
        elapsed = time.monotonic() - self._started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        text = f"{self.label} [{'#' * filled}{'-' * (WIDTH - filled)}] {self.done}/{self.total}"
        text += f" {elapsed:.0f}s"
        if self.done and self.done < self.total:
            text += f", ~{left:.0f}s left"
        return f"{text} {note}".rstrip()

    def advance(self, steps: int = 1, note: str = "") -> None:
        """``steps`` more are done; redraw (a terminal) or write a line per tenth (a file)."""
        self.done = min(self.done + steps, self.total)
        if not self.show:
            return
        if self.live:
            text = self.line(note)
            pad = max(self._width - len(text), 0)
            self._width = len(text)
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
            return
        tenths = 10 * self.done // self.total
        if tenths != self._tenths:
            self._tenths = tenths
            self.stream.write(self.line(note) + "\n")
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line (a terminal keeps the last state)."""
        if self.live and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0

    def __enter__(self) -> Progress:
        if self.show and self.live:
            self.advance(0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(items: Iterable[T], label: str, total: int) -> Iterator[T]:
    """Yield ``items``, advancing a :class:`Progress` after each one."""
    with Progress(label, total) as bar:
        for item in items:
            yield item
            bar.advance()


@contextlib.asynccontextmanager
async def timed(label: str, seconds: float) -> AsyncIterator[Progress]:
    """A bar that advances once a second for a wait of about ``seconds`` (an outage, a
    measuring window), from a task of its own; full when the block ends."""
    bar = Progress(label, max(int(seconds), 1))

    async def tick() -> None:
        while bar.done < bar.total - 1:  # the last step is the block's end
            await asyncio.sleep(1.0)
            bar.advance()

    with bar:
        task = asyncio.get_running_loop().create_task(tick())
        try:
            yield bar
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            bar.advance(bar.total)
