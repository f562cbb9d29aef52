from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tests.harness import REPO, Platform, admin_connection


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    """All four services, started once for the end-to-end tests."""
    running = Platform(REPO / ".local" / "logs" / "tests")
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
async def admin() -> AsyncIterator[asyncpg.Connection]:
    conn = await admin_connection()
    try:
        yield conn
    finally:
        await conn.close()
