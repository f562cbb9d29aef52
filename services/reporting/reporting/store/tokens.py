"""API tokens: stored hashed, scoped to a county or to one branch, with a role (reader, or
office: a county token that may also decide about circulars)."""

from __future__ import annotations

import asyncpg


async def create(
    conn: asyncpg.Connection,
    *,
    token_hash: str,
    county_code: str,
    branch_id: str | None,
    label: str,
    role: str = "reader",
) -> None:
    await conn.execute(
        "INSERT INTO api_tokens (token_hash, county_code, branch_id, label, role)"
        " VALUES ($1, $2, $3, $4, $5)",
        token_hash,
        county_code,
        branch_id,
        label,
        role,
    )


async def find(conn: asyncpg.Connection, token_hash: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT county_code, branch_id, label, role FROM api_tokens"
        " WHERE token_hash = $1 AND revoked_at IS NULL",
        token_hash,
    )
    return row


async def revoke(conn: asyncpg.Connection, token_hash: str) -> bool:
    status: str = await conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
        token_hash,
    )
    return status.endswith(" 1")


async def create_code(
    conn: asyncpg.Connection, *, code_hash: str, token_hash: str, ttl_seconds: float
) -> None:
    """A one-time sign-in code for a token, valid for `ttl_seconds` from now."""
    await conn.execute(
        "INSERT INTO signin_codes (code_hash, token_hash, expires_at)"
        " VALUES ($1, $2, now() + make_interval(secs => $3))",
        code_hash,
        token_hash,
        float(ttl_seconds),
    )


async def use_code(conn: asyncpg.Connection, code_hash: str) -> tuple[str, str | None]:
    """Spend a code: ("ok", token_hash), or ("unknown" | "used" | "expired" | "revoked", None).
    The UPDATE is conditional on used_at IS NULL, so two tabs racing spend it once."""
    row = await conn.fetchrow(
        "UPDATE signin_codes c SET used_at = now()"
        " FROM api_tokens t"
        " WHERE c.code_hash = $1 AND c.used_at IS NULL AND c.expires_at > now()"
        " AND t.token_hash = c.token_hash AND t.revoked_at IS NULL"
        " RETURNING c.token_hash",
        code_hash,
    )
    if row is not None:
        return "ok", str(row["token_hash"])
    why = await conn.fetchrow(
        "SELECT c.used_at IS NOT NULL AS used, c.expires_at <= now() AS expired,"
        " t.revoked_at IS NOT NULL AS revoked"
        " FROM signin_codes c JOIN api_tokens t USING (token_hash) WHERE c.code_hash = $1",
        code_hash,
    )
    if why is None:
        return "unknown", None
    if why["used"]:
        return "used", None
    if why["revoked"]:
        return "revoked", None
    return "expired", None


async def create_session(
    conn: asyncpg.Connection, *, session_hash: str, token_hash: str, ttl_seconds: float
) -> None:
    await conn.execute(
        "DELETE FROM dashboard_sessions WHERE expires_at <= now()"
    )  # keep the table small: expired sessions are gone at the next sign-in
    await conn.execute(
        "INSERT INTO dashboard_sessions (session_hash, token_hash, expires_at)"
        " VALUES ($1, $2, now() + make_interval(secs => $3))",
        session_hash,
        token_hash,
        float(ttl_seconds),
    )


async def find_session(conn: asyncpg.Connection, session_hash: str) -> asyncpg.Record | None:
    """The scope of a live session of a token not revoked."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT t.county_code, t.branch_id, t.label, t.role"
        " FROM dashboard_sessions s JOIN api_tokens t USING (token_hash)"
        " WHERE s.session_hash = $1 AND s.expires_at > now() AND t.revoked_at IS NULL",
        session_hash,
    )
    return row


async def end_session(conn: asyncpg.Connection, session_hash: str) -> None:
    await conn.execute("DELETE FROM dashboard_sessions WHERE session_hash = $1", session_hash)
