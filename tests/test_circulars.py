"""Signed circulars end to end (issue 16), on the real broker with the real SMTP receiver: an
inspection's leadership_attention finding makes a branch lagging (reporting's API says why);
the week's draft names it and the committee's commendation and reaches no mailbox; a person of
the office edits one item through reporting's API and signs it off — every organisation of the
county then receives the circular once, as edited, with the configured issuing body and number
1; a read-only token's sign-off is 403, a second sign-off 409 with nothing more sent; a discarded
draft is never sent; the next signed circular is number 2. A progress report overdue on the
test clock makes an organisation lagging until it reports. And what the office API would never
publish (an inspection of an unknown organisation, a sign-off of an unknown circular) is
dead-lettered by notification with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.harness import Platform, TopicWatcher, eventually, header, publish_with_tool
from tests.receivers import Receivers
from tests.test_notification import County, at, register
from tests.test_reporting import reporting_cli, token

pytestmark = pytest.mark.usefixtures("platform")

ISSUING_BODY = "中共测试县教育局委员会办公室"  # tests/counties.toml's defaults
NAME = "通报签发端到端测试"
TITLE = f"关于{NAME}督查情况的通报"
HONOUR_TITLE = "2012年度先进基层党组织"
FINDING = "支部书记未按期主持专题研究，整改台账缺失。"
READ_ONLY = (
    "this token may only read: editing or signing a circular needs an office token "
    "(token create --role office)"
)
KEYS = ("office", "b1", "b2", "b3")


class Office:
    """Reporting's API with one person's token."""

    def __init__(self, platform: Platform, bearer: str, c: County) -> None:
        self.client = httpx.AsyncClient(
            base_url=platform.services["reporting"].url,
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=10,
        )
        self.campaign = f"/v1/campaigns/{c.campaign_id}"

    async def get(self, tail: str) -> httpx.Response:
        return await self.client.get(self.campaign + tail)

    async def post(self, tail: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(self.campaign + tail, json=body or {})

    async def circular(self, circular_id: str, status: str) -> dict[str, Any] | None:
        """The circular as reporting shows it, once it has that status."""
        response = await self.get(f"/circulars/{circular_id}")
        if response.status_code != 200 or response.json()["status"] != status:
            return None
        found: dict[str, Any] = response.json()
        return found

    async def lagging(self) -> dict[str, list[str]]:
        """{organisation: its lagging reasons}."""
        response = await self.get("/lagging")
        assert response.status_code == 200, response.text
        return {i["branch_id"]: i["reasons"] for i in response.json()["items"]}


def office_token(c: County, person: str) -> str:
    return reporting_cli(
        "token", "create", "--county", c.county, "--label", person, "--role", "office"
    )


async def launched(
    platform: Platform,
    admin: asyncpg.Connection,
    tmp_path: Path,
    c: County,
    reader: Office,
) -> None:
    """The county registered (in notification and reporting both: inspections and reports of
    organisations not registered are refused) and its campaign launched and opened on 16 April."""
    launch = c.event(
        "campaign.launched",
        {
            "campaign_id": c.campaign_id,
            "name": NAME,
            "year": 2012,
            "phases": [
                {"phase": "rectification", "opens_on": "2012-04-16", "closes_on": "2012-06-30"}
            ],
            # (commitments due a month after the opening: none is missing in these tests)
            "rules": {
                "progress_report_every_days": 14,
                "circular_sign_off_days": 3,
                "commitment_due_days": 30,
            },
        },
        at("2012-04-16"),
    )
    await register(admin, tmp_path, [c.register(None), *(c.register(k) for k in KEYS[1:])])
    opened = c.event(
        "campaign.phase_opened",
        {"campaign_id": c.campaign_id, "phase": "rectification"},
        at("2012-04-16"),
    )
    assert publish_with_tool([launch, opened], tmp_path).returncode == 0

    async def known() -> bool:
        summary = await reader.get("/summary")
        in_notification = await admin.fetchval(
            "SELECT count(*) FROM notification.phases WHERE campaign_id = $1"
            " AND opened_at IS NOT NULL",
            c.campaign_id,
        )
        return (
            summary.status_code == 200 and summary.json()["branches"] == 3 and in_notification == 1
        )

    await eventually(known, within=60)


def circular_mails(receivers: Receivers, c: County) -> dict[str, list[str]]:
    """The circulars each organisation of the county received by mail: their subjects."""
    return {
        key: [m.subject for m in receivers.smtp.to(c.email(key)) if "【通报】" in m.subject]
        for key in KEYS
    }


def mails_of(receivers: Receivers, c: County) -> list[tuple[str, str]]:
    return [(key, m.subject) for key in KEYS for m in receivers.smtp.to(c.email(key))]


async def test_an_inspected_branch_is_criticised_only_in_a_circular_a_person_signed_off(
    platform: Platform, receivers: Receivers, tmp_path: Path, admin: asyncpg.Connection
) -> None:
    c = County()
    reader = Office(platform, token(c.county), c)
    office = Office(platform, office_token(c, "刘芳"), c)
    platform.set_clock(at("2012-04-20"))
    try:
        await launched(platform, admin, tmp_path, c, reader)
        # Every branch hears the phase opened (by mail): from here on the mailboxes stay still.
        await eventually(lambda: all(receivers.smtp.to(c.email(k)) for k in KEYS[1:]))
        before = mails_of(receivers, c)

        # (on 21 April: the commendation's draft would be reminded on 24 April, after this test)
        platform.set_clock(at("2012-04-21"))
        inspected = c.event(
            "supervision.inspected",
            {
                "inspection_id": "insp-1",
                "org_id": c.b("b1"),
                "mode": "unannounced",
                "inspected_on": "2012-04-20",
                "inspectors": ["张卫东"],
                "checked": "整改方案落实情况",
                "findings": [{"kind": "leadership_attention", "text": FINDING}],
            },
            at("2012-04-20", "10:00:00"),
        )
        commended = c.event(
            "emulation.commended",
            {
                "branch_id": c.b("b2"),
                "honour": "advanced_organization",
                "title": HONOUR_TITLE,
                "awarded_by": c.committee,
                "awarded_on": "2012-04-20",
            },
            at("2012-04-20", "10:00:00"),
        )
        assert publish_with_tool([inspected, commended], tmp_path).returncode == 0

        # Lagging for the inspection's finding, as reporting's API says.
        lagging = await eventually(lambda: _has(reader.lagging(), c.b("b1")), within=30)
        assert lagging[c.b("b1")] == ["leadership_attention"]

        # The committee's commendation is a draft of praise for the office.
        commendation = f"circular-{c.campaign_id}-commendation-{c.committee}-2012-04-20-1"
        await eventually(lambda: office.circular(commendation, "draft"), within=30)

        # A week after the phase opened: the week's draft names the finding and the praise.
        platform.set_clock(at("2012-04-23", "09:00:01"))
        weekly = f"circular-{c.campaign_id}-2012-04-23"
        draft = await eventually(lambda: office.circular(weekly, "draft"), within=30)
        assert draft["title"] == TITLE
        drafted = [(i["item_id"], i["section"], i["text"]) for i in draft["items"]]
        assert drafted == [
            (
                f"praise-{c.b('b2')}-commended",
                "praise",
                f"教育局党委于2012年4月20日授予b2学校党支部“先进基层党组织”称号（{HONOUR_TITLE}）。",
            ),
            (
                f"criticism-{c.b('b1')}-leadership_attention",
                "criticism",
                f"b1学校党支部在2012年4月20日督查中被发现领导重视不够：{FINDING}",
            ),
        ]
        # Drafts are the office's: told in its inbox; no mailbox received anything meanwhile.
        told = await eventually(
            lambda: admin.fetch(
                "SELECT recipient, channel FROM notification.deliveries"
                " WHERE campaign_id = $1 AND kind = 'circular_drafted'",
                c.campaign_id,
            )
        )
        assert {(r["recipient"], r["channel"]) for r in told} == {(c.committee, "inbox")}
        assert mails_of(receivers, c) == before

        # The office edits one item; a reader may not sign; a person of the office signs.
        criticised = f"criticism-{c.b('b1')}-leadership_attention"
        edited_text = "b1学校党支部领导重视不够，整改台账缺失，限期一周内整改。"
        edit = await office.post(
            f"/circulars/{weekly}/edits",
            {"action": "edit", "item_id": criticised, "text": edited_text},
        )
        assert edit.status_code == 202, edit.text
        refused = await reader.post(f"/circulars/{weekly}/sign")
        assert (refused.status_code, refused.json()) == (403, {"detail": READ_ONLY})
        async with TopicWatcher("notification.results") as results:
            signed = await office.post(f"/circulars/{weekly}/sign")
            assert signed.status_code == 202, signed.text
            issued = await results.wait_for(
                lambda r: (
                    json.loads(r.value)["type"] == "notification.circular_issued"
                    and json.loads(r.value)["subject"] == weekly
                ),
                within=60,
            )
        assert json.loads(issued[0].value)["data"] == {
            "circular_id": weekly,
            "issuing_body": ISSUING_BODY,
            "year": 2012,
            "number": 1,
            "document_number": "测教党办〔2012〕1号",
            "signed_by": "刘芳",
            "recipients": 4,
        }
        first = f"【通报】{TITLE}（测教党办〔2012〕1号）"
        await eventually(lambda: all(circular_mails(receivers, c)[k] for k in KEYS), within=60)
        text = next(m for m in receivers.smtp.to(c.email("b3")) if m.subject == first).text
        assert text == (
            f"{ISSUING_BODY}\n"
            "测教党办〔2012〕1号\n\n"
            f"{TITLE}\n\n"
            "各支部（总支）：\n"
            "截至2012年4月23日，现将有关情况通报如下：\n"
            "一、通报表扬\n"
            f"1. 教育局党委于2012年4月20日授予b2学校党支部“先进基层党组织”称号（{HONOUR_TITLE}）。\n"
            "二、通报批评\n"
            f"1. {edited_text}\n"
            "希望受到表扬的党组织和同志珍惜荣誉、再接再厉；被通报批评的党组织要认真查找原因，"
            "限期整改。各支部（总支）要以先进为榜样、引以为戒，按期完成各项任务。\n\n"
            f"{ISSUING_BODY}\n"
            "2012年4月23日\n"
        )
        again = await office.post(f"/circulars/{weekly}/sign")
        assert (again.status_code, again.json()) == (
            409,
            {"detail": f"circular {weekly} is already signed"},
        )

        # The commendation's draft praises what the week's circular praised: discarded.
        discarded = await office.post(
            f"/circulars/{commendation}/discard", {"reason": "已在周通报中表扬"}
        )
        assert discarded.status_code == 202, discarded.text
        await eventually(
            lambda: admin.fetchval(
                "SELECT status = 'discarded' FROM notification.circular_documents"
                " WHERE circular_id = $1",
                commendation,
            )
        )
        late = await office.post(f"/circulars/{commendation}/sign")
        assert (late.status_code, late.json()) == (
            409,
            {"detail": f"circular {commendation} was discarded"},
        )

        # The office asks for a draft now; signed, it is number 2.
        asked = await office.post("/circulars")
        assert asked.status_code == 202, asked.text
        requested = f"circular-{c.campaign_id}-{asked.json()['request_id']}"
        on_demand = await eventually(lambda: office.circular(requested, "draft"), within=30)
        assert [i["item_id"] for i in on_demand["items"]] == [criticised]  # praised already
        assert (await office.post(f"/circulars/{requested}/sign")).status_code == 202
        second = f"【通报】{TITLE}（测教党办〔2012〕2号）"
        await eventually(
            lambda: all(second in circular_mails(receivers, c)[k] for k in KEYS), within=60
        )
    finally:
        platform.set_clock(None)

    # Each organisation received each signed circular once, and nothing else of the circulars.
    assert circular_mails(receivers, c) == {key: [first, second] for key in KEYS}
    sent = await admin.fetch(
        "SELECT cause_event_id, count(*) FROM notification.deliveries"
        " WHERE campaign_id = $1 AND kind = 'circular' GROUP BY cause_event_id",
        c.campaign_id,
    )
    assert sorted(r["count"] for r in sent) == [8, 8]  # 4 organisations, inbox and email
    documents = await admin.fetch(
        "SELECT circular_id, status, number FROM notification.circular_documents"
        " WHERE campaign_id = $1 ORDER BY circular_id",
        c.campaign_id,
    )
    assert {r["circular_id"]: (r["status"], r["number"]) for r in documents} == {
        weekly: ("issued", 1),
        commendation: ("discarded", None),
        requested: ("issued", 2),
    }


async def _has(lagging: Any, org_id: str) -> dict[str, list[str]] | None:
    found: dict[str, list[str]] = await lagging
    return found if org_id in found else None


async def test_a_progress_report_overdue_on_the_clock_makes_an_organisation_lagging_until_it_reports(
    platform: Platform, tmp_path: Path, admin: asyncpg.Connection
) -> None:
    """Reports are due every 14 days from 16 April: the first on 30 April. On 1 May b2, which
    never reported, is lagging (progress_report_missing, due 30 April) and named in the week's
    draft; b1 reported on 20 April and is not. b2's report clears it."""
    c = County()
    reader = Office(platform, token(c.county), c)
    platform.set_clock(at("2012-04-20"))
    try:
        await launched(platform, admin, tmp_path, c, reader)

        def report(key: str, on: str) -> dict[str, Any]:
            return c.event(
                "supervision.progress_reported",
                {"org_id": c.b(key), "reported_on": on, "summary": "已完成整改任务2项。"},
                at(on, "10:00:00"),
            )

        assert publish_with_tool([report("b1", "2012-04-20")], tmp_path).returncode == 0
        await eventually(
            lambda: admin.fetchval(
                "SELECT count(*) FROM notification.progress_reports WHERE campaign_id = $1",
                c.campaign_id,
            )
        )
        assert await reader.lagging() == {}  # nothing due yet

        platform.set_clock(at("2012-05-01", "09:00:00"))  # the report due 30 April is missing
        lagging = await eventually(lambda: _has(reader.lagging(), c.b("b2")), within=30)
        assert lagging == {
            c.b("b2"): ["progress_report_missing"],
            c.b("b3"): ["progress_report_missing"],
        }
        items = (await reader.get("/lagging")).json()["items"]
        assert {i["branch_id"]: i["progress_report_due"] for i in items} == {
            c.b("b2"): "2012-04-30",
            c.b("b3"): "2012-04-30",
        }
        weekly = f"circular-{c.campaign_id}-2012-05-01"  # the second week's draft
        drafted = await eventually(
            lambda: admin.fetch(
                "SELECT item_id, text FROM notification.circular_items WHERE circular_id = $1"
                " ORDER BY position",
                weekly,
            ),
            within=30,
        )
        assert [(r["item_id"], r["text"]) for r in drafted] == [
            (
                f"criticism-{c.b(key)}-progress_report_missing",
                f"{key}学校党支部未按时报送工作进展情况（应于2012年4月30日前报送）。",
            )
            for key in ("b2", "b3")
        ]

        assert publish_with_tool([report("b2", "2012-05-01")], tmp_path).returncode == 0
        cleared = await eventually(lambda: _without(reader.lagging(), c.b("b2")), within=30)
        assert cleared == {c.b("b3"): ["progress_report_missing"]}
    finally:
        platform.set_clock(None)


