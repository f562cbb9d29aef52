"""Scoped bearer tokens: a county token reads that county; a branch token reads its own card
and what is announced to every organisation of its county (the 公示 lists)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request

from reporting.config import ReportingSettings
from reporting.store import tokens

TOKEN_PREFIX = "gr_"


@dataclass(frozen=True)
class Scope:
    county_code: str
    branch_id: str | None
    label: str


def reporting_settings(request: Request) -> ReportingSettings:
    """Read once per app, on first use (so importing the app needs no secrets)."""
    settings: ReportingSettings | None = getattr(request.app.state, "reporting_settings", None)
    if settings is None:
        settings = request.app.state.reporting_settings = ReportingSettings()
    return settings


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


def unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        401, detail=reason, headers={"WWW-Authenticate": 'Bearer realm="grassroots"'}
    )


async def resolve(request: Request, token: str | None) -> Scope:
    if not token:
        raise unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    pepper = reporting_settings(request).token_pepper.get_secret_value()
    async with request.app.state.runtime.pool.acquire() as conn:
        row = await tokens.find(conn, token_hash(token, pepper))
    if row is None:
        raise unauthorized("unknown or revoked token")
    return Scope(row["county_code"], row["branch_id"], row["label"])


async def bearer_scope(request: Request) -> Scope:
    """FastAPI dependency: the scope of the request's bearer token, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if header and scheme.lower() != "bearer":
        raise unauthorized("use the Bearer scheme: Authorization: Bearer <token>")
    return await resolve(request, token.strip() or None)


def require_county(scope: Scope, county_code: str) -> None:
    if scope.branch_id is not None:
        raise HTTPException(403, detail=f"this token reads only the card of {scope.branch_id}")
    if scope.county_code != county_code:
        raise HTTPException(403, detail=f"this token is scoped to county {scope.county_code}")


def require_county_member(scope: Scope, county_code: str) -> None:
    """What is announced within the county (定级结果在一定范围内公布): any token of the county,
    the county's own or one of its organisations'."""
    if scope.county_code != county_code:
        raise HTTPException(403, detail=f"this token is scoped to county {scope.county_code}")


def require_card(scope: Scope, county_code: str, branch_id: str) -> None:
    if scope.county_code != county_code:
        raise HTTPException(403, detail=f"this token is scoped to county {scope.county_code}")
    if scope.branch_id is not None and scope.branch_id != branch_id:
        raise HTTPException(403, detail=f"this token reads only the card of {scope.branch_id}")
