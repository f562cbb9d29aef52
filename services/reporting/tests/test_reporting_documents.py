"""The printable documents on the real PostgreSQL (a scratch schema) through the service's own
HTTP app: an issued circular and the campaign report as PDFs printed by headless Chromium,
read back with poppler's `pdftotext` (the seeded numbers and texts, exactly) and `pdftoppm`
(page 1 of the circular is not blank and its issuing body is printed in red at the top)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from grassroots.contract.examples import CAMPAIGN, COUNTY, CST, DATA, envelope
from grassroots.plumbing.service import build_app
from grassroots.testing import apply_in_batches, as_records, scratch_schemas
from reporting.app import DEFINITION
from reporting.auth import token_hash
from reporting.config import ReportingSettings
from reporting.dashboard import COOKIE
from reporting.store import tokens

MIGRATIONS = Path(__file__).parents[1] / "migrations"
SCREENSHOTS = Path(__file__).parents[3] / ".local" / "screenshots"
PEPPER = "a-pepper-for-the-documents-tests"
START = dt.datetime(2012, 5, 21, 9, 0, tzinfo=CST)
COMMITTEE = "610526-edu-committee"
B1, B2, B3 = (f"610526-edu-000{n}" for n in range(1, 4))
CIRCULAR = "circular-pucheng-edu-2012-2012-05-21"
DRAFTING = "circular-pucheng-edu-2012-2012-05-28"
NOTIFICATION = "/grassroots/notification"


def on(
    when: dt.datetime, event_type: str, source: str | None = None, **data: Any
) -> dict[str, Any]:
    return envelope(
        event_type, DATA[event_type] | data, time=when, **({"source": source} if source else {})
    )


def days(n: int) -> dt.datetime:
    return START + dt.timedelta(days=n)


def registered(branch_id: str, name: str, kind: str = "branch") -> dict[str, Any]:
    parent = None if kind == "committee" else COMMITTEE
    return on(
        days(-80),
        "org.branch_registered",
        branch_id=branch_id,
        name=name,
        kind=kind,
        parent_id=parent,
    )


def graded(
    branch_id: str, round_: str, level: str, day: int, moved_up: bool = False
) -> dict[str, Any]:
    return on(
        days(day),
        "grading.branch_graded",
        branch_id=branch_id,
        round=round_,
        level=level,
        moved_up=moved_up,
    )


def item(section: str, org_id: str, basis: str, text: str) -> dict[str, str]:
    return {
        "item_id": f"{section}-{org_id}-{basis}",
        "section": section,
        "org_id": org_id,
        "basis": basis,
        "text": text,
    }


ITEMS = [
    item("criticism", B1, "leadership_attention", "城关中学党支部领导重视不够，限期一周内整改。"),
    item("praise", B2, "commendable", "东街小学党支部整改台账规范，予以表扬。"),
    item("criticism", B3, "progress_report_missing", "尧山中学党支部未按时报送工作进展。"),
]
EVENTS = [
    on(days(-90), "campaign.launched"),
    on(days(-80), "campaign.phase_opened", phase="survey_grading"),
    registered(COMMITTEE, "蒲城县教育局党委", "committee"),
    registered(B1, "城关中学党支部"),
    registered(B2, "东街小学党支部"),
    registered(B3, "尧山中学党支部"),
    graded(B1, "initial", "strong", -60),
    graded(B2, "initial", "average", -60),
    graded(B3, "initial", "weak", -60),
    graded(B1, "final", "strong", 60),
    graded(B2, "final", "fairly_strong", 60, moved_up=True),
    graded(B3, "final", "average", 60, moved_up=True),
    on(days(50), "emulation.commended", branch_id=B2),
    on(days(-7), "supervision.progress_reported", org_id=B1, reported_on="2012-05-14"),
    on(days(-6), "supervision.progress_reported", org_id=B3, reported_on="2012-05-15"),
    on(days(30), "supervision.progress_reported", org_id=B1, reported_on="2012-06-20"),
    on(days(-3), "supervision.inspected", org_id=B1, inspected_on="2012-05-18"),
    on(
        days(-1),
        "notification.circular_drafted",
        NOTIFICATION,
        circular_id=CIRCULAR,
        trigger="weekly",
        title="关于基层组织建设年活动进展情况的通报",
        items=ITEMS,
    ),
    on(days(0), "notification.circular_issued", NOTIFICATION, circular_id=CIRCULAR, recipients=3),
    on(
        days(6),
        "notification.circular_drafted",
        NOTIFICATION,
        circular_id=DRAFTING,
        trigger="weekly",
        title="关于第二周进展情况的通报",
        items=ITEMS[:1],
    ),
]


class Runtime:
    """What the routes use of the service's runtime: its pool and its clock."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    def clock(self) -> dt.datetime:
        return days(70)


