"""The notification service's roles (issue 21): `--role consume` plans and sends nothing,
`--role deliver` only sends, `all` both; two delivery workers at once (two replicas of
`notification-deliver`) send each planned email and webhook exactly once, and record one
outcome event for each. The workers run on a scratch schema of the real PostgreSQL, against an
SMTP server and a webhook receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from grassroots.contract import Topic
from grassroots.plumbing.clock import system_clock
from grassroots.plumbing.service import Runtime
from grassroots.plumbing.unit_of_work import UnitOfWork, open_unit_of_work
from grassroots.testing import scratch_schemas
from notification.app import DEFINITION, Role, definition
from notification.channels import EmailSender
from notification.config import NotificationSettings
from notification.delivery import DeliveryWorker, deliver_continuously
from notification.delivery_store import NewDelivery
from notification.store import NotificationStore
from tests.harness import REPO, eventually
from tests.receivers import SmtpReceiver

MIGRATIONS = REPO / "services" / "notification" / "migrations"
PER_CHANNEL = 300


def test_consume_plans_and_deliver_sends() -> None:
    consume, deliver = definition(Role.CONSUME), definition(Role.DELIVER)
    # The consumer: every topic, its jobs and the inbox API, and no delivery worker.
    assert Topic.GRADING_RESULTS in consume.topics and consume.jobs and consume.routers
    assert consume.background == ()
    # The worker: no topic (no consumer group, no partitions to wait for), no job, no API.
    assert deliver.topics == () and deliver.jobs == () and deliver.routers == ()
    assert deliver.background == (deliver_continuously,)
    # Without --role: both in one process, as before the split.
    assert DEFINITION.topics == consume.topics and DEFINITION.background == deliver.background
    assert {consume.name, deliver.name} == {"notification"}  # one schema, one Kafka user


class Receivers:
    """An SMTP server and a webhook receiver that count what each notification id got."""

    def __init__(self) -> None:
        self.mail: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        for line in envelope.content.decode(errors="replace").splitlines():
            if line.lower().startswith("x-grassroots-notification-id:"):
                with self.lock:
                    self.mail[line.split(":", 1)[1].strip()] += 1
        return "250 OK"

    def http_handler(self) -> type[BaseHTTPRequestHandler]:
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receivers.lock:
                    receivers.requests[self.headers["Idempotency-Key"]] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receivers() -> Iterator[tuple[Receivers, int, str]]:
    found = Receivers()
    with socket.socket() as probe:  # a free port for the SMTP server
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    smtp = Controller(found, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), found.http_handler())
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        yield found, smtp_port, f"http://127.0.0.1:{http.server_address[1]}/hook"
    finally:
        http.shutdown()
        smtp.stop()


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    async with scratch_schemas("notification_roles", MIGRATIONS, 1) as pools:
        yield pools[0]


def planned(channel: str, address: str) -> list[NewDelivery]:
    rows = []
    for i in range(PER_CHANNEL):
        mail = f"secretary-{i}@example.org"
        rows.append(
            NewDelivery(
                notification_id=str(uuid.uuid4()),
                cause_source="/tests/roles",
                cause_event_id=f"e-{i}",
                recipient=mail if channel == "email" else "county",
                channel=channel,
                kind="grading_result",
                county_code="610526",
                campaign_id="roles",
                branch_id=f"610526-edu-{i:04d}",
                address=mail if channel == "email" else address,
                subject="【定级结果】城关中学党支部分类定级等次：较强",
                body=json.dumps({"text": "定为“较强”等次"}, ensure_ascii=False)
                if channel == "webhook"
                else "定为“较强”等次。\n",
                html=None,
            )
        )
    return rows


def worker(pool: asyncpg.Pool, instance: str, settings: NotificationSettings) -> DeliveryWorker:
    """A delivery worker as `--role deliver` runs it, on the scratch schema (what it uses of a
    Runtime: the pool, units of work, its instance id, the database URL for LISTEN)."""

    def unit_of_work() -> AbstractAsyncContextManager[UnitOfWork[NotificationStore]]:
        return open_unit_of_work(
            pool, NotificationStore, service="notification", now=system_clock()
        )

    runtime = SimpleNamespace(
        pool=pool,
        settings=SimpleNamespace(
            consumer_instance_id=instance,
            database_url=SecretStr(os.environ["GRASSROOTS_ADMIN_DSN"]),
        ),
        definition=SimpleNamespace(name="notification"),
        clock=system_clock,
        unit_of_work=unit_of_work,
    )
    return DeliveryWorker(cast(Runtime[NotificationStore], runtime), settings)


async def test_two_delivery_workers_send_each_delivery_once(
    pool: asyncpg.Pool, receivers: tuple[Receivers, int, str]
) -> None:
    found, smtp_port, url = receivers
    settings = NotificationSettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls=False,
        mail_from="grassroots@pucheng.example.org",
        webhooks={"610526": [{"name": "county", "url": url}]},
        WEBHOOK_SIGNING_SECRET="roles-secret",
        poll_seconds=0.05,
    )
    rows = planned("email", "") + planned("webhook", url)
    # Both workers are running before anything is planned: they race for every row.
    workers = [worker(pool, name, settings) for name in ("deliver-a", "deliver-b")]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        async with open_unit_of_work(
            pool, NotificationStore, service="notification", now=system_clock()
        ) as uow:
            await uow.store.deliveries.insert_deliveries(rows)

        async def finished() -> bool:
            async with pool.acquire() as conn:
                left = await conn.fetchval(
                    "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')"
                )
            return bool(left == 0)

        await eventually(finished, within=120)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    emails = {r.notification_id for r in rows if r.channel == "email"}
    hooks = {r.notification_id for r in rows if r.channel == "webhook"}
    assert set(found.mail) == emails and set(found.mail.values()) == {1}
    assert set(found.requests) == hooks and set(found.requests.values()) == {1}
    async with pool.acquire() as conn:
        statuses = await conn.fetch("SELECT status, attempts, claimed_by FROM deliveries")
        outcomes = await conn.fetch("SELECT key, topic FROM outbox")
    assert {(r["status"], r["attempts"]) for r in statuses} == {("delivered", 1)}
    # Both took part (SKIP LOCKED shares the rows; neither waited for the other's).
    assert {r["claimed_by"] for r in statuses} == {"deliver-a", "deliver-b"}
    keys = Counter(bytes(r["key"]).decode() for r in outcomes)
    assert set(keys) == emails | hooks and set(keys.values()) == {1}
    assert {r["topic"] for r in outcomes} == {Topic.NOTIFICATION_RESULTS}


async def test_one_tls_context_for_every_smtp_connection(tmp_path: Path) -> None:
    """aiosmtplib would build a TLS context (the CA store loaded again) per connection: the
    sender builds one, which verifies the server as configured (STARTTLS, the CA bundle)."""
    smtp = SmtpReceiver(tmp_path)
    smtp.start()
    try:
        settings = NotificationSettings(
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_starttls=True,
            smtp_cert_bundle=smtp.cert,
            smtp_username=smtp.username,
            smtp_password=smtp.password,
            mail_from="grassroots@pucheng.example.org",
        )
        sender = EmailSender(settings)
        context = sender.tls_context()
        assert context.check_hostname and sender.tls_context() is context
        for number in range(2):
            row = {
                "notification_id": str(uuid.uuid4()),
                "address": f"secretary-{number}@example.org",
                "subject": "定级结果",
                "body": "定为“较强”等次。\n",
                "html": None,
                "kind": "grading_result",
            }
            assert (await sender.send(row)).ok
            sender.close()  # the next message opens a new connection, with the same context
        assert sender.tls_context() is context
        assert [mail.over_tls for mail in smtp.received()] == [True, True]
    finally:
        smtp.stop()
