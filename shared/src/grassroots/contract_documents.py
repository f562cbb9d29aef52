"""The machine-readable contract, generated from the models: JSON Schemas and AsyncAPI 3.0, and
the tools that check and document it.

`grassroots contract write` regenerates the checked-in files in contract/ (beside the
grassroots-contract package, whose wheel ships them); a test fails when they drift. The AsyncAPI
document has one message per event type (its envelope and data, Kafka key, headers, an example),
a channel per topic and per dead-letter topic, the operations of a county system, and the
broker's security scheme. `@asyncapi/parser` checks it and `@asyncapi/html-template` renders it
(tools/asyncapi/, `make asyncapi-tools`); `python -m grassroots.contract_documents site` writes
the HTML that reporting serves at /contract/, `check` compares contract/schemas/ with the last
release (contract/released/) and `release` cuts a new one (see contract/released/README.md).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grassroots.contract
from grassroots.contract import CONTRACT_VERSION, RejectionCode
from grassroots.contract.compatibility import (
    COUNTY_TOPICS,
    RESULT_TOPICS,
    TOPIC_DIRECTION,
    Contract,
    Direction,
    Problem,
    changes_entries,
    check,
    load_release,
    undeclared,
    write_release,
)
from grassroots.contract.envelope import CONTENT_TYPE
from grassroots.contract.examples import envelope
from grassroots.contract.labels import LABELS, label
from grassroots.contract.registry import ALL_TOPICS, EVENTS, EventSpec, dlq_topic, events_on

# The grassroots-contract project folder of this checkout (contract/, beside src/).
CONTRACT_FOLDER = Path(grassroots.contract.__file__).resolve().parents[3]
REPO = CONTRACT_FOLDER.parent
RELEASED_FOLDER = CONTRACT_FOLDER / "released"
CHANGES_DOCUMENT = REPO / "docs" / "contract.md"
# The HTML documentation (generated, gitignored): reporting serves it at /contract/.
SITE_FOLDER = CONTRACT_FOLDER / "html"
TOOLS_FOLDER = REPO / "tools" / "asyncapi"

SCHEMA_BASE_URI = f"urn:grassroots:contract:{CONTRACT_VERSION}:schemas:"
DEAD_LETTER_MESSAGE = "dead_letter"
BINDING_VERSION = "0.5.0"

# Chinese titles that another table of grassroots.contract.labels already gives; the other types'
# are in its `message_title` table.
LABELLED_TITLES: dict[str, tuple[str, str]] = {
    "grading.self_evaluated": ("input_source", "self"),
    "grading.appraised": ("input_source", "appraisal"),
    "grading.superior_rated": ("input_source", "superior"),
    "grading.branch_incomplete": ("lagging_reason", "grading_incomplete"),
    "rectification.task_overdue": ("lagging_reason", "task_overdue"),
    "rectification.commitment_missing": ("lagging_reason", "commitment_missing"),
    "rectification.escalation_overdue": ("lagging_reason", "escalation_unanswered"),
    "rectification.review_overdue": ("lagging_reason", "review_overdue"),
}

DIRECTION_NOTE = {
    Direction.INPUT: "Published by county systems. Unknown data fields are refused "
    "(additionalProperties: false): a misspelt field is reported, not ignored. Envelope "
    "attributes the contract does not name are CloudEvents extension attributes (names of 1 to "
    "20 lowercase letters and digits; string, integer or boolean values).",
    Direction.RESULT: "Published by the platform. Consumers must ignore unknown fields and "
    "attributes: a later version of the contract may add optional ones (additionalProperties: "
    "true on every data object; extension attributes on the envelope).",
    Direction.DECISION: "Published only by the platform (the office's API, for a person with the "
    "office's role); county systems neither write nor read it. Unknown data fields are refused "
    "(additionalProperties: false).",
}
DIRECTION_NOTE_ZH = {
    Direction.INPUT: "县级系统发布到 {topic}，平台严格校验（不接受未定义字段）。",
    Direction.RESULT: "平台发布到 {topic}；读取方须忽略未定义的字段。",
    Direction.DECISION: "仅由平台（党委办签发接口）发布到 {topic}，县级系统不读写。",
}
PUBLISHER = {
    Direction.INPUT: "county systems",
    Direction.RESULT: "the platform",
    Direction.DECISION: "the platform only (the office's API)",
}


def direction(topic: str) -> Direction:
    return TOPIC_DIRECTION[topic]


def chinese_title(event_type: str) -> str:
    if event_type in LABELLED_TITLES:
        table, code = LABELLED_TITLES[event_type]
        return label(table, code)
    return LABELS["message_title"][event_type]


_CJK_ASIDE = re.compile(r"\s*\([^)]*[\u3000-\u9fff][^)]*\)")


def english_title(spec: EventSpec) -> str:
    """The docstring's first clause, without the Chinese name in brackets."""
    text = _CJK_ASIDE.sub("", " ".join(spec.description.split()))
    return re.split(r";|\.(?:\s|$)", text, maxsplit=1)[0].strip()


