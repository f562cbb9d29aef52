"""All the intake's SQL: its credentials."""

from __future__ import annotations

import asyncpg

from intake.credentials import Credential

_COLUMNS = "credential_id, county_code, label, rate"


def _credential(row: asyncpg.Record) -> Credential:
    return Credential(row["credential_id"], row["county_code"], row["label"], row["rate"])


class IntakeStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def find(self, secret_hash: str) -> Credential | None:
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM credentials WHERE secret_hash = $1 AND revoked_at IS NULL",
            secret_hash,
        )
        return None if row is None else _credential(row)

    async def create(
        self, *, secret_hash: str, county_code: str | None, label: str, rate: str | None
    ) -> Credential:
        row = await self.conn.fetchrow(
            "INSERT INTO credentials (secret_hash, county_code, label, rate)"
            f" VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}",
            secret_hash,
            county_code,
            label,
            rate,
        )
        return _credential(row)

    async def ensure(self, *, secret_hash: str, county_code: str | None, label: str) -> None:
        """Register a credential whose secret comes from the environment (the dashboard's)."""
        await self.conn.execute(
            "INSERT INTO credentials (secret_hash, county_code, label) VALUES ($1, $2, $3)"
            " ON CONFLICT (secret_hash) DO NOTHING",
            secret_hash,
            county_code,
            label,
        )

    async def revoke(self, label: str) -> bool:
        status: str = await self.conn.execute(
            "UPDATE credentials SET revoked_at = now() WHERE label = $1 AND revoked_at IS NULL",
            label,
        )
        return status.endswith(" 1")

    async def live(self) -> list[Credential]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM credentials WHERE revoked_at IS NULL ORDER BY credential_id"
        )
        return [_credential(row) for row in rows]