@dataclass
class Service:
    client: httpx.AsyncClient
    tokens: dict[str, str]

    async def get(self, who: str, path: str) -> httpx.Response:
        return await self.client.get(path, headers={"Authorization": f"Bearer {self.tokens[who]}"})


@pytest.fixture
async def service(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Service]:
    monkeypatch.setenv("GRASSROOTS_TOKEN_PEPPER", PEPPER)
    async with scratch_schemas("reporting_documents", MIGRATIONS, 1) as pools:
        pool = pools[0]
        await apply_in_batches(pool, DEFINITION, as_records(EVENTS), 5, now=days(70))
        app = build_app(DEFINITION)
        app.state.runtime = Runtime(pool)
        app.state.reporting_settings = ReportingSettings()
        made = {}
        async with pool.acquire() as conn:
            for who, county in (("reader", COUNTY), ("elsewhere", "610527")):
                made[who] = f"gr_{who}-token"
                await tokens.create(
                    conn,
                    token_hash=token_hash(made[who], PEPPER),
                    county_code=county,
                    branch_id=None,
                    label=who,
                    role="reader",
                )
                await tokens.create_session(
                    conn,
                    session_hash=token_hash(f"session-of-{who}", PEPPER),
                    token_hash=token_hash(made[who], PEPPER),
                    ttl_seconds=3600,
                )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reporting.test") as c:
            yield Service(c, made)


