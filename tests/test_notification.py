"""Notifications end to end: the platform's events in, real email (an aiosmtpd server with
STARTTLS and AUTH) and signed webhooks (an HTTP server that verifies them) out, the inbox
API, reminders and circulars on the test's clock, retries, bad recipients, a crash mid-send."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from grassroots.contract.examples import CST, SCORES, envelope
from tests.harness import Platform, TopicWatcher, eventually, publish_with_tool
from tests.receivers import ReceivedEmail, Receivers

pytestmark = pytest.mark.usefixtures("platform")

MAIL_DOMAIN = "pucheng.example.org"


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


def outcomes(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


def outcome_of(cause_id: str, channel: str, recipient: str | None = None) -> Any:
    def matches(record: Any) -> bool:
        event = json.loads(record.value)
        data = event["data"]
        return bool(
            data["cause_event_id"] == cause_id
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

    initial_mail: ReceivedEmail = next(m for m in mails if "初评" in m.subject)
    assert initial_mail.subject == "【定级结果】b1学校党支部初评等次：较强"
    assert initial_mail.rcpt_tos == (address,)
    assert initial_mail.authenticated_as == receivers.smtp.username and initial_mail.over_tls
    assert "王建国同志" in initial_mail.text
    assert "定为“较强”等次，综合得分83.80分" in initial_mail.text
    assert "领导班子好：85.00分" in initial_mail.text
    notification_id = json.loads(delivered[0].value)["data"]["notification_id"]
    assert initial_mail.message_id == f"<{notification_id}@{MAIL_DOMAIN}>"
    assert "<p>领导班子好：85.00分</p>" in initial_mail.part("html")

    # The same event twice: one email, one inbox message, one outcome each.
    assert len([m for m in receivers.smtp.to(address) if "初评" in m.subject]) == 1
    about_graded = [
        e for e in outcomes(results.seen) if e["data"]["cause_event_id"] == graded["id"]
    ]
    assert sorted(e["data"]["channel"] for e in about_graded) == ["email", "inbox"]
    assert all(e["type"] == "notification.delivered" for e in about_graded)
    rows = await admin.fetchval(
        "SELECT count(*) FROM notification.deliveries WHERE cause_event_id = $1", graded["id"]
    )
    assert rows == 2

    # The inbox: newest first, paged, unread until read.
    url = f"{platform.services['notification'].url}/v1/inbox/{c.b('b1')}"
    async with httpx.AsyncClient() as client:
        page = (await client.get(url, params={"page_size": 1})).json()
        assert (page["total"], page["unread"], len(page["items"])) == (2, 2, 1)
        newest = page["items"][0]
        assert newest["subject"] == "【定级结果】b1学校党支部终评等次：强"
        assert newest["kind"] == "grading_result" and newest["read"] is False
        second = (await client.get(url, params={"page_size": 1, "page": 2})).json()["items"][0]
        assert "初评" in second["subject"]
        marked = await client.post(f"{url}/{newest['message_id']}/read")
        assert marked.status_code == 200 and marked.json()["read"] is True
        unread = (await client.get(url, params={"state": "unread"})).json()
        read = (await client.get(url, params={"state": "read"})).json()
        assert [i["message_id"] for i in unread["items"]] == [second["message_id"]]
        assert [i["message_id"] for i in read["items"]] == [newest["message_id"]]
        assert (await client.post(f"{url}/nope/read")).status_code == 404