def schema_id(event_type: str) -> str:
    return f"{SCHEMA_BASE_URI}{event_type}"


def _open(schema: Any) -> Any:
    """Every object open to fields it does not name (result types: consumers ignore them)."""
    if isinstance(schema, dict):
        return {
            key: True if key == "additionalProperties" and value is False else _open(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_open(item) for item in schema]
    return schema


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema (draft 2020-12) per event type, keyed by file name."""
    schemas = {}
    for spec in EVENTS.values():
        flow = direction(spec.topic)
        schema = spec.envelope_model.model_json_schema(by_alias=True)
        if flow is Direction.RESULT:
            schema = _open(schema)
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": schema_id(spec.event_type),
            "title": spec.event_type,
            "description": f"{spec.description} Topic: {spec.topic}. {DIRECTION_NOTE[flow]} "
            f"Contract version {CONTRACT_VERSION}.",
            **{key: value for key, value in schema.items() if key not in {"title", "description"}},
        }
        schemas[f"{spec.event_type}.json"] = schema
    return schemas


def inline(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema with its `$defs` written in place (an AsyncAPI payload is a Schema Object of
    the document, where `#/$defs/…` would point at the document's root)."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any, depth: int = 0) -> Any:
        if depth > 64:
            raise ValueError("recursive schema: cannot inline it")
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].removeprefix("#/$defs/")
                siblings = {k: resolve(v, depth + 1) for k, v in node.items() if k != "$ref"}
                return {**resolve(definitions[name], depth + 1), **siblings}
            return {k: resolve(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(item, depth + 1) for item in node]
        return node

    body = {key: value for key, value in schema.items() if key not in {"$defs", "$schema"}}
    resolved: dict[str, Any] = resolve(body)
    return resolved


def example(event_type: str) -> dict[str, Any]:
    """The contract's example of a type, with a fixed id (grassroots.contract.examples)."""
    return envelope(event_type, event_id=f"example-{event_type}")


def _key_schema(spec: EventSpec) -> dict[str, Any]:
    subject = spec.envelope_model.model_json_schema()["properties"]["subject"]
    return {
        "type": "string",
        "minLength": subject.get("minLength", 1),
        "maxLength": subject.get("maxLength", 128),
        "pattern": subject["pattern"],
        "description": f"The event's subject (= data.{spec.envelope_model.subject_field}), UTF-8: "
        "every event about it lands on one partition, in order.",
    }


def _headers(flow: Direction) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "content-type": {
            "type": "string",
            "const": CONTENT_TYPE,
            "description": "CloudEvents in structured JSON mode: the record's value is the whole "
            "event. Binary mode (ce-* headers) is not accepted.",
        }
    }
    properties["traceparent"] = {
        "type": "string",
        "description": "Optional: the event's W3C trace context, as its traceparent attribute "
        + (
            "(the platform reads the attribute)."
            if flow is Direction.INPUT
            else "(the event that caused it: one trace across the platform)."
        ),
    }
    if flow is not Direction.INPUT:
        for name, what in (
            ("outbox-id", "the platform's outbox row (internal; ignore it)"),
            ("outbox-service", "the platform service that published it (internal; ignore it)"),
        ):
            properties[name] = {"type": "string", "description": what}
    return {
        "type": "object",
        "required": ["content-type"],
        "properties": properties,
        "additionalProperties": True,
        "description": "Kafka record headers (values are UTF-8 bytes)."
        + (
            " Other headers are kept as sent and copied to the dead-letter topic."
            if flow is Direction.INPUT
            else " Ignore headers you do not know."
        ),
    }


