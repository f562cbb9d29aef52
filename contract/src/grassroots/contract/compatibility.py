"""Evolving the contract safely: who publishes each topic, and whether a change of the published
JSON Schemas is compatible with the last released ones.

The rule (docs/contract.md, "Evolving the contract"):

- **Inputs** (county systems publish, the platform reads strictly) and the platform's own
  **decisions**: everything a producer could send before must still be accepted — a new
  *optional* field or a wider range is compatible; a new required field, a removed field (the
  reader refuses unknown fields) or a narrower range is not.
- **Results** (the platform publishes, county systems read and must ignore unknown fields):
  whatever the platform sends now must be read by a consumer built on the released schema, and
  the records already on the topic must be read by one built on the new schema — a new optional
  field is compatible; a removed field (required or not), a field made optional, a new required
  field, a new enum value or a wider or narrower range is not.

An incompatible change passes only when it is declared: a new entry under the dated "## Changes"
heading of docs/contract.md names the type (in backticks) and the contract's new version, whose
major number is higher than the released one. The other way is a new type name (`….v2`) beside
the old type, which stays as it was.

Standard library only (the contract package depends on pydantic alone); the repository's
`python -m grassroots.contract_documents check` runs it on contract/schemas/ against
contract/released/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from grassroots.contract.topics import ALL_TOPICS, Topic


class Direction(StrEnum):
    INPUT = "input"
    """County systems publish it; the platform reads it and refuses unknown fields."""
    RESULT = "result"
    """The platform publishes it; county systems read it and must ignore unknown fields."""
    DECISION = "decision"
    """Only the platform publishes it (the office's API) and only the platform reads it."""


TOPIC_DIRECTION: dict[str, Direction] = {
    Topic.CAMPAIGN_LIFECYCLE: Direction.INPUT,
    Topic.ORG_BRANCHES: Direction.INPUT,
    Topic.GRADING_INPUTS: Direction.INPUT,
    Topic.RECTIFICATION_INPUTS: Direction.INPUT,
    Topic.EMULATION_INPUTS: Direction.INPUT,
    Topic.ASSESSMENT_INPUTS: Direction.INPUT,
    Topic.SUPERVISION_INPUTS: Direction.INPUT,
    Topic.SUPERVISION_DECISIONS: Direction.DECISION,
    Topic.GRADING_RESULTS: Direction.RESULT,
    Topic.RECTIFICATION_RESULTS: Direction.RESULT,
    Topic.NOTIFICATION_RESULTS: Direction.RESULT,
}
"""Who publishes each topic (deploy/kafka/acls.txt grants the same: the `county` user writes the
inputs and reads the results and the inputs' dead letters)."""

COUNTY_TOPICS: tuple[str, ...] = tuple(
    topic for topic in ALL_TOPICS if TOPIC_DIRECTION.get(topic) is Direction.INPUT
)
RESULT_TOPICS: tuple[str, ...] = tuple(
    topic for topic in ALL_TOPICS if TOPIC_DIRECTION.get(topic) is Direction.RESULT
)

RELEASE_FILE = "release.json"
CHANGES_HEADING = "## Changes"

# Keywords that say nothing about which values are valid.
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$id",
        "$schema",
        "$comment",
        "$defs",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
_UNDERSTOOD = frozenset(
    {
        "type",
        "const",
        "enum",
        "anyOf",
        "oneOf",
        "$ref",
        "properties",
        "required",
        "additionalProperties",
        "propertyNames",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "format",
    }
)


@dataclass(frozen=True)
class Contract:
    """One state of the contract: its version, each type's schema and topic, and the headings
    of the "## Changes" entries it was released with."""

    version: str
    schemas: Mapping[str, Mapping[str, Any]]
    topics: Mapping[str, str]
    changes: tuple[str, ...] = ()
    released_on: str | None = None


@dataclass(frozen=True)
class Problem:
    """An incompatible change of one event type."""

    event_type: str
    path: str
    reason: str
    declared: bool = False

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{self.event_type}{where}: {self.reason}"


@dataclass
class _Walk:
    """One comparison: can a reader with schema `reader` take everything a writer with schema
    `writer` sends? Writers send only the properties they declare."""

    reader_root: Mapping[str, Any]
    writer_root: Mapping[str, Any]
    removed_breaks: bool
    who: str
    problems: list[tuple[str, str]] = field(default_factory=list)

    def problem(self, path: str, reason: str) -> None:
        self.problems.append((path, f"{reason} ({self.who})"))


def _resolve(schema: Any, root: Mapping[str, Any]) -> Any:
    """Follow local `$ref`s (`#/$defs/…`), keeping the referring node's other keywords."""
    for _ in range(64):
        if not isinstance(schema, Mapping) or "$ref" not in schema:
            return schema
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ValueError(f"cannot follow $ref {ref!r}: only local references are compared")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        schema = {**target, **siblings}
    raise ValueError("$ref chain too long")


def _constraints(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key not in _ANNOTATIONS}


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return set(kind)
    values = _values(schema)
    if values is not None:
        return {_json_type(value) for value in values}
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _values(schema: Mapping[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _bound(schema: Mapping[str, Any], inclusive: str, exclusive: str) -> tuple[float, int] | None:
    """A bound as (value, 0 inclusive / 1 exclusive) for comparisons, or None."""
    bounds = []
    if isinstance(schema.get(inclusive), int | float):
        bounds.append((float(schema[inclusive]), 0))
    if isinstance(schema.get(exclusive), int | float):
        bounds.append((float(schema[exclusive]), 1))
    if not bounds:
        return None
    return max(bounds) if inclusive == "minimum" else min(bounds, key=lambda b: (b[0], -b[1]))


def _accepts(walk: _Walk, reader: Any, writer: Any, path: str) -> None:
    reader = _resolve(reader, walk.reader_root)
    writer = _resolve(writer, walk.writer_root)
    if reader is True or (isinstance(reader, Mapping) and not _constraints(reader)):
        return
    if writer is False:
        return
    if reader is False:
        walk.problem(path, "refused by the reader")
        return
    if writer is True or not _constraints(writer):
        walk.problem(path, "was unconstrained, is now constrained")
        return
    if path.count(".") + path.count("[") > 32:
        walk.problem(path, "nested too deep to compare")
        return

    for union in ("anyOf", "oneOf"):
        if union in writer:
            rest = {k: v for k, v in writer.items() if k not in {"anyOf", "oneOf"}}
            for branch in writer[union]:
                _accepts(walk, reader, {**rest, **_resolve(branch, walk.writer_root)}, path)
            return
    for union in ("anyOf", "oneOf"):
        if union in reader:
            rest = {k: v for k, v in reader.items() if k not in {"anyOf", "oneOf"}}
            attempts: list[list[tuple[str, str]]] = []
            for branch in reader[union]:
                trial = _Walk(walk.reader_root, walk.writer_root, walk.removed_breaks, walk.who)
                _accepts(trial, {**rest, **_resolve(branch, walk.reader_root)}, writer, path)
                if not trial.problems:
                    return
                attempts.append(trial.problems)
            walk.problems.extend(sorted(attempts, key=len)[0])
            return

    for keyword in sorted(set(_constraints(reader)) - _UNDERSTOOD):
        if reader[keyword] != writer.get(keyword):
            walk.problem(path, f"{keyword} changed (not compared: treated as incompatible)")

    _compare_types(walk, reader, writer, path)
    _compare_values(walk, reader, writer, path)
    _compare_numbers(walk, reader, writer, path)
    _compare_strings(walk, reader, writer, path)
    _compare_arrays(walk, reader, writer, path)
    _compare_objects(walk, reader, writer, path)


def _compare_types(
    walk: _Walk, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str
) -> None:
    reader_types, writer_types = _types(reader), _types(writer)
    if reader_types is None:
        return
    if writer_types is None:
        walk.problem(path, f"any type was possible, now only {sorted(reader_types)}")
        return
    refused = sorted(
        kind
        for kind in writer_types
        if kind not in reader_types and not (kind == "integer" and "number" in reader_types)
    )
    if refused:
        walk.problem(path, f"type {', '.join(refused)} is no longer accepted")


def _compare_values(
    walk: _Walk, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str
) -> None:
    reader_values = _values(reader)
    if reader_values is None:
        return
    writer_values = _values(writer)
    if writer_values is None:
        walk.problem(path, f"now limited to {reader_values}")
        return
    refused = [value for value in writer_values if value not in reader_values]
    if refused:
        walk.problem(path, f"value {', '.join(map(json.dumps, refused))} is not accepted")


def _compare_numbers(
    walk: _Walk, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str
) -> None:
    if _values(writer) is not None:
        return  # the values were compared one by one
    low_r, low_w = (_bound(s, "minimum", "exclusiveMinimum") for s in (reader, writer))
    if low_r is not None and (low_w is None or low_w < low_r):
        walk.problem(path, f"the lower bound rose to {low_r[0]:g}")
    high_r, high_w = (_bound(s, "maximum", "exclusiveMaximum") for s in (reader, writer))
    if high_r is not None and (high_w is None or (high_w[0], -high_w[1]) > (high_r[0], -high_r[1])):
        walk.problem(path, f"the upper bound fell to {high_r[0]:g}")
    step = reader.get("multipleOf")
    if step is not None and writer.get("multipleOf") != step:
        walk.problem(path, f"must now be a multiple of {step}")


def _compare_strings(
    walk: _Walk, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str
) -> None:
    if _values(writer) is not None:
        return
    for keyword in ("minLength", "minItems"):
        if reader.get(keyword, 0) > writer.get(keyword, 0):
            walk.problem(path, f"{keyword} rose to {reader[keyword]}")
    for keyword in ("maxLength", "maxItems"):
        if keyword in reader and (keyword not in writer or writer[keyword] > reader[keyword]):
            walk.problem(path, f"{keyword} fell to {reader[keyword]}")
    for keyword in ("pattern", "format"):
        if keyword in reader and writer.get(keyword) != reader[keyword]:
            walk.problem(path, f"{keyword} is now {reader[keyword]!r}")


def _compare_arrays(
    walk: _Walk, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str
) -> None:
    if reader.get("uniqueItems") and not writer.get("uniqueItems"):
        walk.problem(path, "items must now be unique")
    if "items" in reader:
        if "items" not in writer:
            walk.problem(path, "items are now constrained")
        else:
            _accepts(walk, reader["items"], writer["items"], f"{path}[]")


def _extra(schema: Mapping[str, Any], *, writer: bool) -> Any:
    """What the schema says of properties it does not name. A writer sends only the properties
    it declares, unless it is a map (an object without properties)."""
    extra = schema.get("additionalProperties", True)
    if writer and "properties" in schema and not isinstance(extra, Mapping):
        return False
    return extra


def _compare_objects(
    walk: _Walk, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str
) -> None:
    if not ({"properties", "required", "additionalProperties"} & (reader.keys() | writer.keys())):
        return
    prefix = f"{path}." if path else ""
    reader_props: Mapping[str, Any] = reader.get("properties", {})
    writer_props: Mapping[str, Any] = writer.get("properties", {})
    writer_required = set(writer.get("required", ()))
    for name in reader.get("required", ()):
        if name not in writer_props:
            if not walk.removed_breaks:  # else: "no longer sent", below
                walk.problem(f"{prefix}{name}", "a new required field")
        elif name not in writer_required:
            walk.problem(
                f"{prefix}{name}",
                "no longer always sent (now optional)" if walk.removed_breaks else "now required",
            )
    reader_extra = _extra(reader, writer=False)
    for name, schema in writer_props.items():
        if name in reader_props:
            _accepts(walk, reader_props[name], schema, f"{prefix}{name}")
        elif reader_extra is False:
            walk.problem(f"{prefix}{name}", "an unknown field to the reader, which refuses it")
        elif isinstance(reader_extra, Mapping):
            _accepts(walk, reader_extra, schema, f"{prefix}{name}")
    if walk.removed_breaks:
        for name in reader_props:
            if name not in writer_props:
                walk.problem(f"{prefix}{name}", "no longer sent")
    writer_extra = _extra(writer, writer=True)
    if writer_extra is not False:
        if reader_extra is False:
            walk.problem(path or "(record)", "unnamed fields are refused")
        elif isinstance(reader_extra, Mapping):
            _accepts(
                walk, reader_extra, True if writer_extra is True else writer_extra, f"{prefix}*"
            )
    if "propertyNames" in reader:
        names = _resolve(reader["propertyNames"], walk.reader_root)
        if writer_extra is False and isinstance(names, Mapping) and _names_only(names):
            # The writer sends only the names it declares: each must be a name the reader takes.
            for name in writer_props:
                if not _name_accepted(names, name):
                    walk.problem(f"{prefix}{name}", "a name the reader no longer accepts")
        else:
            _accepts(walk, names, writer.get("propertyNames", True), f"{prefix}(names)")


def _names_only(schema: Mapping[str, Any]) -> bool:
    return set(_constraints(schema)) <= {"type", "pattern", "minLength", "maxLength"}


def _name_accepted(schema: Mapping[str, Any], name: str) -> bool:
    """Whether a property name passes a propertyNames schema of pattern and lengths."""
    pattern = schema.get("pattern")
    return schema.get("minLength", 0) <= len(name) <= schema.get("maxLength", len(name)) and (
        pattern is None or re.search(pattern, name) is not None
    )


def incompatibilities(
    event_type: str, direction: Direction, released: Mapping[str, Any], current: Mapping[str, Any]
) -> list[Problem]:
    """The incompatible changes from the released schema of a type to its current one."""
    found: list[tuple[str, str]] = []
    # Everything sent under the released schema (county systems' inputs, the records already on
    # a topic) must be read by a reader built on the current one.
    backward = _Walk(current, released, removed_breaks=False, who="records sent before")
    _accepts(backward, current, released, "")
    found += backward.problems
    if direction is Direction.RESULT:
        # And a consumer built on the released schema must read what is sent now.
        forward = _Walk(released, current, removed_breaks=True, who="consumers of the release")
        _accepts(forward, released, current, "")
        found += forward.problems
    unique = dict.fromkeys(found)
    return [Problem(event_type, path, reason) for path, reason in unique]


def changes_entries(document: str) -> dict[str, str]:
    """The entries under "## Changes" of docs/contract.md: heading (without ###) -> its text."""
    entries: dict[str, str] = {}
    inside = False
    heading: str | None = None
    for line in document.splitlines():
        if line.startswith("## "):
            inside = line.strip() == CHANGES_HEADING
            heading = None
            continue
        if not inside:
            continue
        if line.startswith("### "):
            heading = line[4:].strip()
            entries[heading] = heading + "\n"
        elif heading is not None:
            entries[heading] += line + "\n"
    return entries


_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}\b")


def _major(version: str) -> int:
    return int(version.split(".")[0])


def _declares(text: str, event_type: str, version: str) -> bool:
    return (
        f"`{event_type}`" in text
        and re.search(rf"(?<![\d.]){re.escape(version)}(?![\d])", text) is not None
    )


def check(released: Contract, current: Contract, changes: Mapping[str, str]) -> list[Problem]:
    """Every incompatible change from `released` to `current`, each marked declared or not.

    `changes`: the current "## Changes" entries (`changes_entries`); those not yet in the
    release may declare an incompatible change of a type they name, when they name the current
    version and its major number is higher than the released one's."""
    problems: list[Problem] = []
    for event_type, old in sorted(released.schemas.items()):
        new = current.schemas.get(event_type)
        old_topic = released.topics.get(event_type, "")
        if new is None:
            problems.append(Problem(event_type, "", "the type was removed"))
            continue
        new_topic = current.topics.get(event_type, "")
        if new_topic != old_topic:
            problems.append(Problem(event_type, "", f"moved from {old_topic} to {new_topic}"))
            continue
        direction = TOPIC_DIRECTION.get(new_topic, Direction.INPUT)
        problems += incompatibilities(event_type, direction, old, new)
    new_entries = [
        text
        for heading, text in changes.items()
        if heading not in set(released.changes) and _DATED.match(heading)
    ]
    bumped = _major(current.version) > _major(released.version)
    return [
        Problem(
            problem.event_type,
            problem.path,
            problem.reason,
            declared=bumped
            and any(_declares(text, problem.event_type, current.version) for text in new_entries),
        )
        for problem in problems
    ]


def undeclared(problems: Iterable[Problem]) -> list[Problem]:
    return [problem for problem in problems if not problem.declared]


def load_release(folder: Path) -> Contract:
    """The last released contract kept in the repository (contract/released/)."""
    manifest = json.loads((folder / RELEASE_FILE).read_text(encoding="utf-8"))
    schemas = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((folder / "schemas").glob("*.json"))
    }
    return Contract(
        version=manifest["version"],
        schemas=schemas,
        topics={name: entry["topic"] for name, entry in manifest["types"].items()},
        changes=tuple(manifest.get("changes", ())),
        released_on=manifest.get("released_on"),
    )


def write_release(folder: Path, contract: Contract, released_on: str) -> None:
    """Replace the kept release with `contract` (see contract/released/README.md)."""
    schemas = folder / "schemas"
    schemas.mkdir(parents=True, exist_ok=True)
    for stale in schemas.glob("*.json"):
        if stale.stem not in contract.schemas:
            stale.unlink()
    for name, schema in sorted(contract.schemas.items()):
        (schemas / f"{name}.json").write_text(_render(schema), encoding="utf-8")
    manifest = {
        "version": contract.version,
        "released_on": released_on,
        "changes": list(contract.changes),
        "types": {
            name: {
                "topic": contract.topics[name],
                "direction": TOPIC_DIRECTION[contract.topics[name]].value,
            }
            for name in sorted(contract.schemas)
        },
    }
    (folder / RELEASE_FILE).write_text(_render(manifest), encoding="utf-8")


def _render(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
