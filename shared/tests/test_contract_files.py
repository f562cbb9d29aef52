"""The checked-in machine-readable contract (contract/schemas/, contract/asyncapi.json) is exactly
what the code generates; the AsyncAPI document has one message per event type, the dead-letter
channels, a county system's operations and the broker's security, and the official parser
(@asyncapi/parser, pinned in tools/asyncapi) finds 0 errors and 0 warnings in it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from grassroots import contract_documents as documents
from grassroots.contract import CONTRACT_VERSION, EVENTS, RejectionCode, json_schemas
from grassroots.contract.compatibility import COUNTY_TOPICS, RESULT_TOPICS, TOPIC_DIRECTION
from grassroots.contract.labels import LABELS
from grassroots.contract.registry import ALL_TOPICS, dlq_topic
from grassroots.simulation import CampaignSimulation

CONTRACT = Path(__file__).resolve().parents[2] / "contract"
CLOUDEVENTS = jsonschema_rs.validator_for(
    json.loads((CONTRACT / "tests" / "cloudevents" / "cloudevents.json").read_text("utf-8")),
    validate_formats=True,
)
DOCUMENT: dict[str, Any] = json.loads((CONTRACT / "asyncapi.json").read_text(encoding="utf-8"))
MESSAGES: dict[str, Any] = DOCUMENT["components"]["messages"]
DEAD_LETTER = documents.DEAD_LETTER_MESSAGE


def generated_files_on_disk() -> dict[str, str]:
    files = [CONTRACT / "asyncapi.json", *(CONTRACT / "schemas").glob("*.json")]
    return {
        path.relative_to(CONTRACT).as_posix(): path.read_text(encoding="utf-8") for path in files
    }


def test_checked_in_schemas_and_asyncapi_match_the_code() -> None:
    expected = documents.expected_files()
    actual = generated_files_on_disk()
    drifted = sorted(
        name for name in expected.keys() | actual.keys() if expected.get(name) != actual.get(name)
    )
    assert not drifted, f"contract files drifted, run `make contract`: {drifted}"


def test_there_is_one_schema_per_event_type() -> None:
    assert {p.stem for p in (CONTRACT / "schemas").glob("*.json")} == set(EVENTS)


def test_the_generator_writes_beside_the_contract_package() -> None:
    assert documents.CONTRACT_FOLDER == CONTRACT
    assert (CONTRACT / "pyproject.toml").is_file()


def test_the_contract_package_reads_the_checked_in_files() -> None:
    # In the workspace (an editable install) the package finds them in contract/.
    for event_type in EVENTS:
        assert (
            json_schemas.json_schema(event_type) == documents.json_schemas()[f"{event_type}.json"]
        )
    assert json_schemas.asyncapi()["info"]["version"] == CONTRACT_VERSION


# --- the AsyncAPI document ----------------------------------------------------------------------


def test_asyncapi_has_a_channel_for_every_topic_and_its_dead_letter_topic() -> None:
    assert DOCUMENT["asyncapi"] == "3.0.0"
    expected = {name for topic in ALL_TOPICS for name in (topic, dlq_topic(topic))}
    assert set(DOCUMENT["channels"]) == expected
    for name, channel in DOCUMENT["channels"].items():
        assert channel["address"] == name
        assert channel["bindings"]["kafka"]["topic"] == name
        if name.endswith(".dlq"):
            assert list(channel["messages"]) == [DEAD_LETTER]
        else:
            assert set(channel["messages"]) == {
                t for t, spec in EVENTS.items() if spec.topic == name
            }


def test_one_message_per_event_type_named_by_the_type_plus_the_dead_letter() -> None:
    assert set(MESSAGES) == set(EVENTS) | {DEAD_LETTER}
    assert len(MESSAGES) == len(EVENTS) + 1 == 48
    for event_type, spec in EVENTS.items():
        message = MESSAGES[event_type]
        assert message["name"] == event_type
        # Chinese and English: the title from the labels, the English from the class docstring.
        zh = documents.chinese_title(event_type)
        assert message["title"].startswith(f"{zh} — ")
        assert message["title"].endswith(documents.english_title(spec))
        assert message["summary"].startswith(zh) and message["summary"].endswith(spec.description)
        assert message["contentType"] == "application/cloudevents+json"
        assert message["headers"]["required"] == ["content-type"]
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        assert (
            spec.envelope_model.subject_field in message["bindings"]["kafka"]["key"]["description"]
        )
        assert message["payload"] == {"$ref": f"#/components/schemas/{event_type}"}
        schema = DOCUMENT["components"]["schemas"][event_type]
        assert schema == documents.inline(json_schemas.json_schema(event_type))
        assert "$ref" not in json.dumps(schema)


def test_every_type_has_one_chinese_title_from_the_labels() -> None:
    from_labels = set(documents.LABELLED_TITLES)
    from_table = set(LABELS["message_title"])
    assert from_labels | from_table == set(EVENTS)
    assert not from_labels & from_table
    titles = [documents.chinese_title(t) for t in EVENTS]
    assert all(any("\u4e00" <= c <= "\u9fff" for c in title) for title in titles)
    assert len(set(titles)) == len(titles)


def test_every_message_carries_the_contracts_example_valid_against_its_payload() -> None:
    for event_type in EVENTS:
        (example,) = MESSAGES[event_type]["examples"]
        assert example["headers"] == {"content-type": "application/cloudevents+json"}
        assert example["payload"] == documents.example(event_type)
        payload = jsonschema_rs.Draft7Validator(
            DOCUMENT["components"]["schemas"][event_type], validate_formats=True
        )
        assert [e.message for e in payload.iter_errors(example["payload"])] == []
        assert [e.message for e in CLOUDEVENTS.iter_errors(example["payload"])] == []


def test_the_dead_letter_message_names_every_dlq_header_and_reason_code() -> None:
    headers = MESSAGES[DEAD_LETTER]["headers"]
    names = {"dlq-reason-code", "dlq-reason", "dlq-topic", "dlq-partition", "dlq-offset"}
    assert names | {"dlq-service", "dlq-at"} == set(headers["required"])
    assert headers["properties"]["dlq-reason-code"]["enum"] == [c.value for c in RejectionCode]
    (example,) = MESSAGES[DEAD_LETTER]["examples"]
    validator = jsonschema_rs.Draft7Validator(headers, validate_formats=True)
    assert [e.message for e in validator.iter_errors(example["headers"])] == []


def test_operations_are_a_county_systems_send_inputs_receive_results_and_dead_letters() -> None:
    operations = DOCUMENT["operations"]
    sends = {
        o["channel"]["$ref"].split("/")[-1] for o in operations.values() if o["action"] == "send"
    }
    receives = {
        o["channel"]["$ref"].split("/")[-1] for o in operations.values() if o["action"] == "receive"
    }
    assert sends == set(COUNTY_TOPICS)
    assert receives == set(RESULT_TOPICS) | {dlq_topic(t) for t in COUNTY_TOPICS}
    assert "supervision.decisions" not in sends | receives  # only the platform writes it
    assert TOPIC_DIRECTION["supervision.decisions"].value == "decision"
    assert "sendGradingInputs" in operations and "receiveGradingInputsDeadLetters" in operations
    for operation in operations.values():
        channel = operation["channel"]["$ref"].split("/")[-1]
        assert [m["$ref"] for m in operation["messages"]] == [
            f"#/channels/{channel}/messages/{name}"
            for name in sorted(DOCUMENT["channels"][channel]["messages"])
        ]


def test_the_server_requires_scram_sha_256_the_only_mechanism_configured() -> None:
    (server,) = DOCUMENT["servers"].values()
    assert server["protocol"] == "kafka"
    assert server["security"] == [{"$ref": "#/components/securitySchemes/scramSha256"}]
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert list(schemes) == ["scramSha256"] and schemes["scramSha256"]["type"] == "scramSha256"
    assert "no TLS listener and no SCRAM-SHA-512" in server["description"]


def test_the_document_carries_the_contract_version() -> None:
    assert DOCUMENT["info"]["version"] == CONTRACT_VERSION
    for schema in DOCUMENT["components"]["schemas"].values():
        assert f":{CONTRACT_VERSION}:" in schema["$id"]


# --- the official tools -------------------------------------------------------------------------

needs_npm = pytest.mark.skipif(
    shutil.which("npm") is None,
    reason="npm is absent: the official @asyncapi/parser cannot run here "
    "(`make test` installs nodejs and npm, so CI always runs this)",
)


@pytest.fixture(scope="module")
def parsed() -> dict[str, Any]:
    return documents.parse_with_official_parser(CONTRACT / "asyncapi.json")


@needs_npm
def test_the_official_parser_finds_no_error_and_no_warning(parsed: dict[str, Any]) -> None:
    assert parsed["parser"].startswith("3.")
    problems = [d for d in parsed["diagnostics"] if d["severity"] in {"errors", "warnings"}]
    assert (parsed["errors"], parsed["warnings"], problems) == (0, 0, [])


@needs_npm
def test_the_official_parser_reads_one_message_per_type_and_the_dead_letter_channels(
    parsed: dict[str, Any],
) -> None:
    messages = {m["id"]: m for m in parsed["messages"]}
    assert set(messages) == set(EVENTS) | {DEAD_LETTER}
    for event_type in EVENTS:
        assert messages[event_type]["name"] == event_type
        assert messages[event_type]["examples"] >= 1
        assert "content-type" in messages[event_type]["headers"]
        assert messages[event_type]["key"]["type"] == "string"
    assert "dlq-reason-code" in messages[DEAD_LETTER]["headers"]
    channels = {c["address"]: c for c in parsed["channels"]}
    for topic in ALL_TOPICS:
        assert channels[dlq_topic(topic)]["messages"] == [DEAD_LETTER]
    assert parsed["version"] == CONTRACT_VERSION
    assert parsed["security"] == [
        {"server": "county", "protocol": "kafka", "schemes": ["scramSha256"]}
    ]
    assert len(parsed["operations"]) == 2 * len(COUNTY_TOPICS) + len(RESULT_TOPICS)


# --- what county systems publish: the demo's events ----------------------------------------------


def test_the_demo_campaigns_events_are_cloudevents_valid_against_their_schemas() -> None:
    validators: dict[str, Any] = {}
    seen = set()
    for event in CampaignSimulation(seed=2012, branches=6).events():
        if event["type"] not in validators:
            validators[event["type"]] = jsonschema_rs.validator_for(
                json_schemas.json_schema(event["type"]), validate_formats=True
            )
        assert [e.message for e in CLOUDEVENTS.iter_errors(event)] == [], event["id"]
        assert [e.message for e in validators[event["type"]].iter_errors(event)] == [], event["id"]
        seen.add(event["type"])
    assert len(seen) >= 20
