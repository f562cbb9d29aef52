"""Schemathesis against the checked-in OpenAPI document: whatever it sends, no 5xx, and every
answer matches the document (status codes, content types, bodies)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.harness import REPO, TEST_PORTS

schema = schemathesis.openapi.from_path(REPO / "services/reporting/openapi.json")
BASE_URL = f"http://127.0.0.1:{TEST_PORTS['reporting']}"


@pytest.fixture(scope="module")
def county_token(platform: Any) -> str:
    env = {**os.environ, "GRASSROOTS_DATABASE_URL": os.environ["REPORTING_DATABASE_URL"]}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reporting.cli",
            "token",
            "create",
            "--county",
            "610526",
            "--label",
            "schemathesis",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip().splitlines()[-1]


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_errors_and_matches_its_document(case: Any, county_token: str) -> None:
    case.call_and_validate(base_url=BASE_URL, headers={"Authorization": f"Bearer {county_token}"})
