"""py-spy profiles of the service processes while they ingest, summarised as text."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

# Where the main thread waits: asyncio's selector, or — under uvloop, whose loop is C — the
# loop's entry point itself (py-spy sees no Python frame above it while it waits; uvloop's own
# C work on sockets is counted there too, so "busy" is then a little low).
IDLE_LEAVES = (
    "EpollSelector.select (",
    "select (selectors.py",
    "poll (selectors.py",
    "Runner.run (asyncio/runners.py",
)


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profiler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.binary = py_spy()

    def start(self, name: str, pid: int, *, rate: int = 100) -> None:
        if self.binary is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.running[name] = subprocess.Popen(
            [
                self.binary,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(rate),
                "--idle",
                "--format",
                "raw",
                "--output",
                str(self.folder / f"profile-{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self, name: str) -> None:
        process = self.running.pop(name, None)
        if process is None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _frame(frame: str) -> str:
    """`function (path/to/module.py:line)` → `function (module path tail)` without the line."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/services/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"


def summarise(raw: Path, top: int = 15, *, rate: int = 100) -> str:
    """Busy share, the functions where the time is spent (self), and the stages it flows
    through (inclusive), from a py-spy raw (collapsed stacks) file."""
    if not raw.exists():
        return f"(no profile: {raw.name} missing)"
    total = 0
    idle = 0
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if " (" in f]
        if not frames or frames[0].startswith("Thread._bootstrap"):
            continue  # other threads: executor workers waiting for work
        total += count
        if any(frames[-1].startswith(leaf) for leaf in IDLE_LEAVES):
            idle += count
            continue
        leaves[_frame(frames[-1])] += count
        for name in {_frame(f) for f in frames}:
            inclusive[name] += count
    busy = total - idle
    if not busy:
        return "(no busy samples)"
    lines = [
        f"main thread: {total} samples at {rate} Hz, busy (not waiting in the event loop's"
        f" select) {busy / total:.0%}",
        "",
        "self time, share of busy samples:",
    ]
    lines += [f"  {count / busy:6.1%}  {name}" for name, count in leaves.most_common(top)]
    lines += ["", "inclusive time of our code and the libraries' entry points:"]
    ours = [
        (name, count)
        for name, count in inclusive.most_common()
        if any(
            part in name
            for part in (
                "grassroots/",
                "grading/",
                "rectification/",
                "reporting/",
                "notification/",
                "asyncpg/",
                "pydantic/",
                "aiokafka/",
                "faststream/",
            )
        )
    ]
    lines += [f"  {count / busy:6.1%}  {name}" for name, count in ours[: top * 2]]
    return "\n".join(lines)
