"""Supervision's routes (issue 16): the API's inspections, progress reports and annual sheet
(`router`, bearer tokens of the county), and the dashboard's supervision page and the sheet's
download (`pages`, the signed-in cookie). Both are included before the API's and the
dashboard's own routers: `exports/annual-sheet.xlsx` must be matched before their
`exports/{table}.{format}`."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from reporting import annual_sheet, api, dashboard, exports, supervision_views
from reporting.supervision_views import county_day

router = APIRouter(prefix="/v1", route_class=api.TimedRoute, responses=api.ERRORS)
pages = APIRouter(include_in_schema=False)

Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=5000)]


@router.get("/campaigns/{campaign_id}/inspections", response_model=supervision_views.Inspections)
async def list_inspections(
    request: Request,
    campaign_id: api.CampaignId,
    scope: api.Token,
    page: Page = 1,
    page_size: PageSize = 500,
) -> dict[str, Any]:
    """The office's inspections (督查), newest first, each with its findings labelled; a
    critical finding (leadership_attention, ineffective_measures, lagging) in an
    organisation's latest inspection puts it in the lagging list."""
    campaign = await api._county_campaign(request, campaign_id, scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        total, items = await supervision_views.inspections_view(
            conn, campaign, limit=page_size, offset=(page - 1) * page_size
        )
    return {"items": items, "page": page, "page_size": page_size, "total": total}


@router.get(
    "/campaigns/{campaign_id}/progress-reports",
    response_model=supervision_views.ProgressReports,
)
async def list_progress_reports(
    request: Request,
    campaign_id: api.CampaignId,
    scope: api.Token,
    page: Page = 1,
    page_size: PageSize = 500,
) -> dict[str, Any]:
    """Progress reports (工作进展情况) per organisation of the campaign, by org_id: how many,
    the latest, and the due date it missed today (progress_report_missing) or null."""
    campaign = await api._county_campaign(request, campaign_id, scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        every, total, items = await supervision_views.progress_view(
            conn,
            campaign,
            county_day(request),
            limit=page_size,
            offset=(page - 1) * page_size,
        )
    return {
        "every_days": every,
        "items": items,
        "page": page,
        "page_size": page_size,
        "total": total,
    }


def sheet_response(campaign_id: str, body: bytes) -> Response:
    return Response(
        body,
        media_type=exports.XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}-annual-sheet.xlsx"'},
    )


@router.get(
    "/campaigns/{campaign_id}/exports/annual-sheet.xlsx",
    response_class=Response,
    responses={200: {"content": {exports.XLSX_TYPE: {}}}},
)
async def export_annual_sheet(
    request: Request, campaign_id: api.CampaignId, scope: api.Token
) -> Response:
    """The annual target-responsibility sheet (年度目标责任考核): one row per organisation —
    levels of both rounds, moved up, rectification (tasks, completion rate, problems resolved),
    emulation (commendations, the four ones, coverage), assessment (summary review, the
    committee's assessment, 述职, 评议满意率, 年度考核 where present) and supervision
    (inspections, criticised findings, progress reports made and missing today)."""
    campaign = await api._county_campaign(request, campaign_id, scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        body = await annual_sheet.annual_sheet(conn, campaign, county_day(request))
    return sheet_response(campaign_id, body)


@pages.get("/campaigns/{campaign_id}/supervision")
async def supervision_page(
    request: Request,
    campaign_id: str,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """督查与工作进展: the inspections newest first with their findings, and a page of the
    organisations' progress reports with the due date each missed."""
    found = await dashboard.county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    scope, campaign = found
    today = county_day(request)
    async with request.app.state.runtime.pool.acquire() as conn:
        inspected, inspections = await supervision_views.inspections_view(
            conn, campaign, limit=dashboard.PAGE_SIZE, offset=0
        )
        every, total, reports = await supervision_views.progress_view(
            conn,
            campaign,
            today,
            limit=dashboard.PAGE_SIZE,
            offset=(page_number - 1) * dashboard.PAGE_SIZE,
        )
    return dashboard.page(
        "supervision.html",
        scope=scope,
        campaign=campaign,
        inspections=inspections,
        inspected=inspected,
        every_days=every,
        reports=reports,
        today=today,
        page=page_number,
        pages=max(1, math.ceil(total / dashboard.PAGE_SIZE)),
    )


@pages.get("/campaigns/{campaign_id}/exports/annual-sheet.xlsx")
async def annual_sheet_page(request: Request, campaign_id: str) -> Response:
    """The annual sheet, for people signed in to the dashboard."""
    found = await dashboard.county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    _, campaign = found
    async with request.app.state.runtime.pool.acquire() as conn:
        body = await annual_sheet.annual_sheet(conn, campaign, county_day(request))
    return sheet_response(campaign_id, body)
