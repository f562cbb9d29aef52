"""The office's Excel import page on the real PostgreSQL (a scratch schema), publishing over
real HTTP to a stand-in for the intake that answers as the intake does (the end-to-end test
with the intake itself is tests/test_import_page_intake.py): the templates to download; a file
checked shows every bad cell and the rows of another county's organisations, publishes
nothing; publishing is a separate step that sends only the good rows, for the office's county;
a reader may not import; a form from another site is refused; without an intake the page says
so."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from grassroots.contract.examples import CST, DATA, envelope
from grassroots.importing.sheets import SHEETS
from grassroots.importing.templates import ALL_IN_ONE, build
from grassroots.testing import apply_in_batches, as_records, scratch_schemas
from reporting import import_page
from reporting.app import DEFINITION
from reporting.auth import token_hash
from reporting.config import ReportingSettings
from reporting.dashboard import COOKIE
from reporting.import_page import NOT_CONFIGURED, OFFICE_ONLY, OTHER_SITE
from reporting.store import tokens

MIGRATIONS = Path(__file__).parents[1] / "migrations"
PEPPER = "pepper-for-the-import-page-tests"
COUNTY = "610526"
OTHER = "610527"
CAMPAIGN = "import-page-2012"
HOST = "reporting.test"


class Intake:
    """Answers POST /v1/events as the intake does (202, a result per event); keeps what came."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.credentials: list[str] = []
        received, credentials = self.received, self.credentials

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                credentials.append(self.headers.get("Authorization", ""))
                batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.extend(batch)
                results = [
                    {"index": i, "id": event["id"], "status": "accepted"}
                    for i, event in enumerate(batch)
                ]
                body = json.dumps({"accepted": len(batch), "refused": 0, "results": results})
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def intake() -> Iterator[Intake]:
    running = Intake()
    yield running
    running.close()


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[asyncpg.Pool]:
    async with scratch_schemas("reporting_import", MIGRATIONS, 1) as pools:
        pool = pools[0]
        when = dt.datetime(2012, 3, 1, 9, tzinfo=CST)
        launched = {**DATA["campaign.launched"], "campaign_id": CAMPAIGN}
        foreign = {**DATA["org.branch_registered"], "branch_id": f"{OTHER}-edu-0001"}
        events = [
            envelope("campaign.launched", launched, campaign_id=CAMPAIGN, time=when),
            envelope("org.branch_registered", foreign, county=OTHER, time=when),
        ]
        await apply_in_batches(pool, DEFINITION, as_records(events), 10, now=when)
        yield pool


async def session(pool: asyncpg.Pool, role: str) -> str:
    unique = uuid.uuid4().hex[:8]
    token, session_id = f"gr_token_{role}_{unique}", f"session_{role}_{unique}"
    async with pool.acquire() as conn:
        await tokens.create(
            conn,
            token_hash=token_hash(token, PEPPER),
            county_code=COUNTY,
            branch_id=None,
            label=f"党委办（{role}）",
            role=role,
        )
        await tokens.create_session(
            conn,
            session_hash=token_hash(session_id, PEPPER),
            token_hash=token_hash(token, PEPPER),
            ttl_seconds=600,
        )
    return session_id


def client(pool: asyncpg.Pool, session_id: str, intake_url: str | None) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(import_page.router)
    app.state.runtime = SimpleNamespace(pool=pool)
    app.state.reporting_settings = ReportingSettings.model_validate(
        {
            "GRASSROOTS_TOKEN_PEPPER": PEPPER,
            "intake_url": intake_url,
            "intake_credential": "gi_dashboard" if intake_url else None,
        }
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=f"http://{HOST}",
        cookies={COOKIE: session_id},
    )


