"""Notifications end to end: the platform's events in, real email (an aiosmtpd server with
STARTTLS and AUTH) and signed webhooks (an HTTP server that verifies them) out, the inbox
API, reminders and circulars on the test's clock, retries, bad recipients, a crash mid-send."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from grassroots.contract.examples import CST, SCORES, envelope
from notification import inbox_tokens
from tests.harness import Platform, TopicWatcher, eventually, header, publish_with_tool
from tests.receivers import ReceivedEmail, Receivers, SmtpReceiver

pytestmark = pytest.mark.usefixtures("platform")

MAIL_DOMAIN = "pucheng.example.org"


def inbox_token(org_id: str) -> dict[str, str]:
    """The header a secretary's client sends: the token the county office issued for its inbox."""
    token = inbox_tokens.issue(os.environ["INBOX_TOKEN_SECRET"], org_id)
    return {"Authorization": f"Bearer {token}"}


def at(day: str, clock: str = "09:00:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=CST)


class County:
    """A county and campaign of the test's own (or a webhook county of the session)."""

    def __init__(self, county: str | None = None) -> None:
        self.token = uuid.uuid4().hex[:6]
        self.county = county or f"6{int(self.token, 16) % 100000:05d}"
        self.campaign_id = f"notify-{self.token}"
        self.committee = f"{self.county}-{self.token}-committee"

    def b(self, key: str) -> str:
        return f"{self.county}-{self.token}-{key}"

    def email(self, key: str) -> str:
        return f"{key}-{self.token}@schools.example.org"

    def event(
        self, event_type: str, data: dict[str, Any], when: dt.datetime | None = None
    ) -> dict[str, Any]:
        return envelope(
            event_type, data, campaign_id=self.campaign_id, county=self.county, time=when
        )

    def register(
        self, key: str | None, *, secretary: str = "王建国", email: str | None = "default"
    ) -> dict[str, Any]:
        org_id = self.committee if key is None else self.b(key)
        address = self.email(key or "office") if email == "default" else email
        return self.event(
            "org.branch_registered",
            {
                "branch_id": org_id,
                "name": "教育局党委" if key is None else f"{key}学校党支部",
                "kind": "committee" if key is None else "branch",
                "parent_id": None if key is None else self.committee,
                "unit": "教育局" if key is None else f"{key}学校",
                "secretary": {"name": secretary, **({"email": address} if address else {})},
                "member_count": 12,
            },
        )

    def graded(
        self, key: str, level: str = "fairly_strong", round_: str = "initial"
    ) -> dict[str, Any]:
        return self.event(
            "grading.branch_graded",
            {
                "branch_id": self.b(key),
                "round": round_,
                "level": level,
                "total": 83.8,
                "scores": SCORES,
                "basis": "computed",
            },
        )


async def register(
    admin: asyncpg.Connection, tmp_path: Path, registrations: list[dict[str, Any]]
) -> None:
    """Publish registrations and wait until the notification service has applied them: a
    notice about an organisation it does not know yet reaches only its inbox (see README)."""
    published = publish_with_tool(registrations, tmp_path)
    assert published.returncode == 0, published.stderr
    ids = [event["data"]["branch_id"] for event in registrations]

    async def known() -> bool:
        count = await admin.fetchval(
            "SELECT count(*) FROM notification.orgs WHERE org_id = ANY($1::text[])", ids
        )
        return bool(count == len(ids))

    await eventually(known)


OUTCOMES = ("notification.delivered", "notification.failed")  # beside them: circulars' events


def outcomes(records: list[Any]) -> list[dict[str, Any]]:
    return [e for r in records if (e := json.loads(r.value))["type"] in OUTCOMES]


def outcome_of(cause_id: str, channel: str, recipient: str | None = None) -> Any:
    def matches(record: Any) -> bool:
        event = json.loads(record.value)
        data = event["data"]
        return bool(
            event["type"] in OUTCOMES
            and data["cause_event_id"] == cause_id
            and data["channel"] == channel
            and (recipient is None or data["recipient"] == recipient)
        )

    return matches


async def test_a_grading_result_reaches_the_secretary_once_by_email_and_in_the_inbox(
    platform: Platform, receivers: Receivers, tmp_path: Path, admin: asyncpg.Connection
) -> None:
    c = County()
    graded = c.graded("b1")
    final = c.graded("b1", level="strong", round_="final")
    await register(admin, tmp_path, [c.register(None), c.register("b1")])
    async with TopicWatcher("notification.results") as results:
        published = publish_with_tool([graded, graded, final], tmp_path)
        assert published.returncode == 0, published.stderr
        address = c.email("b1")
        mails = await eventually(
            lambda: len(receivers.smtp.to(address)) >= 2 and receivers.smtp.to(address)
        )
        delivered = await results.wait_for(outcome_of(graded["id"], "email"))
        await results.wait_for(outcome_of(graded["id"], "inbox"))
        await results.wait_for(outcome_of(final["id"], "email"))
        await results.drain()

    initial_mail: ReceivedEmail = next(m for m in mails if "分类定级" in m.subject)
    assert initial_mail.subject == "【定级结果】b1学校党支部分类定级等次：较强"
    assert initial_mail.rcpt_tos == (address,)
    assert initial_mail.authenticated_as == receivers.smtp.username and initial_mail.over_tls
    assert "王建国同志" in initial_mail.text
    assert "定为“较强”等次，综合得分83.80分" in initial_mail.text
    assert "领导班子好（85.00分）" in initial_mail.text
    notification_id = json.loads(delivered[0].value)["data"]["notification_id"]
    assert initial_mail.message_id == f"<{notification_id}@{MAIL_DOMAIN}>"
    assert "<p>领导班子好（85.00分）</p>" in initial_mail.part("html")

    # The same event twice: one email, one inbox message, one outcome each.
    assert len([m for m in receivers.smtp.to(address) if "分类定级" in m.subject]) == 1
    about_graded = [
        e for e in outcomes(results.seen) if e["data"]["cause_event_id"] == graded["id"]
    ]
    assert sorted(e["data"]["channel"] for e in about_graded) == ["email", "inbox"]
    assert all(e["type"] == "notification.delivered" for e in about_graded)
    rows = await admin.fetchval(
        "SELECT count(*) FROM notification.deliveries WHERE cause_event_id = $1", graded["id"]
    )
    assert rows == 2

    # The inbox: its own token opens it; newest first, paged, unread until read.
    url = f"{platform.services['notification'].url}/v1/inbox/{c.b('b1')}"
    async with httpx.AsyncClient() as anyone:
        assert (await anyone.get(url)).status_code == 401
        forged = {"Authorization": f"Bearer gri_{c.b('b1')}.{'A' * 43}"}
        assert (await anyone.get(url, headers=forged)).status_code == 401
        other = await anyone.get(url, headers=inbox_token(c.b("b2")))
        assert other.status_code == 403 and c.b("b2") in other.json()["detail"]
        refused = await anyone.post(f"{url}/x/read", headers=inbox_token(c.b("b2")))
        assert refused.status_code == 403
    async with httpx.AsyncClient(headers=inbox_token(c.b("b1"))) as client:
        page = (await client.get(url, params={"page_size": 1})).json()
        assert (page["total"], page["unread"], len(page["items"])) == (2, 2, 1)
        newest = page["items"][0]
        assert newest["subject"] == "【定级结果】b1学校党支部晋位升级复评等次：强"
        assert newest["kind"] == "grading_result" and newest["read"] is False
        second = (await client.get(url, params={"page_size": 1, "page": 2})).json()["items"][0]
        assert "分类定级" in second["subject"]
        marked = await client.post(f"{url}/{newest['message_id']}/read")
        assert marked.status_code == 200 and marked.json()["read"] is True
        unread = (await client.get(url, params={"state": "unread"})).json()
        read = (await client.get(url, params={"state": "read"})).json()
        assert [i["message_id"] for i in unread["items"]] == [second["message_id"]]
        assert [i["message_id"] for i in read["items"]] == [newest["message_id"]]
        assert (await client.post(f"{url}/nope/read")).status_code == 404


async def test_webhooks_are_signed_a_failing_endpoint_is_retried_then_reported_and_bad_recipients_fail_at_once(
    platform: Platform, receivers: Receivers, tmp_path: Path, admin: asyncpg.Connection
) -> None:
    ok, down, gone = (County(receivers.counties[name]) for name in ("ok", "down", "gone"))
    receivers.smtp.refused.add(gone.email("b1"))
    await register(
        admin,
        tmp_path,
        [
            ok.register("b1"),
            down.register("b1"),
            gone.register("b1"),
            ok.register("b2", email=None),
        ],
    )
    events = {
        name: county.graded("b1") for name, county in (("ok", ok), ("down", down), ("gone", gone))
    }
    no_address = ok.graded("b2")
    async with TopicWatcher("notification.results") as results:
        assert publish_with_tool([*events.values(), no_address], tmp_path).returncode == 0
        signed = await results.wait_for(outcome_of(events["ok"]["id"], "webhook"))
        retried = await results.wait_for(outcome_of(events["down"]["id"], "webhook"))
        gone_hook = await results.wait_for(outcome_of(events["gone"]["id"], "webhook"))
        refused = await results.wait_for(outcome_of(events["gone"]["id"], "email"))
        unaddressed = await results.wait_for(outcome_of(no_address["id"], "email"))
        down_mail = await results.wait_for(outcome_of(events["down"]["id"], "email"))

    # The healthy endpoint: one request, signed, verified by the receiver, the facts in JSON.
    delivered = json.loads(signed[0].value)
    assert delivered["type"] == "notification.delivered"
    assert delivered["data"]["recipient"] == "county-ok" and delivered["data"]["attempts"] == 1
    notification_id = delivered["data"]["notification_id"]
    hooks = receivers.webhooks.received(lambda h: h.idempotency_key == notification_id)
    assert len(hooks) == 1 and hooks[0].signature_valid and hooks[0].path == "/ok"
    body = hooks[0].json()
    assert body["kind"] == "grading_result" and body["county_code"] == ok.county
    assert (
        body["facts"]["level"] == "fairly_strong" and body["facts"]["branch_name"] == "b1学校党支部"
    )
    assert body["subject"] == "【定级结果】b1学校党支部分类定级等次：较强"

    # The endpoint that is down: every attempt signed, three attempts backing off, then failed.
    failed = json.loads(retried[0].value)
    assert failed["type"] == "notification.failed"
    assert failed["data"]["attempts"] == 3 and failed["data"]["error"] == "HTTP 503"
    tries = receivers.webhooks.received(
        lambda h: h.idempotency_key == failed["data"]["notification_id"]
    )
    assert [t.status for t in tries] == [503, 503, 503] and all(t.signature_valid for t in tries)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(tries)]
    # Backoff 0.4 s doubling, with equal jitter: at least half of each step.
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4, gaps
    # Meanwhile the same event's email went out at once.
    assert json.loads(down_mail[0].value)["type"] == "notification.delivered"

    # Bad recipients: reported after one attempt, never retried.
    for record, error in (
        (gone_hook, "HTTP 410"),
        (refused, "550"),
        (unaddressed, "no email address on record"),
    ):
        outcome = json.loads(record[0].value)
        assert outcome["type"] == "notification.failed", outcome
        assert outcome["data"]["attempts"] == 1 and error in outcome["data"]["error"], outcome
    assert json.loads(unaddressed[0].value)["data"]["recipient"] == ok.b("b2")
    assert receivers.smtp.to(gone.email("b1")) == []

    # What operators see.
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{platform.services['notification'].url}/metrics")).text
    for line in (
        'grassroots_notification_deliveries_total{channel="webhook",outcome="delivered"}',
        'grassroots_notification_deliveries_total{channel="webhook",outcome="failed"}',
        'grassroots_notification_deliveries_total{channel="email",outcome="delivered"}',
        'grassroots_notification_retries_total{channel="webhook"}',
        'grassroots_notification_delivery_seconds_count{channel="email"}',
    ):
        assert line in metrics, line


