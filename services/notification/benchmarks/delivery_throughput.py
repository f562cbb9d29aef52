"""Benchmark (not a test): delivery throughput of the real worker to a local SMTP server
(aiosmtpd) and a local webhook receiver (http.server), both on loopback.

    . deploy/env.sh && uv run python services/notification/benchmarks/delivery_throughput.py [N]

N email and N webhook deliveries are written to a scratch schema (dropped at the end); the
delivery worker claims, sends, and records each outcome with its notification.delivered in
the outbox (nothing is published: no relay runs), as in the service. Reported: deliveries per
second per channel, alone and together, at the default concurrency (8 emails, 4 requests per
webhook URL) and at a higher one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import socket
import sys
import threading
import time
import uuid
from contextlib import AbstractAsyncContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from grassroots.plumbing import database
from grassroots.plumbing.clock import system_clock
from grassroots.plumbing.service import Runtime
from grassroots.plumbing.unit_of_work import UnitOfWork, open_unit_of_work
from notification.config import NotificationSettings
from notification.delivery import DeliveryWorker
from notification.delivery_store import NewDelivery
from notification.store import NotificationStore

MIGRATIONS = Path(__file__).parents[1] / "migrations"
BODY = "城关中学党支部王建国同志：\n定级结果已公布，定为“较强”等次，综合得分83.80分。\n" * 5


class Sink:
    """Counts the mail it receives."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        return "250 OK"


def receive(ports: Connection, stop: Event) -> None:
    """The receivers, in a process of their own (so they do not share the worker's GIL)."""
    received = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received[0] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    ports.send((smtp_port, server.server_address[1]))
    stop.wait()
    ports.send((sink.count, received[0]))
    controller.stop()
    server.shutdown()


def rows(count: int, channel: str, address: str) -> list[NewDelivery]:
    body = json.dumps({"text": BODY}, ensure_ascii=False) if channel == "webhook" else BODY
    return [
        NewDelivery(
            notification_id=str(uuid.uuid4()),
            cause_source="/bench",
            cause_event_id=f"e-{i}",
            recipient=f"r-{i}@example.org" if channel == "email" else "county",
            channel=channel,
            kind="grading_result",
            county_code="610526",
            campaign_id="bench",
            branch_id="b1",
            address=f"r-{i}@example.org" if channel == "email" else address,
            subject="【定级结果】城关中学党支部分类定级等次：较强",
            body=body,
            html=None,
        )
        for i in range(count)
    ]


def unit_of_work(pool: asyncpg.Pool) -> AbstractAsyncContextManager[UnitOfWork[NotificationStore]]:
    return open_unit_of_work(pool, NotificationStore, service="notification", now=system_clock())


async def run(
    dsn: str,
    schema: str,
    settings: NotificationSettings,
    deliveries: list[NewDelivery],
) -> float:
    pool = await database.create_pool(dsn, schema, size=6)
    try:
        async with unit_of_work(pool) as uow:
            await uow.store.deliveries.insert_deliveries(deliveries)
        runtime = SimpleNamespace(  # what the worker uses of a Runtime: no broker, no relay
            pool=pool,
            settings=SimpleNamespace(consumer_instance_id=None, database_url=SecretStr(dsn)),
            definition=SimpleNamespace(name="notification"),
            clock=system_clock,
            unit_of_work=lambda: unit_of_work(pool),
        )
        worker = DeliveryWorker(cast(Runtime[NotificationStore], runtime), settings)
        started = time.perf_counter()
        task = asyncio.create_task(worker.run())
        while True:
            async with pool.acquire() as conn:
                left = await conn.fetchval(
                    "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')"
                )
                failed = await conn.fetchval(
                    "SELECT count(*) FROM deliveries WHERE status = 'failed'"
                )
            if failed:
                raise RuntimeError(f"{failed} deliveries failed")
            if left == 0:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        async with pool.acquire() as conn:
            await conn.execute("TRUNCATE deliveries, outbox")
        return elapsed
    finally:
        await pool.close()


async def main(count: int) -> None:
    dsn = os.environ["GRASSROOTS_ADMIN_DSN"]
    schema = f"notification_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f"CREATE SCHEMA {schema}")
    here, there = multiprocessing.Pipe()
    stop = multiprocessing.Event()
    receivers = multiprocessing.Process(target=receive, args=(there, stop), daemon=True)
    receivers.start()
    smtp_port, http_port = here.recv()
    url = f"http://127.0.0.1:{http_port}/hook"
    try:
        await database.migrate(admin, schema, MIGRATIONS)
        print("| deliveries | email concurrency | webhook concurrency | elapsed | per second |")
        print("|---|---:|---:|---:|---:|")
        for email_slots, webhook_slots in ((8, 4), (32, 16)):
            settings = NotificationSettings(
                smtp_host="127.0.0.1",
                smtp_port=smtp_port,
                smtp_starttls=False,
                mail_from="grassroots@pucheng.example.org",
                webhooks={"610526": [{"name": "county", "url": url}]},
                WEBHOOK_SIGNING_SECRET="bench-secret",
                email_concurrency=email_slots,
                webhook_concurrency=webhook_slots,
                poll_seconds=0.05,
            )
            for label, batch in (
                (f"{count:,} emails", rows(count, "email", "")),
                (f"{count:,} webhooks", rows(count, "webhook", url)),
                (
                    f"{count:,} + {count:,} both",
                    rows(count, "email", "") + rows(count, "webhook", url),
                ),
            ):
                elapsed = await run(dsn, schema, settings, batch)
                print(
                    f"| {label} | {email_slots} | {webhook_slots} | {elapsed:.2f} s"
                    f" | {len(batch) / elapsed:,.0f} |"
                )
        stop.set()
        emails, hooks = here.recv()
        print(f"(received: {emails:,} emails, {hooks:,} webhook requests)")
    finally:
        stop.set()
        receivers.join(timeout=10)
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
