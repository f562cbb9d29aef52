"""Scoped bearer tokens: a county token reads that county; a branch token reads its own card
and what is announced to every organisation of its county (the 公示 lists). A token's role is
`reader` (every token before circulars) or `office`: a county token of a person of the Party
office, who may also edit, sign off and discard circulars (decisions in that person's name)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request

from reporting.config import ReportingSettings
from reporting.store import tokens

TOKEN_PREFIX = "gr_"
ROLES = ("reader", "office")
READ_ONLY = (
    "this token may only read: editing or signing a circular needs an office token"
    " (token create --role office)"
)


@dataclass(frozen=True)
class Scope:
    county_code: str
    branch_id: str | None
    label: str
    role: str = "reader"

    @property
    def office(self) -> bool:
        return self.role == "office"


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
    return Scope(row["county_code"], row["branch_id"], row["label"], row["role"])


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


def require_office(scope: Scope) -> None:
    """Writes about circulars: only an office token (a county token, made per person)."""
    if not scope.office:
        raise HTTPException(403, detail=READ_ONLY)