def texts(mails: list[ReceivedEmail], subject_part: str) -> list[str]:
    return [m.text for m in mails if subject_part in m.subject]


def arrived(
    smtp: SmtpReceiver, address: str, subject_part: str, count: int = 1
) -> Callable[[], list[str]]:
    """For `eventually`: the texts of the mails to `address` whose subject has `subject_part`,
    once there are `count` of them."""

    def check() -> list[str]:
        found = texts(smtp.to(address), subject_part)
        return found if len(found) >= count else []

    return check


async def facts_noted(admin: asyncpg.Connection, campaign_id: str, count: int) -> bool:
    noted = await admin.fetchval(
        "SELECT count(*) FROM notification.lagging_facts WHERE campaign_id = $1", campaign_id
    )
    return bool(noted == count)


async def test_reminders_escalation_and_circulars_come_at_their_moments_on_the_clock(
    platform: Platform, receivers: Receivers, tmp_path: Path, admin: asyncpg.Connection
) -> None:
    """Rectification, with the real rectification service on the same clock: the phase opens,
    commitment reminders go to the branches without one, an overdue task reaches its branch,
    a weekly circular names the lagging branches, the overdue task is escalated, and the
    phase's close brings its own circular — each branch named once, with all its reasons."""
    c = County()
    mail = receivers.smtp
    office, b1, b2, b3 = (c.email(k) for k in ("office", "b1", "b2", "b3"))
    platform.set_clock(at("2012-04-16"))
    try:
        await register(
            admin,
            tmp_path,
            [c.register(None, secretary="李书记"), *(c.register(k) for k in ("b1", "b2", "b3"))],
        )
        launch = c.event(
            "campaign.launched",
            {
                "campaign_id": c.campaign_id,
                "name": "整改通知测试",
                "year": 2012,
                "phases": [
                    {"phase": "rectification", "opens_on": "2012-04-16", "closes_on": "2012-06-30"}
                ],
                "rules": {"commitment_due_days": 10, "reminder_days_before_close": [7, 1]},
            },
        )
        task = {
            "task_id": "t1",
            "title": "更新党员活动室",
            "responsible": "张主任",
            "requirement": "按期完成",
            "measures": "专人负责",
            "deadline": "2012-04-18",
            "kind": "immediate",
        }
        events = [
            launch,
            c.event(
                "campaign.phase_opened",
                {"campaign_id": c.campaign_id, "phase": "rectification"},
                at("2012-04-16"),
            ),
            c.event(
                "rectification.commitment_published",
                {"branch_id": c.b("b1"), "commitment_id": "c1", "revision": 1, "tasks": [task]},
                at("2012-04-16", "10:00:00"),
            ),
        ]
        assert publish_with_tool(events, tmp_path).returncode == 0
        opened = await eventually(
            lambda: (
                [texts(mail.to(a), "工作启动") for a in (b1, b2, b3)]
                if all(texts(mail.to(a), "工作启动") for a in (b1, b2, b3))
                else None
            )
        )
        assert "本阶段计划于2012年6月30日结束" in opened[0][0]
        assert "公开承诺整改事项" in opened[0][0]  # the phase's tasks
        assert texts(mail.to(office), "工作启动") == []  # every branch, not the committee

        async def committed() -> bool:
            found = await admin.fetchval(
                "SELECT count(*) FROM notification.commitments WHERE campaign_id = $1",
                c.campaign_id,
            )
            return bool(found == 1)

        await eventually(committed)

        # 7 days before the commitment is due (26 April): the branches without one.
        platform.set_clock(at("2012-04-19", "08:00:01"))
        reminded = await eventually(arrived(mail, b3, "公开承诺提醒"))
        await eventually(arrived(mail, b2, "公开承诺提醒"))
        subjects = [m.subject for m in mail.to(b3) if "公开承诺提醒" in m.subject]
        assert subjects == ["【公开承诺提醒】请于2012年4月26日前公开整改方案"]
        assert "距截止还有7天" in reminded[0]
        planned = await admin.fetch(
            "SELECT recipient, channel FROM notification.deliveries"
            " WHERE campaign_id = $1 AND kind = 'commitment_due'",
            c.campaign_id,
        )
        assert {(r["recipient"], r["channel"]) for r in planned} == {
            (b2, "email"),
            (b3, "email"),
            (c.b("b2"), "inbox"),
            (c.b("b3"), "inbox"),
        }
        # rectification found t1 (due 18 April) overdue: its branch hears, naming who is responsible.
        overdue = await eventually(arrived(mail, b1, "逾期提醒"))
        assert "责任人：张主任" in overdue[0] and "应于2012年4月18日前完成" in overdue[0]

        # Lagging facts as rectification and grading would publish them.
        facts = [
            c.event(
                "rectification.commitment_missing",
                {"branch_id": c.b(k), "due": "2012-04-26"},
            )
            for k in ("b2", "b3")
        ] + [
            c.event(
                "grading.branch_incomplete",
                {"branch_id": c.b("b2"), "round": "initial", "missing": ["appraisal"]},
            )
        ]
        assert publish_with_tool(facts, tmp_path).returncode == 0
        incomplete = await eventually(arrived(mail, office, "定级材料不全"))
        assert "党员群众评议" in incomplete[0]
        await eventually(lambda: facts_noted(admin, c.campaign_id, 4))
        assert not [m for m in mail.to(office) if "督查通报" in m.subject]

        # A week after the phase opened: the week's draft, each branch named once per reason —
        # for the office to sign off; nothing of it is sent.
        platform.set_clock(at("2012-04-23", "09:00:01"))
        weekly = await drafted(admin, f"circular-{c.campaign_id}-2012-04-23")
        # (the committee may be named too, for the plan it has not reviewed: rectification's
        # result on the same clock, which the draft may or may not have seen yet)
        assert [item for item in weekly if "-committee-" not in item[0]] == [
            (
                f"criticism-{c.b('b1')}-task_overdue",
                "b1学校党支部整改任务逾期1项（更新党员活动室，2012年4月18日到期）。",
            ),
            (
                f"criticism-{c.b('b2')}-commitment_missing",
                "b2学校党支部未按时公开承诺（应于2012年4月26日前公开）。",
            ),
            (
                f"criticism-{c.b('b2')}-grading_incomplete",
                "b2学校党支部定级材料不全（分类定级缺党员群众评议）。",
            ),
            (
                f"criticism-{c.b('b3')}-commitment_missing",
                "b3学校党支部未按时公开承诺（应于2012年4月26日前公开）。",
            ),
        ]
        await eventually(lambda: told_of_drafts(admin, c.campaign_id))
        assert await told_of_drafts(admin, c.campaign_id) == {("circular_drafted", "inbox")}

        # t1 still open 7 days after it became overdue: escalated to the parent (the committee);
        # the last commitment reminder is due too.
        platform.set_clock(at("2012-04-26", "00:00:01"))
        escalated = await eventually(arrived(mail, office, "逾期督办"))
        assert "逾期已满7天仍未完成" in escalated[0] and "张主任" in escalated[0]
        last_call = await eventually(arrived(mail, b3, "公开承诺提醒", count=2))
        assert "今天截止" in last_call[1]
        assert texts(mail.to(b1), "公开承诺提醒") == []

        # The phase closes: after the settlements arrive, the phase's circular.
        platform.set_clock(at("2012-04-27", "10:00:00"))
        closed = c.event(
            "campaign.phase_closed",
            {"campaign_id": c.campaign_id, "phase": "rectification"},
            at("2012-04-27", "10:00:00"),
        )
        assert publish_with_tool([closed], tmp_path).returncode == 0
        final = await drafted(admin, f"circular-{c.campaign_id}-close-rectification")
        named = [item_id.split("-")[-2] for item_id, _ in final]  # the organisation's key
        assert set(named) - {"committee"} == {"b1", "b2", "b3"} and named.count("b2") == 2, final
    finally:
        platform.set_clock(None)

    # Each moment once, however many sweeps ran at it; no circular was mailed.
    assert len(texts(mail.to(b3), "公开承诺提醒")) == 2
    assert len(texts(mail.to(office), "逾期督办")) == 1
    documents = await admin.fetchval(
        "SELECT count(*) FROM notification.circular_documents WHERE campaign_id = $1",
        c.campaign_id,
    )
    assert documents == 2
    assert not [m for a in (office, b1, b2, b3) for m in mail.to(a) if "【通报】" in m.subject]


