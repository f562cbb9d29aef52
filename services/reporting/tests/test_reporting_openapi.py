"""The checked-in OpenAPI document is exactly what the code generates."""

from __future__ import annotations

from reporting.openapi import CHECKED_IN, document, render


def test_the_checked_in_openapi_document_matches_the_code() -> None:
    assert CHECKED_IN.read_text(encoding="utf-8") == render(), (
        "the reporting API changed: run `make contract` and commit services/reporting/openapi.json"
    )


def test_every_contract_path_is_documented() -> None:
    paths = set(document()["paths"])
    assert paths == {
        "/v1/campaigns/{campaign_id}/summary",
        "/v1/campaigns/{campaign_id}/branches",
        "/v1/campaigns/{campaign_id}/branches/{branch_id}",
        "/v1/campaigns/{campaign_id}/lagging",
        "/v1/campaigns/{campaign_id}/rounds/{round}/announced",
        "/v1/campaigns/{campaign_id}/export.xlsx",
        "/v1/campaigns/{campaign_id}/export.csv",
        "/v1/campaigns/{campaign_id}/emulation",
        "/v1/campaigns/{campaign_id}/four-ones",
        "/v1/campaigns/{campaign_id}/commendations",
        "/v1/campaigns/{campaign_id}/three-level-review",
        "/v1/campaigns/{campaign_id}/standing-rules",
        "/v1/campaigns/{campaign_id}/exports/{table}.{format}",
        "/v1/campaigns/{campaign_id}/circulars",
        "/v1/campaigns/{campaign_id}/circulars/{circular_id}",
        "/v1/campaigns/{campaign_id}/circulars/{circular_id}/edits",
        "/v1/campaigns/{campaign_id}/circulars/{circular_id}/sign",
        "/v1/campaigns/{campaign_id}/circulars/{circular_id}/discard",
        "/v1/campaigns/{campaign_id}/inspections",
        "/v1/campaigns/{campaign_id}/progress-reports",
        "/v1/campaigns/{campaign_id}/exports/annual-sheet.xlsx",
        "/v1/campaigns/{campaign_id}/circulars/{circular_id}.pdf",
        "/v1/campaigns/{campaign_id}/report.pdf",
        "/v1/campaigns/{campaign_id}/progress.pdf",
    }
