"""The office's circulars API: read drafts and issued circulars (any county token); request a
draft, edit, sign off, discard (office tokens only). Each write is one decision published on
`supervision.decisions` for notification to act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from reporting import schemas
from reporting.api import ERRORS, CampaignId, TimedRoute, Token
from reporting.auth import Scope, require_county, require_office
from reporting.circulars import office, views
from reporting.circulars import schemas as shapes
from reporting.circulars.decisions import Decision
from reporting.circulars.rules import Refused
from reporting.circulars.store import CircularStore
from reporting.store import queries


class SharedPathRoute(TimedRoute):
    """A route whose path has other methods in other routes (GET and POST …/circulars): a 405
    lists every method of the path in `Allow`, not only this route's."""

    async def handle(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allowed = {
                method
                for route in router.routes
                if isinstance(route, APIRoute) and route.path_format == self.path_format
                for method in route.methods or ()
            }
            raise StarletteHTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
        await super().handle(scope, receive, send)


router = APIRouter(prefix="/v1", route_class=SharedPathRoute, responses=ERRORS)
CircularId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$",
        description="The circular, e.g. circular-pucheng-edu-2012-2012-05-21.",
    ),
]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": schemas.Problem4xx, "description": "The body could not be read as JSON."},
    403: {
        "model": schemas.Problem4xx,
        "description": "Not an office token of the campaign's county (a reader's token: "
        "`this token may only read: …`).",
    },
    404: {"model": schemas.Problem4xx, "description": "No such campaign, circular or item."},
    409: {
        "model": schemas.Problem4xx,
        "description": "The circular is not a draft any more: `circular <id> is already signed` "
        "or `circular <id> was discarded`; or an added item's id is taken.",
    },
    422: {
        "model": schemas.Problem4xx,
        "description": "The contract refuses the decision (e.g. remove without reason); the "
        "detail gives its reasons.",
    },
}


async def office_token(scope: Token) -> Scope:
    """An office token, or 403 before anything else is looked at."""
    require_office(scope)
    return scope


OfficeToken = Annotated[Scope, Depends(office_token)]


async def county_campaign(pool: asyncpg.Pool, campaign_id: str, scope: Scope) -> asyncpg.Record:
    async with pool.acquire() as conn:
        campaign = await queries.campaign(conn, campaign_id)
    if campaign is None:
        raise HTTPException(404, detail=f"campaign {campaign_id} is not known")
    require_county(scope, campaign["county_code"])
    return campaign


async def circular_view(
    conn: asyncpg.Connection, campaign_id: str, circular_id: str
) -> dict[str, Any] | None:
    """A circular of the campaign as the API gives it; None when there is none."""
    store = CircularStore(conn)
    row = await store.circular(circular_id)
    if row is None or row["campaign_id"] != campaign_id:
        return None
    return views.circular(row, await store.items(circular_id), await store.decisions(circular_id))


@contextmanager
def answered() -> Iterator[None]:
    """A refusal of the office's rules as the API's answer (status and English reason)."""
    try:
        yield
    except Refused as refused:
        raise HTTPException(refused.status, detail=refused.detail) from None


async def _decide(request: Request, campaign: asyncpg.Record, decision: Decision) -> None:
    with answered():
        await office.decide(request.app.state.runtime, campaign, decision)


@router.get("/campaigns/{campaign_id}/circulars", response_model=shapes.CircularList)
async def list_circulars(request: Request, campaign_id: CampaignId, scope: Token) -> dict[str, Any]:
    """The campaign's circulars (通报), newest draft first: drafts waiting for sign-off,
    signed, issued with their document numbers, discarded."""
    pool = request.app.state.runtime.pool
    await county_campaign(pool, campaign_id, scope)
    async with pool.acquire() as conn:
        rows = await CircularStore(conn).circulars_of(campaign_id)
    return {"items": [views.list_item(row) for row in rows]}


@router.get("/campaigns/{campaign_id}/circulars/{circular_id}", response_model=shapes.Circular)
async def get_circular(
    request: Request, campaign_id: CampaignId, circular_id: CircularId, scope: Token
) -> dict[str, Any]:
    """One circular: its items as edited, who drafted, edited, signed, discarded or issued
    it and when, and once issued its issuing body, document number and recipients."""
    pool = request.app.state.runtime.pool
    await county_campaign(pool, campaign_id, scope)
    async with pool.acquire() as conn:
        found = await circular_view(conn, campaign_id, circular_id)
    if found is None:
        raise HTTPException(404, detail=f"circular {circular_id} is not known")
    return found


@router.post(
    "/campaigns/{campaign_id}/circulars",
    status_code=202,
    response_model=shapes.Requested,
    responses={code: doc for code, doc in WRITE_ERRORS.items() if code != 409},
)
async def request_circular(
    request: Request,
    campaign_id: CampaignId,
    scope: OfficeToken,
    body: shapes.NoFields | None = None,
) -> dict[str, Any]:
    """Office: ask for a draft now (`supervision.circular_requested`); the platform drafts it
    from what it knows today."""
    campaign = await county_campaign(request.app.state.runtime.pool, campaign_id, scope)
    with answered():
        request_id = await office.request_draft(request.app.state.runtime, campaign, scope)
    return {"request_id": request_id}


@router.post(
    "/campaigns/{campaign_id}/circulars/{circular_id}/edits",
    status_code=202,
    response_model=shapes.Circular,
    responses=WRITE_ERRORS,
)
async def edit_circular(
    request: Request,
    campaign_id: CampaignId,
    circular_id: CircularId,
    body: shapes.Edit,
    scope: OfficeToken,
) -> dict[str, Any]:
    """Office: change one item of a draft — edit its text, remove it with a reason, or add one
    (`supervision.circular_edited`, in the token's person's name); the circular as edited."""
    pool = request.app.state.runtime.pool
    campaign = await county_campaign(pool, campaign_id, scope)
    with answered():
        edit = office.edit_of(circular_id, body.model_dump(exclude_none=True), scope)
    await _decide(request, campaign, edit)
    async with pool.acquire() as conn:
        found = await circular_view(conn, campaign_id, circular_id)
    assert found is not None
    return found


@router.post(
    "/campaigns/{campaign_id}/circulars/{circular_id}/sign",
    status_code=202,
    response_model=shapes.Decided,
    responses=WRITE_ERRORS,
)
async def sign_circular(
    request: Request,
    campaign_id: CampaignId,
    circular_id: CircularId,
    scope: OfficeToken,
    body: shapes.NoFields | None = None,
) -> dict[str, Any]:
    """Office: sign the draft off as edited (`supervision.circular_signed`, signed by the
    token's person); notification numbers and sends it."""
    campaign = await county_campaign(request.app.state.runtime.pool, campaign_id, scope)
    with answered():
        decision = office.sign_off_of(circular_id, scope)
    await _decide(request, campaign, decision)
    return {"circular_id": circular_id, "status": "signed"}


@router.post(
    "/campaigns/{campaign_id}/circulars/{circular_id}/discard",
    status_code=202,
    response_model=shapes.Decided,
    responses=WRITE_ERRORS,
)
async def discard_circular(
    request: Request,
    campaign_id: CampaignId,
    circular_id: CircularId,
    body: shapes.Discard,
    scope: OfficeToken,
) -> dict[str, Any]:
    """Office: discard the draft with a reason (`supervision.circular_discarded`): it is
    never sent."""
    campaign = await county_campaign(request.app.state.runtime.pool, campaign_id, scope)
    with answered():
        decision = office.discard_of(circular_id, body.reason, scope)
    await _decide(request, campaign, decision)
    return {"circular_id": circular_id, "status": "discarded"}
