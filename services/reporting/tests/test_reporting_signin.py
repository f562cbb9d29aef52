"""Safe sign-in without a database: when the session cookie is Secure, and the offline API
reference (the end-to-end test is tests/test_signin.py)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from reporting.auth import new_code, secure_request
from reporting.config import ReportingSettings

PEPPER = "pepper-for-the-sign-in-tests"


def request(scheme: str, forwarded: str | None, trust: bool) -> Request:
    settings = ReportingSettings.model_validate(
        {"GRASSROOTS_TOKEN_PEPPER": PEPPER, "trust_forwarded_proto": trust}
    )
    app = SimpleNamespace(state=SimpleNamespace(reporting_settings=settings))
    headers = [(b"x-forwarded-proto", forwarded.encode())] if forwarded else []
    return Request(
        {"type": "http", "scheme": scheme, "headers": headers, "app": app, "path": "/signin"}
    )


@pytest.mark.parametrize(
    ("scheme", "forwarded", "trust", "secure"),
    [
        ("http", None, False, False),
        ("https", None, False, True),
        ("http", "https", False, False),  # a header anyone can send: not trusted by default
        ("http", "https", True, True),  # behind a configured TLS proxy
        ("http", "http", True, False),
    ],
)
def test_the_cookie_is_secure_on_https_only(
    scheme: str, forwarded: str | None, trust: bool, secure: bool
) -> None:
    assert secure_request(request(scheme, forwarded, trust)) is secure


def test_codes_are_random_and_not_tokens() -> None:
    codes = {new_code() for _ in range(100)}
    assert len(codes) == 100
    assert all(code.startswith("sc_") and len(code) > 30 for code in codes)


def test_docs_and_redoc_are_served_without_a_cdn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRASSROOTS_TOKEN_PEPPER", PEPPER)
    from reporting.app import app

    client = TestClient(app)  # no lifespan: the pages need no database
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert links == ["/openapi.json"]
        assert "<script" not in page.text
        assert "/v1/campaigns/{campaign_id}/summary" in page.text
