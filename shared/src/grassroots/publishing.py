"""Validate JSON-lines of events against the contract and publish the good ones."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from grassroots.contract import CONTENT_TYPE, EVENTS, AnyEvent, ContractViolation, parse_event


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
    futures = [
        await producer.send(
            EVENTS[event.type].topic,
            value=raw,
            key=event.subject.encode(),
            headers=[("content-type", CONTENT_TYPE.encode())],
        )
        for event, raw in events
    ]
    await asyncio.gather(*futures)
    return len(futures)