def _message(spec: EventSpec) -> dict[str, Any]:
    flow = direction(spec.topic)
    zh = chinese_title(spec.event_type)
    zh_summary = f"{zh}：" + DIRECTION_NOTE_ZH[flow].format(topic=spec.topic)
    subject_field = spec.envelope_model.subject_field
    description = "\n\n".join(
        [
            spec.description,
            f"**{zh}** · topic `{spec.topic}` · published by {PUBLISHER[flow]}.",
            DIRECTION_NOTE[flow],
            f"Kafka key and `subject`: `data.{subject_field}`. "
            + (
                "`campaignid` is required."
                if spec.envelope_model.campaign_scoped
                else "`campaignid` is not used."
            )
            + f" JSON Schema: `{schema_id(spec.event_type)}` "
            f"(contract/schemas/{spec.event_type}.json).",
        ]
    )
    message: dict[str, Any] = {
        "name": spec.event_type,
        "title": f"{zh} — {english_title(spec)}",
        "summary": f"{zh_summary} {spec.description}",
        "description": description,
        "contentType": CONTENT_TYPE,
        "headers": _headers(flow),
        "payload": {"$ref": f"#/components/schemas/{spec.event_type}"},
        "tags": [{"name": flow.value}, {"name": spec.topic}],
        "bindings": {"kafka": {"key": _key_schema(spec), "bindingVersion": BINDING_VERSION}},
        "examples": [
            {
                "name": spec.event_type,
                "summary": f"{zh} — the contract's example "
                "(grassroots.contract.examples.envelope).",
                "headers": {"content-type": CONTENT_TYPE},
                "payload": example(spec.event_type),
            }
        ],
    }
    if spec.description.startswith("Deprecated"):
        message["deprecated"] = True
    return message


def _dead_letter_message() -> dict[str, Any]:
    codes = [code.value for code in RejectionCode]
    return {
        "name": DEAD_LETTER_MESSAGE,
        "title": "死信（被拒收的记录） — A refused record",
        "summary": "被拒收的记录原样转入 <topic>.dlq，并附拒收原因。 A record the platform refused, "
        "copied unchanged (key, value, headers) to <topic>.dlq with why in dlq-* headers.",
        "description": "A record that is not JSON, not a valid envelope, of an unknown type, "
        "whose `data` breaks its schema, or that the platform's rules refuse is copied unchanged "
        "to `<topic>.dlq` — its key, its value and its headers — with the `dlq-*` headers "
        "below; nothing else changes. Send a corrected event with a new `id`.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "required": [
                "dlq-reason-code",
                "dlq-reason",
                "dlq-topic",
                "dlq-partition",
                "dlq-offset",
                "dlq-service",
                "dlq-at",
            ],
            "properties": {
                "dlq-reason-code": {
                    "type": "string",
                    "enum": codes,
                    "description": "Why, as a code.",
                },
                "dlq-reason": {
                    "type": "string",
                    "maxLength": 1000,
                    "description": "Why, in words, naming the field: e.g. `data.scores.leadership:"
                    " Input should be less than or equal to 100`.",
                },
                "dlq-topic": {"type": "string", "description": "The topic the record was on."},
                "dlq-partition": {
                    "type": "string",
                    "pattern": "^[0-9]+$",
                    "description": "Its partition (decimal).",
                },
                "dlq-offset": {
                    "type": "string",
                    "pattern": "^[0-9]+$",
                    "description": "Its offset (decimal).",
                },
                "dlq-service": {
                    "type": "string",
                    "description": "The platform service that refused it.",
                },
                "dlq-at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When (RFC 3339).",
                },
                "content-type": {
                    "type": "string",
                    "description": "The refused record's own header, when it had one.",
                },
            },
            "additionalProperties": True,
            "description": "The refused record's headers, unchanged, and the dlq-* headers.",
        },
        "payload": {
            "description": "The refused record's value, byte for byte: usually a CloudEvent meant "
            "for the topic, but possibly not JSON at all."
        },
        "tags": [{"name": "dead-letter"}],
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": "The refused record's key, unchanged (may be absent).",
                },
                "bindingVersion": BINDING_VERSION,
            }
        },
        "examples": [
            {
                "name": "invalid_data",
                "summary": "A self-evaluation with a score above 100.",
                "headers": {
                    "content-type": CONTENT_TYPE,
                    "dlq-reason-code": "invalid_data",
                    "dlq-reason": "data.scores.leadership: Input should be less than or equal "
                    "to 100",
                    "dlq-topic": "grading.inputs",
                    "dlq-partition": "2",
                    "dlq-offset": "1187",
                    "dlq-service": "grading",
                    "dlq-at": "2012-03-20T08:00:01.204000+08:00",
                },
                "payload": _refused_example(),
            }
        ],
    }


