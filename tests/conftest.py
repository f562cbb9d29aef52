from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tests.harness import REPO, Platform, admin_connection
from tests.receivers import Receivers, running_receivers


@pytest.fixture(scope="session")
def receivers() -> Iterator[Receivers]:
    """A real SMTP server and webhook endpoints on loopback, for the notification service."""
    with running_receivers(REPO / ".local" / "logs" / "tests" / "receivers") as started:
        yield started


@pytest.fixture(scope="session")
def platform(receivers: Receivers) -> Iterator[Platform]:
    """All five services, started once for the end-to-end tests."""
    running = Platform(
        REPO / ".local" / "logs" / "tests",
        extra_env={"notification": receivers.notification_env()},
    )
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
