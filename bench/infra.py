"""A PostgreSQL + Kafka of the benchmark's own (deploy/infra.sh with another state folder and
other ports), so that measuring never touches the instance that `make up` and `make test` use."""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = {
    "GRASSROOTS_STATE": str(REPO / ".local" / "bench"),
    "GRASSROOTS_PG_PORT": "55439",
    "GRASSROOTS_KAFKA_PORT": "19092",
    "GRASSROOTS_KAFKA_CONTROLLER_PORT": "19093",
}
INPUTS = tuple(DEFAULTS)


@dataclass
class Infra:
    """deploy/infra.sh on the benchmark's state folder and ports (overridable by environment)."""

    settings: dict[str, str]

    @classmethod
    def from_environment(cls) -> Infra:
        return cls({key: os.environ.get(f"BENCH_{key}", value) for key, value in DEFAULTS.items()})

    def _run(self, command: str, *, quiet: bool = True) -> str:
        environment = {k: v for k, v in os.environ.items() if k not in INPUTS}
        result = subprocess.run(
            ["bash", "-c", command],
            env={**environment, **self.settings},
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{command} failed:\n{result.stdout}\n{result.stderr}")
        if not quiet:
            print(result.stdout, end="")
        return result.stdout

    def up(self) -> None:
        self._run("deploy/infra.sh up")

    def reset(self) -> None:
        """Fresh database and broker: every part starts from nothing."""
        self._run("deploy/infra.sh reset && deploy/infra.sh up")

    def down(self) -> None:
        self._run("deploy/infra.sh down")

    def environment(self) -> dict[str, str]:
        """What `. deploy/env.sh` exports for this instance (URLs, ports, secrets).

        This process then talks to the broker as env.sh's shell would (the `admin` user, when
        the broker has SASL): the credentials are put in its own environment, where
        grassroots.plumbing.kafka reads them."""
        out = self._run(". deploy/env.sh && env -0")
        pairs = (item.split("=", 1) for item in out.split("\0") if "=" in item)
        found = {
            key: value
            for key, value in pairs
            if key.startswith(("GRASSROOTS_", "PG"))
            or key.endswith(("_DATABASE_URL", "_PASSWORD", "_PEPPER", "_SECRET"))
        }
        for key in ("GRASSROOTS_KAFKA_USERNAME", "GRASSROOTS_KAFKA_PASSWORD"):
            if key in found:
                os.environ[key] = found[key]
        return found

    def pids(self) -> dict[str, list[int]]:
        """The PostgreSQL processes (postmaster and its children) and the Kafka broker."""
        env = self.environment()
        found: dict[str, list[int]] = {"postgres": [], "kafka": []}
        postmaster = Path(env["GRASSROOTS_PG_ROOT"]) / "data" / "postmaster.pid"
        try:
            root = int(postmaster.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            root = 0
        kafka_pid = Path(env["GRASSROOTS_STATE_DIR"]) / "kafka" / "kafka.pid"
        with contextlib.suppress(OSError, ValueError):
            found["kafka"].append(int(kafka_pid.read_text().strip()))
        if root:
            found["postgres"].append(root)
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                    except (OSError, ValueError, IndexError):
                        continue
                    if parent == root:
                        found["postgres"].append(int(entry.name))
        return found
