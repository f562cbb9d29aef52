"""The service's clock: the system clock, or a file's time in tests and drills."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def file_clock(path: Path) -> Clock:
    """A clock that reads 'now' from a file (RFC 3339): the system clock while there is no
    file; the last value read while the file is being rewritten (never a jump to real time)."""
    last: list[dt.datetime] = []

    def now() -> dt.datetime:
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return system_clock()
        except OSError:
            text = ""
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            return last[-1] if last else system_clock()
        last[:] = [value]
        return value

    return now
