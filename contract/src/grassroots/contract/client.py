"""Publishing events to the platform from a county system, two ways, one answer:

- `HttpPublisher(url, credential)`: over the platform's HTTP intake (`POST /v1/events`,
  CloudEvents batched mode), for systems that can only make HTTPS calls. Standard library only.
- `KafkaPublisher(producer)`: straight to Kafka with a producer you made (e.g. aiokafka's
  `AIOKafkaProducer(enable_idempotence=True, acks="all", …)` with your county's credentials).

Both validate each event as the platform does and return a `PublishReport` with one result per
event (accepted, or refused with the code and reason the platform would dead-letter it with).
Publishing the same event (same source and id) again is harmless: the platform's consumers
apply an event once.

    report = HttpPublisher("https://intake.example/", secret).publish([event])
    assert report.all_accepted, report.refusals()
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from grassroots.contract.envelope import CloudEvent
from grassroots.contract.parsing import ContractViolation, parse_event
from grassroots.contract.publishing import kafka_record

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


@dataclass(frozen=True)
class EventResult:
    index: int
    id: str | None
    status: str  # accepted | refused | not_published
    code: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PublishReport:
    results: tuple[EventResult, ...]

    @property
    def accepted(self) -> int:
        return sum(result.status == "accepted" for result in self.results)

    @property
    def all_accepted(self) -> bool:
        return self.accepted == len(self.results)

    def refusals(self) -> list[str]:
        """`index 3 (id e-4): invalid_data: data.round: …` for each event not accepted."""
        return [
            f"index {r.index} (id {r.id}): {r.code or r.status}: {r.reason}"
            for r in self.results
            if r.status != "accepted"
        ]


class PublishError(Exception):
    """The request as a whole was refused (401, 403, 413, 415, 422, …), or the intake could
    not be reached: nothing of it was published. `report` has the per-event results when the
    intake sent them (403, 422)."""

    def __init__(self, status: int, detail: str, report: PublishReport | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.report = report


class HttpPublisher:
    """Publishes over the HTTP intake in batches (batched mode); waits out 429 and 503 as the
    intake's `Retry-After` says, up to `retries` times per batch."""

    def __init__(
        self,
        url: str,
        credential: str,
        *,
        batch_size: int = 500,
        atomic: bool = False,
        timeout: float = 60.0,
        retries: int = 5,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/v1/events" + ("?atomic=true" if atomic else "")
        self._credential = credential
        self.batch_size = batch_size
        self.timeout = timeout
        self.retries = retries

    def publish(self, events: Iterable[CloudEvent[BaseModel]]) -> PublishReport:
        """Every event, in order; results indexed over all of them. Raises PublishError when a
        batch is refused as a whole (then the batches before it were published)."""
        pending = list(events)
        results: list[EventResult] = []
        for start in range(0, len(pending), self.batch_size):
            batch = pending[start : start + self.batch_size]
            for result in self._post([event.dump() for event in batch]):
                results.append(
                    EventResult(
                        start + result.index, result.id, result.status, result.code, result.reason
                    )
                )
        return PublishReport(tuple(results))

    def _post(self, batch: Sequence[dict[str, Any]]) -> tuple[EventResult, ...]:
        body = json.dumps(batch, ensure_ascii=False).encode()
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(
                self.endpoint,
                data=body,
                method="POST",
                headers={
                    "Content-Type": BATCH_CONTENT_TYPE,
                    "Authorization": f"Bearer {self._credential}",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return _results(json.load(response))
            except urllib.error.HTTPError as error:
                answer = _json_or_none(error.read())
                if error.code in {429, 503} and attempt < self.retries:
                    time.sleep(float(error.headers.get("Retry-After") or 1))
                    continue
                if error.code == 400 and answer and "results" in answer:
                    return _results(answer)  # not one event of the batch was accepted
                detail = str((answer or {}).get("detail") or error.reason)
                report = PublishReport(_results(answer)) if answer and "results" in answer else None
                raise PublishError(error.code, detail, report) from None
            except OSError as error:  # unreachable, reset, timed out: nothing is known to be sent
                raise PublishError(0, f"{self.endpoint}: {error}") from None
        raise AssertionError("unreachable")


def _json_or_none(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _results(answer: dict[str, Any]) -> tuple[EventResult, ...]:
    return tuple(
        EventResult(int(r["index"]), r.get("id"), str(r["status"]), r.get("code"), r.get("reason"))
        for r in answer["results"]
    )


class Producer(Protocol):
    """What KafkaPublisher needs of a producer (aiokafka's AIOKafkaProducer has it)."""

    def send(
        self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> Awaitable[Awaitable[Any]]: ...


class KafkaPublisher:
    """Publishes with a started producer of yours; returns when the broker acknowledged every
    accepted event (use acks="all" and enable_idempotence=True)."""

    def __init__(self, producer: Producer) -> None:
        self.producer = producer

    async def publish(self, events: Iterable[CloudEvent[BaseModel]]) -> PublishReport:
        results: list[EventResult] = []
        sent = []
        for index, event in enumerate(events):
            value = event.to_json_bytes()
            try:
                parse_event(value)  # exactly the platform's check, so a refusal is known here
            except ContractViolation as violation:
                results.append(
                    EventResult(index, event.id, "refused", violation.code.value, violation.reason)
                )
                continue
            record = kafka_record(event, value=value)
            sent.append(
                await self.producer.send(
                    record.topic, value=record.value, key=record.key, headers=list(record.headers)
                )
            )
            results.append(EventResult(index, event.id, "accepted"))
        await asyncio.gather(*sent)
        return PublishReport(tuple(results))
