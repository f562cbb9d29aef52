"""Talking to the intake as a county system's engineer would: credentials from its CLI, events
over HTTP in each of the CloudEvents binding's modes, and what the consumers made of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from tests.harness import REPO, admin_connection

STRUCTURED = "application/cloudevents+json"
BATCHED = "application/cloudevents-batch+json"


def intake_cli(*args: str) -> str:
    env = {**os.environ, "GRASSROOTS_DATABASE_URL": os.environ["INTAKE_DATABASE_URL"]}
    done = subprocess.run(
        [sys.executable, "-m", "intake.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def credential(county: str, label: str, *, rate: str | None = None) -> str:
    """A new credential's secret (the CLI prints it once)."""
    return intake_cli(
        "credential",
        "create",
        "--county",
        county,
        "--label",
        label,
        *(["--rate", rate] if rate else []),
    )


class Intake:
    def __init__(self, url: str, secret: str | None) -> None:
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=30)

    def structured(self, event: Mapping[str, Any]) -> httpx.Response:
        return self.client.post(
            "/v1/events", content=json.dumps(event), headers={"Content-Type": STRUCTURED}
        )

    def batch(self, events: Iterable[Mapping[str, Any]], *, atomic: bool = False) -> httpx.Response:
        return self.client.post(
            "/v1/events",
            content=json.dumps(list(events), ensure_ascii=False),
            params={"atomic": "true"} if atomic else None,
            headers={"Content-Type": BATCHED},
        )

    def binary(self, event: Mapping[str, Any]) -> httpx.Response:
        """Attributes as ce-* headers (percent-encoded, as the binding says), data as the body."""
        headers = {
            f"ce-{name}": quote(str(value), safe="")
            for name, value in event.items()
            if name not in {"data", "datacontenttype"}
        }
        return self.client.post(
            "/v1/events",
            content=json.dumps(event["data"], ensure_ascii=False).encode(),
            headers={**headers, "Content-Type": "application/json"},
        )


async def inbox_ids(schema: str, source: str) -> dict[str, int]:
    """How many times each event id of `source` is in a service's inbox."""
    conn = await admin_connection()
    try:
        rows = await conn.fetch(
            f"SELECT event_id, count(*) AS n FROM {schema}.inbox WHERE source = $1 GROUP BY 1",
            source,
        )
    finally:
        await conn.close()
    return {row["event_id"]: row["n"] for row in rows}
