"""Excel import end to end, on the real broker and services (issue 18).

1. A simulated county's campaign imported from XLSX gives the same reporting answers as the same
   simulation published directly. Two campaigns of one county run side by side: one published
   as `grassroots demo` publishes, one whose template-covered events (registrations, the three
   grading inputs, problems, public commitments with their tasks, progress and completions,
   activities, commendations) go through workbooks and `grassroots import`, the rest published
   directly. The order on a partition matters (a review names a revision; a phase's close is a
   barrier), so the second campaign goes out in the simulation's order: each run of consecutive
   covered events is one workbook, imported before the next run of other events.
2. The dashboard's upload page publishes through the real intake: an office signs in, checks a
   file, publishes the good rows; reporting shows them; importing the same file again changes
   nothing.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright
from typer.testing import CliRunner

from grassroots.cli import app
from grassroots.contract.examples import envelope
from grassroots.importing.exporting import covered, export_workbook
from grassroots.importing.sheets import SHEETS
from grassroots.importing.templates import build
from grassroots.simulation import CampaignSimulation
from tests.harness import Platform
from tests.intake_client import credential
from tests.scenario import at
from tests.signin import sign_in
from tests.test_dashboard_phones import PHONE, fits_the_phone, no_serious_violation
from tests.test_reporting import (
    CHROMIUM_FLAGS,
    SCREENSHOTS,
    Api,
    chromium,
    reporting_cli,
    token,
    until,
)

pytestmark = pytest.mark.usefixtures("platform")
BRANCHES = 12
SEED = 2012


def cli(*args: str) -> Any:
    done = CliRunner().invoke(app, list(args))
    assert done.exit_code == 0, f"{args[:2]}: {done.output}"
    return done


def publish_directly(events: list[dict[str, Any]], folder: Path) -> None:
    """As `grassroots demo` does: validated, published with the idempotent producer."""
    path = folder / f"direct-{uuid.uuid4().hex[:8]}.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), "utf-8")
    cli("publish", str(path))


def import_from_xlsx(
    events: list[dict[str, Any]], folder: Path, campaign: str, county: str
) -> None:
    data, rest = export_workbook(events)
    assert rest == []
    path = folder / f"import-{uuid.uuid4().hex[:8]}.xlsx"
    path.write_bytes(data)
    done = cli("import", str(path), "--campaign", campaign, "--county", county)
    assert f"已发布 {len(events)} 条" in done.stdout


def answers(api: Api, campaign: str) -> dict[str, Any]:
    """What an office reads: the summary, every branch's level in each round, the phase 3
    tables and the lagging list."""
    found: dict[str, Any] = {"summary": api.get(f"/v1/campaigns/{campaign}/summary").json()}
    for round_ in ("initial", "final"):
        page = api.get(f"/v1/campaigns/{campaign}/branches", round=round_, page_size=500).json()
        found[f"branches:{round_}"] = page
    for path in ("emulation", "commendations", "four-ones", "lagging"):
        found[path] = api.get(f"/v1/campaigns/{campaign}/{path}").json()
    # Commendations of one day and organisation are listed in event id order, and the two
    # campaigns' ids differ: compare them as a set.
    for body in found["commendations"].get("by_awarding_body", []):
        body["items"].sort(key=lambda item: json.dumps(item, ensure_ascii=False, sort_keys=True))
    answered: dict[str, Any] = without_campaign_id(found)
    return answered


def without_campaign_id(value: Any) -> Any:
    """The answers with the campaign's id left out: the two campaigns differ in it only."""
    if isinstance(value, dict):
        return {k: without_campaign_id(v) for k, v in value.items() if k != "campaign_id"}
    if isinstance(value, list):
        return [without_campaign_id(v) for v in value]
    return value


def differences(got: Any, expected: Any, path: str = "") -> list[str]:
    """Where two answers differ, by path (the first 20)."""
    if isinstance(got, dict) and isinstance(expected, dict):
        found = [
            change
            for key in sorted(set(got) | set(expected))
            for change in differences(got.get(key), expected.get(key), f"{path}.{key}")
        ]
    elif isinstance(got, list) and isinstance(expected, list) and len(got) == len(expected):
        found = [
            change
            for index, (a, b) in enumerate(zip(got, expected, strict=True))
            for change in differences(a, b, f"{path}[{index}]")
        ]
    else:
        found = [] if got == expected else [f"{path}: {got!r} ≠ {expected!r}"]
    return found[:20]