async def drafted(admin: asyncpg.Connection, circular_id: str) -> list[tuple[str, str]]:
    """(item_id, text) of a circular's draft, in order, once it is drafted."""

    async def items() -> list[tuple[str, str]]:
        rows = await admin.fetch(
            "SELECT item_id, text FROM notification.circular_items WHERE circular_id = $1"
            " ORDER BY position",
            circular_id,
        )
        return [(row["item_id"], row["text"]) for row in rows]

    found: list[tuple[str, str]] = await eventually(items)
    return found


async def told_of_drafts(admin: asyncpg.Connection, campaign_id: str) -> set[tuple[str, str]]:
    """(kind, channel) of everything planned about the campaign's circulars: a draft is told to
    the office's inbox only."""
    rows = await admin.fetch(
        "SELECT DISTINCT kind, channel FROM notification.deliveries"
        " WHERE campaign_id = $1 AND kind LIKE 'circular%'",
        campaign_id,
    )
    return {(row["kind"], row["channel"]) for row in rows}


async def facts_open(admin: asyncpg.Connection, campaign_id: str, reason: str) -> list[str]:
    rows = await admin.fetch(
        "SELECT branch_id FROM notification.lagging_facts"
        " WHERE campaign_id = $1 AND reason = $2 AND resolved_at IS NULL",
        campaign_id,
        reason,
    )
    return [row["branch_id"] for row in rows]


