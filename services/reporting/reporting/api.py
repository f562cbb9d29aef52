"""The reporting HTTP API (JSON; Authorization: Bearer <token>)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Annotated, Any, Literal

import asyncpg
import pydantic_core
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from prometheus_client import Histogram
from pydantic import BaseModel

from grassroots.contract.labels import label
from reporting import exports, schemas, supervision_views, views
from reporting.auth import (
    Scope,
    bearer_hash,
    bearer_scope,
    found_scope,
    require_card,
    require_county,
    require_county_member,
)
from reporting.store import queries

API_SECONDS = Histogram(
    "grassroots_reporting_api_seconds",
    "Reporting API latency by route.",
    ["route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class TimedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def timed(request: Request) -> Response:
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status_code
                return response
            except HTTPException as error:
                status = error.status_code
                raise
            finally:
                API_SECONDS.labels(self.path, str(status)).observe(time.perf_counter() - started)

        return timed


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": schemas.Problem4xx, "description": text}
    for code, text in (
        (401, "No token, or an unknown or revoked one."),
        (403, "The token's scope does not cover this."),
        (404, "No such campaign or branch."),
        (422, "A parameter is invalid; the detail names it and says why."),
    )
}
router = APIRouter(prefix="/v1", route_class=TimedRoute, responses=ERRORS)

CampaignId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$",
        description="The campaign, e.g. pucheng-edu-2012.",
    ),
]
BranchId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]
Token = Annotated[Scope, Depends(bearer_scope)]
HashedToken = Annotated[str, Depends(bearer_hash)]
"""The token of an endpoint that checks it with what it reads (_facts)."""


async def _campaign(request: Request, campaign_id: str) -> asyncpg.Record:
    async with request.app.state.runtime.pool.acquire() as conn:
        row = await queries.campaign(conn, campaign_id)
    if row is None:
        raise HTTPException(404, detail=f"campaign {campaign_id} is not known")
    return row


async def _county_campaign(request: Request, campaign_id: str, scope: Scope) -> asyncpg.Record:
    campaign = await _campaign(request, campaign_id)
    require_county(scope, campaign["county_code"])
    return campaign


# Answers kept per campaign while the read models' version (migration 0008) stays the same:
# the version moves in the transaction of every change to what they are computed from, so a
# kept answer is the one computing it again would give, whichever replica wrote.
SUMMARIES: dict[str, tuple[int, bytes]] = {}
"""campaign → (version, the summary's JSON)."""
TOTALS: dict[tuple[str, str, str | None, str | None], tuple[int, int]] = {}
"""(campaign, round, level, township) → (version, branches matching)."""
KEPT = 10_000
"""At most this many totals are kept (a new version replaces a key's entry)."""


def _json(model: type[BaseModel], payload: dict[str, Any]) -> Response:
    """The answer FastAPI's response_model gives (validated), encoded once by
    pydantic-core, without a second pass through jsonable_encoder and json.dumps."""
    return Response(model.model_validate(payload).model_dump_json(), media_type="application/json")


async def _facts(
    request: Request, conn: asyncpg.Connection, campaign_id: str, hashed_token: str
) -> asyncpg.Record:
    """The campaign with its counters, branch count and version, for a token whose scope
    covers it (401, 404, 403 as with Token): one round trip with the token's check."""
    facts = await queries.campaign_facts(conn, campaign_id, hashed_token)
    scope = found_scope(request, facts, prefix="token_")
    if facts["campaign_id"] is None:
        raise HTTPException(404, detail=f"campaign {campaign_id} is not known")
    require_county(scope, facts["county_code"])
    return facts


@router.get("/campaigns/{campaign_id}/summary", response_model=schemas.Summary)
async def get_summary(request: Request, campaign_id: CampaignId, token: HashedToken) -> Response:
    """Phase, branch count, levels per round, moved up, incomplete, commitments, tasks;
    problems by status, prominent problems resolved of total, escalations answered and
    waiting."""
    async with request.app.state.runtime.pool.acquire() as conn:
        facts = await _facts(request, conn, campaign_id, token)
    kept = SUMMARIES.get(campaign_id)
    if kept is None or kept[0] != facts["version"]:
        answer = _json(schemas.Summary, views.summary(facts, facts["counters"], facts["branches"]))
        kept = SUMMARIES[campaign_id] = (facts["version"], bytes(answer.body))
    return Response(kept[1], media_type="application/json")


@router.get("/campaigns/{campaign_id}/branches", response_model=schemas.BranchPage)
async def list_branches(
    request: Request,
    campaign_id: CampaignId,
    token: HashedToken,
    level: Annotated[
        schemas.Level | None, Query(description="Only branches at this level.")
    ] = None,
    round: Annotated[
        schemas.Round | None,
        Query(description="Which round's level (default: final once published, else initial)."),
    ] = None,
    township: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=128,
            description="The page after this branch_id (the previous page's `next`), "
            "read as fast at the end of the list as at its start; `page` is then not used.",
        ),
    ] = None,
) -> Response:
    """The county's branches, a page at a time, by branch_id; `next` is the `after` of the
    next page (null on the last)."""
    # One connection for the facts and the page: a connection given back to the pool costs
    # a round trip of its own (asyncpg resets it).
    async with request.app.state.runtime.pool.acquire() as conn:
        campaign = await _facts(request, conn, campaign_id, token)
        counters = campaign["counters"]
        chosen = round or (
            "final"
            if any(
                counters.get(f"level:final:{lv}")
                for lv in ("strong", "fairly_strong", "average", "weak")
            )
            or counters.get("incomplete:final")
            else "initial"
        )
        key = (campaign_id, chosen, level, township)
        kept = TOTALS.get(key)
        known = kept[1] if kept is not None and kept[0] == campaign["version"] else None
        total, rows = await queries.branch_rows(
            conn,
            campaign_id,
            campaign["county_code"],
            round_=chosen,
            level=level,
            township=township,
            limit=page_size + 1,  # one more: is there a next page
            offset=0 if after is not None else (page - 1) * page_size,
            known_total=known,
            after=after,
        )
    if known is None:
        if len(TOTALS) >= KEPT:
            TOTALS.clear()
        TOTALS[key] = (campaign["version"], total)
    rows, more = rows[:page_size], len(rows) > page_size
    page_of = {
        "items": [views.branch_row(row, chosen) for row in rows],
        "page": page,
        "page_size": page_size,
        "total": total,
        "next": rows[-1]["branch_id"] if more else None,
    }
    # views.branch_row gives BranchRow's fields and types as they are: encoded as they are
    # (test_reporting_api_speed checks it against the model), no validation per row.
    return Response(pydantic_core.to_json(page_of), media_type="application/json")


