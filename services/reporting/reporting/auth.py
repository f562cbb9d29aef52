"""Scoped bearer tokens: a county token reads that county; a branch token reads its own card
and what is announced to every organisation of its county (the 公示 lists). A token's role is
`reader` (every token before circulars) or `office`: a county token of a person of the Party
office, who may also edit, sign off and discard circulars (decisions in that person's name)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from grassroots.plumbing import logs
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


def found_scope(request: Request, row: Mapping[str, Any] | None, prefix: str = "") -> Scope:
    """The scope of a token's row (its columns named `prefix` + county_code, branch_id, label,
    role; all null, or no row, when the token is unknown or revoked), or 401."""
    if row is None or row[prefix + "label"] is None:
        raise unauthorized("unknown or revoked token")
    label = row[prefix + "label"]
    logs.name_caller(request, label)  # the audit line names who read (never the token)
    return Scope(
        row[prefix + "county_code"], row[prefix + "branch_id"], label, row[prefix + "role"]
    )


REQUIRED = "a bearer token is required (Authorization: Bearer <token>)"


async def resolve(request: Request, token: str | None) -> Scope:
    if not token:
        raise unauthorized(REQUIRED)
    async with request.app.state.runtime.pool.acquire() as conn:
        row = await tokens.find(conn, token_hash(token, _pepper(request)))
    return found_scope(request, row)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if header and scheme.lower() != "bearer":
        raise unauthorized("use the Bearer scheme: Authorization: Bearer <token>")
    return token.strip() or None


async def bearer_scope(request: Request) -> Scope:
    """FastAPI dependency: the scope of the request's bearer token, or 401."""
    return await resolve(request, _bearer(request))


async def bearer_hash(request: Request) -> str:
    """FastAPI dependency: the hash of the request's bearer token (401 if there is none), for
    an endpoint that checks it in the statement reading what it answers (found_scope: 401 if
    unknown or revoked, exactly as bearer_scope) — one database round trip, not two."""
    token = _bearer(request)
    if not token:
        raise unauthorized(REQUIRED)
    return token_hash(token, _pepper(request))


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


# One-time sign-in codes and dashboard sessions (issue 17): a token never travels in a URL and
# the dashboard's cookie holds a session id, not the token. Both are stored as HMACs.
CODE_PREFIX = "sc_"
SIGNIN_CODE_MINUTES = 10


def new_code() -> str:
    return CODE_PREFIX + secrets.token_urlsafe(24)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def _pepper(request: Request) -> str:
    return reporting_settings(request).token_pepper.get_secret_value()


async def start_session(request: Request, hashed_token: str) -> str:
    """A new session of a token (by its hash); returns the session id for the cookie."""
    session_id = new_session_id()
    ttl = reporting_settings(request).session_hours * 3600
    async with request.app.state.runtime.pool.acquire() as conn:
        await tokens.create_session(
            conn,
            session_hash=token_hash(session_id, _pepper(request)),
            token_hash=hashed_token,
            ttl_seconds=ttl,
        )
    return session_id


async def sign_in_with_token(request: Request, token: str) -> str:
    """The pasted-token form: check the token, start a session (401 if unknown or revoked)."""
    await resolve(request, token)
    return await start_session(request, token_hash(token, _pepper(request)))


async def exchange_code(request: Request, code: str) -> tuple[str, str | None]:
    """Spend a one-time code: ("ok", session id) or (why not, None)."""
    async with request.app.state.runtime.pool.acquire() as conn:
        outcome, hashed_token = await tokens.use_code(conn, token_hash(code, _pepper(request)))
    if hashed_token is None:
        return outcome, None
    return outcome, await start_session(request, hashed_token)


async def session_scope(request: Request, session_id: str | None) -> Scope | None:
    if not session_id:
        return None
    async with request.app.state.runtime.pool.acquire() as conn:
        row = await tokens.find_session(conn, token_hash(session_id, _pepper(request)))
    if row is None:
        return None
    return found_scope(request, row)


async def end_session(request: Request, session_id: str) -> None:
    async with request.app.state.runtime.pool.acquire() as conn:
        await tokens.end_session(conn, token_hash(session_id, _pepper(request)))


def secure_request(request: Request) -> bool:
    """HTTPS: the request's own scheme, or X-Forwarded-Proto when trusted (configured)."""
    if request.scope.get("scheme") == "https":
        return True
    if reporting_settings(request).trust_forwarded_proto:
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False
