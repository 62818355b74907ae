"""The tests' guard against blocking calls in the event loop (blockbuster, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from blockbuster import BlockingError

from storage.sheets import read_score_sheet


async def test_file_io_from_our_code_inside_the_loop_fails_the_test(tmp_path: Path) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_text("unit,code,scorer,score,note,case\n", encoding="utf-8")  # the test's own I/O is not scanned
    with pytest.raises(BlockingError):
        read_score_sheet(sheet)


def test_the_same_call_outside_the_loop_is_fine(tmp_path: Path) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_text("unit,code,scorer,score,note,case\n", encoding="utf-8")
    assert read_score_sheet(sheet) == []