def workbook() -> bytes:
    """Two registrations (one member count in words), two self-evaluations (one score above
    100), two activities (one of another county's organisation)."""
    book = build(SHEETS, example=False)
    book["党组织登记"].append(
        [
            f"{COUNTY}-edu-c",
            "中共蒲城县教育局委员会",
            "党委",
            None,
            "蒲城县教育局",
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
            f"{COUNTY}-edu-0001",
            "蒲城县城关中学党支部",
            "党支部",
            f"{COUNTY}-edu-c",
            "蒲城县城关中学",
            "城关街道",
            "王建国",
            None,
            None,
            "很多",
            "2012-03-01",
        ]
    )
    book["党组织自评"].append(
        [f"{COUNTY}-edu-0001", "分类定级", 90, 91, 92, 93, 94, None, "2012-03-21"]
    )
    book["党组织自评"].append(
        [f"{COUNTY}-edu-c", "分类定级", 120, 91, 92, 93, 94, None, "2012-03-21"]
    )
    book["活动开展"].append(
        [f"{COUNTY}-edu-0001", "结对共建", "城乡学校党支部结对共建", "2012-07-06", "2012-07-07"]
    )
    book["活动开展"].append(
        [f"{OTHER}-edu-0001", "结对共建", "城乡学校党支部结对共建", "2012-07-06", "2012-07-07"]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(data: bytes) -> dict[str, Any]:
    return {"files": {"file": ("数据.xlsx", data, import_page.XLSX)}}


def cells(html: str) -> list[str]:
    """The errors table's rows as `sheet row column: reason`."""
    rows = re.findall(
        r'<tr class="bad"[^>]*><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>', html
    )
    return [f"{sheet} {row} {column}: {reason}" for sheet, row, column, reason in rows]


async def test_the_page_offers_every_template_and_the_form(pool: asyncpg.Pool) -> None:
    async with client(pool, await session(pool, "office"), "http://127.0.0.1:9") as office:
        shown = await office.get(f"/campaigns/{CAMPAIGN}/import")
        assert shown.status_code == 200
        assert 'id="upload-form"' in shown.text and "intake-not-configured" not in shown.text
        every = await office.get(f"/campaigns/{CAMPAIGN}/import/templates/{ALL_IN_ONE}.xlsx")
        assert every.status_code == 200
        book = load_workbook(io.BytesIO(every.content))
        assert book.sheetnames[0] == "说明" and "任务" in book.sheetnames
        assert f"/import/templates/{ALL_IN_ONE}.xlsx" in shown.text


async def test_a_checked_file_shows_each_bad_cell_and_publishes_only_when_asked(
    pool: asyncpg.Pool, intake: Intake
) -> None:
    async with client(pool, await session(pool, "office"), intake.url) as office:
        checked = await office.post(f"/campaigns/{CAMPAIGN}/import", **upload(workbook()))
        assert checked.status_code == 200, checked.text
        assert cells(checked.text) == [
            "党组织登记 第3行 J 党员人数: 应为数字",
            "党组织自评 第3行 C 领导班子好: 不能大于100",
            f"活动开展 第3行 A 党组织编号: 党组织 {OTHER}-edu-0001 登记在其他县区（{OTHER}），不能由本县导入",
        ]
        assert intake.received == []  # checking publishes nothing
        assert "只发布正确的 3 条" in checked.text
        check = checked.text.split('name="check" value="')[1].split('"')[0]

        done = await office.post(
            f"/campaigns/{CAMPAIGN}/import/publish",
            content=f"check={check}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200, done.text
        assert '<strong id="published-count">3</strong>' in done.text
        assert [(e["type"], e["subject"]) for e in intake.received] == [
            ("org.branch_registered", f"{COUNTY}-edu-c"),
            ("grading.self_evaluated", f"{COUNTY}-edu-0001"),
            ("emulation.activity_reported", f"{COUNTY}-edu-0001"),
        ]
        assert {e["countycode"] for e in intake.received} == {COUNTY}
        assert intake.credentials == ["Bearer gi_dashboard"]

        again = await office.post(  # a check is published once
            f"/campaigns/{CAMPAIGN}/import/publish",
            content=f"check={check}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert again.status_code == 410 and len(intake.received) == 3

        # The same file again: the same events (same ids), which the consumers apply once.
        second = await office.post(f"/campaigns/{CAMPAIGN}/import", **upload(workbook()))
        check = second.text.split('name="check" value="')[1].split('"')[0]
        await office.post(
            f"/campaigns/{CAMPAIGN}/import/publish",
            content=f"check={check}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert [e["id"] for e in intake.received[3:]] == [e["id"] for e in intake.received[:3]]


async def test_a_reader_or_another_site_may_not_import(pool: asyncpg.Pool, intake: Intake) -> None:
    async with client(pool, await session(pool, "reader"), intake.url) as reader:
        shown = await reader.get(f"/campaigns/{CAMPAIGN}/import")
        assert 'id="office-only"' in shown.text and 'id="upload-form"' not in shown.text
        refused = await reader.post(f"/campaigns/{CAMPAIGN}/import", **upload(workbook()))
        assert refused.status_code == 403 and OFFICE_ONLY in refused.text
    async with client(pool, await session(pool, "office"), intake.url) as office:
        refused = await office.post(
            f"/campaigns/{CAMPAIGN}/import",
            headers={"Origin": "https://elsewhere.example"},
            **upload(workbook()),
        )
        assert refused.status_code == 403 and OTHER_SITE in refused.text
    assert intake.received == []


async def test_without_an_intake_the_page_says_so(pool: asyncpg.Pool) -> None:
    async with client(pool, await session(pool, "office"), None) as office:
        shown = await office.get(f"/campaigns/{CAMPAIGN}/import")
        assert NOT_CONFIGURED in shown.text
        checked = await office.post(f"/campaigns/{CAMPAIGN}/import", **upload(workbook()))
        assert checked.status_code == 200 and "publish-form" not in checked.text
        junk = await office.post(f"/campaigns/{CAMPAIGN}/import", **upload(b"not a workbook"))
        assert junk.status_code == 400 and "文件无法打开" in junk.text