async def none_open(admin: asyncpg.Connection, campaign_id: str) -> bool:
    """No lagging fact of the campaign is open any more."""
    return not any(
        [
            await facts_open(admin, campaign_id, r)
            for r in ("escalation_unanswered", "review_overdue")
        ]
    )


async def test_the_superior_is_told_of_an_escalated_problem_and_a_plan_to_review_and_is_supervised(
    platform: Platform, receivers: Receivers, tmp_path: Path, admin: asyncpg.Connection
) -> None:
    """With the real rectification service: a branch whose parent is the committee lists a
    problem that needs the superior; rectification escalates it and the committee's secretary
    gets the mail (加强具体指导 is the superior's duty). Its plan waits for the committee's
    review: told too. Left unanswered and unreviewed, the committee is reminded (督办) and named
    in the circular as lagging, until it reviews and answers."""
    c = County()
    mail = receivers.smtp
    office, b1 = c.email("office"), c.email("b1")
    platform.set_clock(at("2012-04-20"))
    try:
        await register(admin, tmp_path, [c.register(None, secretary="李书记"), c.register("b1")])
        launch = c.event(
            "campaign.launched",
            {
                "campaign_id": c.campaign_id,
                "name": "上级指导测试",
                "year": 2012,
                "phases": [
                    {"phase": "rectification", "opens_on": "2012-04-16", "closes_on": "2012-06-30"}
                ],
                # Long enough that rectification's own overdue sweep stays silent in this test:
                # the overdue results below stand in for it.
                "rules": {"escalation_answer_days": 30, "review_due_days": 20},
            },
        )
        listed = c.event(
            "rectification.problem_listed",
            {
                "branch_id": c.b("b1"),
                "problem_id": "p1",
                "description": "党员活动室设施陈旧，需统筹经费更新",
                "source": "public",
                "needs_superior": True,
            },
            at("2012-04-20"),
        )
        plan = c.event(
            "rectification.commitment_published",
            {
                "branch_id": c.b("b1"),
                "commitment_id": "c1",
                "revision": 1,
                "tasks": [
                    {
                        "task_id": "t1",
                        "problem_id": "p1",
                        "title": "更新党员活动室",
                        "responsible": "张主任",
                        "requirement": "六月底前完成",
                        "measures": "申请经费、统一采购",
                        "deadline": "2012-06-30",
                        "kind": "immediate",
                    }
                ],
            },
            at("2012-04-20", "10:00:00"),
        )
        opened = c.event(
            "campaign.phase_opened",
            {"campaign_id": c.campaign_id, "phase": "rectification"},
            at("2012-04-16"),
        )
        # The launch (its days for the superior) is on another topic than the plan: let it be
        # applied first, as a county system launches a campaign before its plans come in.
        assert publish_with_tool([launch, opened], tmp_path).returncode == 0
        await eventually(
            lambda: admin.fetchval(
                "SELECT review_due_days FROM notification.campaigns WHERE campaign_id = $1",
                c.campaign_id,
            )
        )
        assert publish_with_tool([listed, plan], tmp_path).returncode == 0

        # Rectification escalated the problem to the branch's parent: the committee hears it.
        told = await eventually(arrived(mail, office, "问题上报"))
        (escalated,) = [m for m in mail.to(office) if "问题上报" in m.subject]
        assert escalated.subject == "【问题上报】b1学校党支部上报问题待答复"
        assert escalated.rcpt_tos == (office,)
        assert told[0].startswith("教育局党委李书记同志：")
        assert "问题：党员活动室设施陈旧，需统筹经费更新（群众反映）" in told[0]
        assert "已于2012年4月20日上报你单位" in told[0]
        assert "请于2012年5月20日前（30日内）答复" in told[0]  # the campaign's rule
        cause = await admin.fetchrow(
            "SELECT cause_source, cause_event_id, branch_id FROM notification.deliveries"
            " WHERE kind = 'problem_escalated' AND recipient = $1",
            office,
        )
        assert cause["branch_id"] == c.b("b1")
        assert cause["cause_source"] != listed["source"]  # rectification's result, not the input
        # The plan waits for the committee's review.
        review = await eventually(arrived(mail, office, "方案待审"))
        assert [m.subject for m in mail.to(office) if "方案待审" in m.subject] == [
            "【方案待审】b1学校党支部整改方案（第1版）待审核"
        ]
        assert "共1项整改任务（立即整改1项）" in review[0]
        assert "1. 更新党员活动室（责任人：张主任；时限：2012年6月30日；立即整改）" in review[0]
        assert "请于2012年5月10日前（20日内）完成审核" in review[0]
        assert texts(mail.to(b1), "问题上报") == texts(mail.to(b1), "方案待审") == []

        # Neither answered nor reviewed in time, as rectification publishes it: reminded, and
        # lagging — the committee, not the branch.
        platform.set_clock(at("2012-04-23", "08:00:00"))
        overdue = [
            c.event(
                "rectification.escalation_overdue",
                {
                    "branch_id": c.b("b1"),
                    "problem_id": "p1",
                    "to_org_id": c.committee,
                    "due": "2012-04-22",
                },
            ),
            c.event(
                "rectification.review_overdue",
                {
                    "branch_id": c.b("b1"),
                    "commitment_id": "c1",
                    "revision": 1,
                    "reviewer_org_id": c.committee,
                    "due": "2012-04-22",
                },
            ),
        ]
        assert publish_with_tool(overdue, tmp_path).returncode == 0
        unanswered = await eventually(arrived(mail, office, "上报问题逾期未答复"))
        assert "应于2012年4月22日前答复，至今未答复" in unanswered[0]
        unreviewed = await eventually(arrived(mail, office, "逾期未审核"))
        assert [m.subject for m in mail.to(office) if "逾期未审核" in m.subject] == [
            "【督办】b1学校党支部整改方案（第1版）逾期未审核"
        ]
        assert "请你单位抓紧审核，加强具体指导" in unreviewed[0]
        for reason in ("escalation_unanswered", "review_overdue"):
            assert await facts_open(admin, c.campaign_id, reason) == [c.committee]

        # A week after the phase opened: the week's draft names the committee, a reason each.
        platform.set_clock(at("2012-04-23", "09:00:01"))
        assert await drafted(admin, f"circular-{c.campaign_id}-2012-04-23") == [
            (
                f"criticism-{c.committee}-escalation_unanswered",
                "教育局党委上报问题逾期未答复1项（b1学校党支部“党员活动室设施陈旧，需统筹经费"
                "更新”，应于2012年4月22日前答复）。",
            ),
            (
                f"criticism-{c.committee}-review_overdue",
                "教育局党委整改方案逾期未审核1项（b1学校党支部第1版，应于2012年4月22日前审核）。",
            ),
        ]

        # The committee reviews (returns the plan with guidance) and answers the escalation.
        answered = [
            c.event(
                "rectification.commitment_reviewed",
                {
                    "branch_id": c.b("b1"),
                    "commitment_id": "c1",
                    "revision": 1,
                    "decision": "returned",
                    "guidance": "请明确经费来源",
                    "reviewer_org_id": c.committee,
                },
            ),
            c.event(
                "rectification.problem_updated",
                {
                    "branch_id": c.b("b1"),
                    "problem_id": "p1",
                    "status": "open",
                    "escalation": {
                        "to_org_id": c.committee,
                        "answer": "accepted",
                        "action": "局党委统筹专项经费",
                        "due": "2012-06-20",
                    },
                },
            ),
        ]
        assert publish_with_tool(answered, tmp_path).returncode == 0
        returned = await eventually(arrived(mail, b1, "方案退回"))
        assert "请明确经费来源" in returned[0]
        await eventually(lambda: none_open(admin, c.campaign_id))  # no longer lagging
    finally:
        platform.set_clock(None)

    # Each once.
    for part in ("问题上报", "方案待审", "上报问题逾期未答复", "逾期未审核"):
        assert len(texts(mail.to(office), part)) == 1, part
    assert not [m for m in mail.to(office) if "【通报】" in m.subject]  # a draft is not issued


