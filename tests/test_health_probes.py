"""Health for orchestrators (deploy/README.md, "Health"): while PostgreSQL is down every service
says it is not ready (/readyz and its alias /healthz: 503) and stays live (/livez: 200), so
Kubernetes takes it out of its Service without restarting it; ready again once PostgreSQL is back."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import httpx

from tests.harness import REPO, Platform, eventually


def infra(*args: str) -> None:
    subprocess.run(
        [str(REPO / "deploy" / "infra.sh"), *args], check=True, capture_output=True, timeout=180
    )


async def statuses(client: httpx.AsyncClient, platform: Platform, path: str) -> dict[str, Any]:
    answers = await asyncio.gather(
        *(client.get(f"{service.url}{path}") for service in platform.services.values())
    )
    return {
        name: (answer.status_code, answer.json())
        for name, answer in zip(platform.services, answers, strict=True)
    }


async def all_answer(
    client: httpx.AsyncClient, platform: Platform, path: str, status: int
) -> dict[str, Any] | None:
    found = await statuses(client, platform, path)
    return found if all(code == status for code, _ in found.values()) else None


async def test_ready_when_all_is_up(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        ready = await eventually(lambda: all_answer(client, platform, "/readyz", 200), within=60)
        for name, (_, body) in ready.items():
            assert body == {
                "service": name,
                "database": True,
                "migrations": True,
                "broker": True,
                "consumer": True,  # the intake consumes nothing: nothing to be assigned
            }
        assert await all_answer(client, platform, "/healthz", 200)
        live = await all_answer(client, platform, "/livez", 200)
        assert live is not None
        assert all(body["consumer"] is True for _, body in live.values())


async def test_not_ready_but_live_while_postgres_is_down(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        await eventually(lambda: all_answer(client, platform, "/readyz", 200), within=60)
        await asyncio.to_thread(infra, "crash", "postgres")
        try:
            down = await eventually(lambda: all_answer(client, platform, "/readyz", 503), within=30)
            for _, body in down.values():
                assert body["database"] is False and body["broker"] is True
            assert await all_answer(client, platform, "/healthz", 503)
            # Several times over the outage: liveness never follows the database.
            for _ in range(3):
                assert await all_answer(client, platform, "/livez", 200)
                await asyncio.sleep(1)
        finally:
            await asyncio.to_thread(infra, "up")
        await eventually(lambda: all_answer(client, platform, "/readyz", 200), within=90)