def _refused_example() -> dict[str, Any]:
    event = example("grading.self_evaluated")
    event["id"] = "example-refused"
    event["data"] = copy.deepcopy(event["data"])
    event["data"]["scores"]["leadership"] = 120
    return event


def _operation_id(action: str, topic: str, suffix: str = "") -> str:
    words = [part for part in re.split(r"[._]", topic) if part]
    return action + "".join(word.capitalize() for word in words) + suffix


def _channels() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    for topic in ALL_TOPICS:
        flow = direction(topic)
        specs = events_on(topic)
        types = ", ".join(f"`{spec.event_type}`" for spec in specs)
        channels[topic] = {
            "address": topic,
            "title": topic,
            "description": f"Published by {PUBLISHER[flow]}: {types}. {DIRECTION_NOTE[flow]}",
            "messages": {
                spec.event_type: {"$ref": f"#/components/messages/{spec.event_type}"}
                for spec in specs
            },
            "bindings": {"kafka": {"topic": topic, "bindingVersion": BINDING_VERSION}},
        }
        dead = dlq_topic(topic)
        readers = (
            "County systems read it (consumer groups county-…)."
            if flow is Direction.INPUT
            else "Only the platform's operators read it."
        )
        channels[dead] = {
            "address": dead,
            "title": dead,
            "description": f"Records of `{topic}` the platform refused, unchanged, with why in "
            f"the dlq-* headers. {readers}",
            "messages": {
                DEAD_LETTER_MESSAGE: {"$ref": f"#/components/messages/{DEAD_LETTER_MESSAGE}"}
            },
            "bindings": {"kafka": {"topic": dead, "bindingVersion": BINDING_VERSION}},
        }
    return channels


def _operations(channels: Mapping[str, Any]) -> dict[str, Any]:
    group = {
        "groupId": {
            "type": "string",
            "pattern": "^county-",
            "description": "County systems' consumer groups are named county-….",
        },
        "bindingVersion": BINDING_VERSION,
    }

    def operation(action: str, channel: str, title: str, summary: str) -> dict[str, Any]:
        described: dict[str, Any] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "title": title,
            "summary": summary,
            "messages": [
                {"$ref": f"#/channels/{channel}/messages/{name}"}
                for name in sorted(channels[channel]["messages"])
            ],
            "tags": [{"name": "county system"}],
        }
        if action == "receive":
            described["bindings"] = {"kafka": group}
        return described

    operations: dict[str, Any] = {}
    for topic in COUNTY_TOPICS:
        operations[_operation_id("send", topic)] = operation(
            "send",
            topic,
            f"Send {topic}",
            f"发送输入事件到 {topic}。 A county system publishes its inputs to {topic}.",
        )
    for topic in RESULT_TOPICS:
        operations[_operation_id("receive", topic)] = operation(
            "receive",
            topic,
            f"Receive {topic}",
            f"读取平台结果 {topic}（忽略未定义字段）。 A county system reads the platform's "
            f"results on {topic}, ignoring fields it does not know.",
        )
    for topic in COUNTY_TOPICS:
        dead = dlq_topic(topic)
        operations[_operation_id("receive", topic, "DeadLetters")] = operation(
            "receive",
            dead,
            f"Receive {dead}",
            f"读取被拒收的记录 {dead}。 A county system reads the records of {topic} the "
            "platform refused, with why.",
        )
    return operations


