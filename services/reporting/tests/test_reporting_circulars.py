"""The office's circulars on the real PostgreSQL (a scratch schema), through the service's own
HTTP app (httpx's ASGI transport; the unit of work on the scratch schema): a draft read by any
county token, edits, sign-off and discards by an office token only, each decision published
exactly once with the token's person, a second sign-off refused even when two race, and the
decisions read back from the topic changing nothing — or, replayed before their draft as a
rebuild does, giving the same circular. The dashboard's forms too."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from grassroots.contract.examples import CAMPAIGN, COUNTY, CST, DATA, envelope
from grassroots.plumbing.service import build_app
from grassroots.plumbing.unit_of_work import UnitOfWork, open_unit_of_work
from grassroots.testing import apply_in_batches, as_records, rows_of, scratch_schemas
from reporting.app import DEFINITION
from reporting.auth import READ_ONLY, token_hash
from reporting.cli import app as cli
from reporting.config import ReportingSettings
from reporting.dashboard import COOKIE
from reporting.store import tokens
from reporting.store.ingest import ReportingStore

MIGRATIONS = Path(__file__).parents[1] / "migrations"
PEPPER = "a-pepper-for-the-circulars-tests"
START = dt.datetime(2012, 5, 21, 9, 0, tzinfo=CST)
COMMITTEE = "610526-edu-committee"
BRANCH = "610526-edu-0007"
OTHER = "610526-edu-0008"
CIRCULAR = "circular-pucheng-edu-2012-2012-05-21"
NOTIFICATION = "/grassroots/notification"
TABLES = ("circulars", "circular_items", "circular_decisions")


def on(
    when: dt.datetime, event_type: str, source: str | None = None, **data: Any
) -> dict[str, Any]:
    return envelope(
        event_type, DATA[event_type] | data, time=when, **({"source": source} if source else {})
    )


def registered(branch_id: str, name: str, kind: str = "branch") -> dict[str, Any]:
    parent = None if kind == "committee" else COMMITTEE
    return on(
        START - dt.timedelta(days=80),
        "org.branch_registered",
        branch_id=branch_id,
        name=name,
        kind=kind,
        parent_id=parent,
    )


def item(section: str, org_id: str, basis: str, text: str) -> dict[str, str]:
    return {
        "item_id": f"{section}-{org_id}-{basis}",
        "section": section,
        "org_id": org_id,
        "basis": basis,
        "text": text,
    }


CRITICISED = item("criticism", BRANCH, "leadership_attention", "城关中学党支部领导重视不够。")
LATE = item("criticism", OTHER, "progress_report_missing", "东街小学党支部未按时报送工作进展。")
PRAISED = item("praise", OTHER, "commendable", "东街小学党支部整改台账规范，予以表扬。")
DRAFTED = on(
    START - dt.timedelta(hours=1),
    "notification.circular_drafted",
    NOTIFICATION,
    circular_id=CIRCULAR,
    trigger="weekly",
    title="关于基层组织建设年活动进展情况的通报",
    items=[CRITICISED, LATE, PRAISED],
)
SETUP = [
    on(START - dt.timedelta(days=90), "campaign.launched"),
    registered(COMMITTEE, "蒲城县教育局党委", "committee"),
    registered(BRANCH, "城关中学党支部"),
    registered(OTHER, "东街小学党支部"),
]


class ScratchRuntime:
    """What the routes use of the service's runtime: its pool, and units of work on it whose
    clock moves a minute each (so every decision has its own time)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.now = START

    def unit_of_work(
        self, now: dt.datetime | None = None
    ) -> AbstractAsyncContextManager[UnitOfWork[ReportingStore]]:
        self.now += dt.timedelta(minutes=1)
        return open_unit_of_work(self.pool, ReportingStore, service="reporting", now=self.now)


