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
