"""The progress report over days (工作进展情况): what the organisations reported, the
inspections, the circulars issued and the commendations awarded from one day to another
(both included), each read from the reporting store's tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from grassroots.contract.labels import label


async def progress(
    conn: asyncpg.Connection, campaign_id: str, first: dt.date, last: dt.date
) -> dict[str, Any]:
    reports = await conn.fetch(
        """SELECT p.org_id, coalesce(b.name, p.org_id) AS name, p.reported_on, p.summary
           FROM progress_reports p LEFT JOIN branches b ON b.branch_id = p.org_id
           WHERE p.campaign_id = $1 AND p.reported_on BETWEEN $2 AND $3
           ORDER BY p.reported_on, p.org_id, p.event_id""",
        campaign_id,
        first,
        last,
    )
    inspections = await conn.fetch(
        """SELECT i.org_id, coalesce(b.name, i.org_id) AS name, i.inspected_on, i.mode,
                  jsonb_array_length(i.findings) AS findings
           FROM inspections i LEFT JOIN branches b ON b.branch_id = i.org_id
           WHERE i.campaign_id = $1 AND i.inspected_on BETWEEN $2 AND $3
           ORDER BY i.inspected_on, i.org_id, i.event_id""",
        campaign_id,
        first,
        last,
    )
    circulars = await conn.fetch(
        """SELECT document_number, title, issued_at FROM circulars
           WHERE campaign_id = $1 AND status = 'issued'
             AND (issued_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $2 AND $3
           ORDER BY issued_at, circular_id""",
        campaign_id,
        first,
        last,
    )
    commendations = await conn.fetchval(
        """SELECT count(*) FROM commendations
           WHERE campaign_id = $1 AND awarded_on BETWEEN $2 AND $3""",
        campaign_id,
        first,
        last,
    )
    return {
        "reports": [dict(r) for r in reports],
        "reporting_organisations": len({r["org_id"] for r in reports}),
        "inspections": [
            dict(i) | {"mode_label": label("inspection_mode", i["mode"])} for i in inspections
        ],
        "circulars": [dict(c) for c in circulars],
        "commendations": commendations,
    }