@dataclass
class Office:
    pool: asyncpg.Pool
    client: httpx.AsyncClient
    runtime: ScratchRuntime
    tokens: dict[str, str]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def cookie(self, who: str) -> dict[str, str]:
        """The dashboard's cookie (as a header: httpx's per-request cookies are deprecated)."""
        return {"Cookie": f"{COOKIE}=session-of-{who}"}  # a session id, not the token

    def path(self, tail: str = "") -> str:
        return f"/v1/campaigns/{CAMPAIGN}/circulars{tail}"

    async def post(self, who: str, tail: str, body: Any = None) -> httpx.Response:
        return await self.client.post(self.path(tail), headers=self.as_(who), json=body or {})

    async def get(self, who: str, tail: str = "") -> httpx.Response:
        return await self.client.get(self.path(tail), headers=self.as_(who))

    async def published(self) -> list[dict[str, Any]]:
        """What went to the outbox, as the events' JSON."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT topic, key, value FROM outbox ORDER BY id")
        return [
            {"topic": r["topic"], "key": bytes(r["key"]).decode(), **json.loads(r["value"])}
            for r in rows
        ]


TOKENS = {
    "office": (COUNTY, None, "刘芳", "office"),
    "office2": (COUNTY, None, "李明", "office"),
    "reader": (COUNTY, None, "党委办", "reader"),
    "branch": (COUNTY, BRANCH, "支部", "reader"),
    "elsewhere": ("610527", None, "白水县", "office"),
}


async def office_on(pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> Office:
    monkeypatch.setenv("GRASSROOTS_TOKEN_PEPPER", PEPPER)
    await apply_in_batches(pool, DEFINITION, as_records([*SETUP, DRAFTED]), 10, now=START)
    app = build_app(DEFINITION)  # its lifespan (Kafka) never runs under the ASGI transport
    runtime = ScratchRuntime(pool)
    app.state.runtime = runtime
    app.state.reporting_settings = ReportingSettings()
    made = {}
    async with pool.acquire() as conn:
        for who, (county, branch, label, role) in TOKENS.items():
            made[who] = f"gr_{who}-token"
            await tokens.create(
                conn,
                token_hash=token_hash(made[who], PEPPER),
                county_code=county,
                branch_id=branch,
                label=label,
                role=role,
            )
            await tokens.create_session(
                conn,
                session_hash=token_hash(f"session-of-{who}", PEPPER),
                token_hash=token_hash(made[who], PEPPER),
                ttl_seconds=3600,
            )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://reporting.test"
    )
    return Office(pool, client, runtime, made)


@pytest.fixture
async def office(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Office]:
    async with scratch_schemas("reporting_circulars", MIGRATIONS, 1) as pools:
        made = await office_on(pools[0], monkeypatch)
        async with made.client:
            yield made


@pytest.fixture
async def second_schema() -> AsyncIterator[asyncpg.Pool]:
    async with scratch_schemas("reporting_circulars_rebuilt", MIGRATIONS, 1) as pools:
        yield pools[0]


def shown(item: dict[str, str], org_name: str) -> dict[str, Any]:
    label = {"praise": "通报表扬", "criticism": "通报批评"}[item["section"]]
    return {**item, "section_label": label, "org_name": org_name}


DRAFTED_HISTORY = {
    "at": "2012-05-21T08:00:00+08:00",
    "action": "drafted",
    "by": None,
    "detail": "每周例行起草，共3条",
}


def at(minutes: int) -> str:
    return (START + dt.timedelta(minutes=minutes)).isoformat()


async def test_a_draft_is_listed_and_read_with_its_items_by_any_county_token(
    office: Office,
) -> None:
    listed = await office.get("reader")
    assert listed.status_code == 200
    assert listed.json() == {
        "items": [
            {
                "circular_id": CIRCULAR,
                "title": "关于基层组织建设年活动进展情况的通报",
                "trigger": "weekly",
                "status": "draft",
                "status_label": "待签发",
                "drafted_at": "2012-05-21T08:00:00+08:00",
                "items": 3,
                "document_number": None,
                "signed_by": None,
                "signed_at": None,
                "issued_at": None,
            }
        ]
    }
    read = await office.get("office", f"/{CIRCULAR}")
    assert read.status_code == 200
    assert read.json() == {
        "circular_id": CIRCULAR,
        "title": "关于基层组织建设年活动进展情况的通报",
        "trigger": "weekly",
        "status": "draft",
        "status_label": "待签发",
        "items": [
            shown(CRITICISED, "城关中学党支部"),
            shown(LATE, "东街小学党支部"),
            shown(PRAISED, "东街小学党支部"),
        ],
        "history": [DRAFTED_HISTORY],
        "issuing_body": None,
        "document_number": None,
        "number": None,
        "recipients": None,
    }


async def test_branch_tokens_and_other_counties_read_no_circulars(office: Office) -> None:
    for tail in ("", f"/{CIRCULAR}"):
        refused = await office.get("branch", tail)
        assert (refused.status_code, refused.json()) == (
            403,
            {"detail": f"this token reads only the card of {BRANCH}"},
        )
        elsewhere = await office.get("elsewhere", tail)
        assert (elsewhere.status_code, elsewhere.json()) == (
            403,
            {"detail": "this token is scoped to county 610527"},
        )
    unknown = await office.get("reader", "/circular-nope")
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"detail": "circular circular-nope is not known"},
    )


async def test_a_readers_writes_are_403_with_the_reason_and_change_nothing(
    office: Office,
) -> None:
    before = await rows_of(office.pool, TABLES)
    writes = [
        ("", {}),
        (f"/{CIRCULAR}/edits", {"action": "edit", "item_id": CRITICISED["item_id"], "text": "改"}),
        (f"/{CIRCULAR}/sign", {}),
        (f"/{CIRCULAR}/discard", {"reason": "不发"}),
    ]
    for who in ("reader", "branch"):
        for tail, body in writes:
            refused = await office.post(who, tail, body)
            assert (refused.status_code, refused.json()) == (403, {"detail": READ_ONLY})
    assert READ_ONLY == (
        "this token may only read: editing or signing a circular needs an office token "
        "(token create --role office)"
    )
    assert await rows_of(office.pool, TABLES) == before
    assert await office.published() == []


async def test_an_office_token_edits_removes_and_adds_items_each_published_once(
    office: Office,
) -> None:
    edited = await office.post(
        "office",
        f"/{CIRCULAR}/edits",
        {
            "action": "edit",
            "item_id": CRITICISED["item_id"],
            "text": "城关中学党支部领导重视不够，限期整改。",
        },
    )
    assert edited.status_code == 202
    assert edited.json()["items"][0]["text"] == "城关中学党支部领导重视不够，限期整改。"
    removed = await office.post(
        "office",
        f"/{CIRCULAR}/edits",
        {"action": "remove", "item_id": LATE["item_id"], "reason": "已于5月20日补报"},
    )
    assert removed.status_code == 202
    added = await office.post(
        "office2",
        f"/{CIRCULAR}/edits",
        {
            "action": "add",
            "item_id": f"praise-{BRANCH}-added",
            "section": "praise",
            "org_id": BRANCH,
            "text": "城关中学党支部公开承诺上墙，予以表扬。",
            "reason": "督查组现场核实",
        },
    )
    assert added.status_code == 202
    circular = added.json()
    assert [(i["item_id"], i["basis"], i["text"]) for i in circular["items"]] == [
        (CRITICISED["item_id"], "leadership_attention", "城关中学党支部领导重视不够，限期整改。"),
        (PRAISED["item_id"], "commendable", PRAISED["text"]),
        (f"praise-{BRANCH}-added", "added", "城关中学党支部公开承诺上墙，予以表扬。"),
    ]
    assert circular["history"] == [
        DRAFTED_HISTORY,
        {
            "at": at(1),
            "action": "edited",
            "by": "刘芳",
            "detail": "修改城关中学党支部的条目：原为“城关中学党支部领导重视不够。”，"
            "改为“城关中学党支部领导重视不够，限期整改。”",
        },
        {
            "at": at(2),
            "action": "edited",
            "by": "刘芳",
            "detail": "删除东街小学党支部的条目“东街小学党支部未按时报送工作进展。”，"
            "理由：已于5月20日补报",
        },
        {
            "at": at(3),
            "action": "edited",
            "by": "李明",
            "detail": "增加通报表扬条目（城关中学党支部）："
            "“城关中学党支部公开承诺上墙，予以表扬。”，理由：督查组现场核实",
        },
    ]
    published = await office.published()
    assert [
        {k: e[k] for k in ("topic", "key", "type", "subject", "countycode", "campaignid", "data")}
        for e in published
    ] == [
        {
            "topic": "supervision.decisions",
            "key": CIRCULAR,
            "type": "supervision.circular_edited",
            "subject": CIRCULAR,
            "countycode": COUNTY,
            "campaignid": CAMPAIGN,
            "data": data,
        }
        for data in (
            {
                "circular_id": CIRCULAR,
                "action": "edit",
                "item_id": CRITICISED["item_id"],
                "text": "城关中学党支部领导重视不够，限期整改。",
                "edited_by": "刘芳",
            },
            {
                "circular_id": CIRCULAR,
                "action": "remove",
                "item_id": LATE["item_id"],
                "reason": "已于5月20日补报",
                "edited_by": "刘芳",
            },
            {
                "circular_id": CIRCULAR,
                "action": "add",
                "item_id": f"praise-{BRANCH}-added",
                "section": "praise",
                "org_id": BRANCH,
                "text": "城关中学党支部公开承诺上墙，予以表扬。",
                "reason": "督查组现场核实",
                "edited_by": "李明",
            },
        )
    ]
    assert [e["time"] for e in published] == [at(1), at(2), at(3)]
    assert {e["source"] for e in published} == {"/grassroots/reporting"}
    assert len({e["id"] for e in published}) == 3


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (
            {"action": "remove", "item_id": LATE["item_id"]},
            422,
            "Value error, remove needs reason",
        ),
        (
            {"action": "add", "item_id": "praise-x-added", "text": "表扬"},
            422,
            "Value error, add needs section, org_id, reason",
        ),
        (
            {"action": "rename", "item_id": LATE["item_id"], "text": "改"},
            422,
            "body.action: Input should be 'edit', 'remove' or 'add'",
        ),
        (
            {"action": "edit", "item_id": LATE["item_id"], "text": "改", "edited_by": "冒名"},
            422,
            "body.edited_by: Extra inputs are not permitted",
        ),
        (
            {"action": "edit", "item_id": "criticism-nobody-lagging", "text": "改"},
            404,
            f"circular {CIRCULAR} has no item criticism-nobody-lagging",
        ),
        (
            {
                "action": "add",
                "item_id": PRAISED["item_id"],
                "section": "praise",
                "org_id": OTHER,
                "text": "重复",
                "reason": "重复",
            },
            409,
            f"circular {CIRCULAR} already has an item {PRAISED['item_id']}",
        ),
        (
            {
                "action": "add",
                "item_id": "praise-610526-edu-9999-added",
                "section": "praise",
                "org_id": "610526-edu-9999",
                "text": "表扬",
                "reason": "补充",
            },
            422,
            "610526-edu-9999 is not a registered organisation of county 610526",
        ),
    ],
)
async def test_edits_refused_with_their_reasons_change_nothing(
    office: Office, body: dict[str, Any], status: int, detail: str
) -> None:
    before = await rows_of(office.pool, TABLES)
    refused = await office.post("office", f"/{CIRCULAR}/edits", body)
    assert (refused.status_code, refused.json()) == (status, {"detail": detail})
    assert await rows_of(office.pool, TABLES) == before
    assert await office.published() == []


async def test_an_unknown_circular_is_404_for_every_decision(office: Office) -> None:
    for tail, body in (
        ("/circular-nope/edits", {"action": "edit", "item_id": "x", "text": "改"}),
        ("/circular-nope/sign", {}),
        ("/circular-nope/discard", {"reason": "不发"}),
    ):
        refused = await office.post("office", tail, body)
        assert (refused.status_code, refused.json()) == (
            404,
            {"detail": "circular circular-nope is not known"},
        )
    elsewhere = await office.post("elsewhere", f"/{CIRCULAR}/sign")
    assert (elsewhere.status_code, elsewhere.json()) == (
        403,
        {"detail": "this token is scoped to county 610527"},
    )
    assert await office.published() == []


async def test_a_signed_circular_is_signed_once_and_edited_no_more(office: Office) -> None:
    signed = await office.post("office2", f"/{CIRCULAR}/sign")
    assert (signed.status_code, signed.json()) == (
        202,
        {"circular_id": CIRCULAR, "status": "signed"},
    )
    already = {"detail": f"circular {CIRCULAR} is already signed"}
    again = await office.post("office", f"/{CIRCULAR}/sign")
    assert (again.status_code, again.json()) == (409, already)
    edit = {"action": "edit", "item_id": CRITICISED["item_id"], "text": "改"}
    late_edit = await office.post("office", f"/{CIRCULAR}/edits", edit)
    assert (late_edit.status_code, late_edit.json()) == (409, already)
    late_discard = await office.post("office", f"/{CIRCULAR}/discard", {"reason": "不发"})
    assert (late_discard.status_code, late_discard.json()) == (409, already)

    [event] = await office.published()
    assert {k: event[k] for k in ("topic", "key", "type", "subject", "time", "data")} == {
        "topic": "supervision.decisions",
        "key": CIRCULAR,
        "type": "supervision.circular_signed",
        "subject": CIRCULAR,
        "time": at(1),
        "data": {"circular_id": CIRCULAR, "signed_by": "李明"},
    }
    [summary] = (await office.get("reader")).json()["items"]
    assert (summary["status"], summary["status_label"], summary["signed_by"]) == (
        "signed",
        "已签发",
        "李明",
    )
    assert summary["signed_at"] == at(1)
    history = (await office.get("reader", f"/{CIRCULAR}")).json()["history"]
    assert history[1:] == [{"at": at(1), "action": "signed", "by": "李明", "detail": "签发"}]


async def test_two_sign_offs_racing_one_is_202_the_other_409(office: Office) -> None:
    first, second = await asyncio.gather(
        office.post("office", f"/{CIRCULAR}/sign"), office.post("office2", f"/{CIRCULAR}/sign")
    )
    assert sorted([first.status_code, second.status_code]) == [202, 409]
    loser = second if second.status_code == 409 else first
    assert loser.json() == {"detail": f"circular {CIRCULAR} is already signed"}
    signed = [e for e in await office.published() if e["type"] == "supervision.circular_signed"]
    assert len(signed) == 1
    winner = "刘芳" if first.status_code == 202 else "李明"
    assert signed[0]["data"] == {"circular_id": CIRCULAR, "signed_by": winner}
    async with office.pool.acquire() as conn:
        kept = await conn.fetch("SELECT action, decided_by FROM circular_decisions")
    assert [tuple(r) for r in kept] == [("signed", winner)]


async def test_a_discarded_draft_needs_a_reason_and_is_never_signed(office: Office) -> None:
    no_reason = await office.post("office", f"/{CIRCULAR}/discard", {})
    assert (no_reason.status_code, no_reason.json()) == (
        422,
        {"detail": "body.reason: Field required"},
    )
    discarded = await office.post("office", f"/{CIRCULAR}/discard", {"reason": "已在会上通报"})
    assert (discarded.status_code, discarded.json()) == (
        202,
        {"circular_id": CIRCULAR, "status": "discarded"},
    )
    late = await office.post("office2", f"/{CIRCULAR}/sign")
    assert (late.status_code, late.json()) == (
        409,
        {"detail": f"circular {CIRCULAR} was discarded"},
    )
    [event] = await office.published()
    assert (event["type"], event["data"]) == (
        "supervision.circular_discarded",
        {"circular_id": CIRCULAR, "discarded_by": "刘芳", "reason": "已在会上通报"},
    )
    read = (await office.get("reader", f"/{CIRCULAR}")).json()
    assert (read["status"], read["status_label"]) == ("discarded", "已作废")
    assert read["history"][1:] == [
        {"at": at(1), "action": "discarded", "by": "刘芳", "detail": "作废，理由：已在会上通报"}
    ]


async def test_the_office_asks_for_a_draft_now(office: Office) -> None:
    asked = await office.post("office", "", {})
    assert asked.status_code == 202
    request_id = asked.json()["request_id"]
    assert request_id.startswith("req-20120521-090100-")
    [event] = await office.published()
    assert {k: event[k] for k in ("topic", "key", "type", "subject", "campaignid", "data")} == {
        "topic": "supervision.decisions",
        "key": CAMPAIGN,
        "type": "supervision.circular_requested",
        "subject": CAMPAIGN,
        "campaignid": CAMPAIGN,
        "data": {"campaign_id": CAMPAIGN, "request_id": request_id, "requested_by": "刘芳"},
    }
    page = await office.client.get(
        f"/campaigns/{CAMPAIGN}/circulars", headers=office.cookie("reader")
    )
    assert f'data-request="{request_id}">刘芳于2012年5月21日请求起草' in page.text


def as_consumed(published: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in ("topic", "key")} for e in published]


async def decide_everything(office: Office) -> list[dict[str, Any]]:
    """Every kind of decision once: edit, remove, add, sign; what was published."""
    for body in (
        {"action": "edit", "item_id": CRITICISED["item_id"], "text": "限期整改。"},
        {"action": "remove", "item_id": LATE["item_id"], "reason": "已补报"},
        {
            "action": "add",
            "item_id": "criticism-x-added",
            "section": "criticism",
            "org_id": OTHER,
            "text": "东街小学党支部会议记录不全。",
            "reason": "督查发现",
        },
    ):
        assert (await office.post("office", f"/{CIRCULAR}/edits", body)).status_code == 202
    assert (await office.post("office2", f"/{CIRCULAR}/sign")).status_code == 202
    return as_consumed(await office.published())


async def test_consuming_the_offices_decisions_back_changes_nothing(office: Office) -> None:
    decisions = await decide_everything(office)
    before = await rows_of(office.pool, TABLES)
    await apply_in_batches(office.pool, DEFINITION, as_records(decisions), 1, now=START)
    await apply_in_batches(office.pool, DEFINITION, as_records(decisions), 10, now=START)
    assert await rows_of(office.pool, TABLES) == before


async def test_decisions_replayed_before_their_draft_give_the_same_circular(
    office: Office, second_schema: asyncpg.Pool
) -> None:
    """A rebuild replays supervision.decisions before notification.results."""
    decisions = await decide_everything(office)
    replay = [*SETUP, *decisions, DRAFTED]
    for size in (1, 100):
        async with second_schema.acquire() as conn:
            await conn.execute(f"TRUNCATE {', '.join(TABLES)}, inbox RESTART IDENTITY")
        await apply_in_batches(second_schema, DEFINITION, as_records(replay), size, now=START)
        assert await rows_of(second_schema, TABLES) == await rows_of(office.pool, TABLES)


async def test_an_issued_circular_shows_its_number_issuing_body_and_recipients(
    office: Office,
) -> None:
    assert (await office.post("office2", f"/{CIRCULAR}/sign")).status_code == 202
    issued = on(
        START + dt.timedelta(hours=1),
        "notification.circular_issued",
        NOTIFICATION,
        circular_id=CIRCULAR,
        signed_by="李明",
        recipients=3,
    )
    await apply_in_batches(office.pool, DEFINITION, as_records([issued]), 1, now=START)
    [summary] = (await office.get("reader")).json()["items"]
    assert {k: summary[k] for k in ("status", "status_label", "document_number", "issued_at")} == {
        "status": "issued",
        "status_label": "已印发",
        "document_number": "蒲教党办〔2012〕1号",
        "issued_at": "2012-05-21T10:00:00+08:00",
    }
    read = (await office.get("reader", f"/{CIRCULAR}")).json()
    assert {k: read[k] for k in ("issuing_body", "document_number", "number", "recipients")} == {
        "issuing_body": "中共蒲城县教育局委员会办公室",
        "document_number": "蒲教党办〔2012〕1号",
        "number": 1,
        "recipients": 3,
    }
    assert read["history"][-1] == {
        "at": "2012-05-21T10:00:00+08:00",
        "action": "issued",
        "by": "中共蒲城县教育局委员会办公室",
        "detail": "印发蒲教党办〔2012〕1号，发送3个党组织",
    }
    late = await office.post("office", f"/{CIRCULAR}/sign")
    assert late.json() == {"detail": f"circular {CIRCULAR} is already signed"}


# The dashboard's forms.


async def form(
    office: Office, who: str, tail: str, fields: dict[str, str], origin: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **office.cookie(who)}
    if origin is not None:
        headers["Origin"] = origin
    return await office.client.post(
        f"/campaigns/{CAMPAIGN}/circulars/{CIRCULAR}{tail}",
        data=fields,
        headers=headers,
    )


async def test_a_reader_sees_the_draft_without_forms_and_the_office_with_them(
    office: Office,
) -> None:
    page = f"/campaigns/{CAMPAIGN}/circulars/{CIRCULAR}"
    read = await office.client.get(page, headers=office.cookie("reader"))
    assert read.status_code == 200
    assert "城关中学党支部领导重视不够。" in read.text
    assert "<form" not in read.text
    office_page = await office.client.get(page, headers=office.cookie("office"))
    assert office_page.text.count('class="edit-form"') == 3
    assert office_page.text.count('class="remove-form"') == 3
    assert 'id="sign-form"' in office_page.text and 'id="discard-form"' in office_page.text
    listed = await office.client.get(
        f"/campaigns/{CAMPAIGN}/circulars", headers=office.cookie("reader")
    )
    assert '<td class="status" data-status="draft">待签发</td>' in listed.text
    assert "<form" not in listed.text


async def test_the_offices_forms_answer_303_or_the_refusal_in_chinese(office: Office) -> None:
    back = f"/campaigns/{CAMPAIGN}/circulars/{CIRCULAR}"
    edited = await form(
        office,
        "office",
        "/edits",
        {"action": "edit", "item_id": CRITICISED["item_id"], "text": "页面上修改。"},
        origin="http://reporting.test",
    )
    assert (edited.status_code, edited.headers["location"]) == (303, back)
    no_reason = await form(
        office, "office", "/edits", {"action": "remove", "item_id": LATE["item_id"], "reason": ""}
    )
    assert no_reason.status_code == 422
    assert '<p class="error" id="error">删除条目须填写理由</p>' in no_reason.text
    added = await form(
        office,
        "office",
        "/edits",
        {
            "action": "add",
            "section": "praise",
            "org_id": BRANCH,
            "text": "表扬。",
            "reason": "核实",
        },
    )
    assert added.status_code == 303
    foreign = await form(office, "office", "/sign", {}, origin="http://evil.example")
    assert foreign.status_code == 403
    assert "拒绝来自其他网站的提交" in foreign.text
    reader = await form(office, "reader", "/sign", {})
    assert reader.status_code == 403
    assert "此令牌只能查看" in reader.text
    signed = await form(office, "office2", "/sign", {})
    assert (signed.status_code, signed.headers["location"]) == (303, back)
    twice = await form(office, "office", "/sign", {})
    assert twice.status_code == 409
    assert "该通报已签发，不能再修改、签发或作废" in twice.text

    read = (await office.get("reader", f"/{CIRCULAR}")).json()
    assert read["status"] == "signed"
    assert [(i["item_id"], i["text"]) for i in read["items"]] == [
        (CRITICISED["item_id"], "页面上修改。"),
        (LATE["item_id"], LATE["text"]),
        (PRAISED["item_id"], PRAISED["text"]),
        (f"praise-{BRANCH}-added", "表扬。"),
    ]
    assert [e["type"] for e in await office.published()] == [
        "supervision.circular_edited",
        "supervision.circular_edited",
        "supervision.circular_signed",
    ]


def test_an_office_token_is_a_county_token_of_a_person() -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    branch = runner.invoke(
        cli,
        [
            "token",
            "create",
            "--county",
            COUNTY,
            "--label",
            "刘芳",
            "--role",
            "office",
            "--branch",
            BRANCH,
        ],
    )
    assert branch.exit_code == 2
    assert "an office token is a county token: leave out --branch" in branch.output
    role = runner.invoke(
        cli, ["token", "create", "--county", COUNTY, "--label", "刘芳", "--role", "admin"]
    )
    assert role.exit_code == 2
    assert "the role is one of reader, office" in role.output
