"""The office's circular pages (zh-CN): the list, and one circular with its items by section.
An office token's person edits, removes (with a reason) and adds items, signs off or discards
through POST forms, answered with 303 back to the page or the refusal in Chinese; a reader sees
no forms. The cookie is SameSite=Strict, and a POST whose Origin is another site's is refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import asyncpg
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from reporting.auth import READ_ONLY, Scope
from reporting.circulars import office, rules, views
from reporting.circulars.api import circular_view
from reporting.circulars.decisions import Decision
from reporting.circulars.rules import Refused
from reporting.circulars.store import CircularStore
from reporting.dashboard import county_campaign_page, page

router = APIRouter(include_in_schema=False)
READ_ONLY_ZH = "此令牌只能查看：修改、签发或作废通报需要办公室令牌（token create --role office）"
OTHER_SITE_ZH = "拒绝来自其他网站的提交"


def _foreign_origin(request: Request) -> bool:
    """A POST from another site's page (when the browser says where it comes from)."""
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc != request.headers.get("host")


async def _form(request: Request) -> dict[str, str | None]:
    """The urlencoded form's fields; empty ones as absent (the contract then says what is
    missing)."""
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: (values[0].strip() or None) for name, values in fields.items()}


async def _list_page(
    request: Request,
    scope: Scope,
    campaign: asyncpg.Record,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    async with request.app.state.runtime.pool.acquire() as conn:
        store = CircularStore(conn)
        rows = await store.circulars_of(campaign["campaign_id"])
        waiting = await store.waiting_requests(campaign["campaign_id"])
    return page(
        "circulars.html",
        status,
        scope=scope,
        campaign=campaign,
        circulars=[views.list_item(row) for row in rows],
        requests=waiting,
        office=scope.office,
        error=error,
    )


async def _circular_page(
    request: Request,
    scope: Scope,
    campaign: asyncpg.Record,
    circular_id: str,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    async with request.app.state.runtime.pool.acquire() as conn:
        found = await circular_view(conn, campaign["campaign_id"], circular_id)
    if found is None:
        return page("login.html", 404, error=f"通报 {circular_id} 不存在", scope=scope)
    return page(
        "circular.html",
        status,
        scope=scope,
        campaign=campaign,
        c=found,
        editable=scope.office and found["status"] == "draft",
        basis_label=views.basis_label,
        error=error,
    )


@router.get("/campaigns/{campaign_id}/circulars", response_class=HTMLResponse)
async def circulars_page(request: Request, campaign_id: str) -> Response:
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    return await _list_page(request, *found)


@router.post("/campaigns/{campaign_id}/circulars")
async def request_form(request: Request, campaign_id: str) -> Response:
    """立即起草: ask for a draft now."""
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    scope, campaign = found
    refusal = _refusal(request, scope)
    if refusal is None:
        try:
            await office.request_draft(request.app.state.runtime, campaign, scope)
        except Refused as refused:
            refusal = refused
    if refusal is not None:
        return await _list_page(
            request, scope, campaign, status=refusal.status, error=refusal.message
        )
    return RedirectResponse(f"/campaigns/{campaign_id}/circulars", status_code=303)


@router.get("/campaigns/{campaign_id}/circulars/{circular_id}", response_class=HTMLResponse)
async def circular_page(request: Request, campaign_id: str, circular_id: str) -> Response:
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    return await _circular_page(request, *found, circular_id)


@router.post("/campaigns/{campaign_id}/circulars/{circular_id}/{action}")
async def decision_form(
    request: Request, campaign_id: str, circular_id: str, action: str
) -> Response:
    """The forms of a draft: edits (edit, remove, add), sign, discard."""
    if action not in ("edits", "sign", "discard"):
        return page("login.html", 404, error="没有这项操作", scope=None)
    found = await county_campaign_page(request, campaign_id)
    if isinstance(found, Response):
        return found
    scope, campaign = found
    refusal = _refusal(request, scope)
    if refusal is None:
        try:
            form = await _form(request)
            await office.decide(
                request.app.state.runtime,
                campaign,
                await _decision(request, action, circular_id, form, scope),
            )
        except Refused as refused:
            refusal = refused
    if refusal is not None:
        return await _circular_page(
            request, scope, campaign, circular_id, status=refusal.status, error=refusal.message
        )
    return RedirectResponse(f"/campaigns/{campaign_id}/circulars/{circular_id}", status_code=303)


def _refusal(request: Request, scope: Scope) -> Refused | None:
    if _foreign_origin(request):
        return Refused(403, "cross-site form", OTHER_SITE_ZH)
    if not scope.office:
        return Refused(403, READ_ONLY, READ_ONLY_ZH)
    return None


async def _decision(
    request: Request, action: str, circular_id: str, form: dict[str, str | None], scope: Scope
) -> Decision:
    if action == "sign":
        return office.sign_off_of(circular_id, scope)
    if action == "discard":
        return office.discard_of(circular_id, form.get("reason"), scope)
    fields = {
        name: form.get(name)
        for name in ("action", "item_id", "section", "org_id", "text", "reason")
        if form.get(name) is not None
    }
    if fields.get("action") == "add" and "item_id" not in fields:
        # The page does not ask for an id: named as the platform names items.
        async with request.app.state.runtime.pool.acquire() as conn:
            taken = await CircularStore(conn).item_ids(circular_id)
        fields["item_id"] = rules.added_item_id(
            str(fields.get("section")), str(fields.get("org_id")), taken
        )
    return office.edit_of(circular_id, fields, scope)
