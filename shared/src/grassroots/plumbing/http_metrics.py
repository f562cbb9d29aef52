"""Every HTTP app's requests counted and timed, by route template and status (ASGI middleware).

By route template (`/v1/campaigns/{campaign_id}/summary`), never by path: paths carry ids, and
a label per id would grow without bound. Probes and /metrics are left out: they are the
platform asking itself, not users.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grassroots.plumbing import metrics

NOT_COUNTED = frozenset({"/metrics", "/healthz", "/livez", "/readyz"})
UNMATCHED = "<unmatched>"  # a 404 for a path no route serves: one label for them all


class RequestMetrics:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NOT_COUNTED:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started is answered with 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = _route(scope)
            metrics.HTTP_REQUESTS.labels(self.service, route, scope["method"], str(status)).inc()
            metrics.HTTP_SECONDS.labels(self.service, route).observe(time.perf_counter() - started)


def _route(scope: Scope) -> str:
    """The template of the route that answered (set in the scope by the router)."""
    route: Any = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else UNMATCHED