def complete(found: dict[str, Any]) -> bool:
    """The final round is published and every phase is closed."""
    summary = found["summary"]
    phases = summary.get("phases") or {}
    closed = all((phases.get(p) or {}).get("closed_at") for p in ("survey_grading", "assessment"))
    final = sum((summary.get("levels") or {}).get("final", {}).values() or [0])
    return bool(closed and final)


@pytest.fixture(scope="module")
def county() -> str:
    return f"7{int(uuid.uuid4().hex[:6], 16) % 100000:05d}"


def settled(api: Api, campaign: str) -> bool:
    """Every branch of the campaign has its settlement (集中整改阶段结算) in reporting."""
    page = api.get(f"/v1/campaigns/{campaign}/branches", round="initial", page_size=500)
    items = page.json().get("items", []) if page.status_code == 200 else []
    return len(items) == BRANCHES and all(i["completion_rate"] is not None for i in items)


def in_two_halves(
    api: Api, campaign: str, events: list[dict[str, Any]], send: Callable[[list[Any]], None]
) -> None:
    """Up to rectification's close, then — once every settlement is out — the rest. Grading's
    barrier at the final round covers what is on the topics when the assessment phase closes;
    a settlement still being computed then would not count (published in one burst, the final
    round could come before it), so both campaigns wait here alike."""
    close = next(
        index
        for index, e in enumerate(events)
        if e["type"] == "campaign.phase_closed" and e["data"]["phase"] == "rectification"
    )
    send(events[: close + 1])
    until(lambda: settled(api, campaign), bool, "the settlements", within=120)
    send(events[close + 1 :])


@pytest.fixture
def before_the_campaign(platform: Platform) -> Iterator[None]:
    """No sweep runs during the campaign (the clock is before it), so both campaigns see the
    same: what a phase's close decides, not when a sweep happened to run."""
    platform.set_clock(at("2012-02-01"))
    try:
        yield
    finally:
        platform.set_clock(None)


@pytest.mark.usefixtures("before_the_campaign")
def test_importing_the_county_from_xlsx_answers_as_publishing_it(
    platform: Platform, tmp_path: Path, county: str
) -> None:
    api = Api(platform, token(county))
    token_ = uuid.uuid4().hex[:6]
    direct_id, imported_id = f"xlsx-direct-{token_}", f"xlsx-import-{token_}"
    direct, imported = (
        list(
            CampaignSimulation(seed=SEED, branches=BRANCHES, county=county, campaign_id=c).events()
        )
        for c in (direct_id, imported_id)
    )
    in_two_halves(api, direct_id, direct, lambda events: publish_directly(events, tmp_path))
    workbooks = []

    def through_workbooks(events: list[dict[str, Any]]) -> None:
        for is_covered, run in itertools.groupby(events, key=covered):
            if is_covered:
                import_from_xlsx(list(run), tmp_path, imported_id, county)
                workbooks.append(1)
            else:
                publish_directly(list(run), tmp_path)

    in_two_halves(api, imported_id, imported, through_workbooks)
    assert len(workbooks) > 10  # the campaign's rows really came through many workbooks

    expected = until(
        lambda: answers(api, direct_id), complete, "the directly published campaign", within=180
    )
    expected = until(
        lambda: answers(api, direct_id), lambda now: now == expected, "a settled campaign"
    )
    assert expected["summary"]["branches"] == BRANCHES  # graded: not the committee
    assert expected["commendations"] and expected["emulation"]
    until(lambda: answers(api, imported_id), complete, "the imported campaign", within=180)
    deadline = time.monotonic() + 60
    while differences(got := answers(api, imported_id), expected):
        if time.monotonic() > deadline:
            pytest.fail(f"the imported campaign answers otherwise: {differences(got, expected)}")
        time.sleep(0.5)
    assert got == expected


def test_importing_the_same_file_again_publishes_nothing_new(
    platform: Platform, tmp_path: Path, county: str
) -> None:
    """The same rows give the same events (ids and content): the consumers apply them once."""
    campaign = f"xlsx-again-{uuid.uuid4().hex[:6]}"
    simulation = CampaignSimulation(seed=SEED, branches=3, county=county, campaign_id=campaign)
    events = [e for e in simulation.events() if covered(e)][:20]
    data, _ = export_workbook(events)
    path = tmp_path / "again.xlsx"
    path.write_bytes(data)
    first = cli("import", str(path), "--campaign", campaign, "--county", county, "--dry-run")
    second = cli("import", str(path), "--campaign", campaign, "--county", county, "--dry-run")
    assert first.stdout == second.stdout and first.stdout.count("\n") == 20