async def test_an_emulation_phase_is_announced_reminded_commended_and_closed_with_a_circular(
    platform: Platform, receivers: Receivers, tmp_path: Path, admin: asyncpg.Connection
) -> None:
    c = County()
    mail = receivers.smtp
    office, b1 = c.email("office"), c.email("b1")
    platform.set_clock(at("2012-07-01"))
    try:
        await register(
            admin, tmp_path, [c.register(None), c.register("b1"), c.register("b2", email=None)]
        )
        launch = c.event(
            "campaign.launched",
            {
                "campaign_id": c.campaign_id,
                "name": "创先争优测试",
                "year": 2012,
                "phases": [
                    {"phase": "emulation", "opens_on": "2012-07-01", "closes_on": "2012-08-15"}
                ],
            },
        )
        opened = c.event(
            "campaign.phase_opened",
            {"campaign_id": c.campaign_id, "phase": "emulation"},
            at("2012-07-01"),
        )
        commended = c.event(
            "emulation.commended",
            {
                "branch_id": c.b("b1"),
                "honour": "advanced_organization",
                "title": "2012年度先进基层党组织",
            },
        )
        async with TopicWatcher("notification.results") as results:
            assert publish_with_tool([launch, opened, commended], tmp_path).returncode == 0
            announced = await eventually(arrived(mail, b1, "工作启动"))
            no_address = await results.wait_for(outcome_of(opened["id"], "email", c.b("b2")))
            await results.wait_for(outcome_of(commended["id"], "inbox", c.b("b1")))
        assert "本阶段计划于2012年8月15日结束" in announced[0]
        assert json.loads(no_address[0].value)["data"]["error"] == "no email address on record"
        praise = await eventually(arrived(mail, b1, "【表彰】"))
        assert "被评为“先进基层党组织”（2012年度先进基层党组织）" in praise[0]

        platform.set_clock(at("2012-08-08", "08:00:01"))
        week = await eventually(arrived(mail, b1, "截止提醒"))
        assert "计划于2012年8月15日结束，距截止还有7天" in week[0]
        platform.set_clock(at("2012-08-14", "08:00:01"))
        day = await eventually(arrived(mail, b1, "截止提醒", count=2))
        assert "距截止还有1天" in day[1]

        platform.set_clock(at("2012-08-15", "18:00:00"))
        closed = c.event(
            "campaign.phase_closed",
            {"campaign_id": c.campaign_id, "phase": "emulation"},
            at("2012-08-15", "18:00:00"),
        )
        assert publish_with_tool([closed], tmp_path).returncode == 0
        # The close's draft: neither branch reported its progress due 12 August.
        circular_id = f"circular-{c.campaign_id}-close-emulation"
        assert await drafted(admin, circular_id) == [
            (
                f"criticism-{c.b(key)}-progress_report_missing",
                f"{key}学校党支部未按时报送工作进展情况（应于2012年8月12日前报送）。",
            )
            for key in ("b1", "b2")
        ]
        title = await admin.fetchval(
            "SELECT title FROM notification.circular_documents WHERE circular_id = $1",
            circular_id,
        )
        assert title == "关于创先争优测试“学习先进、创先争优”阶段督查情况的通报"
    finally:
        platform.set_clock(None)

    assert len(texts(mail.to(b1), "【表彰】")) == 1
    assert len(texts(mail.to(b1), "截止提醒")) == 2
    assert not [m for a in (office, b1) for m in mail.to(a) if "【通报】" in m.subject]
    async with httpx.AsyncClient(headers=inbox_token(c.b("b2"))) as client:
        url = f"{platform.services['notification'].url}/v1/inbox/{c.b('b2')}"
        inbox = (await client.get(url)).json()
    # No awarding body named: told to the branch commended, not to the others; the draft
    # criticising b2 waits for the office.
    kinds = {item["kind"] for item in inbox["items"]}
    assert kinds >= {"phase_opened", "phase_closing"}
    assert "commendation" not in kinds and "circular" not in kinds


