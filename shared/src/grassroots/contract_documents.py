"""The machine-readable contract, generated from the models: JSON Schemas and AsyncAPI 3.0.

`grassroots contract write` regenerates the checked-in files in contract/ (beside the
grassroots-contract package, whose wheel ships them); a test fails when they drift. This lives
here, not in the contract package, because the AsyncAPI document is rendered by FastStream.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Union

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import Field

import grassroots.contract
from grassroots.contract import CONTRACT_VERSION
from grassroots.contract.registry import ALL_TOPICS, EVENTS, AnyEvent, events_on

# The grassroots-contract project folder of this checkout (contract/, beside src/).
CONTRACT_FOLDER = Path(grassroots.contract.__file__).resolve().parents[3]
SCHEMA_BASE_URI = "urn:grassroots:contract:schemas:"

# Topics county systems publish to; the rest are published by the platform.
INPUT_TOPICS = (
    "campaign.lifecycle",
    "org.branches",
    "grading.inputs",
    "rectification.inputs",
    "emulation.inputs",
    "assessment.inputs",
)


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema (draft 2020-12) per event type, keyed by file name."""
    schemas = {}
    for spec in EVENTS.values():
        schema = spec.envelope_model.model_json_schema(by_alias=True)
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{SCHEMA_BASE_URI}{spec.event_type}",
            "title": spec.event_type,
            "description": f"{spec.description} Topic: {spec.topic}.",
            **{key: value for key, value in schema.items() if key not in {"title", "description"}},
        }
        schemas[f"{spec.event_type}.json"] = schema
    return schemas


def _payload(topic: str) -> Any:
    members = tuple(spec.envelope_model for spec in events_on(topic))
    if len(members) == 1:
        return members[0]
    return Annotated[Union[members], Field(discriminator="type")]  # noqa: UP007


def asyncapi_document() -> dict[str, Any]:
    """The platform's topics as an AsyncAPI 3.0 document, from a documentation-only broker."""
    broker = KafkaBroker(
        "kafka:9092",
        description="The county's Kafka cluster. Records: CloudEvents 1.0 in structured JSON mode, "
        "header content-type: application/cloudevents+json, key = the event's subject.",
    )
    for topic in ALL_TOPICS:
        types = ", ".join(spec.event_type for spec in events_on(topic))
        if topic in INPUT_TOPICS:
            payload = _payload(topic)

            async def receive(event: AnyEvent) -> None:  # documentation only
                return None

            receive.__annotations__["event"] = payload
            broker.subscriber(
                topic,
                title=topic,
                description=f"Published by county systems: {types}. Invalid records go to "
                f"{topic}.dlq with the reason in the dlq-reason header.",
            )(receive)
        else:
            broker.publisher(
                topic,
                title=topic,
                description=f"Published by the platform: {types}.",
                schema=_payload(topic),
            )
    spec = AsyncAPI(
        broker,
        title="Grassroots platform contract",
        version=CONTRACT_VERSION,
        description="Events of a Grassroots Organization Building Year (基层组织建设年).",
    )
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    return document


def render(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def expected_files() -> dict[str, str]:
    """Every generated file's path (relative to the contract folder) and its content."""
    files = {f"schemas/{name}": render(schema) for name, schema in json_schemas().items()}
    files["asyncapi.json"] = render(asyncapi_document())
    return files


def write(folder: Path = CONTRACT_FOLDER) -> list[str]:
    """Regenerate the folder; return the files that changed."""
    changed = []
    (folder / "schemas").mkdir(parents=True, exist_ok=True)
    wanted = expected_files()
    for stale in (folder / "schemas").glob("*.json"):
        if f"schemas/{stale.name}" not in wanted:
            stale.unlink()
            changed.append(f"schemas/{stale.name}")
    for relative, content in wanted.items():
        path = folder / relative
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            changed.append(relative)
    return changed
