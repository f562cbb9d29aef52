"""Rate limits per credential (per replica: each keeps its own window in memory)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from intake.credentials import Credential


class CredentialLimits:
    def __init__(self, default_rate: str) -> None:
        self._default = parse(default_rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items: dict[str, RateLimitItem] = {}

    def _item(self, rate: str | None) -> RateLimitItem:
        if rate is None:
            return self._default
        item = self._items.get(rate)
        if item is None:
            item = self._items[rate] = parse(rate)
        return item

    async def retry_after(self, credential: Credential) -> int | None:
        """None when this request may go on, else the seconds to wait (for Retry-After)."""
        item = self._item(credential.rate)
        key = str(credential.credential_id)
        if await self._limiter.hit(item, key):
            return None
        stats = await self._limiter.get_window_stats(item, key)
        return max(1, math.ceil(stats.reset_time - time.time()))
