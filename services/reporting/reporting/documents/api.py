"""The printable documents: `GET /v1/campaigns/{id}/circulars/{cid}.pdf` (an issued circular
in the official-document layout), `GET /v1/campaigns/{id}/report.pdf` (the campaign's work
report) and `GET /v1/campaigns/{id}/progress.pdf?from=&to=` (progress over days), for county
tokens; the dashboard's download links of the same documents (cookie scope)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request, Response

from grassroots.contract.labels import label
from reporting import api, charts, schemas, supervision_views, views
from reporting.api import ERRORS, CampaignId, TimedRoute, Token
from reporting.circulars.api import CircularId, circular_view
from reporting.dashboard import LEVEL_COLOURS, PHASES, county_campaign_page
from reporting.documents.pdf import pdf_of, render
from reporting.documents.progress import progress
from reporting.store import queries
from reporting.wording import cn_date

router = APIRouter(prefix="/v1", route_class=TimedRoute, responses=ERRORS)
pages = APIRouter(include_in_schema=False)
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The document (A4 PDF)."}
}
NUMERALS = "一二三四五六七八九十"
SECTIONS = ("praise", "criticism")


def numeral(n: int) -> str:
    """1 → 一 … 10 → 十, 11 → 十一, 21 → 二十一 (enough for the items of a circular)."""
    if n <= 10:
        return NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return (NUMERALS[tens - 1] if tens > 1 else "") + "十" + (NUMERALS[ones - 1] if ones else "")


def pdf_response(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}"},
    )


# The circular.


def circular_html(circular: dict[str, Any], campaign: asyncpg.Record) -> str:
    """The circular as the committee's document: sections 一、通报表扬 / 二、通报批评 with
    their items numbered （一）（二）…, only the sections that have items."""
    sections: list[dict[str, Any]] = []
    for section in SECTIONS:
        items = [item for item in circular["items"] if item["section"] == section]
        if items:
            sections.append(
                {
                    "numeral": numeral(len(sections) + 1),
                    "label": label("circular_section", section),
                    "items": [
                        {"numeral": numeral(n), "text": item["text"]}
                        for n, item in enumerate(items, start=1)
                    ],
                }
            )
    issued_at = circular["history"][-1]["at"]
    return render(
        "circular.html",
        circular=circular,
        campaign_name=campaign["name"] or "基层组织建设年活动",
        sections=sections,
        issued_on=cn_date(issued_at),
    )


async def issued_circular(
    conn: asyncpg.Connection, campaign_id: str, circular_id: str
) -> dict[str, Any]:
    """An issued circular, or 404 (not of this campaign) / 409 (not issued yet)."""
    found = await circular_view(conn, campaign_id, circular_id)
    if found is None:
        raise HTTPException(404, detail=f"circular {circular_id} is not known")
    if found["status"] != "issued":
        raise HTTPException(409, detail=f"circular {circular_id} is not issued")
    return found


async def circular_pdf(request: Request, campaign: asyncpg.Record, circular_id: str) -> Response:
    async with request.app.state.runtime.pool.acquire() as conn:
        found = await issued_circular(conn, campaign["campaign_id"], circular_id)
    body = await pdf_of(circular_html(found, campaign))
    return pdf_response(body, f"{found['document_number']}.pdf")


@router.get(
    "/campaigns/{campaign_id}/circulars/{circular_id}.pdf",
    response_class=Response,
    responses={
        **PDF,
        409: {"model": schemas.Problem4xx, "description": "The circular is not issued yet."},
    },
)
async def get_circular_pdf(
    request: Request, campaign_id: CampaignId, circular_id: CircularId, scope: Token
) -> Response:
    """An issued circular as the committee's document (公文格式, A4): the issuing body in red
    over a red rule, the document number, title, addressees, the items, issuing body and day."""
    campaign = await api._county_campaign(request, campaign_id, scope)
    return await circular_pdf(request, campaign, circular_id)


# The campaign report.


async def report_context(conn: asyncpg.Connection, campaign: asyncpg.Record) -> dict[str, Any]:
    """The numbers of the report, from the queries and views the API answers with."""
    campaign_id = campaign["campaign_id"]
    counters = await queries.counters(conn, campaign_id)
    branches = await queries.branch_count(conn, campaign["county_code"])
    summary = views.summary(campaign, counters, branches)
    level_charts = {
        round_: charts.bars(
            [(lv, summary["levels"][round_][lv], c) for lv, c in LEVEL_COLOURS.items()]
        )
        for round_ in ("initial", "final")
    }
    return {
        "s": summary,
        "charts": level_charts,
        "phase_order": PHASES,
        "completion": charts.share(summary["tasks"]["completed"], summary["tasks"]["total"]),
        "emulation": await api.emulation_view(conn, campaign),
        "commendations": await api.commendations_view(conn, campaign),
        "review": await api.three_level_view(conn, campaign),
        "rules": await api.standing_rules_view(conn, campaign),
    }


async def report_pdf(request: Request, campaign: asyncpg.Record, **extra: Any) -> bytes:
    async with request.app.state.runtime.pool.acquire() as conn:
        context = await report_context(conn, campaign)
    today = supervision_views.county_day(request)
    return await pdf_of(render("report.html", today=cn_date(today), **context, **extra))


@router.get("/campaigns/{campaign_id}/report.pdf", response_class=Response, responses=PDF)
async def get_report_pdf(request: Request, campaign_id: CampaignId, scope: Token) -> Response:
    """基层组织建设年工作情况报告: the four phases, both rounds' levels, moved up, rectification,
    commendations, the four ones and their coverage, the assessment and supervision."""
    campaign = await api._county_campaign(request, campaign_id, scope)
    return pdf_response(await report_pdf(request, campaign), f"{campaign_id}-report.pdf")


# The progress report.

From = Annotated[dt.date, Query(alias="from", description="The first day, e.g. 2012-05-14.")]
To = Annotated[dt.date, Query(alias="to", description="The last day (included).")]


async def progress_pdf(
    request: Request, campaign: asyncpg.Record, first: dt.date, last: dt.date
) -> Response:
    if last < first:
        raise HTTPException(422, detail="to is before from")
    async with request.app.state.runtime.pool.acquire() as conn:
        counters = await queries.counters(conn, campaign["campaign_id"])
        branches = await queries.branch_count(conn, campaign["county_code"])
        found = await progress(conn, campaign["campaign_id"], first, last)
    summary = views.summary(campaign, counters, branches)
    html = render("progress.html", s=summary, p=found, first=first, last=last)
    name = f"{campaign['campaign_id']}-progress-{first}-{last}.pdf"
    return pdf_response(await pdf_of(html), name)


@router.get(
    "/campaigns/{campaign_id}/progress.pdf",
    response_class=Response,
    responses={
        **PDF,
        422: {
            "model": schemas.Problem4xx,
            "description": "A day is not a date, or to is before from.",
        },
    },
)
async def get_progress_pdf(
    request: Request, campaign_id: CampaignId, first: From, last: To, scope: Token
) -> Response:
    """工作进展情况 from one day to another (both included): the progress reports, the
    inspections, the circulars issued and the commendations awarded in those days."""
    campaign = await api._county_campaign(request, campaign_id, scope)
    return await progress_pdf(request, campaign, first, last)


# The dashboard's downloads (cookie scope).


@pages.get("/campaigns/{campaign_id}/circulars/{circular_id}.pdf")
async def circular_download(request: Request, campaign_id: str, circular_id: str) -> Response:
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    _, campaign = found
    return await circular_pdf(request, campaign, circular_id)


@pages.get("/campaigns/{campaign_id}/report.pdf")
async def report_download(request: Request, campaign_id: str) -> Response:
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    _, campaign = found
    return pdf_response(await report_pdf(request, campaign), f"{campaign_id}-report.pdf")


@pages.get("/campaigns/{campaign_id}/progress.pdf")
async def progress_download(request: Request, campaign_id: str, first: From, last: To) -> Response:
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    _, campaign = found
    return await progress_pdf(request, campaign, first, last)