INFO_DESCRIPTION = """\
基层组织建设年平台的事件契约：县级系统发布的输入、平台发布的结果、被拒收记录的死信主题。

Events of a Grassroots Organization Building Year (基层组织建设年), for the engineers of the
county systems that publish to the platform and read what it publishes.

- **Records**: every Kafka record is one CloudEvents 1.0 event in structured JSON mode — the
  value is the whole event (UTF-8 JSON, at most 256 KiB), header
  `content-type: application/cloudevents+json`, key = the event's `subject`.
- **Messages**: one per event type, named by the type (`grading.self_evaluated`); its payload is
  the envelope with that type's `data`, the same JSON Schema as `contract/schemas/<type>.json`.
- **Inputs** (the send operations) are strict: unknown fields and attributes are refused and the
  record goes to `<topic>.dlq` with the reason. **Results** (the receive operations) may gain
  optional fields in later versions: consumers must ignore fields they do not know.
- **Versions**: this document's version is the contract's; each schema's `$id` carries it. How
  the contract may change, and how a breaking change is declared: docs/contract.md, "Evolving the
  contract".
- **Python**: the package `grassroots-contract` (pydantic only) has the models, `parse_event`,
  `new_event`, `kafka_record` and an example of each type.
"""


def asyncapi_document() -> dict[str, Any]:
    """The platform's topics as an AsyncAPI 3.0 document, as a county system sees them."""
    channels = _channels()
    messages = {spec.event_type: _message(spec) for spec in EVENTS.values()}
    messages[DEAD_LETTER_MESSAGE] = _dead_letter_message()
    schemas = {
        spec.event_type: inline(schema)
        for spec, schema in zip(EVENTS.values(), json_schemas().values(), strict=True)
    }
    return {
        "asyncapi": "3.0.0",
        "id": "urn:grassroots:contract",
        "info": {
            "title": "Grassroots platform contract · 基层组织建设年平台事件契约",
            "version": CONTRACT_VERSION,
            "description": INFO_DESCRIPTION,
            "tags": [
                {"name": Direction.INPUT.value, "description": DIRECTION_NOTE[Direction.INPUT]},
                {"name": Direction.RESULT.value, "description": DIRECTION_NOTE[Direction.RESULT]},
                {
                    "name": Direction.DECISION.value,
                    "description": DIRECTION_NOTE[Direction.DECISION],
                },
                {"name": "dead-letter", "description": "Records the platform refused."},
                {"name": "county system", "description": "What a county system does."},
            ],
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "county": {
                "host": "kafka:9092",
                "protocol": "kafka",
                "title": "The county's Kafka cluster",
                "description": "Bootstrap servers as the platform's operators give them. Every "
                "connection authenticates with SASL/SCRAM-SHA-256 over SASL_PLAINTEXT "
                "(security.protocol=SASL_PLAINTEXT, sasl.mechanism=SCRAM-SHA-256) as the county's "
                "user, which may write the input topics and read the result topics and the input "
                "topics' .dlq (consumer groups county-…). That is the only listener configured "
                "today: no TLS listener and no SCRAM-SHA-512.",
                "security": [{"$ref": "#/components/securitySchemes/scramSha256"}],
            }
        },
        "channels": channels,
        "operations": _operations(channels),
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "scramSha256": {
                    "type": "scramSha256",
                    "description": "SASL/SCRAM-SHA-256 with the user and password the platform's "
                    "operators give the county (over SASL_PLAINTEXT).",
                }
            },
        },
    }


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


# --- evolving the contract: the current schemas against the last release ---------------------


def current_contract(folder: Path = CONTRACT_FOLDER, document: Path = CHANGES_DOCUMENT) -> Contract:
    """The contract as checked in: contract/schemas/, the registry's topics, the version, and
    the headings under "## Changes" of docs/contract.md."""
    schemas = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((folder / "schemas").glob("*.json"))
    }
    return Contract(
        version=CONTRACT_VERSION,
        schemas=schemas,
        topics={name: spec.topic for name, spec in EVENTS.items()},
        changes=tuple(changes_entries(document.read_text(encoding="utf-8"))),
    )


def compatibility_problems(
    released: Path = RELEASED_FOLDER,
    folder: Path = CONTRACT_FOLDER,
    document: Path = CHANGES_DOCUMENT,
) -> list[Problem]:
    """Every incompatible change since the last release, each marked declared or not."""
    return check(
        load_release(released),
        current_contract(folder, document),
        changes_entries(document.read_text(encoding="utf-8")),
    )