@router.get("/campaigns/{campaign_id}/branches/{branch_id}", response_model=schemas.Card)
async def get_card(
    request: Request, campaign_id: CampaignId, branch_id: BranchId, scope: Token
) -> dict[str, Any]:
    """One branch's card: levels and scores, problems with where they stand and the
    superior's answers, commitment, tasks, the plan's every revision and review, settlement,
    honours."""
    campaign = await _campaign(request, campaign_id)
    require_card(scope, campaign["county_code"], branch_id)
    async with request.app.state.runtime.pool.acquire() as conn:
        branch = await queries.branch(conn, branch_id)
        if branch is None or branch["county_code"] != campaign["county_code"]:
            raise HTTPException(
                404,
                detail=f"branch {branch_id} is not registered in county {campaign['county_code']}",
            )
        card = await queries.card(conn, campaign_id, branch_id)
        lists = await queries.card_lists(conn, campaign_id, branch_id)
    return views.card(branch, card, lists, campaign_id, today=supervision_views.county_day(request))


@router.get("/campaigns/{campaign_id}/lagging", response_model=schemas.Lagging)
async def get_lagging(request: Request, campaign_id: CampaignId, scope: Token) -> dict[str, Any]:
    """Lagging organisations (工作滞后), ranked: most reasons, most overdue tasks, weakest level
    first — branches with their reasons, superiors with their own (an escalation left
    unanswered, a plan left unreviewed past its days), and supervision's: the critical
    findings of an organisation's latest inspection, a progress report missing today."""
    campaign = await _county_campaign(request, campaign_id, scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await queries.lagging(conn, campaign_id, campaign["county_code"])
        parents = await queries.lagging_parents(conn, campaign_id)
        supervised = await supervision_views.lagging(
            conn, campaign, supervision_views.county_day(request)
        )
    return views.lagging(rows, parents, supervised)


RoundPath = Annotated[
    schemas.Round, Path(description="initial (分类定级) or final (晋位升级复评).")
]


@router.get(
    "/campaigns/{campaign_id}/rounds/{round}/announced",
    response_model=schemas.Announced,
    responses={
        404: {
            "model": schemas.Problem4xx,
            "description": "No such campaign, or the round's results are not published yet "
            "(code results_not_published).",
        }
    },
)
async def get_announced(
    request: Request, campaign_id: CampaignId, round: RoundPath, scope: Token
) -> dict[str, Any] | Response:
    """The announced list (公示) of a round: every graded organisation of the county with its
    level — no scores, no reasons. Readable with the county's token and with any branch token
    of the county, once the round's results are published."""
    campaign = await _campaign(request, campaign_id)
    require_county_member(scope, campaign["county_code"])
    async with request.app.state.runtime.pool.acquire() as conn:
        published = (await queries.published_rounds(conn, campaign_id)).get(round)
        if published is None:
            return JSONResponse(
                {
                    "detail": f"{label('round', round)}结果尚未公布：the {round} round's results "
                    f"of campaign {campaign_id} are not published yet",
                    "code": "results_not_published",
                },
                status_code=404,
            )
        rows = await queries.announced(conn, campaign_id, campaign["county_code"], round)
    return views.announced(campaign, round, published, rows)


async def _export_rows(
    request: Request, campaign_id: str, scope: Scope
) -> tuple[str, list[asyncpg.Record]]:
    campaign = await _county_campaign(request, campaign_id, scope)
    async with request.app.state.runtime.pool.acquire() as conn:
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
    return campaign_id, rows


@router.get(
    "/campaigns/{campaign_id}/export.xlsx",
    response_class=Response,
    responses={200: {"content": {exports.XLSX_TYPE: {}}}},
)
async def export_xlsx(request: Request, campaign_id: CampaignId, scope: Token) -> Response:
    """The branch table as an Excel workbook, Chinese headers."""
    campaign = await _county_campaign(request, campaign_id, scope)
    pool = request.app.state.runtime.pool

    async def body() -> AsyncIterator[bytes]:
        # Written while read: one batch of rows in memory, whatever the county's size.
        async with pool.acquire() as conn:
            batches = queries.every_branch(conn, campaign_id, campaign["county_code"])
            async for piece in exports.xlsx_stream(batches):
                yield piece

    return StreamingResponse(
        body(),
        media_type=exports.XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}.xlsx"'},
    )