def text_of(pdf: bytes, tmp_path: Path, *, layout: bool = False) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def page_png(pdf: bytes, tmp_path: Path, name: str, dpi: int, page: int = 1) -> Path:
    """A page of the PDF as a PNG in .local/screenshots/ (kept as an artefact)."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = SCREENSHOTS / f"{name}-pdf"
    args = ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile"]
    subprocess.run([*args, str(path), str(stem)], check=True)
    return stem.with_suffix(".png")


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def test_an_issued_circular_prints_as_the_committees_document(
    service: Service, tmp_path: Path
) -> None:
    answer = await service.get("reader", f"/v1/campaigns/{CAMPAIGN}/circulars/{CIRCULAR}.pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    text = flat(text_of(answer.content, tmp_path))
    expected = [
        "中共蒲城县教育局委员会办公室",
        "蒲教党办〔2012〕1号",
        "关于基层组织建设年活动进展情况的通报",
        "各支部（总支）：",
        "一、通报表扬",
        "（一）东街小学党支部整改台账规范，予以表扬。",
        "二、通报批评",
        "（一）城关中学党支部领导重视不够，限期一周内整改。",
        "（二）尧山中学党支部未按时报送工作进展。",
        "中共蒲城县教育局委员会办公室2012年5月21日",
    ]
    at = 0
    for part in expected:  # each once, in this order
        found = text.find(part, at)
        assert found >= 0, (part, text)
        at = found + len(part)

    page_png(answer.content, tmp_path, "circular-large", 100)  # to look at
    width, height, pixels = read_png(page_png(answer.content, tmp_path, "circular", 50))
    assert abs(width - 413) <= 1 and abs(height - 585) <= 1  # A4 at 50 dpi
    top = [pixels[y][x] for y in range(height // 4) for x in range(width)]
    rest = [pixels[y][x] for y in range(height // 4, height) for x in range(width)]
    assert sum(1 for p in top if is_red(p)) > 500  # the issuing body and the rule
    assert not any(is_red(p) for p in rest)
    assert sum(1 for p in rest if max(p) < 128) > 1000  # the text: not blank


def is_red(pixel: tuple[int, int, int]) -> bool:
    r, g, b = pixel
    return r > 150 and g < 90 and b < 90


def read_png(path: Path) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """An 8-bit RGB PNG as rows of pixels (what pdftoppm writes), with the standard library."""
    import struct
    import zlib

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, width, height = 8, b"", 0, 0
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + size]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 2)
        elif kind == b"IDAT":
            idat += body
        at += 12 + size
    raw, stride, rows = zlib.decompress(idat), width * 3, []
    previous = bytearray(stride)
    for y in range(height):
        row_filter: int = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - 3] if i >= 3 else 0
            up, corner = previous[i], previous[i - 3] if i >= 3 else 0
            if row_filter == 1:
                line[i] = (line[i] + left) & 255
            elif row_filter == 2:
                line[i] = (line[i] + up) & 255
            elif row_filter == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif row_filter == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (
                    line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)
                ) & 255
        rows.append([tuple(line[x * 3 : x * 3 + 3]) for x in range(width)])
        previous = line
    return width, height, rows  # type: ignore[return-value]


async def test_only_an_issued_circular_of_the_county_prints(service: Service) -> None:
    base = f"/v1/campaigns/{CAMPAIGN}/circulars"
    draft = await service.get("reader", f"{base}/{DRAFTING}.pdf")
    assert (draft.status_code, draft.json()) == (
        409,
        {"detail": f"circular {DRAFTING} is not issued"},
    )
    unknown = await service.get("reader", f"{base}/circular-nothing.pdf")
    assert unknown.status_code == 404
    elsewhere = await service.get("elsewhere", f"{base}/{CIRCULAR}.pdf")
    assert elsewhere.status_code == 403
    assert (await service.client.get(f"{base}/{CIRCULAR}.pdf")).status_code == 401
    json = await service.get("reader", f"{base}/{CIRCULAR}")
    assert json.json()["document_number"] == "蒲教党办〔2012〕1号"  # the JSON route still answers


async def test_the_campaign_report_has_the_seeded_numbers(service: Service, tmp_path: Path) -> None:
    answer = await service.get("reader", f"/v1/campaigns/{CAMPAIGN}/report.pdf")
    assert answer.status_code == 200, answer.text
    layout = text_of(answer.content, tmp_path, layout=True)
    rows = {tuple(line.split()) for line in layout.splitlines()}
    # levels: initial (分类定级) then final (晋位升级复评)
    for row in [("强", "1", "1"), ("较强", "0", "1"), ("一般", "1", "1"), ("薄弱", "1", "0")]:
        assert row in rows, (row, layout)
    text = flat(layout)
    assert "基层组织建设年工作情况报告" in text
    assert "蒲城县教育系统基层组织建设年" in text
    assert "基层党组织3个" in text
    assert "复评中晋位升级的党组织2个" in text
    assert "受表彰1项" in text
    page_png(answer.content, tmp_path, "report", 100)  # to look at
    page_png(answer.content, tmp_path, "report-page-2", 100, page=2)
    for phase in (
        "调查摸底、分类定级",
        "集中整改、晋位升级",
        "学习先进、创先争优",
        "分析评估、巩固成果",
    ):
        assert phase in text


async def test_the_dashboard_downloads_with_the_cookie(service: Service) -> None:
    cookie = {"Cookie": f"{COOKIE}=session-of-reader"}  # a session id, not the token
    for path in (
        f"/campaigns/{CAMPAIGN}/report.pdf",
        f"/campaigns/{CAMPAIGN}/circulars/{CIRCULAR}.pdf",
        f"/campaigns/{CAMPAIGN}/progress.pdf?from=2012-05-14&to=2012-05-21",
    ):
        got = await service.client.get(path, headers=cookie)
        assert (got.status_code, got.content[:4]) == (200, b"%PDF"), path
        assert (await service.client.get(path)).status_code == 303

    campaign = await service.client.get(f"/campaigns/{CAMPAIGN}", headers=cookie)
    assert f'id="report-pdf-link" href="/campaigns/{CAMPAIGN}/report.pdf"' in campaign.text
    assert f'action="/campaigns/{CAMPAIGN}/progress.pdf"' in campaign.text
    page = await service.client.get(f"/campaigns/{CAMPAIGN}/circulars/{CIRCULAR}", headers=cookie)
    link = f'id="circular-pdf-link" href="/campaigns/{CAMPAIGN}/circulars/{CIRCULAR}.pdf"'
    assert link in page.text
    draft = await service.client.get(f"/campaigns/{CAMPAIGN}/circulars/{DRAFTING}", headers=cookie)
    assert draft.status_code == 200 and "circular-pdf-link" not in draft.text


async def test_the_progress_report_counts_only_its_days(service: Service, tmp_path: Path) -> None:
    path = f"/v1/campaigns/{CAMPAIGN}/progress.pdf"
    answer = await service.get("reader", f"{path}?from=2012-05-14&to=2012-05-21")
    assert answer.status_code == 200, answer.text
    text = flat(text_of(answer.content, tmp_path))
    assert "2012年5月14日至2012年5月21日" in text
    assert "本期2个党组织报送工作进展2次；开展督查1次；印发通报1份；受表彰0项。" in text
    page_png(answer.content, tmp_path, "progress", 100)  # to look at
    assert "蒲教党办〔2012〕1号关于基层组织建设年活动进展情况的通报" in text
    later = await service.get("reader", f"{path}?from=2012-06-01&to=2012-07-31")
    text = flat(text_of(later.content, tmp_path))
    assert "本期1个党组织报送工作进展1次；开展督查0次；印发通报0份；受表彰1项。" in text
    backwards = await service.get("reader", f"{path}?from=2012-05-21&to=2012-05-14")
    assert backwards.status_code == 422
    assert (await service.get("reader", f"{path}?from=may&to=2012-05-14")).status_code == 422
