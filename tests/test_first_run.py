"""A first run that goes wrong, as an operator meets it: every command and service prints its
usage with --help; each misconfiguration (a variable missing or bad) and each dependency that
does not answer (database, broker, a file) is ONE line naming the variable or the address and
what to do, with exit status 2 and no traceback. The commands run as subprocesses, all at
once (each is a fresh interpreter)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from tests.harness import REPO


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    expect: str  # in the one line (or in the usage)
    env: Mapping[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    status: int = 2


CLOSED = "127.0.0.1:1"  # nothing listens on port 1
QUICK = {"GRASSROOTS_STARTUP_WAIT_SECONDS": "0.5", "GRASSROOTS_HTTP_PORT": "1"}
SERVICES = ("grading", "rectification", "notification", "reporting", "intake")


def database(service: str) -> str:
    return os.environ.get(f"{service.upper()}_DATABASE_URL", "")


def wrong_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:not-the-password@", url)


HELP = {
    f"{name} --help": Case(("-m", name, "--help"), f"python -m {name}", status=0)
    for name in SERVICES
} | {
    "grassroots --help": Case(("-m", "grassroots.cli", "--help"), "publish", status=0),
    "reporting.cli --help": Case(("-m", "reporting.cli", "--help"), "token", status=0),
    "notification.cli --help": Case(("-m", "notification.cli", "--help"), "inbox-token", status=0),
    "intake.cli --help": Case(("-m", "intake.cli", "--help"), "credential", status=0),
    "environment --help": Case(("-m", "grassroots.environment", "--help"), "check", status=0),
}

MISCONFIGURED = {
    "service without its database URL": Case(
        ("-m", "grading"), "GRASSROOTS_DATABASE_URL is not set", unset=("GRASSROOTS_DATABASE_URL",)
    ),
    "service with a port that is not a number": Case(
        ("-m", "rectification"),
        "GRASSROOTS_HTTP_PORT='eighty' is not valid",
        env={
            "GRASSROOTS_DATABASE_URL": "postgresql://x@127.0.0.1/x",
            "GRASSROOTS_HTTP_PORT": "eighty",
        },
    ),
    "service with a log level it does not know": Case(
        ("-m", "grading"),
        "GRASSROOTS_LOG_LEVEL='loud' is not valid",
        env={
            "GRASSROOTS_DATABASE_URL": "postgresql://x@127.0.0.1/x",
            "GRASSROOTS_LOG_LEVEL": "loud",
        },
    ),
    "reporting without its token pepper": Case(
        ("-m", "reporting"),
        "GRASSROOTS_TOKEN_PEPPER is not set",
        env={"GRASSROOTS_DATABASE_URL": database("reporting")},
        unset=("GRASSROOTS_TOKEN_PEPPER", "REPORTING_TOKEN_PEPPER"),
    ),
    "service whose database is down": Case(
        ("-m", "grading"),
        f"PostgreSQL at {CLOSED} (GRASSROOTS_DATABASE_URL) does not answer",
        env={**QUICK, "GRASSROOTS_DATABASE_URL": f"postgresql://grading:x@{CLOSED}/grassroots"},
    ),
    "service with the wrong database password": Case(
        ("-m", "notification"),
        "GRASSROOTS_DATABASE_URL: password authentication failed",
        env={**QUICK, "GRASSROOTS_DATABASE_URL": wrong_password(database("notification"))},
    ),
    "service whose broker is down": Case(
        ("-m", "rectification"),
        f"Kafka at {CLOSED} (GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS) does not answer",
        env={
            **QUICK,
            "GRASSROOTS_DATABASE_URL": database("rectification"),
            "GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS": CLOSED,
        },
    ),
    "publishing a file that is not there": Case(
        ("-m", "grassroots.cli", "publish", "missing.jsonl"), "missing.jsonl: no such file"
    ),
    "creating topics with the broker down": Case(
        ("-m", "grassroots.cli", "topics", "create", "--bootstrap-servers", CLOSED),
        f"Kafka at {CLOSED} (GRASSROOTS_KAFKA_BOOTSTRAP_SERVERS) does not answer",
    ),
    "a reporting token with the database down": Case(
        ("-m", "reporting.cli", "token", "create", "--county", "610526", "--label", "x"),
        f"PostgreSQL at {CLOSED} (GRASSROOTS_DATABASE_URL) does not answer",
        env={"GRASSROOTS_DATABASE_URL": f"postgresql://reporting:x@{CLOSED}/grassroots"},
    ),
    "a reporting token without a database URL": Case(
        ("-m", "reporting.cli", "token", "revoke", "gr_x"),
        "GRASSROOTS_DATABASE_URL (or REPORTING_DATABASE_URL) is not set",
        unset=("GRASSROOTS_DATABASE_URL", "REPORTING_DATABASE_URL"),
    ),
    "an inbox token without its key": Case(
        ("-m", "notification.cli", "inbox-token", "610526-edu-0001"),
        "INBOX_TOKEN_SECRET is not set",
        unset=("INBOX_TOKEN_SECRET",),
    ),
    "an intake credential with the database down": Case(
        ("-m", "intake.cli", "credential", "list"),
        f"PostgreSQL at {CLOSED} (GRASSROOTS_DATABASE_URL) does not answer",
        env={"GRASSROOTS_DATABASE_URL": f"postgresql://intake:x@{CLOSED}/grassroots"},
    ),
}
CASES = HELP | MISCONFIGURED


def run(case: Case) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in {**os.environ, **case.env}.items()
        if key not in case.unset and not key.startswith("PYTEST")
    }
    env["GRASSROOTS_LOG_FORMAT"] = "json"
    return subprocess.run(
        [sys.executable, *case.args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def outcomes() -> dict[str, subprocess.CompletedProcess[str]]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        done = dict(zip(CASES, pool.map(run, CASES.values()), strict=True))
    return done


@pytest.mark.parametrize("name", sorted(HELP))
def test_every_command_prints_its_usage(
    name: str, outcomes: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    done = outcomes[name]
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout.lower() and HELP[name].expect in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(MISCONFIGURED))
def test_a_misconfiguration_is_one_line_and_exit_status_2(
    name: str, outcomes: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    done = outcomes[name]
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2, lines
    assert len(lines) == 1, lines
    assert MISCONFIGURED[name].expect in lines[0], lines
    assert "Traceback" not in lines[0]


def test_make_help_lists_the_targets() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.splitlines()[1:] if line.strip()}
    assert {"up", "down", "test", "help", "contract", "environment", "lint"} <= listed
    for line in done.stdout.splitlines()[1:]:
        assert len(line.split(maxsplit=1)) == 2, f"a target without a description: {line}"
