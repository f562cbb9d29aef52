"""The test clock never jumps to real time while its file is being rewritten."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from grassroots.plumbing.clock import file_clock

MAY_1 = dt.datetime(2012, 5, 1, 9, tzinfo=dt.UTC)


def test_a_half_written_clock_file_keeps_the_last_time_read(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = file_clock(path)
    assert clock().year >= 2026  # no file: the real clock
    path.write_text(MAY_1.isoformat())
    assert clock() == MAY_1
    path.write_text("")  # truncated mid-rewrite
    assert clock() == MAY_1
    path.write_text("2012-05-0")
    assert clock() == MAY_1
