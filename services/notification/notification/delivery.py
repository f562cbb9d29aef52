"""The delivery worker: claims due deliveries, sends them, records how it went.

- Lanes: one for email, one per webhook URL, each with its own concurrency limit; a lane only
  claims what it can start at once, so a slow or dead SMTP server or endpoint holds its own
  slots and nothing else (and never holds rows it is not sending).
- A claim (FOR UPDATE SKIP LOCKED, several replicas may run) marks the rows `sending` with a
  lease and counts the attempt before it is made; the outcome is recorded in its own short
  unit of work, with notification.delivered / .failed written to the outbox in it.
- Failures: permanent ones (no or invalid address, SMTP 5xx, webhook 4xx) fail at once;
  others are retried with exponential backoff and jitter until `max_attempts`.
- The crash window: a process that dies after a send and before recording it leaves the row
  `sending`; it is sent again when the lease expires (or at once, when the same instance
  restarts). So a crash can repeat a message once, with the same Message-ID / Idempotency-Key.
- Retry and lease times are the database's real clock, not the service clock: the service
  clock is the campaign calendar (frozen or moved in drills); a retry schedule must advance.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from opentelemetry.trace import SpanKind
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from grassroots.plumbing import tracing
from grassroots.plumbing.service import TRANSIENT_ERRORS, Runtime
from notification.channels import EmailSender, WebhookSender
from notification.config import NotificationSettings
from notification.delivery_store import WAKE_CHANNEL
from notification.domain import AttemptResult, Next, next_step, retry_delay
from notification.metrics import ATTEMPT_SECONDS, BACKLOG, DELIVERIES, LATENCY, RETRIES
from notification.planning import SETTINGS, emit_outcome
from notification.store import NotificationStore

log = logging.getLogger(__name__)
BACKLOG_EVERY_SECONDS = 5.0
LISTEN_RETRY_SECONDS = 5.0

Send = Callable[[Any], Awaitable[AttemptResult]]


@dataclass
class Lane:
    channel: str
    address: str | None  # the webhook URL; None: every row of the channel
    limit: int
    send: Send
    in_flight: set[asyncio.Task[None]] = field(default_factory=set)


class DeliveryWorker:
    def __init__(self, runtime: Runtime[NotificationStore], settings: NotificationSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.instance = runtime.settings.consumer_instance_id or f"{runtime.definition.name}-0"
        self.process_token = uuid.uuid4().hex
        self.claims = itertools.count()
        self.wake = asyncio.Event()
        self.jitter = random.Random()
        self.listener: asyncpg.Connection | None = None
        self.listen_tried = 0.0

    def lanes(self, email: EmailSender, client: httpx.AsyncClient) -> list[Lane]:
        webhook = WebhookSender(self.settings, client)
        lanes = [Lane("email", None, self.settings.email_concurrency, email.send)]
        for url in sorted(self.settings.webhook_urls()):
            lanes.append(Lane("webhook", url, self.settings.webhook_concurrency, webhook.send))
        return lanes

    async def run(self) -> None:
        """Forever: claim what each lane can start, start it, wait for a wake-up."""
        await self._recover()
        limits = httpx.Limits(max_connections=max(1, self.settings.webhook_concurrency) * 16)
        email = EmailSender(self.settings)
        async with httpx.AsyncClient(limits=limits, follow_redirects=False) as client:
            lanes = self.lanes(email, client)
            last_backlog = 0.0
            try:
                while True:
                    self.wake.clear()
                    try:
                        await self._listen()
                        for lane in lanes:
                            await self._fill(lane)
                        if time.monotonic() - last_backlog > BACKLOG_EVERY_SECONDS:
                            last_backlog = time.monotonic()
                            async with self.runtime.unit_of_work() as uow:
                                BACKLOG.set(await uow.store.deliveries.backlog())
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("delivery worker: claiming failed; retrying")
                        await asyncio.sleep(1)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), self.settings.poll_seconds)
            finally:
                for lane in lanes:
                    for task in lane.in_flight:
                        task.cancel()
                email.close()
                if self.listener is not None:
                    await self.listener.close()

    async def _recover(self) -> None:
        """At start: our previous run's claims are due now; rows for webhooks no longer
        configured are failed (no lane would ever claim them)."""
        async for attempt in self._retrying():
            with attempt:
                async with self.runtime.unit_of_work() as uow:
                    released = await uow.store.deliveries.release_claims_of_previous_run(
                        self.instance, self.process_token
                    )
                    retired = await uow.store.deliveries.fail_unconfigured_webhooks(
                        sorted(self.settings.webhook_urls()), "webhook endpoint not configured"
                    )
                    for row in retired:
                        emit_outcome(
                            uow,
                            row,
                            delivered=False,
                            attempts=row["attempts"],
                            error="webhook endpoint not configured",
                        )
        if released:
            log.info("delivery worker: %d deliveries of the previous run are due again", released)

    async def _listen(self) -> None:
        """LISTEN for planned deliveries (NOTIFY is sent on commit); polling covers the rest."""
        if self.listener is not None and not self.listener.is_closed():
            return
        if time.monotonic() - self.listen_tried < LISTEN_RETRY_SECONDS:
            return
        self.listen_tried = time.monotonic()
        try:
            dsn = self.runtime.settings.database_url.get_secret_value()
            self.listener = await asyncpg.connect(dsn, timeout=5)
            await self.listener.add_listener(WAKE_CHANNEL, lambda *_: self.wake.set())
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            log.warning("delivery worker: cannot LISTEN (%r); polling", error)
            self.listener = None

    async def _fill(self, lane: Lane) -> None:
        free = lane.limit - len(lane.in_flight)
        if free <= 0:
            return
        token = f"{self.process_token}:{next(self.claims)}"
        async with self.runtime.unit_of_work() as uow:
            rows = await uow.store.deliveries.claim(
                channel=lane.channel,
                address=lane.address,
                limit=free,
                lease_seconds=self.settings.lease_seconds,
                instance=self.instance,
                token=token,
            )
        for row in rows:
            task = asyncio.create_task(self._attempt(lane, row, token))
            lane.in_flight.add(task)
            task.add_done_callback(functools.partial(self._done, lane))

    def _done(self, lane: Lane, task: asyncio.Task[None]) -> None:
        lane.in_flight.discard(task)
        self.wake.set()  # a slot is free

    async def _attempt(self, lane: Lane, row: asyncpg.Record, token: str) -> None:
        # One span per attempt; the outcome it emits (notification.delivered/failed) is in it.
        with tracing.span(
            f"notification deliver {lane.channel}",
            kind=SpanKind.CLIENT,
            attributes={
                "notification.id": str(row["notification_id"]),
                "notification.channel": str(lane.channel),
                "notification.attempt": int(row["attempts"]),
            },
        ):
            await self._attempt_in_span(lane, row, token)

    async def _attempt_in_span(self, lane: Lane, row: asyncpg.Record, token: str) -> None:
        started = time.monotonic()
        try:
            result = await lane.send(row)
        except Exception as error:  # a bug in a sender must not lose the delivery
            log.exception("delivery %s: sender failed", row["notification_id"])
            result = AttemptResult(ok=False, error=f"{type(error).__name__}: {error}"[:1000])
        ATTEMPT_SECONDS.labels(lane.channel).observe(time.monotonic() - started)
        try:
            await self._record(row, token, result)
        except Exception:
            # The lease expires and the row is claimed again: at worst it is sent once more.
            log.exception("delivery %s: outcome not recorded", row["notification_id"])

    async def _record(self, row: asyncpg.Record, token: str, result: AttemptResult) -> None:
        step = next_step(result, row["attempts"], self.settings.max_attempts)
        channel, notification_id = row["channel"], row["notification_id"]
        finished: asyncpg.Record | None = None
        async for attempt in self._retrying():
            with attempt:
                async with self.runtime.unit_of_work() as uow:
                    if step is Next.RETRY:
                        delay = retry_delay(
                            row["attempts"],
                            initial=self.settings.backoff_initial_seconds,
                            maximum=self.settings.backoff_max_seconds,
                            jitter=self.jitter.random(),
                        )
                        error = result.error or "unknown error"
                        if await uow.store.deliveries.reschedule(
                            notification_id, token, delay, error
                        ):
                            RETRIES.labels(channel).inc()
                        return
                    status = "delivered" if step is Next.DELIVERED else "failed"
                    finished = await uow.store.deliveries.finish(
                        notification_id, token, status, result.error
                    )
                    if finished is None:
                        return  # our lease expired and another claim owns the row now
                    emit_outcome(
                        uow,
                        finished,
                        delivered=step is Next.DELIVERED,
                        attempts=finished["attempts"],
                        error=result.error,
                    )
        if finished is None:
            return
        DELIVERIES.labels(channel, status).inc()
        LATENCY.labels(channel).observe(float(finished["latency"]))

    def _retrying(self) -> AsyncRetrying:
        """Through a database outage, for as long as a lease lasts."""
        return AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT_ERRORS),
            wait=wait_exponential(multiplier=0.1, max=2),
            stop=stop_after_delay(self.settings.lease_seconds),
            reraise=True,
        )


async def deliver_continuously(runtime: Runtime[NotificationStore]) -> None:
    """The service's background task: the worker, on the service's settings."""
    await DeliveryWorker(runtime, SETTINGS).run()