def cut_release(
    released_on: str,
    released: Path = RELEASED_FOLDER,
    folder: Path = CONTRACT_FOLDER,
    document: Path = CHANGES_DOCUMENT,
) -> Contract:
    """Keep the current schemas as the last release. Refused while a change is incompatible and
    undeclared, or when the schemas changed but the version did not."""
    current = current_contract(folder, document)
    if (released / "release.json").exists():
        last = load_release(released)
        bad = undeclared(check(last, current, changes_entries(document.read_text("utf-8"))))
        if bad:
            raise ValueError("incompatible, undeclared: " + "; ".join(map(str, bad)))
        if current.version == last.version and dict(current.schemas) != dict(last.schemas):
            raise ValueError(
                f"the schemas changed since {last.version}: raise CONTRACT_VERSION first"
            )
    write_release(released, current, released_on)
    return current


# --- the official AsyncAPI tools (tools/asyncapi, installed by `make asyncapi-tools`) ---------


def node_tools_installed() -> bool:
    stamp = TOOLS_FOLDER / "node_modules" / ".package-lock.json"
    lock = TOOLS_FOLDER / "package-lock.json"
    return stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime


def install_node_tools() -> None:
    """`npm ci` of tools/asyncapi (pinned by its package-lock.json) unless already current."""
    if node_tools_installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed for the AsyncAPI tools (make asyncapi-tools installs it)")
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=TOOLS_FOLDER,
        check=True,
        timeout=600,
    )
    (TOOLS_FOLDER / "node_modules" / ".package-lock.json").touch()


def _node(*args: str, timeout: float = 300) -> str:
    install_node_tools()
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is needed for the AsyncAPI tools")
    done = subprocess.run(
        [node, str(TOOLS_FOLDER / "asyncapi.cjs"), *args],
        cwd=TOOLS_FOLDER,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"asyncapi.cjs {args[0]} failed:\n{done.stderr}")
    return done.stdout


def parse_with_official_parser(path: Path = CONTRACT_FOLDER / "asyncapi.json") -> dict[str, Any]:
    """What @asyncapi/parser says of the document: diagnostics by severity, and its messages,
    channels and operations as the parser reads them."""
    report: dict[str, Any] = json.loads(_node("check", str(path)))
    return report


def write_site(
    folder: Path = SITE_FOLDER, document: Path = CONTRACT_FOLDER / "asyncapi.json"
) -> Path:
    """The HTML documentation of the document (@asyncapi/html-template), replacing `folder`."""
    scratch = folder.with_name(folder.name + ".new")
    shutil.rmtree(scratch, ignore_errors=True)
    _node("html", str(document), str(scratch))
    (scratch / "asyncapi.json").write_bytes(document.read_bytes())
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)
    return folder / "index.html"


def site_is_current(folder: Path = SITE_FOLDER) -> bool:
    built = folder / "asyncapi.json"
    source = CONTRACT_FOLDER / "asyncapi.json"
    return built.exists() and built.read_bytes() == source.read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grassroots.contract_documents")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="compare contract/schemas with contract/released")
    release = commands.add_parser("release", help="keep the current schemas as the release")
    release.add_argument("--date", default=dt.date.today().isoformat())
    site = commands.add_parser("site", help="write the HTML documentation (contract/html)")
    site.add_argument("--if-stale", action="store_true", help="only when asyncapi.json changed")
    commands.add_parser("parse", help="@asyncapi/parser's diagnostics of contract/asyncapi.json")
    args = parser.parse_args(argv)
    if args.command == "check":
        problems = compatibility_problems()
        for problem in problems:
            print(("declared: " if problem.declared else "INCOMPATIBLE: ") + str(problem))
        bad = undeclared(problems)
        print(
            f"{len(bad)} incompatible undeclared, {len(problems) - len(bad)} declared "
            f"(against the release in {RELEASED_FOLDER.relative_to(REPO)})"
        )
        return 1 if bad else 0
    if args.command == "release":
        contract = cut_release(args.date)
        print(f"released {contract.version} ({len(contract.schemas)} types) on {args.date}")
        return 0
    if args.command == "site":
        if args.if_stale and site_is_current():
            return 0
        print(write_site())
        return 0
    report = parse_with_official_parser()
    for diagnostic in report["diagnostics"]:
        print(f"{diagnostic['severity']}: {diagnostic['code']}: {diagnostic['message']}")
    print(f"{report['errors']} errors, {report['warnings']} warnings")
    return 1 if report["errors"] or report["warnings"] else 0


if __name__ == "__main__":
    sys.exit(main())