# ---------------------------------------------------------------- the upload page, real intake


def office_session(platform: Platform, county: str) -> httpx.Client:
    """A browser-like client of an office person, signed in with the login form."""
    bearer = reporting_cli(
        "token", "create", "--county", county, "--label", "党委办 导入测试", "--role", "office"
    )
    client = httpx.Client(base_url=platform.services["reporting"].url, timeout=60)
    signed_in = client.post("/", data={"token": bearer})
    assert signed_in.status_code == 303
    return client


def small_workbook(county: str) -> bytes:
    """Two registrations and a school's three grading inputs; one self-evaluation more with
    its 工作业绩好 in words (the bad row)."""
    book = build(SHEETS, example=False)
    committee, school = f"{county}-edu-c", f"{county}-edu-0001"
    book["党组织登记"].append(
        [
            committee,
            "中共测试县教育局委员会",
            "党委",
            None,
            "测试县教育局",
            None,
            "张书记",
            None,
            None,
            15,
            "2012-03-01",
        ]
    )
    book["党组织登记"].append(
        [
            school,
            "测试县城关中学党支部",
            "党支部",
            committee,
            "测试县城关中学",
            "城关街道",
            "王建国",
            None,
            None,
            30,
            "2012-03-01",
        ]
    )
    scores = [92, 93, 94, 95, 96]
    book["党组织自评"].append([school, "分类定级", *scores, None, "2012-03-21"])
    book["党组织自评"].append([school, "分类定级", 92, 93, 94, "很好", 96, None, "2012-03-22"])
    book["党员群众评议"].append([school, "分类定级", 40, *scores, "2012-03-21"])
    book["上级党组织评定"].append(
        [school, "分类定级", committee, *scores, None, None, None, "2012-03-21"]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def phase(county: str, campaign: str, action: str, tmp_path: Path) -> None:
    phases = [{"phase": "survey_grading", "opens_on": "2012-03-01", "closes_on": "2012-04-15"}]
    events = [
        envelope(
            f"campaign.phase_{action}",
            {"campaign_id": campaign, "phase": "survey_grading"},
            campaign_id=campaign,
            county=county,
            time=at("2012-04-15" if action == "closed" else "2012-03-01"),
        )
    ]
    if action == "opened":
        launched = {"campaign_id": campaign, "name": "导入测试", "year": 2012, "phases": phases}
        events.insert(
            0,
            envelope(
                "campaign.launched",
                launched,
                campaign_id=campaign,
                county=county,
                time=at("2012-03-01"),
            ),
        )
    publish_directly(events, tmp_path)


def check_id(html: str) -> str:
    found = re.search(r'name="check" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_the_upload_page_publishes_the_good_rows_through_the_intake(
    platform: Platform, tmp_path: Path
) -> None:
    county = f"7{int(uuid.uuid4().hex[:6], 16) % 100000:05d}"
    campaign = f"xlsx-page-{uuid.uuid4().hex[:6]}"
    phase(county, campaign, "opened", tmp_path)
    browser = office_session(platform, county)
    api = Api(platform, token(county))
    until(
        lambda: api.get(f"/v1/campaigns/{campaign}/summary").status_code,
        lambda status: status == 200,
        "the campaign",
    )
    page = f"/campaigns/{campaign}/import"
    shown = browser.get(page)
    assert shown.status_code == 200 and "intake-not-configured" not in shown.text

    origin = {"Origin": platform.services["reporting"].url}
    upload = {"file": ("数据.xlsx", small_workbook(county))}
    checked = browser.post(page, files=upload, headers=origin)
    assert checked.status_code == 200
    assert BAD_ROW.findall(checked.text) == [("党组织自评", "3", "F")]
    assert "只发布正确的 5 条" in checked.text
    done = browser.post(f"{page}/publish", data={"check": check_id(checked.text)}, headers=origin)
    assert done.status_code == 200, done.text
    assert '<strong id="published-count">5</strong>' in done.text

    # Grading has the three inputs: the close grades the school (strong: 94 on average).
    phase(county, campaign, "closed", tmp_path)
    school = f"{county}-edu-0001"
    card = until(
        lambda: api.get(f"/v1/campaigns/{campaign}/branches/{school}").json(),
        lambda card: (card.get("grades") or {}).get("initial"),
        "the school graded from the imported inputs",
    )
    assert card["grades"]["initial"]["level"] == "strong"

    again = browser.post(page, files=upload, headers=origin)  # the same file again
    done = browser.post(f"{page}/publish", data={"check": check_id(again.text)}, headers=origin)
    assert '<strong id="published-count">5</strong>' in done.text  # accepted, as repeats
    summary = api.get(f"/v1/campaigns/{campaign}/summary").json()
    assert summary["branches"] == 1  # the school (the committee is not graded)
    assert api.get(f"/v1/campaigns/{campaign}/branches/{school}").json() == card


BAD_ROW = re.compile(r'<tr class="bad" data-sheet="([^"]+)" data-row="(\d+)" data-column="(\w+)"')


def test_the_command_publishes_over_the_intake_with_the_countys_credential(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`grassroots import --intake URL`: the county system's credential from the environment;
    another county's credential is refused as a whole (403) and said so."""
    county = f"7{int(uuid.uuid4().hex[:6], 16) % 100000:05d}"
    campaign = f"xlsx-intake-{uuid.uuid4().hex[:6]}"
    phase(county, campaign, "opened", tmp_path)
    path = tmp_path / "数据.xlsx"
    path.write_bytes(small_workbook(county))
    url = platform.services["intake"].url
    args = ["import", str(path), "--campaign", campaign, "--county", county, "--intake", url]

    monkeypatch.setenv("GRASSROOTS_INTAKE_CREDENTIAL", credential("610000", f"别县系统 {campaign}"))
    other = CliRunner().invoke(app, [*args, "--publish-good-rows"])
    assert other.exit_code == 1
    assert "此接入凭据不能发布本县区的数据（403）" in other.stderr

    monkeypatch.setenv("GRASSROOTS_INTAKE_CREDENTIAL", credential(county, f"本县系统 {campaign}"))
    kept = CliRunner().invoke(app, args)  # a file with an error: nothing goes out
    assert kept.exit_code == 1 and "未发布任何数据" in kept.stdout
    done = CliRunner().invoke(app, [*args, "--publish-good-rows"])
    assert done.exit_code == 1  # the bad row stays bad
    assert "党组织自评 第3行 F列 工作业绩好: 应为数字" in done.stderr
    assert "已发布 5 条" in done.stdout
    phase(county, campaign, "closed", tmp_path)
    api = Api(platform, token(county))
    school = f"{county}-edu-0001"
    card = until(
        lambda: api.get(f"/v1/campaigns/{campaign}/branches/{school}").json(),
        lambda card: (card.get("grades") or {}).get("initial"),
        "the school graded from the inputs sent over the intake",
    )
    assert card["grades"]["initial"]["level"] == "strong"


def test_the_upload_page_reads_on_a_phone_for_everyone(platform: Platform, tmp_path: Path) -> None:
    """In a browser at 390 px: the page and its errors table fit the phone, with no serious
    axe-core violation; checking then publishing works with the page's own forms."""
    county = f"7{int(uuid.uuid4().hex[:6], 16) % 100000:05d}"
    campaign = f"xlsx-phone-{uuid.uuid4().hex[:6]}"
    phase(county, campaign, "opened", tmp_path)
    bearer = reporting_cli(
        "token", "create", "--county", county, "--label", "党委办 手机", "--role", "office"
    )
    api = Api(platform, token(county))
    until(
        lambda: api.get(f"/v1/campaigns/{campaign}/summary").status_code,
        lambda status: status == 200,
        "the campaign",
    )
    path = tmp_path / "数据.xlsx"
    path.write_bytes(small_workbook(county))
    base = platform.services["reporting"].url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(locale="zh-CN", viewport=PHONE)  # type: ignore[arg-type]
            sign_in(page, base, bearer)
            page.goto(f"{base}/campaigns/{campaign}")
            page.click("#import-link")
            page.wait_for_selector("#upload-form")
            fits_the_phone(page, "import")
            no_serious_violation(page, "import")
            page.set_input_files("#file", str(path))
            page.click("#check-file")
            page.wait_for_selector("#check")
            assert page.locator("tr.bad").count() == 1
            assert "日期" not in page.inner_text("#errors")  # the one bad cell: a score in words
            assert "工作业绩好" in page.inner_text("#errors")
            fits_the_phone(page, "import checked")
            no_serious_violation(page, "import checked")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "phone-import.png"), full_page=True)
            page.click("#publish")
            page.wait_for_selector("#published")
            assert page.inner_text("#published-count") == "5"
        finally:
            browser.close()