SEVENTH_OF_JULY = "局党委“七一”创先争优专项表彰"


def signed(c: County, circular_id: str) -> dict[str, Any]:
    """The office's sign-off, as the reporting API publishes it (the tests may publish it)."""
    return c.event(
        "supervision.circular_signed",
        {"circular_id": circular_id, "signed_by": "刘芳"},
        at("2012-07-02", "10:00:00"),
    )


async def test_a_committees_commendations_of_a_day_are_one_signed_circular_to_every_organisation_and_a_general_branchs_reach_only_the_branch(
    platform: Platform, receivers: Receivers, tmp_path: Path, admin: asyncpg.Connection
) -> None:
    """通报表扬: the committee's 七一 commendation of two organisations is one draft of praise;
    nothing is sent until the office signs it off, then it goes to every organisation of the
    county (the committee, the general branch, every branch) by mail and in the inbox, as the
    committee's document; the general branch's own commendation reaches the branch it commended
    only, at once; a commendation of an organisation never registered goes to the DLQ."""
    c = County()
    mail = receivers.smtp
    general = c.register("g1")
    general["data"].update(kind="general_branch", name="g1学区党总支")
    under_general = c.register("b3")
    under_general["data"]["parent_id"] = c.b("g1")
    await register(
        admin,
        tmp_path,
        [c.register(None), general, c.register("b1"), c.register("b2"), under_general],
    )
    by_committee = {"title": SEVENTH_OF_JULY, "awarded_by": c.committee, "awarded_on": "2012-07-01"}
    seventh = [
        c.event(
            "emulation.commended",
            {"branch_id": c.b("b1"), "honour": "advanced_organization", **by_committee},
        ),
        c.event(
            "emulation.commended",
            {
                "branch_id": c.b("b2"),
                "honour": "excellent_member",
                "member_name": "赵老师",
                **by_committee,
            },
        ),
    ]
    own = c.event(
        "emulation.commended",
        {
            "branch_id": c.b("b3"),
            "honour": "excellent_party_worker",
            "member_name": "钱老师",
            "title": "学区党总支优秀党务工作者",
            "awarded_by": c.b("g1"),
            "awarded_on": "2012-06-28",
        },
    )
    unknown = c.event(
        "emulation.commended",
        {"branch_id": c.b("nobody"), "honour": "advanced_organization", **by_committee},
    )
    everyone = ("office", "g1", "b1", "b2", "b3")
    circular_id = f"circular-{c.campaign_id}-commendation-{c.committee}-2012-07-01-1"
    platform.set_clock(at("2012-07-02", "09:00:00"))  # the day it is drafted
    try:
        async with (
            TopicWatcher("notification.results") as results,
            TopicWatcher("emulation.inputs.dlq") as dlq,
        ):
            assert publish_with_tool([*seventh, own, unknown], tmp_path).returncode == 0
            told = await eventually(arrived(mail, c.email("b3"), "【表彰】"))
            await results.wait_for(outcome_of(own["id"], "inbox", c.b("b3")))
            [dead] = await dlq.wait_for(
                lambda r: (
                    json.loads(r.value)["id"] == unknown["id"]
                    and header(r, "dlq-service") == "notification"
                )
            )
            # One draft naming both: waiting for the office, sent to no one.
            assert await drafted(admin, circular_id) == [
                (
                    f"praise-{c.b('b1')}-commended",
                    f"教育局党委于2012年7月1日授予b1学校党支部“先进基层党组织”称号（{SEVENTH_OF_JULY}）。",
                ),
                (
                    f"praise-{c.b('b2')}-commended",
                    f"教育局党委于2012年7月1日授予b2学校党支部赵老师同志“优秀共产党员”称号"
                    f"（{SEVENTH_OF_JULY}）。",
                ),
            ]
            assert not [m for k in everyone for m in mail.to(c.email(k)) if "通报" in m.subject]

            sign = signed(c, circular_id)
            assert publish_with_tool([sign], tmp_path).returncode == 0
            announced = {
                key: await eventually(arrived(mail, c.email(key), "【通报】")) for key in everyone
            }
    finally:
        platform.set_clock(None)

    # One circular, to every organisation, by each channel it has, the same for all.
    subject = f"【通报】关于{SEVENTH_OF_JULY}的通报（测教党办〔2012〕1号）"
    for key in everyone:
        assert [m.subject for m in mail.to(c.email(key)) if "通报" in m.subject] == [subject]
    text = announced["b1"][0]
    assert text == (
        "中共测试县教育局委员会办公室\n"
        "测教党办〔2012〕1号\n\n"
        f"关于{SEVENTH_OF_JULY}的通报\n\n"
        "各支部（总支）：\n"
        "截至2012年7月2日，现将有关情况通报如下：\n"
        "一、通报表扬\n"
        f"1. 教育局党委于2012年7月1日授予b1学校党支部“先进基层党组织”称号（{SEVENTH_OF_JULY}）。\n"
        f"2. 教育局党委于2012年7月1日授予b2学校党支部赵老师同志“优秀共产党员”称号（{SEVENTH_OF_JULY}）。\n"
        "希望受到表扬的党组织和同志珍惜荣誉、再接再厉；各支部（总支）要以先进为榜样，学习先进、创先争优。\n\n"
        "中共测试县教育局委员会办公室\n"
        "2012年7月2日\n"
    )
    assert all(announced[key] == [text] for key in everyone)
    rows = await admin.fetch(
        "SELECT cause_event_id, recipient, channel, kind FROM notification.deliveries"
        " WHERE campaign_id = $1 AND kind IN ('commendation', 'circular')",
        c.campaign_id,
    )
    county_wide = [r for r in rows if r["kind"] == "circular"]
    assert len({r["cause_event_id"] for r in county_wide}) == 1  # one notice
    assert {(r["recipient"], r["channel"]) for r in county_wide} == {
        *((c.email(key), "email") for key in everyone),
        *((c.committee if key == "office" else c.b(key), "inbox") for key in everyone),
    }
    async with httpx.AsyncClient(headers=inbox_token(c.b("g1"))) as client:
        url = f"{platform.services['notification'].url}/v1/inbox/{c.b('g1')}"
        inbox = (await client.get(url)).json()
    assert [(i["kind"], i["kind_label"], i["subject"]) for i in inbox["items"]] == [
        ("circular", "督查通报", subject)
    ]

    # The general branch's own commendation: the branch commended, and no one else.
    assert {(r["recipient"], r["channel"]) for r in rows if r["cause_event_id"] == own["id"]} == {
        (c.email("b3"), "email"),
        (c.b("b3"), "inbox"),
    }
    assert [m.subject for m in mail.to(c.email("b3")) if "【表彰】" in m.subject] == [
        "【表彰】b3学校党支部钱老师同志荣获“优秀党务工作者”称号"
    ]
    assert (
        "2012年6月28日，经g1学区党总支研究，b3学校党支部党员钱老师同志被评为“优秀党务工作者”"
        "（学区党总支优秀党务工作者）。"
    ) in told[0]
    for key in ("office", "g1", "b1", "b2"):
        assert texts(mail.to(c.email(key)), "【表彰】") == []

    # An organisation never registered: refused, with the reason; nothing kept.
    assert header(dead, "dlq-reason-code") == "rejected_by_rule"
    assert header(dead, "dlq-reason") == (
        f"{c.b('nobody')} is not a registered organisation of county {c.county}: "
        "register it (org.branch_registered) first"
    )
    kept = await admin.fetchval(
        "SELECT count(*) FROM notification.commendations WHERE campaign_id = $1", c.campaign_id
    )
    assert kept == 2