async def _without(lagging: Any, org_id: str) -> dict[str, list[str]] | None:
    found: dict[str, list[str]] = await lagging
    return found if org_id not in found else None


async def test_notification_refuses_an_inspection_of_an_unknown_organisation_and_a_sign_off_of_an_unknown_circular(
    platform: Platform, receivers: Receivers, tmp_path: Path, admin: asyncpg.Connection
) -> None:
    """What the office API would never publish is still re-checked: dead-lettered with the
    reason, nothing kept, nothing sent."""
    c = County()
    await register(admin, tmp_path, [c.register(None), c.register("b1")])
    inspected = c.event(
        "supervision.inspected",
        {
            "inspection_id": "insp-x",
            "org_id": c.b("nobody"),
            "mode": "scheduled",
            "inspected_on": "2012-04-20",
            "inspectors": ["张卫东"],
            "checked": "整改台账",
            "findings": [{"kind": "lagging", "text": "台账缺失。"}],
        },
    )
    signed = c.event(
        "supervision.circular_signed",
        {"circular_id": f"circular-{c.campaign_id}-2012-04-23", "signed_by": "刘芳"},
    )

    def refused_by_notification(event: dict[str, Any]) -> Any:
        def matches(record: Any) -> bool:
            return bool(
                json.loads(record.value)["id"] == event["id"]
                and header(record, "dlq-service") == "notification"
            )

        return matches

    async with (
        TopicWatcher("supervision.inputs.dlq") as inputs,
        TopicWatcher("supervision.decisions.dlq") as decisions,
    ):
        assert publish_with_tool([inspected, signed], tmp_path).returncode == 0
        [dead_inspection] = await inputs.wait_for(refused_by_notification(inspected))
        [dead_sign_off] = await decisions.wait_for(refused_by_notification(signed))
    assert header(dead_inspection, "dlq-reason-code") == "rejected_by_rule"
    assert header(dead_inspection, "dlq-reason") == (
        f"{c.b('nobody')} is not a registered organisation of county {c.county}: "
        "register it (org.branch_registered) first"
    )
    assert header(dead_sign_off, "dlq-reason-code") == "rejected_by_rule"
    assert header(dead_sign_off, "dlq-reason") == (
        f"circular circular-{c.campaign_id}-2012-04-23 is unknown"
    )
    kept = await admin.fetchval(
        "SELECT count(*) FROM notification.inspections WHERE campaign_id = $1", c.campaign_id
    )
    assert kept == 0
    assert not [m for m in receivers.smtp.to(c.email("b1")) if "【通报】" in m.subject]
