"""Every example of the contract is a CloudEvent by the CloudEvents specification's own JSON
Schema (vendored in cloudevents/, with its source and licence) and valid against our per-type
schema; inputs are closed to unknown fields, results open to them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from grassroots.contract import CONTRACT_VERSION, EVENTS, json_schemas
from grassroots.contract.compatibility import TOPIC_DIRECTION, Direction
from grassroots.contract.examples import envelope

VENDORED = Path(__file__).resolve().parent / "cloudevents"
CLOUDEVENTS_SCHEMA: dict[str, Any] = json.loads(
    (VENDORED / "cloudevents.json").read_text(encoding="utf-8")
)
CLOUDEVENTS = jsonschema_rs.validator_for(CLOUDEVENTS_SCHEMA, validate_formats=True)


def errors(validator: Any, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


def per_type(event_type: str) -> Any:
    return jsonschema_rs.validator_for(json_schemas.json_schema(event_type), validate_formats=True)


def test_the_vendored_schema_is_the_specifications_unchanged() -> None:
    readme = (VENDORED / "README.md").read_text(encoding="utf-8")
    digest = hashlib.sha256((VENDORED / "cloudevents.json").read_bytes()).hexdigest()
    assert digest in readme
    assert "https://github.com/cloudevents/spec" in readme
    assert "Apache License" in (VENDORED / "LICENSE").read_text(encoding="utf-8")
    assert CLOUDEVENTS_SCHEMA["description"] == "CloudEvents Specification JSON Schema"
    assert set(CLOUDEVENTS_SCHEMA["required"]) == {"id", "source", "specversion", "type"}


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_every_example_is_a_cloudevent_and_valid_against_its_schema(event_type: str) -> None:
    example = envelope(event_type)
    assert errors(CLOUDEVENTS, example) == []
    assert errors(per_type(event_type), example) == []


def test_the_schemas_refuse_what_the_specification_refuses() -> None:
    example = envelope("grading.self_evaluated")
    for broken in (
        {**example, "specversion": ""},
        {**example, "time": "20 March 2012"},
        {key: value for key, value in example.items() if key != "source"},
    ):
        assert errors(CLOUDEVENTS, broken)
        assert errors(per_type("grading.self_evaluated"), broken)


def objects(schema: Any) -> Iterator[dict[str, Any]]:
    """Every object schema (with properties) inside a schema."""
    if isinstance(schema, dict):
        if "properties" in schema:
            yield schema
        for value in schema.values():
            yield from objects(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from objects(item)


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_inputs_are_closed_and_results_tell_consumers_to_ignore_unknown_fields(
    event_type: str,
) -> None:
    schema = json_schemas.json_schema(event_type)
    assert schema["$id"] == f"urn:grassroots:contract:{CONTRACT_VERSION}:schemas:{event_type}"
    direction = TOPIC_DIRECTION[EVENTS[event_type].topic]
    # The envelope takes CloudEvents extension attributes; data's objects are closed or open.
    data_schema = {k: v for k, v in schema.items() if k != "properties"}
    data_schema["properties"] = {"data": schema["properties"]["data"]}
    extra = {
        json.dumps(o.get("additionalProperties"))
        for o in objects(data_schema)
        if o is not data_schema
    }
    example = envelope(event_type)
    example["data"] = {**example["data"], "added_in_a_later_version": 1}
    example["addedattribute"] = "x"  # an extension attribute: taken by every type
    if direction is Direction.RESULT:
        assert extra == {"true"}
        assert "must ignore unknown fields" in schema["description"]
        assert errors(per_type(event_type), example) == []
    else:
        assert extra == {"false"}
        assert "refused" in schema["description"]
        assert len(errors(per_type(event_type), example)) == 1
    example["Added_Attribute"] = "x"  # not a CloudEvents attribute name
    assert errors(per_type(event_type), example)
