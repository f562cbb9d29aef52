"""The inbox (站内信) of each organisation: GET /v1/inbox/{branch_id}, newest first, paged,
all / unread / read; POST …/{message_id}/read marks one read (again: no change). Each request
needs the organisation's inbox token (Authorization: Bearer gri_…; see inbox_tokens)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from grassroots.contract.labels import label
from grassroots.plumbing import logs
from grassroots.plumbing.service import Runtime
from notification import inbox_tokens
from notification.config import NotificationSettings
from notification.store import NotificationStore


def _settings(request: Request) -> NotificationSettings:
    """Read once per app, on first use (so importing the app needs no secrets)."""
    settings: NotificationSettings | None = getattr(request.app.state, "inbox_settings", None)
    if settings is None:
        settings = request.app.state.inbox_settings = NotificationSettings()
    return settings


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(401, detail=reason, headers={"WWW-Authenticate": 'Bearer realm="inbox"'})


async def inbox_holder(request: Request, branch_id: str) -> str:
    """FastAPI dependency: the organisation whose inbox the bearer token opens — this one."""
    secret = _settings(request).inbox_token_secret
    if secret is None:
        raise HTTPException(503, detail="the inbox API is closed: INBOX_TOKEN_SECRET is not set")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("an inbox token is required (Authorization: Bearer gri_…)")
    org_id = inbox_tokens.org_of(secret.get_secret_value(), token.strip())
    if org_id is None:
        raise _unauthorized("not an inbox token of this platform")
    logs.name_caller(request, f"inbox of {org_id}")  # the audit line: whose token (not it)
    if org_id != branch_id:
        raise HTTPException(403, detail=f"this token opens only the inbox of {org_id}")
    return org_id


router = APIRouter(prefix="/v1/inbox", tags=["inbox"], dependencies=[Depends(inbox_holder)])


def _runtime(request: Request) -> Runtime[NotificationStore]:
    runtime: Runtime[NotificationStore] = request.app.state.runtime
    return runtime


@router.get("/{branch_id}")
async def inbox(
    request: Request,
    branch_id: str,
    state: Literal["all", "unread", "read"] = "all",
    page: int = Query(1, ge=1),
    page_size: int = Query(20, ge=1, le=100),
) -> dict[str, Any]:
    runtime = _runtime(request)
    async with runtime.unit_of_work() as uow:
        rows, total, unread = await uow.store.deliveries.inbox_page(
            branch_id, state=state, limit=page_size, offset=(page - 1) * page_size
        )
    return {
        "branch_id": branch_id,
        "state": state,
        "page": page,
        "page_size": page_size,
        "total": total,
        "unread": unread,
        "items": [
            {
                "message_id": row["message_id"],
                "kind": row["kind"],
                "kind_label": label("notification_kind", row["kind"]),
                "campaign_id": row["campaign_id"],
                "subject": row["subject"],
                "body": row["body"],
                "created_at": row["created_at"].isoformat(),
                "read": row["read_at"] is not None,
                "read_at": row["read_at"].isoformat() if row["read_at"] else None,
            }
            for row in rows
        ],
    }


@router.post("/{branch_id}/{message_id}/read")
async def mark_read(request: Request, branch_id: str, message_id: str) -> dict[str, Any]:
    runtime = _runtime(request)
    async with runtime.unit_of_work() as uow:
        read_at = await uow.store.deliveries.mark_read(branch_id, message_id, uow.now)
    if read_at is None:
        raise HTTPException(404, f"no message {message_id} in the inbox of {branch_id}")
    return {"message_id": message_id, "read": True, "read_at": read_at.isoformat()}
