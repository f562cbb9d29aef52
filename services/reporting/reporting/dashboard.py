"""The dashboard people look at (zh-CN), rendered on the server: no script, no CDN.

Signing in (issue 17): a one-time link `/signin?code=…` (from `reporting.cli signin-link`), or a
token pasted into the form (a POST), starts a session: an HttpOnly, SameSite=Strict cookie holds a
session id, never the token, and the browser is redirected (303) so no code stays in the history.
A token in a URL (`/?token=…`) is refused."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from grassroots.contract.labels import label
from reporting import api, charts, exports, supervision_views, views
from reporting.auth import (
    Scope,
    end_session,
    exchange_code,
    require_card,
    require_county,
    require_county_member,
    secure_request,
    session_scope,
    sign_in_with_token,
)
from reporting.domain import COVERAGE_ACTIVITIES, CRITERIA, FOUR_ONES, ROUNDS
from reporting.store import queries
from reporting.wording import cn_date, review_answer_text, share_text

COOKIE = "grassroots_session"
PAGE_SIZE = 50
LEVEL_COLOURS = {
    "strong": "#b71c1c",
    "fairly_strong": "#e57373",
    "average": "#ffb74d",
    "weak": "#9e9e9e",
}
PHASES = ("survey_grading", "rectification", "emulation", "assessment")

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
templates.globals["label"] = label
templates.globals["percent"] = share_text
templates.globals["cn_date"] = cn_date
templates.globals["answer_text"] = review_answer_text
NOT_COVERED_SHOWN = 100
"""Organisations not covered listed per activity on the page (all of them in the export)."""
router = APIRouter(include_in_schema=False)


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(template).render(**context), status_code=status)


async def cookie_scope(request: Request) -> Scope | None:
    return await session_scope(request, request.cookies.get(COOKIE))


NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
TOKEN_IN_URL = (
    "为了安全，令牌不能放在网址里（网址会留在浏览记录和日志中），此链接已不再使用。"
    "请使用管理员发给您的一次性登录链接（/signin?code=…），或在下方粘贴令牌登录。"
)
CODE_REFUSED = {
    "used": "这个登录链接已经用过了：每个链接只能使用一次。请向管理员索取新的登录链接。",
    "expired": "这个登录链接已过期（有效期10分钟）。请向管理员索取新的登录链接。",
    "revoked": "这个登录链接所属的令牌已被吊销。请向管理员索取新的登录链接。",
    "unknown": "这个登录链接无效。请检查链接是否完整，或向管理员索取新的登录链接。",
}


def login_page(status: int = 200, error: str | None = None) -> HTMLResponse:
    response = page("login.html", status, scope=None, error=error)
    response.headers.update(NO_REFERRER)
    return response


def signed_in(request: Request, session_id: str) -> Response:
    """Set the session cookie and go to the dashboard (303: the sign-in URL leaves history)."""
    response = RedirectResponse("/", status_code=303, headers=NO_REFERRER)
    response.set_cookie(
        COOKIE, session_id, httponly=True, samesite="strict", secure=secure_request(request)
    )
    return response


@router.get("/signin", response_class=HTMLResponse)
async def signin(request: Request, code: str | None = None) -> Response:
    """Exchange a one-time code for a session, at once, and redirect."""
    if not code:
        return login_page(401, CODE_REFUSED["unknown"])
    outcome, session_id = await exchange_code(request, code.strip())
    if session_id is None:
        return login_page(401, CODE_REFUSED[outcome])
    return signed_in(request, session_id)


@router.post("/", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """The login form: a pasted token, POSTed (never in a URL)."""
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (fields.get("token") or [""])[0].strip()
    try:
        session_id = await sign_in_with_token(request, token)
    except HTTPException:
        return login_page(401, "令牌无效：令牌不存在或已被吊销。")
    return signed_in(request, session_id)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, token: str | None = None) -> Response:
    if token is not None:
        return login_page(400, TOKEN_IN_URL)
    scope = await cookie_scope(request)
    if scope is None:
        return login_page()
    async with request.app.state.runtime.pool.acquire() as conn:
        campaigns = await queries.campaigns_of_county(conn, scope.county_code)
    return page("campaigns.html", scope=scope, campaigns=campaigns)


@router.get("/logout")
async def logout(request: Request) -> Response:
    session_id = request.cookies.get(COOKIE)
    if session_id:
        await end_session(request, session_id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict")
    return response


async def _scope_or_login(request: Request) -> Scope | Response:
    scope = await cookie_scope(request)
    return scope if scope is not None else RedirectResponse("/", status_code=303)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign_page(
    request: Request,
    campaign_id: str,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    scope = await _scope_or_login(request)
    if isinstance(scope, Response):
        return scope
    async with request.app.state.runtime.pool.acquire() as conn:
        campaign = await queries.campaign(conn, campaign_id)
        if campaign is None:
            return page("login.html", 404, error=f"活动 {campaign_id} 不存在", scope=scope)
        require_county(scope, campaign["county_code"])
        counters = await queries.counters(conn, campaign_id)
        branches = await queries.branch_count(conn, campaign["county_code"])
        total, rows = await queries.branch_rows(
            conn,
            campaign_id,
            campaign["county_code"],
            round_="initial",
            level=None,
            township=None,
            limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE,
        )
        lagging_rows = await queries.lagging(conn, campaign_id, campaign["county_code"])
        lagging_parents = await queries.lagging_parents(conn, campaign_id)
        supervised = await supervision_views.lagging(
            conn, campaign, supervision_views.county_day(request)
        )
        published = await queries.published_rounds(conn, campaign_id)
    summary = views.summary(campaign, counters, branches)
    level_charts = {
        round_: charts.bars(
            [
                (level, summary["levels"][round_][level], colour)
                for level, colour in LEVEL_COLOURS.items()
            ]
        )
        for round_ in ("initial", "final")
    }
    return page(
        "campaign.html",
        scope=scope,
        s=summary,
        charts=level_charts,
        phase_order=PHASES,
        completion=charts.share(summary["tasks"]["completed"], summary["tasks"]["total"]),
        lagging=views.lagging(lagging_rows, lagging_parents, supervised)["items"],
        rows=[views.branch_row(row, "initial") for row in rows],
        page=page_number,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        published=published,
    )


@router.get("/campaigns/{campaign_id}/branches/{branch_id}", response_class=HTMLResponse)
async def branch_page(request: Request, campaign_id: str, branch_id: str) -> Response:
    scope = await _scope_or_login(request)
    if isinstance(scope, Response):
        return scope
    async with request.app.state.runtime.pool.acquire() as conn:
        campaign = await queries.campaign(conn, campaign_id)
        branch = await queries.branch(conn, branch_id)
        if campaign is None or branch is None:
            return page("login.html", 404, error="找不到该党组织", scope=scope)
        require_card(scope, campaign["county_code"], branch_id)
        card = await queries.card(conn, campaign_id, branch_id)
        lists = await queries.card_lists(conn, campaign_id, branch_id)
    return page(
        "branch.html",
        scope=scope,
        c=views.card(branch, card, lists, campaign_id, today=supervision_views.county_day(request)),
        kind=branch["kind"],
        criteria=CRITERIA,
        rounds=ROUNDS,
        four_ones=FOUR_ONES,
        coverage=COVERAGE_ACTIVITIES,
    )


@router.get("/campaigns/{campaign_id}/rounds/{round_code}/announced", response_class=HTMLResponse)
async def announced_page(request: Request, campaign_id: str, round_code: str) -> Response:
    """The announced list (公示) of a round, for every organisation of the county."""
    scope = await _scope_or_login(request)
    if isinstance(scope, Response):
        return scope
    if round_code not in ROUNDS:
        return page("login.html", 404, error="没有这一轮定级", scope=scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        campaign = await queries.campaign(conn, campaign_id)
        if campaign is None:
            return page("login.html", 404, error=f"活动 {campaign_id} 不存在", scope=scope)
        require_county_member(scope, campaign["county_code"])
        published = (await queries.published_rounds(conn, campaign_id)).get(round_code)
        rows = (
            await queries.announced(conn, campaign_id, campaign["county_code"], round_code)
            if published is not None
            else []
        )
    title = f"{label('round', round_code)}结果公示"
    if published is None:
        return page(
            "announced.html",
            404,
            scope=scope,
            title=title,
            campaign=campaign,
            a=None,
            not_published=f"{label('round', round_code)}结果尚未公布",
        )
    return page(
        "announced.html",
        scope=scope,
        title=title,
        campaign=campaign,
        a=views.announced(campaign, round_code, published, rows),
        not_published=None,
    )


@router.get("/campaigns/{campaign_id}/export.{kind}")
async def export_page(request: Request, campaign_id: str, kind: str) -> Response:
    """The exports, for people signed in to the dashboard (the API wants a bearer token)."""
    scope = await _scope_or_login(request)
    if isinstance(scope, Response):
        return scope
    if kind not in ("xlsx", "csv"):
        raise HTTPException(404, detail="exports are .xlsx or .csv")
    async with request.app.state.runtime.pool.acquire() as conn:
        campaign = await queries.campaign(conn, campaign_id)
        if campaign is None:
            raise HTTPException(404, detail=f"campaign {campaign_id} is not known")
        require_county(scope, campaign["county_code"])
        _, rows = await queries.branch_rows(
            conn,
            campaign_id,
            campaign["county_code"],
            round_="initial",
            level=None,
            township=None,
            limit=None,
            offset=0,
        )
    body, media = (
        (exports.xlsx(rows), exports.XLSX_TYPE)
        if kind == "xlsx"
        else (exports.csv_bytes(rows), "text/csv; charset=utf-8")
    )
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}.{kind}"'},
    )


async def county_campaign_page(request: Request, campaign_id: str) -> tuple[Scope, Any] | Response:
    """The signed-in county scope and the campaign, or the page that says why not."""
    scope = await _scope_or_login(request)
    if isinstance(scope, Response):
        return scope
    async with request.app.state.runtime.pool.acquire() as conn:
        campaign = await queries.campaign(conn, campaign_id)
    if campaign is None:
        return page("login.html", 404, error=f"活动 {campaign_id} 不存在", scope=scope)
    require_county(scope, campaign["county_code"])
    return scope, campaign


@router.get("/campaigns/{campaign_id}/emulation", response_class=HTMLResponse)
async def emulation_page(
    request: Request,
    campaign_id: str,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """Phase 3: 四个一 shares and marks, coverage with who is not covered, commendations by
    awarding body."""
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    scope, campaign = found
    async with request.app.state.runtime.pool.acquire() as conn:
        emulation = await api.emulation_view(conn, campaign)
        total, rows = await api.four_ones_view(
            conn, campaign, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE
        )
        commendations = await api.commendations_view(conn, campaign)
    return page(
        "emulation.html",
        scope=scope,
        campaign=campaign,
        e=emulation,
        rows=rows,
        commendations=commendations,
        four_ones=FOUR_ONES,
        coverage=COVERAGE_ACTIVITIES,
        columns=(*FOUR_ONES, "all_four", *COVERAGE_ACTIVITIES),
        shown=NOT_COVERED_SHOWN,
        page=page_number,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
    )


@router.get("/campaigns/{campaign_id}/assessment", response_class=HTMLResponse)
async def assessment_page(request: Request, campaign_id: str) -> Response:
    """Phase 4: the 三级联述联评联考 table and the standing rules (巩固深化)."""
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    scope, campaign = found
    async with request.app.state.runtime.pool.acquire() as conn:
        review = await api.three_level_view(conn, campaign)
        rules = await api.standing_rules_view(conn, campaign)
    return page("assessment.html", scope=scope, campaign=campaign, review=review, rules=rules)


@router.get("/campaigns/{campaign_id}/exports/{table}.{kind}")
async def phase_export_page(request: Request, campaign_id: str, table: str, kind: str) -> Response:
    """The exports of phases 3 and 4, for people signed in to the dashboard."""
    if table not in exports.PHASE_TABLES or kind not in ("xlsx", "csv"):
        raise HTTPException(404, detail="no such export")
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    _, campaign = found
    async with request.app.state.runtime.pool.acquire() as conn:
        values = await api.phase_table(conn, campaign, table)
    return api.export_response(campaign_id, table, kind, values)
