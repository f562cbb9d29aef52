"""Secrets never appear in logs: not the database passwords, the token pepper, the webhook
secret, nor any API token — neither in normal running nor when a connection is refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

from tests.harness import REPO, TEST_PORTS, Platform

SECRET_VARIABLES = (
    "GRADING_DB_PASSWORD",
    "RECTIFICATION_DB_PASSWORD",
    "NOTIFICATION_DB_PASSWORD",
    "REPORTING_DB_PASSWORD",
    "REPORTING_TOKEN_PEPPER",
    "WEBHOOK_SIGNING_SECRET",
    "INBOX_TOKEN_SECRET",
)
TOKEN = re.compile(r"gr_[A-Za-z0-9_-]{40,}|gri_\S+\.[A-Za-z0-9_-]{43}")


def test_a_refused_database_login_does_not_print_the_password() -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    port = os.environ["GRASSROOTS_PG_PORT"]
    done = subprocess.run(
        [sys.executable, "-m", "grading"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "GRASSROOTS_HTTP_PORT": str(TEST_PORTS["reporting"] + 19),
            "GRASSROOTS_DATABASE_URL": f"postgresql://grading:{canary}@127.0.0.1:{port}/grassroots",
        },
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "password authentication failed" in output
    assert canary not in output


def test_service_logs_hold_no_secret_and_no_token(platform: Platform) -> None:
    logs = {
        path.name: path.read_text(encoding="utf-8", errors="replace")
        for path in (REPO / ".local" / "logs").rglob("*.log")
    }
    assert set(logs) >= {f"{name}.log" for name in platform.services}
    secrets = {name: os.environ[name] for name in SECRET_VARIABLES if os.environ.get(name)}
    assert len(secrets) == len(SECRET_VARIABLES), "deploy/env.sh exports every secret"
    for log_name, text in logs.items():
        for name, value in secrets.items():
            assert value not in text, f"{name} appears in {log_name}"
        assert not TOKEN.search(text), f"an API token appears in {log_name}"
