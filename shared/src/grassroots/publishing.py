"""Validate JSON-lines of events against the contract and publish the good ones."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from grassroots.contract import AnyEvent, ContractViolation, kafka_record, parse_event


@dataclass(frozen=True)
class BadLine:
    line_number: int
    violation: ContractViolation

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.violation}"


@dataclass
class Checked:
    good: list[tuple[AnyEvent, bytes]] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    blank: int = 0


def check_lines(lines: Iterable[bytes]) -> Checked:
    """Validate each line; blank lines are skipped, not errors."""
    checked = Checked()
    for number, line in enumerate(lines, start=1):
        raw = line.strip()
        if not raw:
            checked.blank += 1
            continue
        try:
            checked.good.append((parse_event(raw), raw))
        except ContractViolation as violation:
            checked.bad.append(BadLine(number, violation))
    return checked


async def publish_events(
    producer: AIOKafkaProducer, events: Iterable[tuple[AnyEvent, bytes]]
) -> int:
    """Publish in order (key = subject) and wait until the broker acknowledged every record."""
    records = [kafka_record(event, value=raw) for event, raw in events]  # the bytes as given
    futures = [
        await producer.send(
            record.topic, value=record.value, key=record.key, headers=list(record.headers)
        )
        for record in records
    ]
    await asyncio.gather(*futures)
    return len(futures)
