"""The lagging list on its own page (工作滞后的党组织): every lagging organisation, filtered by
reason and township, a page at a time. The campaign page shows only the first few and links here."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from grassroots.contract.labels import LABELS
from reporting import dashboard, supervision_views, views
from reporting.auth import require_county
from reporting.store import queries

PAGE_SIZE = 50
SHOWN_ON_CAMPAIGN = 10
"""Lagging organisations listed on the campaign page; the rest are on the lagging page."""
REASONS = tuple(LABELS["lagging_reason"])

router = APIRouter(include_in_schema=False)


def filtered(
    items: Sequence[dict[str, Any]], reason: str | None, township: str | None
) -> list[dict[str, Any]]:
    return [
        item
        for item in items
        if (reason is None or reason in item["reasons"])
        and (township is None or (item["township"] or "") == township)
    ]


@router.get("/campaigns/{campaign_id}/lagging", response_class=HTMLResponse)
async def lagging_page(
    request: Request,
    campaign_id: str,
    reason: str = "",
    township: str = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    scope = await dashboard._scope_or_login(request)
    if isinstance(scope, Response):
        return scope
    if reason and reason not in REASONS:
        return dashboard.page("login.html", 422, error=f"没有这一原因：{reason}", scope=scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        campaign = await queries.campaign(conn, campaign_id)
        if campaign is None:
            return dashboard.page(
                "login.html", 404, error=f"活动 {campaign_id} 不存在", scope=scope
            )
        require_county(scope, campaign["county_code"])
        rows = await queries.lagging(conn, campaign_id, campaign["county_code"])
        parents = await queries.lagging_parents(conn, campaign_id)
        supervised = await supervision_views.lagging(
            conn, campaign, supervision_views.county_day(request)
        )
    everyone = views.lagging(rows, parents, supervised)["items"]
    shown = filtered(everyone, reason or None, township or None)
    pages = max(1, math.ceil(len(shown) / PAGE_SIZE))
    start = (page_number - 1) * PAGE_SIZE
    return dashboard.page(
        "lagging.html",
        scope=scope,
        campaign=campaign,
        items=shown[start : start + PAGE_SIZE],
        total=len(everyone),
        matching=len(shown),
        reasons=REASONS,
        townships=sorted({item["township"] for item in everyone if item["township"]}),
        reason=reason,
        township=township,
        page=page_number,
        pages=pages,
    )