@router.get(
    "/campaigns/{campaign_id}/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_csv(request: Request, campaign_id: CampaignId, scope: Token) -> Response:
    """The branch table as CSV (UTF-8 with BOM, so Excel reads the Chinese right)."""
    name, rows = await _export_rows(request, campaign_id, scope)
    return Response(
        exports.csv_bytes(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


# Phases 3 and 4 (issue 15): each view read the same way by the API, the dashboard and the
# exports.


async def emulation_view(conn: asyncpg.Connection, campaign: Mapping[str, Any]) -> dict[str, Any]:
    counts = await queries.emulation_counts(conn, campaign["campaign_id"], campaign["county_code"])
    uncovered = await queries.not_covered(conn, campaign["campaign_id"], campaign["county_code"])
    return views.emulation(campaign["campaign_id"], counts, uncovered)


async def four_ones_view(
    conn: asyncpg.Connection, campaign: Mapping[str, Any], *, limit: int | None, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    total, rows = await queries.marks_page(
        conn, campaign["campaign_id"], campaign["county_code"], limit=limit, offset=offset
    )
    return total, [views.four_ones_row(row) for row in rows]


async def commendations_view(
    conn: asyncpg.Connection, campaign: Mapping[str, Any]
) -> dict[str, Any]:
    rows = await queries.commendations(conn, campaign["campaign_id"])
    return views.commendations(campaign["campaign_id"], rows)


async def three_level_view(conn: asyncpg.Connection, campaign: Mapping[str, Any]) -> dict[str, Any]:
    facts = await queries.three_level(
        conn, campaign["campaign_id"], campaign["county_code"], campaign["year"]
    )
    return views.three_level_review(campaign["campaign_id"], facts)


async def standing_rules_view(
    conn: asyncpg.Connection, campaign: Mapping[str, Any]
) -> dict[str, Any]:
    rows = await queries.standing_rules(conn, campaign["campaign_id"])
    return views.standing_rules(campaign["campaign_id"], rows)


async def phase_table(
    conn: asyncpg.Connection, campaign: Mapping[str, Any], table: str
) -> list[list[Any]]:
    """The rows of an export of phases 3 and 4 (`exports.PHASE_TABLES`)."""
    if table == "four-ones":
        _, items = await four_ones_view(conn, campaign, limit=None, offset=0)
        return exports.four_ones_table(items)
    if table == "coverage":
        return exports.coverage_table(await emulation_view(conn, campaign))
    if table == "commendations":
        return exports.commendations_table(await commendations_view(conn, campaign))
    if table == "three-level-review":
        return exports.three_level_table(await three_level_view(conn, campaign))
    if table == "standing-rules":
        return exports.standing_rules_table(await standing_rules_view(conn, campaign))
    raise ValueError(f"no export table {table}")


@router.get("/campaigns/{campaign_id}/emulation", response_model=schemas.Emulation)
async def get_emulation(request: Request, campaign_id: CampaignId, scope: Token) -> dict[str, Any]:
    """Phase 3 (学习先进、创先争优): the share of organisations with all four ones (四个一), the
    coverage (全覆盖) of pairing, village visits and double help with the organisations not
    covered, and the counts of commendations, publicity items and learning meetings."""
    campaign = await _county_campaign(request, campaign_id, scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        return await emulation_view(conn, campaign)


@router.get("/campaigns/{campaign_id}/four-ones", response_model=schemas.FourOnesPage)
async def list_four_ones(
    request: Request,
    campaign_id: CampaignId,
    scope: Token,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Each organisation's four marks of the "four ones" and its coverage, a page at a time, by
    branch_id."""
    campaign = await _county_campaign(request, campaign_id, scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        total, items = await four_ones_view(
            conn, campaign, limit=page_size, offset=(page - 1) * page_size
        )
    return {"items": items, "page": page, "page_size": page_size, "total": total}


@router.get("/campaigns/{campaign_id}/commendations", response_model=schemas.Commendations)
async def get_commendations(
    request: Request, campaign_id: CampaignId, scope: Token
) -> dict[str, Any]:
    """The commendations (评比表彰) by awarding body: the committee's first."""
    campaign = await _county_campaign(request, campaign_id, scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        return await commendations_view(conn, campaign)


@router.get("/campaigns/{campaign_id}/three-level-review", response_model=schemas.ThreeLevelReview)
async def get_three_level_review(
    request: Request, campaign_id: CampaignId, scope: Token
) -> dict[str, Any]:
    """三级联述联评联考: duty reports (专项述职), the appraisal (评议) with its satisfaction
    rates, and the annual review (年度考核) of the committee and the school organisations."""
    campaign = await _county_campaign(request, campaign_id, scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        return await three_level_view(conn, campaign)


@router.get("/campaigns/{campaign_id}/standing-rules", response_model=schemas.StandingRules)
async def get_standing_rules(
    request: Request, campaign_id: CampaignId, scope: Token
) -> dict[str, Any]:
    """Good practices made standing rules (巩固深化, 建章立制)."""
    campaign = await _county_campaign(request, campaign_id, scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        return await standing_rules_view(conn, campaign)


ExportTable = Literal[
    "four-ones", "coverage", "commendations", "three-level-review", "standing-rules"
]


@router.get(
    "/campaigns/{campaign_id}/exports/{table}.{format}",
    response_class=Response,
    responses={200: {"content": {exports.XLSX_TYPE: {}, "text/csv": {}}}},
)
async def export_phase_table(
    request: Request,
    campaign_id: CampaignId,
    table: Annotated[
        ExportTable,
        Path(
            description="four-ones (四个一 and coverage per organisation), coverage (one row per "
            "organisation not covered, with the activity), commendations, three-level-review "
            "(三级联述联评联考), standing-rules (巩固深化)."
        ),
    ],
    format: Annotated[Literal["xlsx", "csv"], Path(description="xlsx or csv (UTF-8, BOM).")],
    scope: Token,
) -> Response:
    """A table of phases 3 and 4 as Excel or CSV, Chinese headers, rates as percentages."""
    campaign = await _county_campaign(request, campaign_id, scope)
    async with request.app.state.runtime.pool.acquire() as conn:
        values = await phase_table(conn, campaign, table)
    return export_response(campaign_id, table, format, values)


def export_response(campaign_id: str, table: str, kind: str, values: list[list[Any]]) -> Response:
    media = exports.XLSX_TYPE if kind == "xlsx" else "text/csv; charset=utf-8"
    return Response(
        exports.phase_export(table, values, kind),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}-{table}.{kind}"'},
    )
