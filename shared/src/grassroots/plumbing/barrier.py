"""The phase-close barrier as a background job: for each closed phase waiting for its results,
snapshot the end offsets of the topics the results depend on, wait until this service's
consumer group has committed past them, then compute. Services supply the three steps."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from grassroots.plumbing.offsets import OffsetsProbe

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2

Waiting = Callable[[asyncpg.Connection], Awaitable[Sequence[tuple[Any, dict[str, int] | None]]]]
"""Returns (key, saved end offsets or None) for every closed phase not yet computed."""
SaveOffsets = Callable[[asyncpg.Connection, Any, dict[str, int]], Awaitable[None]]
Compute = Callable[[Any], Awaitable[object]]


async def run_behind_barrier(
    pool: asyncpg.Pool,
    probe: OffsetsProbe,
    *,
    topics: Sequence[str],
    waiting: Waiting,
    save_offsets: SaveOffsets,
    compute: Compute,
) -> None:
    """Loop forever; errors are logged and retried, never fatal."""
    while True:
        try:
            async with pool.acquire() as conn:
                pending = await waiting(conn)
            for key, snapshot in pending:
                if snapshot is None:
                    snapshot = await probe.end_offsets(topics)
                    async with pool.acquire() as conn:
                        await save_offsets(conn, key, snapshot)
                if await probe.caught_up(snapshot):
                    await compute(key)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("work behind the phase-close barrier failed; retrying")
            await asyncio.sleep(1)
        await asyncio.sleep(POLL_SECONDS)
