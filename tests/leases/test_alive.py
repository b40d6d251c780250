"""The alive mark is overwritten in place through one descriptor: the last mark is what a
start reads, a mark of another width (an older broker's) is replaced whole, and a folder that
cannot be written to is one warning, not a failure."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from broker_server.runtime.alive import AliveMark


def test_the_last_mark_is_read_back_and_a_longer_old_mark_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3.alive"
    path.write_text("99999999999999.123456789\n")  # longer than a mark of today
    mark = AliveMark(path)
    try:
        for wall in (1764071478.25, 1764071478.5, 1764071479.75):
            mark.write(wall)
            assert AliveMark(path).read() == wall
        assert path.read_text() == "1764071479.750000\n"
    finally:
        mark.close()


def test_a_mark_written_after_close_reopens_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.alive"
    mark = AliveMark(path)
    mark.write(10.0)
    mark.remove()  # closes and unlinks
    assert AliveMark(path).read() is None
    mark.write(20.0)
    try:
        assert AliveMark(path).read() == 20.0
    finally:
        mark.close()


def test_an_unwritable_place_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")  # ENOTDIR even for root, unlike a read-only folder
    mark = AliveMark(not_a_folder / "s.alive")
    with caplog.at_level(logging.WARNING, logger="ibbroker.leases"):
        for n in range(5):
            mark.write(float(n))
    assert [r.getMessage() for r in caplog.records].count("alive_mark_failed") == 1
    assert mark.read() is None
