"""The inbox: every consumed event recorded by (source, id) in the applying transaction, so a
redelivered event changes nothing, and the same key with other content is told apart."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, NamedTuple

import asyncpg
from aiokafka import ConsumerRecord

from grassroots.contract import AnyEvent
from grassroots.plumbing import database

Key = tuple[str, str]


class InboxRow(NamedTuple):
    source: str
    event_id: str
    type: str
    subject: str
    content_hash: bytes
    topic: str
    kafka_partition: int
    kafka_offset: Annotated[int, database.SqlType("bigint")]


_TRACESTATE = {"tracestate"}


def content_hash(event: AnyEvent) -> bytes:
    """What makes two events with one (source, id) the same: everything but the trace context
    (the same event sent again in another trace is a repeat). Serialised as before tracestate
    existed, so the hashes already stored still match."""
    same = event.model_copy(update={"traceparent": None}) if event.traceparent else event
    # The model's serializer itself: the bytes of model_dump_json without its Python wrapper
    # (a fifth of the hash's cost, on every event received).
    return hashlib.sha256(same.__pydantic_serializer__.to_json(same, exclude=_TRACESTATE)).digest()


class Received(NamedTuple):
    """A record that passed the contract, with its event and a hash of its content (a tuple:
    one is made per event received, and a frozen dataclass took 0.8 µs to make, a tuple 0.3)."""

    record: ConsumerRecord[bytes, bytes]
    event: AnyEvent
    content_hash: bytes
    key: Key  # (source, id): kept, not rebuilt at every look-up of a batch's thousands

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes], event: AnyEvent) -> Received:
        return cls(record, event, content_hash(event), (event.source, event.id))


@dataclass(frozen=True)
class Sorted:
    fresh: list[Received]  # first time seen: to apply
    duplicates: list[Received]  # seen before with the same content: nothing to do
    conflicting: list[Received]  # seen before with other content: to dead-letter


async def record(conn: asyncpg.Connection, received: Sequence[Received]) -> Sorted:
    """Record the events not seen before; sort all of them by what was known."""
    if not received:
        return Sorted([], [], [])
    inserted = await conn.fetch(
        f"""INSERT INTO inbox (source, event_id, type, subject, content_hash, topic,
                               kafka_partition, kafka_offset)
            {database.row_select(InboxRow)}
            ON CONFLICT DO NOTHING
            RETURNING source, event_id""",
        database.rows_json(
            [
                InboxRow(
                    r.event.source,
                    r.event.id,
                    r.event.type,
                    r.event.subject,
                    r.content_hash,
                    r.record.topic,
                    r.record.partition,
                    r.record.offset,
                )
                for r in received
            ]
        ),
    )
    new_keys = {(row["source"], row["event_id"]) for row in inserted}
    fresh: list[Received] = []
    repeated: list[Received] = []
    seen: set[Key] = set()
    for item in received:
        (fresh if item.key in new_keys and item.key not in seen else repeated).append(item)
        seen.add(item.key)
    if not repeated:
        return Sorted(fresh, [], [])
    known = {
        (row["source"], row["event_id"]): bytes(row["content_hash"])
        for row in await conn.fetch(
            "SELECT source, event_id, content_hash FROM inbox"
            " WHERE (source, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            [r.event.source for r in repeated],
            [r.event.id for r in repeated],
        )
    }
    duplicates = [r for r in repeated if known.get(r.key) == r.content_hash]
    conflicting = [r for r in repeated if known.get(r.key) != r.content_hash]
    return Sorted(fresh, duplicates, conflicting)


async def mark_rejected(conn: asyncpg.Connection, item: Received, reason: str) -> None:
    await conn.execute(
        "UPDATE inbox SET outcome = 'rejected', reason = $3 WHERE source = $1 AND event_id = $2",
        item.event.source,
        item.event.id,
        reason,
    )
