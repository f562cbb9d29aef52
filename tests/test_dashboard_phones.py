"""The dashboard on a phone (390 px) and for everyone (axe-core), end to end: a campaign with
more lagging organisations than a page holds, in several townships, one with a very long name;
every page read at 390 px (nothing sticks out of the screen but inside a scroll box) and at
desktop width, screenshots kept in .local/screenshots/, and no serious or critical axe-core
violation on any page. The lagging list has its own page, filtered and paged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.harness import REPO, Platform, publish_with_tool
from tests.scenario import County, at
from tests.test_reporting import CHROMIUM_FLAGS, NO_PROGRESS_REPORTS, SCREENSHOTS, chromium, token

pytestmark = pytest.mark.usefixtures("platform")

AXE = REPO / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TOWNSHIPS = ("城关镇", "河口乡", "新集镇")
BRANCHES = 64  # more than a page of the lagging list (50)
LONG_NAME = (
    "中共某某县某某镇某某村第一党支部暨村民委员会联合党组织" * 3 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 3
)

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.parentElement && el.parentElement.closest('.scroll')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 0.5 || box.left < -0.5) {
      out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.getAttribute('class') || ''}`
               + ` ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, out};
}"""

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
}"""


def branch_key(i: int) -> str:
    return f"p{i:02d}"


@pytest.fixture(scope="module")
def county(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    """64 branches in three townships, none of which published its commitment in time; every
    other one also with its grading incomplete (no self-evaluation)."""
    c = County()
    platform.set_clock(at("2012-04-10"))
    events: list[dict[str, Any]] = [
        c.event(
            "campaign.launched",
            {
                "campaign_id": c.campaign_id,
                "name": "手机查看测试",
                "year": 2012,
                "phases": [
                    {
                        "phase": "survey_grading",
                        "opens_on": "2012-03-01",
                        "closes_on": "2012-04-15",
                    },
                    {"phase": "rectification", "opens_on": "2012-04-16", "closes_on": "2012-06-30"},
                ],
                "rules": NO_PROGRESS_REPORTS,
            },
            at("2012-03-01"),
        ),
        c.register(None),
    ]
    for i in range(BRANCHES):
        registered = c.register(branch_key(i))
        registered["data"]["township"] = TOWNSHIPS[i % len(TOWNSHIPS)]
        registered["data"]["name"] = LONG_NAME if i == 0 else f"第{i}党支部"
        events.append(registered)
    events.append(c.phase_of("survey_grading", "opened", at("2012-03-01")))
    for i in range(BRANCHES):
        base = {"branch_id": c.b(branch_key(i)), "round": "initial", "scores": scores(88)}
        if i % 2:
            events.append(c.event("grading.self_evaluated", base, at("2012-04-01")))
        events.append(c.event("grading.appraised", {**base, "raters": 30}, at("2012-04-01")))
        events.append(
            c.event(
                "grading.superior_rated", {**base, "rater_org_id": c.committee}, at("2012-04-01")
            )
        )
    events += [
        c.phase_of("survey_grading", "closed", at("2012-04-15")),
        c.phase("opened", at("2012-04-16")),
    ]
    assert publish_with_tool(events, tmp_path_factory.mktemp("phones")).returncode == 0
    platform.set_clock(at("2012-05-21", "00:00:00"))  # every commitment overdue
    try:
        yield c
    finally:
        platform.set_clock(None)


def scores(value: float) -> dict[str, float]:
    return dict.fromkeys(
        ("leadership", "membership", "mechanism", "performance", "reputation"), value
    )


def signed_in(page: Page, base: str, county_code: str) -> None:
    page.goto(f"{base}/")
    page.fill("input[name=token]", token(county_code))
    page.click("button[type=submit]")
    page.wait_for_load_state()


def settle(page: Page, base: str, county: County, within: float = 60) -> None:
    """Open the lagging page until every branch is on it (the projection catches up)."""
    deadline = time.monotonic() + within
    while True:
        page.goto(f"{base}/campaigns/{county.campaign_id}/lagging")
        total = page.locator("#lagging-total")
        if total.count() and total.inner_text() == str(BRANCHES):
            return
        assert time.monotonic() < deadline, page.inner_text("body")[:500]
        time.sleep(1)


def fits_the_phone(page: Page, what: str) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["scrollWidth"] <= found["innerWidth"], (what, found)
    assert found["out"] == [], (what, found["out"])


def no_serious_violation(page: Page, what: str) -> None:
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(AXE_RUN)
    assert violations == [], (what, violations)


def test_the_lagging_list_has_its_own_page_filtered_and_paged(
    platform: Platform, county: County
) -> None:
    base = platform.services["reporting"].url
    campaign = f"{base}/campaigns/{county.campaign_id}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(locale="zh-CN")
            signed_in(page, base, county.county)
            settle(page, base, county)
            # the whole list, a page at a time
            page.goto(f"{campaign}/lagging")
            assert page.inner_text("#lagging-total") == str(BRANCHES)
            first = page.locator("#lagging tbody tr").count()
            assert first == 50
            page.click("#next-page")
            assert page.locator("#lagging tbody tr").count() == BRANCHES - 50
            assert page.locator("#next-page").count() == 0
            # by reason: the odd ones evaluated themselves, the even ones did not
            page.goto(f"{campaign}/lagging")
            page.select_option("#reason", "grading_incomplete")
            page.click("#lagging-filters button[type=submit]")
            assert page.inner_text("#lagging-matching") == str(BRANCHES // 2)
            orgs = page.locator("#lagging tbody tr").evaluate_all(
                "rows => rows.map(r => r.dataset.org)"
            )
            assert sorted(orgs) == sorted(county.b(branch_key(i)) for i in range(0, BRANCHES, 2))
            # and by township, the filters kept from page to page
            page.select_option("#township", TOWNSHIPS[1])
            page.click("#lagging-filters button[type=submit]")
            expected = [i for i in range(0, BRANCHES, 2) if i % 3 == 1]
            assert page.inner_text("#lagging-matching") == str(len(expected))
            townships = page.locator("#lagging tbody tr td:nth-child(2)").all_inner_texts()
            assert set(townships) == {TOWNSHIPS[1]}
            page.goto(f"{campaign}/lagging?reason=commitment_missing&township=&page=2")
            assert page.inner_text("#lagging-matching") == str(BRANCHES)
            assert page.locator("#lagging tbody tr").count() == BRANCHES - 50
            assert "reason=commitment_missing" in (
                page.get_attribute("#previous-page", "href") or ""
            )
            assert page.goto(f"{campaign}/lagging?reason=nonsense").status == 422  # type: ignore[union-attr]
            # the campaign page shows the first few, and links to the rest
            page.goto(campaign)
            assert page.inner_text("#lagging-count") == str(BRANCHES)
            assert page.locator("#lagging tr[data-org]").count() == 10
            page.click("#lagging-all")
            assert page.url.endswith(f"/campaigns/{county.campaign_id}/lagging")
        finally:
            browser.close()


def pages_of(county: County) -> dict[str, str]:
    campaign = f"/campaigns/{county.campaign_id}"
    return {
        "campaign": campaign,
        "card": f"{campaign}/branches/{county.b('p00')}",
        "lagging": f"{campaign}/lagging",
        "emulation": f"{campaign}/emulation",
        "assessment": f"{campaign}/assessment",
        "supervision": f"{campaign}/supervision",
        "circulars": f"{campaign}/circulars",
    }


SCREENSHOTTED = ("campaign", "card", "lagging")


def test_every_page_reads_on_a_phone_and_at_desktop_width(
    platform: Platform, county: County
) -> None:
    base = platform.services["reporting"].url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                login = browser.new_page(locale="zh-CN", viewport=viewport)  # type: ignore[arg-type]
                login.goto(f"{base}/")
                if size == "phone":
                    fits_the_phone(login, "login")
                login.close()
                page = browser.new_page(locale="zh-CN", viewport=viewport)  # type: ignore[arg-type]
                signed_in(page, base, county.county)
                settle(page, base, county)
                for name, path in pages_of(county).items():
                    response = page.goto(f"{base}{path}")
                    assert response is not None and response.status == 200, (name, path)
                    if size == "phone":
                        fits_the_phone(page, name)
                    if name in SCREENSHOTTED:
                        shot = SCREENSHOTS / f"{size}-{name}.png"
                        page.screenshot(path=str(shot), full_page=True)
                if size == "phone":
                    # the long name wraps on the card; nothing is cut
                    page.goto(f"{base}{pages_of(county)['card']}")
                    assert LONG_NAME in page.inner_text("body")
                page.close()
        finally:
            browser.close()


def test_no_page_has_a_serious_or_critical_accessibility_violation(
    platform: Platform, county: County
) -> None:
    assert AXE.exists(), "axe-core is needed (make axe installs it from tools/axe)"
    base = platform.services["reporting"].url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(locale="zh-CN")
            page.goto(f"{base}/")
            assert page.get_attribute("html", "lang") == "zh-CN"
            no_serious_violation(page, "login")
            signed_in(page, base, county.county)
            settle(page, base, county)
            for name, path in pages_of(county).items():
                page.goto(f"{base}{path}")
                assert page.get_attribute("html", "lang") == "zh-CN", name
                no_serious_violation(page, name)
                assert page.locator("th:not([scope])").count() == 0, name
        finally:
            browser.close()