async def test_a_crash_mid_delivery_neither_loses_nor_repeats_a_notification(
    platform: Platform, receivers: Receivers, tmp_path: Path, admin: asyncpg.Connection
) -> None:
    """SIGKILL while an email waits for the SMTP server's answer: after the restart it is sent
    again — the crash window, documented — with the same Message-ID, so the mailbox keeps one;
    one notification.delivered; the other deliveries were not held up meanwhile."""
    c = County()
    mail = receivers.smtp
    await register(
        admin, tmp_path, [c.register(None), *(c.register(k) for k in ("b1", "b2", "b3"))]
    )
    held = mail.hold(c.email("b1"))
    commended = c.event(
        "emulation.commended",
        {
            "branch_id": c.b("b1"),
            "honour": "excellent_member",
            "title": "优秀共产党员",
            "member_name": "赵老师",
            "awarded_by": c.committee,  # praised in a circular to every organisation
            "awarded_on": "2012-07-01",
        },
    )
    circular_id = f"circular-{c.campaign_id}-commendation-{c.committee}-2012-07-01-1"
    async with TopicWatcher("notification.results") as results:
        assert publish_with_tool([commended], tmp_path).returncode == 0
        await drafted(admin, circular_id)
        assert publish_with_tool([signed(c, circular_id)], tmp_path).returncode == 0
        await eventually(lambda: bool(mail.to(c.email("b1"))))  # received, not yet answered
        cause = await admin.fetchval(  # the signed circular
            "SELECT DISTINCT cause_event_id FROM notification.deliveries"
            " WHERE campaign_id = $1 AND kind = 'circular'",
            c.campaign_id,
        )
        for key in ("b2", "b3", "office"):  # a slow SMTP answer holds up no one else
            await results.wait_for(outcome_of(cause, "email", c.email(key)))
        platform.restart("notification")
        held.set()
        await results.wait_for(outcome_of(cause, "email", c.email("b1")))
        await results.drain()

    received = mail.to(c.email("b1"))
    assert len({m.message_id for m in received}) == 1, "one message, by its Message-ID"
    assert len(received) == 2, "sent once more after the crash (the documented window)"
    assert "授予b1学校党支部赵老师同志“优秀共产党员”称号（优秀共产党员）" in received[0].text
    about = [e for e in outcomes(results.seen) if e["data"]["cause_event_id"] == cause]
    ids = [(e["data"]["notification_id"], e["type"]) for e in about]
    assert len(ids) == len(set(ids)), "an outcome was published twice"
    b1_mail = [e for e in about if e["data"]["recipient"] == c.email("b1")]
    assert [e["type"] for e in b1_mail] == ["notification.delivered"]
    assert b1_mail[0]["data"]["attempts"] == 2
