"""Safe sign-in (issue 17), end to end in Chromium: a one-time link signs the browser in and
works once; an expired link is refused; a token in a URL is refused; the session cookie holds
neither the token nor the code; afterwards neither the token, the code nor the session id is in
any service log or in the history the browser kept. `/docs` and `/redoc` load nothing from
elsewhere."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Request, sync_playwright

from tests.harness import REPO, Platform
from tests.test_reporting import CHROMIUM_FLAGS, chromium, reporting_cli

pytestmark = pytest.mark.usefixtures("platform")
COUNTY = "619917"  # no campaign: the signed-in home page lists none


def signin_link(base: str, *extra: str) -> str:
    label = f"登录测试-{uuid.uuid4().hex[:6]}"
    return reporting_cli(
        "signin-link", "--county", COUNTY, "--label", label, "--base-url", base, *extra
    )


def code_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["code"][0]


def test_a_one_time_link_signs_in_once_and_leaves_no_secret_behind(platform: Platform) -> None:
    base = platform.services["reporting"].url
    link = signin_link(base)
    assert link.startswith(f"{base}/signin?code=sc_")
    code = code_of(link)
    token = reporting_cli("token", "create", "--county", COUNTY, "--label", "粘贴令牌测试")
    secrets: dict[str, str] = {"code": code, "token": token}
    visited: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(locale="zh-CN")
            page = context.new_page()
            page.on("framenavigated", lambda frame: visited.append(frame.url))
            requests: list[Request] = []
            page.on("request", lambda request: requests.append(request))

            response = page.goto(link)
            assert response is not None and response.status == 200
            assert page.url == f"{base}/"  # 303 to the dashboard: the code left the address bar
            assert "退出" in page.inner_text("header")
            redirect = response.request.redirected_from
            assert redirect is not None and redirect.url == link
            exchanged = redirect.response()
            assert exchanged is not None and exchanged.status == 303
            assert exchanged.headers["referrer-policy"] == "no-referrer"
            (cookie,) = context.cookies()
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert not cookie["secure"]  # plain HTTP, X-Forwarded-Proto not trusted
            session_id = cookie["value"]
            secrets["session"] = session_id
            assert code not in session_id and not session_id.startswith(("gr_", "sc_"))

            # The history: what JavaScript can see, and every page it can go back to.
            assert page.evaluate("location.href") == f"{base}/"
            length = page.evaluate("history.length")
            for _ in range(length):
                visited.append(page.evaluate("location.href"))
                if page.go_back() is None:
                    break
            visited.append(page.url)
            assert not any(code in url or token in url for url in visited), visited
            # Nothing the dashboard loaded carried the code on (no Referer with it).
            later = [r for r in requests if r.url != link]
            assert not any(code in (r.headers.get("referer") or "") for r in later)

            # The code works once: another browser gets the 401 page, in Chinese.
            other = browser.new_context(locale="zh-CN").new_page()
            again = other.goto(link)
            assert again is not None and again.status == 401
            assert "已经用过" in other.inner_text("#login-error")
            assert other.context.cookies() == []

            # A token in a URL is refused (400), and says how to sign in.
            refused = other.goto(f"{base}/?token={token}")
            assert refused is not None and refused.status == 400
            assert "令牌不能放在网址里" in other.inner_text("#login-error")
            assert other.context.cookies() == []

            # The login form POSTs the pasted token: it is in no URL either.
            other.fill("#token", token)
            other.click("form[action='/'] button[type=submit]")
            other.wait_for_url(f"{base}/")
            assert "退出" in other.inner_text("header")
            (pasted,) = other.context.cookies()
            assert pasted["value"] != token
            secrets["pasted session"] = pasted["value"]

            # Signing out ends the session on the server, not only in this browser.
            page.goto(f"{base}/")
            page.click("a[href='/logout']")
            assert context.cookies() == []
        finally:
            browser.close()
    stale = httpx.get(f"{base}/", cookies={"grassroots_session": session_id})
    assert stale.status_code == 200 and "/logout" not in stale.text and 'id="token"' in stale.text

    logs = [path for path in (REPO / ".local" / "logs" / "tests").rglob("*") if path.is_file()]
    assert any(path.name == "reporting.log" for path in logs)
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        for what, value in secrets.items():
            assert value not in text, f"the {what} appears in {path}"


def test_an_expired_link_is_refused(platform: Platform) -> None:
    base = platform.services["reporting"].url
    link = signin_link(base, "--ttl-seconds", "1")
    time.sleep(1.5)
    refused = httpx.get(link)
    assert refused.status_code == 401
    assert "已过期" in refused.text
    assert refused.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in refused.headers
    unknown = httpx.get(f"{base}/signin?code=sc_nonsense")
    assert unknown.status_code == 401 and "无效" in unknown.text


def test_a_forwarded_proto_is_not_trusted_unless_configured(platform: Platform) -> None:
    base = platform.services["reporting"].url
    answer = httpx.get(signin_link(base), headers={"X-Forwarded-Proto": "https"})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie


def requested(page: Page) -> list[str]:
    """Every URL the page asks for from now on."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def test_the_api_reference_loads_nothing_from_elsewhere(platform: Platform) -> None:
    base = platform.services["reporting"].url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            for path in ("/docs", "/redoc"):
                page = browser.new_page()
                urls = requested(page)
                response = page.goto(f"{base}{path}", wait_until="networkidle")
                assert response is not None and response.status == 200
                assert "Grassroots reporting API" in page.inner_text("h1")
                assert page.locator("details.op").count() > 10  # the operations are listed
                assert page.locator("a[href='/openapi.json']").count() == 1
                assert urls and all(url.startswith(f"{base}/") for url in urls), urls
        finally:
            browser.close()
