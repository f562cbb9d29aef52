"""Service processes (as `make up` runs them), their memory, and CPU accounting per process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.infra import REPO

PORTS = {
    "reporting": 18280,
    "grading": 18281,
    "rectification": 18282,
    "notification": 18283,
    "intake": 18284,
    "notification-deliver": 18285,
}
SMTP_PORT = 18325
SINK = ("-c", "aiosmtpd.handlers.Sink")
# Notification mails go to a local sink that accepts and drops them (a county has a mail server).
NOTIFICATION = {
    "GRASSROOTS_NOTIFICATION_SMTP_HOST": "127.0.0.1",
    "GRASSROOTS_NOTIFICATION_SMTP_PORT": str(SMTP_PORT),
    "GRASSROOTS_NOTIFICATION_SMTP_STARTTLS": "false",
}


def smtp_sink() -> subprocess.Popen[bytes]:
    """aiosmtpd's Sink handler on loopback, in a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{SMTP_PORT}", *SINK],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, and the children's the process waited for (PostgreSQL's exited backends)
    return sum(int(value) for value in fields[11:15]) / TICKS


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Service:
    name: str
    environment: dict[str, str]
    log_dir: Path
    extra: dict[str, str] = field(default_factory=dict)
    # Notification runs as two processes, as in make up: `consume` (plans) and `deliver`.
    role: str | None = None
    process: subprocess.Popen[bytes] | None = None
    peak_mb: float = 0.0

    @property
    def label(self) -> str:
        """The process's name in results: the service, or `notification-deliver`."""
        return f"{self.name}-deliver" if self.role == "deliver" else self.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{PORTS[self.label]}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        kafka_password = self.environment.get(f"KAFKA_{self.name.upper()}_PASSWORD")
        env = {
            **os.environ,
            **self.environment,
            # each service is its own user on the broker (when it has SASL), as in make up
            **(
                {
                    "GRASSROOTS_KAFKA_USERNAME": self.name,
                    "GRASSROOTS_KAFKA_PASSWORD": kafka_password,
                }
                if kafka_password
                else {}
            ),
            "GRASSROOTS_DATABASE_URL": self.environment[f"{self.name.upper()}_DATABASE_URL"],
            "GRASSROOTS_HTTP_PORT": str(PORTS[self.label]),
            "GRASSROOTS_LOG_LEVEL": "WARNING",
            **NOTIFICATION,
            **self.extra,
        }
        log = (self.log_dir / f"{self.label}.log").open("ab")
        role = ["--role", self.role] if self.role else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.name, *role], env=env, stdout=log, stderr=log, cwd=REPO
        )

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited; see {self.log_dir}/{self.label}.log")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.label} not healthy after {timeout}s")

    def sample(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.peak_mb = max(self.peak_mb, peak_rss_mb(self.pid))

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.sample()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def platform_processes(
    environment: dict[str, str], log_dir: Path, extra: dict[str, str]
) -> list[Service]:
    """The four consuming services as make up runs them: notification in two processes."""
    return [
        Service("grading", environment, log_dir, dict(extra)),
        Service("rectification", environment, log_dir, dict(extra)),
        Service("notification", environment, log_dir, dict(extra), role="consume"),
        Service("notification", environment, log_dir, dict(extra), role="deliver"),
        Service("reporting", environment, log_dir, dict(extra)),
    ]


def consuming(services: list[Service]) -> list[Service]:
    """The processes that read topics (the delivery worker reads none)."""
    return [s for s in services if s.role != "deliver"]


class CpuMeter:
    """CPU seconds spent by named groups of processes between start() and stop()."""

    def __init__(self, groups: Callable[[], dict[str, list[int]]]) -> None:
        self.groups = groups
        self.started: dict[str, float] = {}
        self.wall = 0.0
        self.used: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.groups().items()}

    def start(self) -> None:
        self.started = self._now()
        self.wall = time.perf_counter()

    def stop(self) -> dict[str, float]:
        """Share of one core used by each group over the interval (1.0 = one full core)."""
        ended = self._now()
        wall = max(1e-9, time.perf_counter() - self.wall)
        self.used = {name: (ended[name] - self.started.get(name, 0.0)) / wall for name in ended}
        return self.used
